// Read-your-writes placement on the writer: findAvailableNodeForTask after every mutation answers
// exactly as the row-object specification does on the same records, although it now reuses what
// it derived from unchanged record batches (active tasks per node, per-batch id indexes, the
// online workers of an unchanged nodes table). Snapshots held across mutations keep their answers.
import test from 'ava';
import { ClusterState, StateError, type TaskRecord } from '../../src/index.js';
import * as H from '../../src/helpers/index.js';
import { prng } from '../../src/demo/synthetic.js';
import { rowModel, rowsOf } from './row-model.js';
import { randomState } from './support.js';

test('placing tasks one by one: every answer equals the row-object specification, across batches and held snapshots', async (t) => {
  // More than one 4096-row batch of tasks, so that most batches stay unchanged between revisions.
  const rs = randomState(5, { nodes: 120, tasks: 5000, content: 50 });
  const s = rs.state;
  const rnd = prng(99);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let fresh = 0;
  const held: { snap: ReturnType<ClusterState['snapshot']>; asks: [string | object, unknown][] }[] = [];
  const reqs = [{ cpu: 1 }, { cpu_cores: 2, memory_mb: 1024 }, { cpu: 1, gpu: 1 }, { cpu: 64 }];
  try {
    for (let step = 0; step < 120; step++) {
      // One mutation of a kind a scheduler makes between two placements.
      const k = rnd();
      const tasks = rs.taskIds.filter((id) => s.getTask(id));
      if (k < 0.45) {
        const pending = tasks.filter((id) => s.getTask(id)!.status === 'pending');
        const id = pending.length ? pick(pending) : null;
        const node = id ? H.findAvailableNodeForTask(s, id) : null;
        if (id && node) s.assignTask(id, node.id);
      } else if (k < 0.6) {
        const running = tasks.filter((id) => ['assigned', 'running'].includes(s.getTask(id)!.status));
        if (running.length) s.updateTask(pick(running), { status: pick(['running', 'completed', 'failed', 'pending'] as TaskRecord['status'][]) });
      } else if (k < 0.7) {
        const id = `fresh-${fresh++}`;
        s.addTask({ id, type: 'process', resources: { cpu: 1 + Math.floor(rnd() * 3), memory: `${1 + Math.floor(rnd() * 4)}GiB` } });
        rs.taskIds.push(id);
      } else if (k < 0.78) {
        s.removeTask(pick(tasks));
      } else if (k < 0.93) {
        const n = pick(rs.nodeIds);
        if (s.getNode(n)) s.heartbeat(n, { cpu_load: Math.floor(rnd() * 100) });
      } else {
        const n = pick(rs.nodeIds);
        if (s.getNode(n)) s.updateNodeStatus(n, pick(['online', 'offline', 'degraded'] as const));
      }
      // Ask about some pending tasks and some requirements: the writer against the specification.
      const rows = rowsOf(s);
      const pending = rows.tasks.filter((x) => x.status === 'pending').map((x) => x.id);
      const asks: (string | object)[] = [...Array.from({ length: 3 }, () => pick(pending.length ? pending : ['none'])), pick(reqs)];
      const answers: [string | object, unknown][] = [];
      for (const a of asks) {
        const got = H.findAvailableNodeForTask(s, a as string);
        const want = rowModel.findAvailableNodeForTask(rows, typeof a === 'string' ? a : H_REQ(a));
        t.deepEqual(got, want, `step ${step}: ${JSON.stringify(a)}`);
        answers.push([a, got]);
      }
      if (step % 20 === 0) held.push({ snap: s.snapshot(), asks: answers });
      // A snapshot held since earlier revisions still gives its own answers (switching back and
      // forth between tables exercises the incremental counts).
      const h = held[Math.floor(rnd() * held.length)];
      if (h) for (const [a, was] of h.asks) t.deepEqual(H.findAvailableNodeForTask(h.snap, a as string), was, `held snapshot of revision ${h.snap.revision}`);
    }
  } finally {
    await s.close();
  }
});

/** Friendly requirements as the row model takes them (schema names, memory in MiB). */
function H_REQ(r: object): { cpu_cores?: number; gpu_cores?: number; memory_mb?: number } {
  const x = r as { cpu?: number; gpu?: number; cpu_cores?: number; gpu_cores?: number; memory_mb?: number };
  return { cpu_cores: x.cpu ?? x.cpu_cores, gpu_cores: x.gpu ?? x.gpu_cores, memory_mb: x.memory_mb };
}

test('helpers given the writer inside a transaction are refused, saying why (a snapshot is a committed revision); getNode-level reads work there', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'tx' });
  s.registerNode({ id: 'w', role: 'worker', resources: { cpu: 2, memory: '4GB' } });
  s.addTask({ id: 't', type: 'process' });
  const err = t.throws(() => s.transaction((st) => {
    st.addTask({ id: 't2', type: 'process' });
    t.is(st.getTask('t2')!.status, 'pending', 'own uncommitted change visible through getTask');
    H.findAvailableNodeForTask(st, 't2');
  }), { instanceOf: StateError });
  t.is(err!.code, 'INVALID_ARGUMENT');
  t.regex(err!.message, /helpers given the writer\) must be called outside transactions: a snapshot is a committed revision .*getNode\/getTask\/getContent/);
  t.is(s.getTask('t2'), undefined);
  // Outside: placement sees the previous placement at once.
  s.registerNode({ id: 'v', role: 'worker', resources: { cpu: 2, memory: '4GB' } });
  s.addTask({ id: 't3', type: 'process' });
  const first = H.findAvailableNodeForTask(s, 't')!;
  s.assignTask('t', first.id);
  const second = H.findAvailableNodeForTask(s, 't3')!;
  t.not(second.id, first.id, 'the node given the first task now scores lower');
  await s.close();
});
