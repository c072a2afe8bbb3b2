// Liveness on the writer (no NATS): silent nodes go offline in one revision per tick, their tasks
// are requeued or failed after maxAttempts, nodes heard again come back, load-only heartbeats are
// coalesced, and a fresh start gives every node a grace period. Real timers, short timeouts; the
// tests wait for the state to change (watch), never for a fixed time.
import test from 'ava';
import { ClusterState, isStateError, type ChangeSet } from '../../src/index.js';

/** Resolves with the first change set (after now) that satisfies `pred`. */
async function until(s: ClusterState, pred: (cs: ChangeSet) => boolean, timeoutMs = 10_000): Promise<ChangeSet> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    for await (const cs of s.watch({ signal: ac.signal })) if (pred(cs)) return cs;
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`no such change within ${timeoutMs} ms`);
}

const status = (cs: ChangeSet, id: string) => (cs.changes.find((c) => c.table === 'nodes' && c.id === id && c.op === 'upsert') as { record?: { status?: string } } | undefined)?.record?.status;

test('liveness: silent nodes go offline together, their tasks are requeued or failed, a node heard again is online', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'live-1', liveness: { heartbeatTimeoutMs: 400, requeueAfterMs: 150, maxAttempts: 2 } });
  t.teardown(() => s.close());
  for (const id of ['a', 'b', 'c', 'd']) s.registerNode({ id, role: 'worker', resources: { cpu_count: 4, memory_total: 8 * 2 ** 30 } });
  s.addTask({ id: 'once', type: 'process' });
  s.addTask({ id: 'twice', type: 'process' });
  s.addTask({ id: 'waiting', type: 'process' });
  s.assignTask('once', 'a');
  s.updateTask('once', { status: 'running' }); // attempts 1
  for (let i = 0; i < 2; i++) {
    s.assignTask('twice', 'b');
    s.updateTask('twice', { status: 'running' });
    if (i === 0) s.updateTask('twice', { status: 'pending' });
  } // attempts 2
  s.assignTask('waiting', 'a'); // assigned, never ran
  // c and d keep reporting; a and b fall silent.
  const beat = setInterval(() => {
    for (const id of ['c', 'd']) s.reportHeartbeat(id, { cpu_load: 10 });
  }, 50);
  t.teardown(() => clearInterval(beat));
  const off = await until(s, (cs) => status(cs, 'a') === 'offline' || status(cs, 'b') === 'offline');
  t.is(status(off, 'a'), 'offline');
  t.is(status(off, 'b'), 'offline', 'both silent nodes went offline in the same revision');
  t.is(s.getNode('c')!.status, 'online');
  t.is(s.getNode('d')!.status, 'online');
  const requeued = await until(s, (cs) => cs.changes.some((c) => c.table === 'tasks'));
  const after = Object.fromEntries(requeued.changes.filter((c) => c.table === 'tasks').map((c) => [c.id, (c as { record: { status: string; attempts: number; error: string | null; assigned_to: string | null } }).record]));
  t.is(after.once!.status, 'pending');
  t.is(after.once!.attempts, 1, 'attempts are kept');
  t.is(after.once!.assigned_to, null);
  t.is(after.waiting!.status, 'pending');
  t.is(after.twice!.status, 'failed', 'a task that ran maxAttempts times fails');
  t.regex(after.twice!.error!, /node b stopped answering .* run 2 times \(liveness\.maxAttempts 2\)/);
  // a is heard again: online at once.
  const back = s.reportHeartbeat('a', { cpu_load: 5 });
  t.false(back.coalesced);
  t.is(back.status, 'online');
  t.is(s.getNode('a')!.status, 'online');
  t.true(s.policyStats().liveness!.expired >= 2);
});

test('liveness: load-only heartbeats are coalesced into one revision per tick; anything else is written at once; bad reports are refused', async (t) => {
  // The master's clock, moved by hand: both nodes are registered (and so written) at the same
  // millisecond, and nothing is due until the clock says so (a tick on the real clock could fall
  // between two registrations a millisecond apart and write one node alone).
  let now = 1_700_000_000_000;
  const s = ClusterState.inMemory({ clusterId: 'live-2', clock: () => now, liveness: { heartbeatTimeoutMs: 5000, coalesceMs: 300 } });
  t.teardown(() => s.close());
  s.registerNode({ id: 'n1', role: 'worker', resources: { cpu_count: 4, memory_total: 8 * 2 ** 30 } });
  s.registerNode({ id: 'n2', role: 'worker', resources: { cpu_count: 4, memory_total: 8 * 2 ** 30 } });
  const rev = s.revision;
  for (let i = 0; i < 200; i++) {
    const r = s.reportHeartbeat(i % 2 ? 'n1' : 'n2', { cpu_load: 2 + i / 10, memory_available: 1e9 + i });
    t.true(r.coalesced);
    t.is(r.revision, rev);
  }
  t.is(s.revision, rev, '200 heartbeats, no revision');
  const bad = [() => s.reportHeartbeat('n1', { cpu_load: 'high' as never }), () => s.reportHeartbeat('ghost', { cpu_load: 1 }), () => s.reportHeartbeat('n2', { memory_available: 2 ** 40 })];
  t.true(isStateError(t.throws(bad[0]!), 'INVALID_ARGUMENT'));
  t.true(isStateError(t.throws(bad[1]!), 'NOT_FOUND'));
  // Refused at once, as the write would be: a coalesced report is checked against the node whole.
  t.regex(String(t.throws(bad[2]!)), /memory_available must be at most resources\.memory_total/);
  t.is(s.revision, rev);
  // The kept figures of both nodes are written together by a tick once they are due: one revision.
  now += 300;
  const cs = await until(s, (c) => c.changes.length > 0);
  t.deepEqual(cs.changes.map((c) => c.id).sort(), ['n1', 'n2'], 'one revision for both nodes');
  t.is(s.getNode('n1')!.resources.cpu_load, 2 + 199 / 10);
  t.is(s.getNode('n2')!.resources.memory_available, 1e9 + 198);
  // A capacity change is not a load figure: written at once.
  const cap = s.reportHeartbeat('n1', { cpu_count: 16 });
  t.false(cap.coalesced);
  t.is(s.getNode('n1')!.resources.cpu_count, 16);
  t.true(s.policyStats().liveness!.coalesced >= 200);
});

test('liveness: a fresh start gives every node a grace period (a takeover never marks the cluster offline)', async (t) => {
  // Nodes last seen long ago (e.g. before a takeover): liveness measures from its own start.
  const old = ClusterState.inMemory({ clusterId: 'live-3', clock: () => 1_000 });
  for (const id of ['x', 'y', 'z']) old.registerNode({ id, role: 'worker' });
  const tables = old.getTables();
  await old.close();
  const s = ClusterState.inMemory({ clusterId: 'live-3', import: tables, liveness: { heartbeatTimeoutMs: 400 } });
  t.teardown(() => s.close());
  t.deepEqual(['x', 'y', 'z'].map((id) => s.getNode(id)!.status), ['online', 'online', 'online']);
  const beat = setInterval(() => {
    s.reportHeartbeat('x');
    s.reportHeartbeat('y');
  }, 50);
  t.teardown(() => clearInterval(beat));
  const off = await until(s, (cs) => status(cs, 'z') === 'offline');
  t.is(off.changes.length, 1, 'only the silent node expired');
  t.is(s.getNode('x')!.status, 'online');
  t.is(s.getNode('y')!.status, 'online');
});

test('liveness and scheduler options are checked', (t) => {
  const cases: [unknown, RegExp][] = [
    [{ liveness: {} }, /options\.liveness\.heartbeatTimeoutMs/],
    [{ liveness: { heartbeatTimeoutMs: 1000, coalesceMs: 1000 } }, /coalesceMs.*less than heartbeatTimeoutMs/],
    [{ liveness: { heartbeatTimeoutMs: 1000, every: 1 } }, /options\.liveness\.every/],
    [{ scheduler: 'yes' }, /options\.scheduler/],
    [{ scheduler: { intervalMs: 0 } }, /options\.scheduler\.intervalMs/],
  ];
  for (const [extra, re] of cases) {
    const e = t.throws(() => ClusterState.inMemory({ clusterId: 'c', ...(extra as object) }));
    t.true(isStateError(e, 'INVALID_ARGUMENT'), String(e));
    t.regex(String(e), re);
  }
});

test('liveness: a tick writes at most 1,000 nodes per revision (a revision must fit a replication message)', async (t) => {
  let now = 1_700_000_000_000;
  const s = ClusterState.inMemory({ clusterId: 'live-big', clock: () => now, liveness: { heartbeatTimeoutMs: 5000, coalesceMs: 300 } });
  t.teardown(() => s.close());
  s.transaction(() => {
    for (let i = 0; i < 2500; i++) s.registerNode({ id: `n${i}`, role: 'worker', resources: { cpu_count: 4, memory_total: 2 ** 33 } });
  });
  for (let i = 0; i < 2500; i++) t.true(s.reportHeartbeat(`n${i}`, { cpu_load: 10 }).coalesced);
  const rev = s.revision;
  const seen: number[] = [];
  now += 300;
  await until(s, (cs) => {
    seen.push(cs.changes.length);
    return seen.reduce((a, b) => a + b, 0) >= 2500;
  });
  t.deepEqual(seen, [1000, 1000, 500], 'the 2,500 due nodes in three revisions of at most 1,000');
  t.is(s.revision, rev + 3);
  // Expiry too: 2,500 silent nodes go offline in three revisions.
  now += 6000;
  const off: number[] = [];
  await until(s, (cs) => {
    off.push(cs.changes.filter((c) => c.table === 'nodes').length);
    return off.reduce((a, b) => a + b, 0) >= 2500;
  });
  t.deepEqual(off, [1000, 1000, 500]);
  t.is(s.getNode('n2499')!.status, 'offline');
});
