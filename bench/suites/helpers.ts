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
import { cid, nodeId, taskId } from '../../src/demo/synthetic.js';
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
  /** Returns stored records: the baseline copies them out, as the helpers' contract requires. */
  records?: boolean;
}

/**
 * A deep copy of plain data: what a row-object store must hand out to keep the helpers'
 * contract (every record returned is the caller's own copy; the original's helpers built fresh
 * dicts per call too). Hand-written, as fast as a generic copy gets.
 */
function copyOut(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const a = new Array(v.length);
    for (let i = 0; i < v.length; i++) a[i] = copyOut(v[i]);
    return a;
  }
  const o: Record<string, unknown> = {};
  for (const k in v as Record<string, unknown>) o[k] = copyOut((v as Record<string, unknown>)[k]);
  return o;
}

export async function helpersSuite(report: Report, state: ClusterState, scale: string, opts: HelpersOptions): Promise<void> {
  await state.published();
  const t0 = performance.now();
  const rows = rowsOf(state);
  process.stdout.write(`  (row objects for the baseline built in ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  const snap = state.snapshot();
  const { nodes, tasks, content } = opts.loaded;

  // Arguments: an online worker, a pending task, a running one, a content item and its provider,
  // each from the middle of its table (a linear search over row objects finds the first rows
  // at once, which would flatter the baseline).
  let worker = nodeId(0);
  for (let k = 0; k < nodes; k++) {
    const n = state.getNode(nodeId((Math.floor(nodes / 2) + k) % nodes))!;
    if (n.role === 'worker' && n.status === 'online') {
      worker = n.id;
      break;
    }
  }
  const findTask = (status: string) => {
    for (let k = 0; k < tasks; k++) {
      const id = taskId((Math.floor(tasks / 2) + k) % tasks);
      if (state.getTask(id)!.status === status) return id;
    }
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
    { helper: 'getClusterStateAsDict', args: [], model: rowModel.getClusterStateAsDict, heavy: true, records: true },
    { helper: 'getAllNodes', args: [], model: rowModel.getAllNodes, heavy: true, records: true },
    { helper: 'getNodeById', args: [worker], model: (r) => rowModel.getNodeById(r, worker), records: true },
    { helper: 'findNodesByRole', args: ['master'], model: (r) => rowModel.findNodesByRole(r, 'master'), records: true },
    { helper: 'findNodesByRole', args: ['worker'], model: (r) => rowModel.findNodesByRole(r, 'worker'), records: true },
    { helper: 'findNodesByCapability', args: ['transcode'], model: (r) => rowModel.findNodesByCapability(r, 'transcode'), records: true },
    { helper: 'findNodesWithGpu', args: [], model: rowModel.findNodesWithGpu, records: true },
    { helper: 'getNodeResourceUtilization', args: [worker], model: (r) => rowModel.getNodeResourceUtilization(r, worker) },
    { helper: 'getAllTasks', args: [], model: rowModel.getAllTasks, heavy: true, records: true },
    { helper: 'getTaskById', args: [pending], model: (r) => rowModel.getTaskById(r, pending), records: true },
    { helper: 'findTasksByStatus', args: ['running'], model: (r) => rowModel.findTasksByStatus(r, 'running'), records: true },
    { helper: 'findTasksByType', args: ['index'], model: (r) => rowModel.findTasksByType(r, 'index'), records: true },
    { helper: 'findTasksByNode', args: [worker], model: (r) => rowModel.findTasksByNode(r, worker), records: true },
    { helper: 'findTasksByResourceRequirements', args: [{ cpu_cores: 4, gpu_cores: 1, memory_mb: 2048 }], model: (r) => rowModel.findTasksByResourceRequirements(r, { cpu_cores: 4, gpu_cores: 1, memory_mb: 2048 }), records: true },
    { helper: 'findAvailableNodeForTask', args: [pending], model: (r) => rowModel.findAvailableNodeForTask(r, pending), records: true },
    { helper: 'getTaskExecutionMetrics', args: [], model: rowModel.getTaskExecutionMetrics },
    { helper: 'estimateTimeToCompletion', args: [running, { now }], model: (r) => rowModel.estimateTimeToCompletion(r, running, { now }) },
    { helper: 'getAllContent', args: [], model: rowModel.getAllContent, heavy: true, records: true },
    { helper: 'findContentByCid', args: [someCid], model: (r) => rowModel.findContentByCid(r, someCid), records: true },
    { helper: 'findContentByProvider', args: [provider], model: (r) => rowModel.findContentByProvider(r, provider), records: true },
    { helper: 'findOrphanedContent', args: [], model: rowModel.findOrphanedContent, records: true },
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
    const min = c.heavy ? 1 : 5;
    const mine: number[] = [];
    const base: number[] = [];
    const work: number[] = [];
    for (let r = 0; r < opts.runs; r++) {
      mine.push(perCall(() => call(c), budget, min));
      base.push(perCall(c.records ? () => copyOut(c.model(rows)) : () => c.model(rows), budget, min));
      work.push(await perCallAsync(() => state.query(c.helper, ...c.args), budget, min));
    }
    const size = Array.isArray(ours) ? ` → ${ours.length}` : '';
    const baseline = c.records ? 'row objects, copied out' : 'row objects';
    report.add({ suite: 'helpers', scale, name: `${label}${size} (writer)`, unit: 'ms', better: 'lower', runs: mine, baseline: { name: baseline, runs: base }, target: '≥ 10× row objects' });
    report.add({ suite: 'helpers', scale, name: `${label} (worker, round trip)`, unit: 'ms', better: 'lower', runs: work, baseline: { name: baseline, runs: base } });
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

