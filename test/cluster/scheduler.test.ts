// The scheduler on the writer (no NATS): pending tasks are placed by priority then age on online,
// non-leecher nodes whose free resources fit, spread by the placement score, never over-committing
// a node — checked after every revision of a random run.
import test from 'ava';
import { ClusterState, type ChangeSet, type NodeRecord, type TaskRecord } from '../../src/index.js';
import { mulberry32 } from '../fixtures/rng.js';
import { until } from './support.js';

const GiB = 2 ** 30;


const active = (t: TaskRecord) => t.status === 'assigned' || t.status === 'running';

/** What is wrong with the state's placements: over-committed nodes, tasks on ineligible nodes. */
function violations(s: ClusterState): string[] {
  const out: string[] = [];
  const tasks = s.getTables().tasks.toArray().map((r) => s.getTask(String(r.id))!);
  const used = new Map<string, { cpu: number; mem: number }>();
  for (const t of tasks.filter(active)) {
    const u = used.get(t.assigned_to!) ?? { cpu: 0, mem: 0 };
    u.cpu += t.resources.cpu_cores ?? 1;
    u.mem += t.resources.memory_mb ?? 256;
    used.set(t.assigned_to!, u);
  }
  for (const [id, u] of used) {
    const n = s.getNode(id)!;
    if (u.cpu > n.resources.cpu_count! || u.mem > n.resources.memory_total! / 2 ** 20) out.push(`node ${id} over-committed: ${JSON.stringify(u)} of ${n.resources.cpu_count} cpus, ${n.resources.memory_total! / 2 ** 20} MiB`);
    if (n.role === 'leecher') out.push(`a task on leecher ${id}`);
  }
  return out;
}

test('scheduler: places by priority then age, never over-commits, waits for capacity, skips leechers and offline nodes', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'sched-1', scheduler: { intervalMs: 20 } });
  t.teardown(() => s.close());
  s.registerNode({ id: 'w1', role: 'worker', resources: { cpu_count: 2, memory_total: 4 * GiB } });
  s.registerNode({ id: 'w2', role: 'worker', resources: { cpu_count: 2, memory_total: 4 * GiB } });
  s.registerNode({ id: 'leech', role: 'leecher', resources: { cpu_count: 64, memory_total: 256 * GiB } });
  s.registerNode({ id: 'down', role: 'worker', status: 'offline', resources: { cpu_count: 64, memory_total: 256 * GiB } });
  s.transaction(() => {
    for (let i = 0; i < 8; i++) s.addTask({ id: `t${i}`, type: 'process', priority: i % 4, resources: { cpu_cores: 1, memory_mb: 512 } });
  });
  // 4 slots (2 nodes × 2 cpus): the four highest priorities (3, 3, 2, 2), the older first on ties.
  await until(s, () => (['t3', 't7', 't2', 't6'] as const).every((id) => s.getTask(id)!.status === 'assigned'));
  const placed = ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7'].filter((id) => s.getTask(id)!.status === 'assigned');
  t.deepEqual(placed.sort(), ['t2', 't3', 't6', 't7']);
  t.deepEqual(violations(s), []);
  const perNode = (id: string) => ['t2', 't3', 't6', 't7'].filter((x) => s.getTask(x)!.assigned_to === id).length;
  t.deepEqual([perNode('w1'), perNode('w2')], [2, 2], 'spread over equal nodes');
  // A completed task frees a slot: the next by priority (t1 or t5: priority 1; t1 is older).
  s.updateTask('t3', { status: 'completed', result: { ok: true } });
  await until(s, () => s.getTask('t1')!.status === 'assigned');
  t.is(s.getTask('t5')!.status, 'pending');
  t.deepEqual(violations(s), []);
  // A node coming online takes work.
  s.updateNodeStatus('down', 'online');
  await until(s, () => ['t0', 't4', 't5'].every((id) => s.getTask(id)!.status === 'assigned'));
  t.true(['t0', 't4', 't5'].every((id) => s.getTask(id)!.assigned_to === 'down'));
  t.deepEqual(violations(s), []);
  t.true(s.policyStats().scheduler!.placed >= 8);
});

test('scheduler: a random run never over-commits a node nor places on an ineligible one, and places what fits', async (t) => {
  const rnd = mulberry32(99);
  const s = ClusterState.inMemory({ clusterId: 'sched-2', scheduler: { intervalMs: 5, maxPerTick: 7 } });
  t.teardown(() => s.close());
  const problems: string[] = [];
  const ac = new AbortController();
  const checking = (async () => {
    for await (const cs of s.watch({ signal: ac.signal })) {
      const v = violations(s);
      if (v.length) problems.push(`revision ${(cs as ChangeSet).revision}: ${v.join('; ')}`);
    }
  })();
  for (let i = 0; i < 12; i++) {
    s.registerNode({ id: `n${i}`, role: i % 5 === 4 ? 'leecher' : 'worker', resources: { cpu_count: 1 + (i % 4), memory_total: (1 + (i % 3)) * GiB } });
  }
  let next = 0;
  for (let step = 0; step < 400; step++) {
    const r = rnd();
    if (r < 0.4) s.addTask({ id: `r${next++}`, type: 'process', priority: Math.floor(rnd() * 5), resources: { cpu_cores: 1 + Math.floor(rnd() * 2), memory_mb: 256 * (1 + Math.floor(rnd() * 4)) } });
    else if (r < 0.7) {
      const run = s.getTables().tasks.toArray().map((x) => s.getTask(String(x.id))!).filter(active);
      if (run.length) s.updateTask(run[Math.floor(rnd() * run.length)]!.id, { status: rnd() < 0.8 ? 'completed' : 'failed' });
    } else if (r < 0.8) {
      const id = `n${Math.floor(rnd() * 12)}`;
      const n = s.getNode(id) as NodeRecord;
      if (n.status === 'online') s.removeNode(id, { requeue: true });
      s.registerNode({ id, role: n.role, status: rnd() < 0.3 ? 'degraded' : 'online', resources: n.resources });
    }
    if (step % 10 === 0) await new Promise((res) => setTimeout(res, 2));
  }
  // Settle: every pending task that fits an eligible node's free resources gets placed.
  await until(s, () => {
    const tasks = s.getTables().tasks.toArray().map((x) => s.getTask(String(x.id))!);
    const pending = tasks.filter((x) => x.status === 'pending');
    const nodes = s.getTables().nodes.toArray().map((x) => s.getNode(String(x.id))!).filter((n) => n.status === 'online' && n.role !== 'leecher');
    return pending.every((p) => !nodes.some((n) => {
      const mine = tasks.filter((x) => active(x) && x.assigned_to === n.id);
      const cpu = n.resources.cpu_count! - mine.reduce((a, x) => a + (x.resources.cpu_cores ?? 1), 0);
      const mem = n.resources.memory_total! / 2 ** 20 - mine.reduce((a, x) => a + (x.resources.memory_mb ?? 256), 0);
      return cpu >= (p.resources.cpu_cores ?? 1) && mem >= (p.resources.memory_mb ?? 256);
    }));
  });
  ac.abort();
  await checking.catch(() => undefined);
  t.deepEqual(problems.slice(0, 5), []);
  t.true(s.policyStats().scheduler!.placed > 50);
});
