// Inputs are read once, then validated, then used: a getter (or Proxy) that answers differently
// on a second read cannot store a value that was never validated; arguments that cannot reach a
// worker thread and option keys nobody reads are INVALID_ARGUMENT, before anything happens.
import test from 'ava';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState, StateError } from '../../src/index.js';
import * as H from '../../src/helpers/index.js';
import { checkOptions, MAX_JSON_LENGTH } from '../../src/validate/values.js';

const BIG = 'x'.repeat(2 * 1024 * 1024); // past the 1 MiB JSON limit

/** An object whose property `key` is `first` on the first read and `later` on every other. */
function fickle<T extends object>(base: T, key: string, first: unknown, later: unknown): T {
  let reads = 0;
  return Object.defineProperty({ ...base }, key, { enumerable: true, get: () => (reads++ === 0 ? first : later) }) as T;
}

const mem = () => ClusterState.inMemory({ clusterId: 'once', clock: () => 1_700_000_000_000 });

test('a payload getter that grows to 2 MB after validation: what was validated is what is stored', async (t) => {
  const s = mem();
  const input = fickle({ id: 't1', type: 'process' }, 'payload', { small: true }, BIG);
  s.addTask(input as never);
  t.deepEqual(s.getTask('t1')!.payload, { small: true });
  const tables = s.getTables();
  t.is(tables.tasks.numRows, 1);
  t.true(JSON.stringify(s.getTask('t1')).length < MAX_JSON_LENGTH);
  await s.close();
});

test('nested getters (payload members, metadata, result, resources, lists) are each read once', async (t) => {
  const s = mem();
  s.registerNode({ id: 'w1', role: 'worker' });
  // A nested member of a JSON value.
  s.addTask({ id: 't1', type: 'process', payload: fickle({}, 'blob', 'small', BIG) as never });
  t.deepEqual(s.getTask('t1')!.payload, { blob: 'small' });
  // Node metadata, and a resources object whose memory turns invalid on a second read.
  s.registerNode({ id: 'w2', role: 'worker', metadata: fickle({}, 'zone', 'a', BIG) as never, resources: fickle({ cpu: 2 }, 'memory', '4GB', 'not a size') as never });
  t.deepEqual(s.getNode('w2')!.metadata, { zone: 'a' });
  t.is(s.getNode('w2')!.resources.memory_total, 4_000_000_000);
  // A result set by updateTask.
  s.assignTask('t1', 'w1');
  s.updateTask('t1', fickle({ status: 'completed' }, 'result', { ok: 1 }, BIG) as never);
  t.deepEqual(s.getTask('t1')!.result, { ok: 1 });
  // An id list whose element changes after it was checked (a Proxy over an array).
  let reads = 0;
  const peers = new Proxy(['w1'], {
    getOwnPropertyDescriptor(target, k) {
      const d = Reflect.getOwnPropertyDescriptor(target, k);
      if (k === '0' && d) return { ...d, value: reads++ === 0 ? 'w1' : 'bad\u001bid' };
      return d;
    },
    get(target, k, r) {
      if (k === '0') return reads++ === 0 ? 'w1' : 'bad\u001bid';
      return Reflect.get(target, k, r);
    },
  });
  s.registerNode({ id: 'w3', role: 'worker', peers: peers as never });
  t.deepEqual(s.getNode('w3')!.peers, ['w1']);
  // The id itself: the record stored under the id that was checked.
  s.registerNode(fickle({ role: 'worker' }, 'id', 'w4', 'w4\u0000') as never);
  t.truthy(s.getNode('w4'));
  t.deepEqual(s.getTables().nodes.getChild('id')!.toArray(), ['w1', 'w2', 'w3', 'w4']);
  await s.close();
});

test('a second registration of a node reads its input once too (the upsert path)', async (t) => {
  const s = mem();
  s.registerNode({ id: 'w1', role: 'worker' });
  let reads = 0;
  const input = Object.defineProperty({ id: 'w1' }, 'role', { enumerable: true, get: () => (reads++ === 0 ? 'master' : 'no-such-role') });
  s.registerNode(input as never);
  t.is(reads, 1);
  t.is(s.getNode('w1')!.role, 'master');
  t.is(s.masterId, 'w1');
  await s.close();
});

test('query arguments that cannot be copied to a worker are INVALID_ARGUMENT before anything is posted (not a DOMException)', async (t) => {
  const s = mem();
  s.registerNode({ id: 'w1', role: 'worker' });
  const cases: [string, unknown[], RegExp][] = [
    ['a function', [() => 'worker'], /query "findNodesByRole" argument 1 must be a value that can be copied to a worker thread.*got \[function/],
    ['a symbol', [Symbol('worker')], /argument 1 .*got Symbol\(worker\)/],
    ['an object holding a function', [{ cpu: 1, f() { return 1; } }], /argument 1/],
  ];
  for (const [what, args, re] of cases) {
    const err = await t.throwsAsync(s.query('findNodesByRole', ...args), { instanceOf: StateError }, what);
    t.is(err?.code, 'INVALID_ARGUMENT', what);
    t.regex(err!.message, re, what);
  }
  const unknown = await t.throwsAsync(s.query('noSuchQuery'), { instanceOf: StateError });
  t.is(unknown?.code, 'INVALID_ARGUMENT');
  t.regex(unknown!.message, /query name must be a known query .*findNodesByRole.*got "noSuchQuery"/);
  const notText = await t.throwsAsync(s.query(42 as never), { instanceOf: StateError });
  t.is(notText?.code, 'INVALID_ARGUMENT');
  // No pool was started for refused calls; a good call still works.
  t.deepEqual((await s.query('findNodesByRole', 'worker') as { id: string }[]).map((n) => n.id), ['w1']);
  await s.close();
});

test('ClusterState.open refuses an option key it does not know (and accepts every key it documents)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acs-once-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const err = await t.throwsAsync(ClusterState.open({ statePath: dir, clusterId: 'keys', lockStale: 5000 } as never), { instanceOf: StateError });
  t.is(err?.code, 'INVALID_ARGUMENT');
  t.regex(err!.message, /options\.lockStale .*accepted: .*lockStaleMs/);
  const s = await ClusterState.open({
    statePath: dir, clusterId: 'keys', nodeId: 'm', clock: Date.now, initialSharedBytes: 1 << 20, maxSharedBytes: 1 << 24,
    queryThreads: 1, lockStaleMs: 5000, lockWaitMs: 0, parquet: false, startFresh: false, onFatal: () => undefined, recoverOlder: false,
  });
  t.is(s.revision, 0);
  await s.close();
});

test('ClusterState.open checks the values of nested options (parquet, checkpoint, history): INVALID_ARGUMENT naming the option, no directory created', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'acs-once-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ parquet: { codec: 'gzip' } }, /options\.parquet\.codec/],
    [{ parquet: { maxAgeMs: -1 } }, /options\.parquet\.maxAgeMs/],
    [{ parquet: { minIntervalMs: 1.5 } }, /options\.parquet\.minIntervalMs/],
    [{ parquet: { maxAgeMs: '60s' } }, /options\.parquet\.maxAgeMs/],
    [{ parquet: true }, /options\.parquet/],
    [{ checkpoint: { bytes: 0 } }, /options\.checkpoint\.bytes/],
    [{ checkpoint: { revisions: NaN } }, /options\.checkpoint\.revisions/],
    [{ checkpoint: { every: 1 } }, /options\.checkpoint/],
    [{ history: { revisions: -1 } }, /options\.history\.revisions/],
  ];
  for (const [i, [opts, pattern]] of bad.entries()) {
    const dir = join(root, `d${i}`);
    const err = await t.throwsAsync(ClusterState.open({ statePath: dir, clusterId: 'opts', ...opts } as never), { instanceOf: StateError }, JSON.stringify(opts));
    t.is(err?.code, 'INVALID_ARGUMENT', JSON.stringify(opts));
    t.regex(err!.message, pattern);
    t.false(existsSync(dir), 'nothing was created');
  }
  const s = await ClusterState.open({ statePath: join(root, 'ok'), clusterId: 'opts', parquet: { codec: 'snappy', maxAgeMs: 1000, minIntervalMs: 0 }, checkpoint: { bytes: 1 << 20, revisions: 10 }, history: { revisions: 5 } });
  s.registerNode({ id: 'n', role: 'worker' });
  await s.exportParquet();
  await s.close();
});

test('helper option objects refuse unknown keys (INVALID_ARGUMENT naming the key and the accepted ones)', async (t) => {
  const s = mem();
  s.registerNode({ id: 'w1', role: 'worker' });
  s.addTask({ id: 't1', type: 'process' });
  t.throws(() => H.estimateTimeToCompletion(s, 't1', { nwo: 1 } as never), { instanceOf: StateError, message: /^INVALID_ARGUMENT: options\.nwo .*accepted: now/ });
  t.throws(() => H.getStatePathFromMetadata('/nonexistent', { standardLocation: false } as never), { instanceOf: StateError, message: /options\.standardLocation .*accepted: standardLocations, home/ });
  await s.close();
});

test('checkOptions: the one check of option objects (plain copy, unknown keys named, exotic objects refused)', (t) => {
  const o = { a: 1, b: undefined };
  const copy = checkOptions(o, ['a', 'b']);
  t.deepEqual(copy, { a: 1, b: undefined });
  t.not(copy, o);
  t.deepEqual(checkOptions(undefined, ['a']), {});
  t.throws(() => checkOptions(undefined, ['a'], 'opts', false), { message: /^INVALID_ARGUMENT: opts must be an object, got undefined/ });
  t.throws(() => checkOptions({ a: 1, c: 2 }, ['a', 'b'], 'opts'), { message: /^INVALID_ARGUMENT: opts\.c must be absent: "c" is not an option here \(accepted: a, b\), got 2$/ });
  t.throws(() => checkOptions([], ['a']), { message: /must be an object/ });
  let reads = 0;
  const g = checkOptions(Object.defineProperty({}, 'a', { enumerable: true, get: () => ++reads }), ['a']);
  t.is(g.a, 1);
  t.is(g.a, 1);
  t.is(reads, 1);
  const own = checkOptions(JSON.parse('{"__proto__": 5}') as object, ['__proto__']);
  t.is(Object.getPrototypeOf(own), Object.prototype, 'a "__proto__" key is copied as data, never as the prototype');
});

test('revoked Proxies given to the helpers and to trackWorker are INVALID_ARGUMENT, not TypeError', async (t) => {
  const revoked = () => {
    const p = Proxy.revocable({}, {});
    p.revoke();
    return p.proxy as never;
  };
  const s = mem();
  s.registerNode({ id: 'w1', role: 'worker', resources: { cpu: 2, memory: '4GB' } });
  for (const [what, f] of [
    ['a state source', () => H.getAllNodes(revoked())],
    ['a state source (dict)', () => H.getClusterStateAsDict(revoked())],
    ['requirements', () => H.findAvailableNodeForTask(s, revoked())],
    ['requirements (filter)', () => H.findTasksByResourceRequirements(s, revoked())],
    ['helper options', () => H.estimateTimeToCompletion(s, 't', revoked())],
    ['a worker', () => s.trackWorker(revoked())],
  ] as const) {
    const err = t.throws(f, { instanceOf: StateError }, what);
    t.is(err?.code, 'INVALID_ARGUMENT', what);
    t.regex(err!.message, /must be a readable plain value, but reading it threw "TypeError: .*revoked/, what);
  }
  const q = await t.throwsAsync(s.query('findNodesByRole', revoked()), { instanceOf: StateError });
  t.is(q?.code, 'INVALID_ARGUMENT');
  await s.close();
});
