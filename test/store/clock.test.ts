// The `clock` option: every reading is checked before it is used (a finite number of epoch ms in
// the Date range; fractional ms are floored), read once per mutation, and a bad reading fails the
// mutation with INVALID_ARGUMENT naming the value while state and revision stay as they were.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState, StateError } from '../../src/index.js';

const T0 = 1_700_000_000_000;

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'acs-clock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A clock that returns `value` while `bad` is set (or throws `throwing`), else T0 + calls. */
function switchable() {
  const c = { bad: false, value: undefined as unknown, throwing: null as Error | null, calls: 0 };
  const fn = (): number => {
    c.calls++;
    if (c.throwing) throw c.throwing;
    return (c.bad ? c.value : T0 + c.calls) as number;
  };
  return { c, fn };
}

test('a fractional-ms clock (performance.timeOrigin + performance.now()) works: stamps are floored to whole ms; flush, close and a later writer succeed', async (t) => {
  const dir = tempDir(t);
  const clock = () => performance.timeOrigin + performance.now();
  const s = await ClusterState.open({ statePath: dir, clusterId: 'frac', clock, parquet: false });
  s.registerNode({ id: 'w1', role: 'worker', resources: { cpu: 2, memory: '4GB' } });
  s.addTask({ id: 't1', type: 'process' });
  s.assignTask('t1', 'w1');
  s.updateTask('t1', { status: 'running' });
  const node = s.getNode('w1')!;
  t.true(Number.isInteger(node.last_seen), String(node.last_seen));
  t.true(Number.isInteger(s.updatedAt), String(s.updatedAt));
  t.true(Number.isInteger(s.getTask('t1')!.updated_at));
  t.is(s.getTask('t1')!.started_at, s.getTask('t1')!.updated_at / 1000, 'one reading per mutation: both stamps agree');
  t.is(s.getState().numRows, 1);
  const rev = await s.flush();
  t.is(rev, s.revision);
  await s.close();
  // The timestamps persisted are whole: a later writer (with the default clock) opens and writes.
  const again = await ClusterState.open({ statePath: dir, parquet: false });
  t.is(again.revision, rev);
  t.deepEqual(again.getNode('w1'), node);
  again.heartbeat('w1');
  await again.flush();
  await again.close();
});

const BAD_READINGS: [string, unknown, string][] = [
  ['NaN', NaN, 'got NaN'],
  ['Infinity', Infinity, 'got Infinity'],
  ['-Infinity', -Infinity, 'got -Infinity'],
  ['2^63 (would wrap in an int64 column)', 2 ** 63, `got ${2 ** 63}`],
  ['past the Date range', 8.64e15 + 1, 'got 8640000000000001'],
  ['negative', -1, 'got -1'],
  ['a string', '1700000000000', 'got "1700000000000"'],
  ['a bigint', 1_700_000_000_000n, 'got 1700000000000n'],
  ['undefined', undefined, 'got undefined'],
];

for (const [name, value, shown] of BAD_READINGS) {
  test(`a clock reading ${name} fails the mutation with INVALID_ARGUMENT naming it; nothing changes, getState() still works`, async (t) => {
    const { c, fn } = switchable();
    const s = ClusterState.inMemory({ clusterId: 'clock', clock: fn });
    s.registerNode({ id: 'w1', role: 'worker' });
    s.addTask({ id: 't1', type: 'process' });
    const before = { revision: s.revision, updatedAt: s.updatedAt, node: s.getNode('w1'), task: s.getTask('t1'), state: JSON.stringify(s.getState().toArray(), (_k, v) => (typeof v === 'bigint' ? String(v) : v)) };
    c.bad = true;
    c.value = value;
    const ops: [string, () => unknown][] = [
      ['heartbeat', () => s.heartbeat('w1')],
      ['registerNode', () => s.registerNode({ id: 'w2', role: 'worker' })],
      ['addTask', () => s.addTask({ id: 't2', type: 'process' })],
      ['assignTask', () => s.assignTask('t1', 'w1')],
      ['addContent', () => s.addContent({ cid: 'c1', size: 1 })],
      ['transaction', () => s.transaction((st) => st.removeTask('t1'))],
    ];
    for (const [op, f] of ops) {
      const err = t.throws(f, { instanceOf: StateError }, op);
      t.is(err?.code, 'INVALID_ARGUMENT', op);
      t.true(err!.message.includes('options.clock()'), err?.message);
      t.true(err!.message.includes(shown), `${err?.message} should show ${shown}`);
    }
    t.is(s.revision, before.revision);
    t.is(s.updatedAt, before.updatedAt);
    t.deepEqual(s.getNode('w1'), before.node);
    t.deepEqual(s.getTask('t1'), before.task);
    t.is(s.getContent('c1'), undefined);
    t.is(s.getNode('w2'), undefined);
    t.is(JSON.stringify(s.getState().toArray(), (_k, v) => (typeof v === 'bigint' ? String(v) : v)), before.state);
    // A good clock again: the writer carries on.
    c.bad = false;
    s.heartbeat('w1');
    t.is(s.revision, before.revision + 1);
    t.is(await s.published(), s.revision);
    await s.close();
  });
}

test('a clock that throws fails the mutation with INVALID_ARGUMENT (its error as the cause); the revision is unchanged', async (t) => {
  const { c, fn } = switchable();
  const s = ClusterState.inMemory({ clusterId: 'clock', clock: fn });
  s.registerNode({ id: 'w1', role: 'worker' });
  const rev = s.revision;
  const boom = new Error('clock broke');
  c.throwing = boom;
  const err = t.throws(() => s.heartbeat('w1'), { instanceOf: StateError });
  t.is(err?.code, 'INVALID_ARGUMENT');
  t.regex(err!.message, /options\.clock\(\).*clock broke/);
  t.is(err!.cause, boom);
  t.is(s.revision, rev);
  c.throwing = null;
  await s.close();
});

test('the clock is read once per mutation, before anything changes; a revision is stamped with its latest reading, never read again at commit', async (t) => {
  const { c, fn } = switchable();
  const s = ClusterState.inMemory({ clusterId: 'clock', clock: fn });
  s.registerNode({ id: 'w1', role: 'worker' });
  let calls = c.calls;
  s.heartbeat('w1');
  t.is(c.calls - calls, 1, 'one reading for one mutation');
  calls = c.calls;
  s.updateNodeStatus('w1', 'online'); // calls updateNode internally: still one mutation
  t.is(c.calls - calls, 1);
  calls = c.calls;
  s.transaction((st) => {
    st.addTask({ id: 't1', type: 'process' });
    st.assignTask('t1', 'w1');
    st.updateTask('t1', { status: 'running' });
  });
  t.is(c.calls - calls, 3, 'one reading per mutation of a transaction');
  const task = s.getTask('t1')!;
  t.is(task.started_at, task.updated_at / 1000, 'the stamps of one mutation agree');
  t.is(s.updatedAt, task.updated_at, 'the revision is stamped with its latest reading');
  // A clock that breaks once the transaction's mutations are done (formerly read again at
  // commit, which threw after the revision was bumped): the transaction commits whole.
  const rev = s.revision;
  s.transaction((st) => {
    st.addTask({ id: 't2', type: 'process' });
    st.assignTask('t2', 'w1');
    c.throwing = new Error('broken from now on');
  });
  t.is(s.revision, rev + 1);
  t.is(s.getTask('t2')!.status, 'assigned');
  t.is(await s.published(), rev + 1);
  // A clock that breaks in the middle of a transaction fails it whole: nothing changes.
  c.throwing = null;
  const err = t.throws(() => s.transaction((st) => {
    st.addTask({ id: 't3', type: 'process' });
    c.throwing = new Error('broken mid-transaction');
    st.assignTask('t3', 'w1');
  }), { instanceOf: StateError });
  t.regex(err!.message, /^INVALID_ARGUMENT: options\.clock\(\) .*broken mid-transaction/);
  t.is(s.revision, rev + 1);
  t.is(s.getTask('t3'), undefined);
  // ... and so does the next single mutation, before changing anything.
  t.throws(() => s.removeTask('t2'), { instanceOf: StateError, message: /^INVALID_ARGUMENT: options\.clock\(\)/ });
  t.is(s.revision, rev + 1);
  t.truthy(s.getTask('t2'));
  c.throwing = null;
  await s.close();
});

test('a bad clock at construction is INVALID_ARGUMENT, not a stored NaN', (t) => {
  t.throws(() => ClusterState.inMemory({ clusterId: 'c', clock: () => NaN }), { instanceOf: StateError, message: /^INVALID_ARGUMENT: options\.clock\(\) .*got NaN/ });
});

test('a fractional commit time stored by an earlier writer (before readings were checked) is floored on reopen: getState(), flush and the Parquet export work', async (t) => {
  const dir = tempDir(t);
  const s = await ClusterState.open({ statePath: dir, clusterId: 'legacy', parquet: false });
  s.registerNode({ id: 'w1', role: 'worker' });
  // What an unchecked performance.now()-based clock left in the file (a revision stamped 1.5 ms past a whole ms).
  (s as unknown as { m: { updatedAt: number } }).m.updatedAt = 4_000_000_000_000.5; // the writer's model, reached past its privacy
  s.heartbeat('w1'); // committed with max(now, the stored time): still fractional
  t.is(s.updatedAt, 4_000_000_000_000.5);
  await s.flush();
  await s.close();
  const again = await ClusterState.open({ statePath: dir });
  t.is(again.updatedAt, 4_000_000_000_000);
  t.is(again.getState().numRows, 1);
  again.heartbeat('w1');
  await again.flush();
  await again.exportParquet();
  await again.close();
});
