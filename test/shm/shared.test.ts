// Shared memory with real worker threads: zero-copy views, consistency under load, growth,
// pinned snapshots, terminated workers, bad handles and corrupted headers.
import test from 'ava';
import { Worker } from 'node:worker_threads';
import { ClusterState, StateError } from '../../src/index.js';
import { attachState } from '../../src/worker.js';
import { hashRows } from '../fixtures/invariants.js';
import { consistencyWriter as makeWriter } from '../fixtures/consistency-writer.js';

const consistencyWriter = (seed: number, initialTasks: number) => makeWriter(ClusterState.inMemory({ clusterId: 'consistency', initialSharedBytes: 1 << 20 }), seed, initialTasks);

const WORKER = new URL('../fixtures/reader-worker.js', import.meta.url);

function message<T>(w: Worker, timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker did not answer in time')), timeoutMs);
    w.once('message', (m) => { clearTimeout(timer); resolve(m as T); });
    w.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

async function startVerifiers(s: ClusterState, holds: number[], maxRevisions: number) {
  await s.published(); // the setup transaction is visible before any verifier starts
  const control = new SharedArrayBuffer(8 + maxRevisions);
  const workers = holds.map((holdMs) => new Worker(WORKER, { workerData: { handle: s.shared(), mode: 'verify', holdMs, control } }));
  for (const w of workers) s.trackWorker(w);
  return { control, ctl: new Int32Array(control, 0, 2), workers, results: workers.map((w) => message<VerifyResult>(w)) };
}

interface VerifyResult { verified: number; violations: number; problems: string[]; finalRevision: number; hash: string; maxBytes: number }

test('zero-copy: in a worker thread every column buffer of a snapshot is a view on the SharedArrayBuffer', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'zc' });
  s.registerNode({ id: 'm', role: 'master', peers: ['w'], capabilities: ['gpu'], resources: { cpu: 8, memory: '8GiB', gpu: 1 }, metadata: { a: 1 } });
  s.registerNode({ id: 'w', role: 'worker', address: '10.0.0.1' });
  for (let i = 0; i < 5000; i++) s.addTask({ id: `t${i}`, type: i % 2 ? 'process' : 'custom', payload: i % 3 ? { i } : null, input_cids: [`c${i}`] });
  s.assignTask('t1', 'w');
  s.updateTask('t1', { status: 'completed', result: { ok: true } });
  s.addContent({ cid: 'c1', size: '1MB', providers: ['w'], pinned: true });
  await s.published(); // visible to workers from here on
  const w = new Worker(WORKER, { workerData: { handle: s.shared(), mode: 'zero-copy' } });
  const m = await message<{ views: number; shared: number; revision: number; rows: number }>(w);
  t.is(m.revision, s.revision);
  t.is(m.rows, 5000 + 2 + 1);
  t.true(m.views > 50, `${m.views} buffers checked`);
  t.is(m.shared, m.views, 'every buffer is a view on the shared memory');
  await w.terminate();
  await s.close();
});

test('consistency under load, adaptive publishing at full rate: 10,000+ revisions committed, every published one verified by three workers (one slow), none torn or stale', async (t) => {
  const { s, step } = consistencyWriter(7, 6000);
  const v = await startVerifiers(s, [0, 0, 20], 2_000_000);
  // One commit per turn, as fast as the writer goes: publishing is paced (options.publishing), so
  // a publish carries many revisions; the verifiers check every publication they see.
  const deadline = Date.now() + 90_000;
  let steps = 0;
  while ((steps < 10_000 || Atomics.load(v.ctl, 1) < 200) && Date.now() < deadline) {
    step();
    steps++;
    await nextTurn();
  }
  await s.published();
  Atomics.store(v.ctl, 0, s.revision + 1);
  const results = await Promise.all(v.results);
  const unique = Atomics.load(v.ctl, 1);
  t.true(steps >= 10_000, `${steps} revisions committed`);
  t.true(unique >= 200, `${unique} distinct published revisions verified in ${steps} steps`);
  const expected = hashRows(s.getTables());
  for (const r of results) {
    t.deepEqual(r.problems, []);
    t.is(r.violations, 0);
    t.is(r.finalRevision, s.revision);
    t.is(r.hash, expected, 'a full row-by-row compare matches at the end');
  }
  t.true(results[2]!.verified > 0, 'the slow reader verified revisions too');
  t.log(`verified per worker: ${results.map((r) => r.verified).join(', ')}; shared bytes ${s.memoryStats().sharedBytes}`);
  await Promise.all(v.workers.map((w) => w.terminate()));
  await s.close();
});

test('growth: the buffer grows in place from 10 to 100,000 entities while workers read', async (t) => {
  const { s, step } = consistencyWriter(11, 0);
  const before = s.shared().sab.byteLength;
  const v = await startVerifiers(s, [0, 5], 100_000);
  while (s.counts.tasks < 100_000) {
    step(Math.min(2500, 100_000 - s.counts.tasks));
    await nextTurn();
  }
  await s.published();
  Atomics.store(v.ctl, 0, s.revision + 1);
  const results = await Promise.all(v.results);
  const expected = hashRows(s.getTables());
  for (const r of results) {
    t.deepEqual(r.problems, []);
    t.is(r.finalRevision, s.revision);
    t.is(r.hash, expected);
    t.true(r.maxBytes > before, 'workers saw the same buffer grow');
  }
  t.true(s.shared().sab.byteLength > before * 4);
  t.is(s.counts.tasks, 100_000);
  await Promise.all(v.workers.map((w) => w.terminate()));
  await s.close();
});

test('a pinned snapshot keeps its memory; releasing it lets the writer reclaim', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'pin' });
  for (let i = 0; i < 5000; i++) s.addTask({ id: `t${i}`, type: 'process' });
  await s.published();
  const reader = attachState(s.shared());
  const snap = reader.snapshot();
  const first = snap.tasks.getChild('id')!.get(4999);
  for (let i = 0; i < 5000; i += 100) s.updateTask(`t${i}`, { priority: 1 });
  await s.published();
  t.true(s.memoryStats().retiredBytes > 0, 'superseded batches are held for the pinned reader');
  t.is(snap.tasks.getChild('id')!.get(4999), first, 'the pinned snapshot is intact');
  t.is(snap.tasks.getChild('priority')!.get(0), 0, 'and still shows its own revision');
  snap.release();
  s.addTask({ id: 'after', type: 'process' });
  await s.published();
  t.is(s.memoryStats().retiredBytes, 0, 'released: everything retired is freed');
  const next = reader.snapshot();
  t.is(next.tasks.getChild('priority')!.get(0), 1);
  reader.close();
  await s.close();
});

test('a worker terminated while holding a snapshot does not stop publishes nor hold memory', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'dead' });
  for (let i = 0; i < 9000; i++) s.addTask({ id: `t${i}`, type: 'process' });
  await s.published();
  const w = new Worker(WORKER, { workerData: { handle: s.shared(), mode: 'hold' } });
  s.trackWorker(w);
  const { holding } = await message<{ holding: number }>(w);
  t.is(holding, s.revision);
  for (let i = 0; i < 9000; i += 50) s.updateTask(`t${i}`, { priority: 2 });
  await s.published();
  t.true(s.memoryStats().retiredBytes > 0, 'the live holder keeps the old batches');
  const exited = new Promise((r) => w.once('exit', r));
  await w.terminate();
  await exited;
  s.addTask({ id: 'x', type: 'process' });
  const rev = await s.published();
  t.is(rev, s.revision, 'publishing goes on');
  t.is(s.memoryStats().retiredBytes, 0, 'the dead reader\'s pin no longer holds memory');
  await s.close();
});

test('bad handles and corrupted headers give a clear StateError', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'h' });
  const h = s.shared();
  t.is(t.throws(() => attachState(JSON.parse(JSON.stringify(h))), { instanceOf: StateError })!.code, 'INVALID_ARGUMENT');
  t.regex(t.throws(() => attachState({ ...h, pid: h.pid + 1 }))!.message, /another process/);
  t.is(t.throws(() => attachState({ nope: 1 }), { instanceOf: StateError })!.code, 'INVALID_ARGUMENT');
  t.is(t.throws(() => attachState(null), { instanceOf: StateError })!.code, 'INVALID_ARGUMENT');
  t.is(t.throws(() => attachState({ ...h, token: h.token + 1 }), { instanceOf: StateError })!.code, 'CORRUPT');
  const reader = attachState(h);
  t.is(reader.snapshot().revision, 0);
  const i32 = new Int32Array(h.sab, 0, 8);
  const magic = i32[0]!;
  i32[0] = 0x12345678;
  t.is(t.throws(() => reader.snapshot(), { instanceOf: StateError })!.code, 'CORRUPT');
  t.is(t.throws(() => attachState(h), { instanceOf: StateError })!.code, 'CORRUPT');
  i32[0] = magic;
  reader.close();
  await s.close();
});
