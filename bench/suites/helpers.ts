/**
 * Helper figures (issue: the query helpers): every helper at the loaded scale, on the writer's
 * snapshot and in a worker thread (state.query, round trip included), beside the same helper
 * written over plain row objects (test/helpers/row-model.ts: what the Python original and naive
 * ports do, with the records already in memory) on the same data in the same run. Every pair
 * of answers is checked equal before it is timed.
 */
import { isDeepStrictEqual } from 'node:util';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterState } from '../../src/index.js';
import * as H from '../../src/helpers/index.js';
import { cid, nodeId, taskId } from '../../src/synthetic.js';
import { rowModel, rowsOf, type Rows } from '../../test/helpers/row-model.js';
import type { Report } from '../lib/report.js';

export interface HelpersOptions {
  /** Repeated runs per figure (each run is the median of many calls). */
  runs: number;
  /** Time budget per run and side, ms. */
  budgetMs: number;
  /** The synthetic scale the state was loaded with (ids 0..n-1 exist). */
  loaded: { nodes: number; tasks: number; content: number };
}

/** Median ms per call of `fn`, calling it until `budgetMs` is spent (at least `min`, at most `max` times). */
function perCall(fn: () => unknown, budgetMs: number, min = 3, max = 200): number {
  const samples: number[] = [];
  const end = performance.now() + budgetMs;
  while (samples.length < min || (samples.length < max && performance.now() < end)) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

async function perCallAsync(fn: () => Promise<unknown>, budgetMs: number, min = 3, max = 100): Promise<number> {
  const samples: number[] = [];
  const end = performance.now() + budgetMs;
  while (samples.length < min || (samples.length < max && performance.now() < end)) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

interface Case {
  helper: keyof typeof H;
  args: unknown[];
  model: (r: Rows) => unknown;
  /** Heavy (materialises or writes the whole state): fewer calls. */
  heavy?: boolean;
}

export async function helpersSuite(report: Report, state: ClusterState, scale: string, opts: HelpersOptions): Promise<void> {
  await state.published();
  const t0 = performance.now();
  const rows = rowsOf(state);
  process.stdout.write(`  (row objects for the baseline built in ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  const snap = state.snapshot();
  const { nodes, tasks, content } = opts.loaded;

  // Arguments: an online worker, a pending task, a running one, a content item and its provider.
  let worker = nodeId(0);
  for (let i = 0; i < nodes; i++) {
    const n = state.getNode(nodeId(i))!;
    if (n.role === 'worker' && n.status === 'online') {
      worker = n.id;
      break;
    }
  }
  const findTask = (status: string) => {
    for (let i = 0; i < tasks; i++) if (state.getTask(taskId(i))!.status === status) return taskId(i);
    return taskId(0);
  };
  const pending = findTask('pending');
  const running = findTask('running');
  const someCid = cid(Math.floor(content / 2));
  const provider = state.getContent(someCid)!.providers[0] ?? worker;
  const now = Date.now();
  const exportFile = join(tmpdir(), `acs-bench-export-${process.pid}.json`);
  const exportBase = join(tmpdir(), `acs-bench-export-base-${process.pid}.json`);

  const cases: Case[] = [
    { helper: 'getClusterMetadata', args: [], model: rowModel.getClusterMetadata },
    { helper: 'getClusterStateAsDict', args: [], model: rowModel.getClusterStateAsDict, heavy: true },
    { helper: 'getAllNodes', args: [], model: rowModel.getAllNodes, heavy: true },
    { helper: 'getNodeById', args: [worker], model: (r) => rowModel.getNodeById(r, worker) },
    { helper: 'findNodesByRole', args: ['master'], model: (r) => rowModel.findNodesByRole(r, 'master') },
    { helper: 'findNodesByRole', args: ['worker'], model: (r) => rowModel.findNodesByRole(r, 'worker') },
    { helper: 'findNodesByCapability', args: ['transcode'], model: (r) => rowModel.findNodesByCapability(r, 'transcode') },
    { helper: 'findNodesWithGpu', args: [], model: rowModel.findNodesWithGpu },
    { helper: 'getNodeResourceUtilization', args: [worker], model: (r) => rowModel.getNodeResourceUtilization(r, worker) },
    { helper: 'getAllTasks', args: [], model: rowModel.getAllTasks, heavy: true },
    { helper: 'getTaskById', args: [pending], model: (r) => rowModel.getTaskById(r, pending) },
    { helper: 'findTasksByStatus', args: ['running'], model: (r) => rowModel.findTasksByStatus(r, 'running') },
    { helper: 'findTasksByType', args: ['index'], model: (r) => rowModel.findTasksByType(r, 'index') },
    { helper: 'findTasksByNode', args: [worker], model: (r) => rowModel.findTasksByNode(r, worker) },
    { helper: 'findTasksByResourceRequirements', args: [{ cpu_cores: 4, gpu_cores: 1, memory_mb: 2048 }], model: (r) => rowModel.findTasksByResourceRequirements(r, { cpu_cores: 4, gpu_cores: 1, memory_mb: 2048 }) },
    { helper: 'findAvailableNodeForTask', args: [pending], model: (r) => rowModel.findAvailableNodeForTask(r, pending) },
    { helper: 'getTaskExecutionMetrics', args: [], model: rowModel.getTaskExecutionMetrics },
    { helper: 'estimateTimeToCompletion', args: [running, { now }], model: (r) => rowModel.estimateTimeToCompletion(r, running, { now }) },
    { helper: 'getAllContent', args: [], model: rowModel.getAllContent, heavy: true },
    { helper: 'findContentByCid', args: [someCid], model: (r) => rowModel.findContentByCid(r, someCid) },
    { helper: 'findContentByProvider', args: [provider], model: (r) => rowModel.findContentByProvider(r, provider) },
    { helper: 'findOrphanedContent', args: [], model: rowModel.findOrphanedContent },
    { helper: 'getContentAvailabilityMap', args: [], model: rowModel.getContentAvailabilityMap, heavy: true },
    { helper: 'getClusterStatusSummary', args: [], model: rowModel.getClusterStatusSummary },
    { helper: 'getNetworkTopology', args: [], model: rowModel.getNetworkTopology, heavy: true },
  ];

  const call = (c: Case) => (H[c.helper] as (...a: unknown[]) => unknown)(snap, ...c.args);
  await state.query('revision'); // start the pool's worker
  for (const c of cases) {
    const label = `${c.helper}(${c.args.map((a) => (typeof a === 'string' ? a.slice(0, 12) : JSON.stringify(a))).join(', ')})`;
    const ours = call(c);
    report.check(`${scale} ${label}: columnar answer equals the row-object answer`, isDeepStrictEqual(ours, c.model(rows)));
    const budget = c.heavy ? opts.budgetMs * 2 : opts.budgetMs;
    const min = c.heavy ? 2 : 5;
    const mine: number[] = [];
    const base: number[] = [];
    const work: number[] = [];
    for (let r = 0; r < opts.runs; r++) {
      mine.push(perCall(() => call(c), budget, min));
      base.push(perCall(() => c.model(rows), budget, min));
      work.push(await perCallAsync(() => state.query(c.helper, ...c.args), budget, min));
    }
    const size = Array.isArray(ours) ? ` → ${ours.length}` : '';
    report.add({ suite: 'helpers', scale, name: `${label}${size} (writer)`, unit: 'ms', better: 'lower', runs: mine, baseline: { name: 'row objects', runs: base }, target: '≥ 10× row objects' });
    report.add({ suite: 'helpers', scale, name: `${label} (worker, round trip)`, unit: 'ms', better: 'lower', runs: work, baseline: { name: 'row objects', runs: base } });
  }

  // The export writes the whole state: ours (streamed, atomic) against JSON.stringify of the rows.
  const mine: number[] = [];
  const base: number[] = [];
  for (let r = 0; r < opts.runs; r++) {
    mine.push(perCall(() => H.exportStateToJson(snap, exportFile), opts.budgetMs * 2, 1, 5));
    base.push(perCall(() => writeFileSync(exportBase, JSON.stringify(rowModel.exportedJson(rows))), opts.budgetMs * 2, 1, 5));
  }
  report.add({ suite: 'helpers', scale, name: 'exportStateToJson (writer)', unit: 'ms', better: 'lower', runs: mine, baseline: { name: 'row objects + JSON.stringify', runs: base } });
  rmSync(exportFile, { force: true });
  rmSync(exportBase, { force: true });

  // Tables as they are: no baseline (the row objects have no Arrow form to return).
  report.add({ suite: 'helpers', scale, name: 'getClusterState (writer, cached per revision)', unit: 'ms', better: 'lower', runs: [perCall(() => H.getClusterState(state), opts.budgetMs)] });
  report.add({ suite: 'helpers', scale, name: 'getClusterStateAsTables (worker, IPC round trip)', unit: 'ms', better: 'lower', runs: [await perCallAsync(() => state.query('getClusterStateAsTables'), opts.budgetMs, 1, 5)] });
}

