/**
 * Writer figures (issue: the foundation): mutation throughput for register/add/assign/update,
 * alone and in transactions, the cost of getTables() after one mutation — beside a baseline
 * that rebuilds the whole state row by row per change, as the Python original does — and
 * read-your-writes placement: findAvailableNodeForTask on the writer, then assignTask, one task
 * at a time (each placement sees the previous one).
 */
import { ClusterState } from '../../src/index.js';
import { findAvailableNodeForTask } from '../../src/helpers/index.js';
import { nodeId, taskId } from '../../src/demo/synthetic.js';
import type { Report } from '../lib/report.js';
import { recordsOf, rebuildRowByRow } from '../lib/baseline.js';
import { summarize } from '../lib/stats.js';

type Op = (s: ClusterState, i: number) => void;

export async function writerSuite(report: Report, state: ClusterState, scale: string, opts: { runs: number; ops: number; placements: number; loaded: { nodes: number; tasks: number } }): Promise<void> {
  const nodes = opts.loaded.nodes;
  const online: string[] = [];
  for (let i = 0; i < nodes && online.length < 512; i++) {
    const n = state.getNode(nodeId(i));
    if (n && n.status === 'online' && n.role !== 'leecher') online.push(n.id);
  }
  let newTask = 0;
  const fresh: string[] = [];
  const ops: [string, Op][] = [
    ['registerNode (upsert)', (s, i) => s.registerNode({ id: nodeId(i % nodes), role: i % nodes === 0 ? 'master' : 'worker', resources: { cpu_load: i % 100 } })],
    ['addTask', (s) => {
      const id = `bench-${newTask++}`;
      fresh.push(id);
      s.addTask({ id, type: 'process', resources: { cpu: 1, memory: '512MiB' } });
    }],
    ['assignTask', (s, i) => s.assignTask(fresh[i % fresh.length]!, online[i % online.length]!)],
    ['updateTask (priority)', (s, i) => s.updateTask(taskId(i % opts.loaded.tasks), { priority: i % 10 })],
  ];
  for (const [name, op] of ops) {
    for (const txn of [0, 100]) {
      const runs: number[] = [];
      for (let r = 0; r < opts.runs; r++) {
        if (name === 'assignTask') {
          // fresh pending tasks for every run
          fresh.length = 0;
          state.transaction(() => {
            for (let i = 0; i < opts.ops; i++) ops[1]![1](state, i);
          });
        }
        const t0 = performance.now();
        if (txn) {
          for (let i = 0; i < opts.ops; i += txn) state.transaction(() => {
            for (let k = i; k < Math.min(opts.ops, i + txn); k++) op(state, k);
          });
        } else {
          for (let i = 0; i < opts.ops; i++) op(state, i);
        }
        await state.published();
        runs.push(opts.ops / ((performance.now() - t0) / 1000));
      }
      report.add({ suite: 'writer', scale, name: `${name}${txn ? ` (txn of ${txn})` : ''}`, unit: 'ops/s', better: 'higher', runs });
    }
  }
  // getTables() after one mutation, against a full row-by-row rebuild per change.
  const ours: number[] = [];
  for (let r = 0; r < opts.runs; r++) {
    const samples: number[] = [];
    for (let i = 0; i < 30; i++) {
      state.heartbeat(online[i % online.length]!, { cpu_load: (i * 7) % 100 });
      const t0 = performance.now();
      state.getTables();
      samples.push(performance.now() - t0);
    }
    ours.push(summarize(samples).p50);
  }
  const recs = recordsOf(state);
  const base: number[] = [];
  for (let r = 0; r < Math.min(opts.runs, 3); r++) {
    (recs.nodes[r]! as { status: string }).status = r % 2 ? 'online' : 'degraded';
    const t0 = performance.now();
    rebuildRowByRow(recs);
    base.push(performance.now() - t0);
  }
  report.add({
    suite: 'writer', scale, name: 'getTables() after one mutation', unit: 'ms', better: 'lower', runs: ours,
    baseline: { name: 'row-by-row rebuild', runs: base },
  });
  await placementFigure(report, state, scale, opts.runs, opts.placements);
}

/**
 * Placing `n` fresh pending tasks one by one on the writer: findAvailableNodeForTask(state, id)
 * (a snapshot after the previous assignment), then assignTask. Every placement must see the one
 * before it, so each costs a snapshot after one mutation plus the helper's scan.
 */
async function placementFigure(report: Report, state: ClusterState, scale: string, runs: number, n: number): Promise<void> {
  const perTask: number[] = [];
  let placedAll = 0;
  for (let r = 0; r < runs; r++) {
    const ids = Array.from({ length: n }, (_, i) => `place-${r}-${i}`);
    state.transaction(() => {
      for (const id of ids) state.addTask({ id, type: 'process', resources: { cpu: 1, memory: '256MiB' } });
    });
    await state.published();
    state.snapshot(); // the added tasks encoded: the loop measures placements only
    const t0 = performance.now();
    for (const id of ids) {
      const node = findAvailableNodeForTask(state, id);
      if (node) {
        state.assignTask(id, node.id);
        placedAll++;
      }
    }
    perTask.push((performance.now() - t0) / n);
    await state.published();
  }
  report.add({
    suite: 'writer', scale, name: `place ${n.toLocaleString('en-US')} tasks one by one (findAvailableNodeForTask + assignTask)`, unit: 'ms/task', better: 'lower', runs: perTask,
    note: `${placedAll} of ${n * runs} placed`,
  });
}
