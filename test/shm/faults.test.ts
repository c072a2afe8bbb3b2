// Issue 10, findings 8-10 and the worker wait: snapshots held forever, readers writing into
// their views, bit flips in shared memory, and waitForRevision in a worker. Real worker threads
// and child processes; no sleeps.
import test from 'ava';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { ClusterState, StateError } from '../../src/index.js';
import { attachState } from '../../src/worker.js';
import { findTasksByStatus, getTaskById } from '../../src/helpers/index.js';
import { I32_NOTIFY, I64_GEN, I64_PUBS, recordIndex, REC_GEN } from '../../src/shm/layout.js';
import type { SharedHandle } from '../../src/shm/reader.js';
import type { Snapshot } from '../../src/snapshot.js';

const FAULT_WORKER = new URL('../fixtures/fault-worker.js', import.meta.url);
const FUZZ = new URL('../fixtures/shm-fuzz.js', import.meta.url);
const MiB = 1024 * 1024;

function next<T>(w: Worker, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker did not answer in time')), timeoutMs);
    const onExit = (code: number) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (code ${code}) before answering`));
    };
    w.once('message', (m) => {
      clearTimeout(timer);
      w.off('exit', onExit);
      resolve(m as T);
    });
    w.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    w.once('exit', onExit);
  });
}

/** Resolves once `cond()` holds, waking on every publication (the writer's NOTIFY word). */
async function untilPublished(handle: SharedHandle, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const i32 = new Int32Array(handle.sab, 0, 16);
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    const seen = Atomics.load(i32, I32_NOTIFY);
    if (cond()) return;
    const w = Atomics.waitAsync(i32, I32_NOTIFY, seen, 1000);
    if (w.async) await w.value;
  }
}

function tasks(s: ClusterState, n: number): void {
  s.transaction(() => {
    for (let i = 0; i < n; i++) s.addTask({ id: `t${i}`, type: 'process', priority: i % 97, payload: { i } });
  });
}

// ───────────────────────────── finding 8: a held snapshot ─────────────────────────────

test('finding 8: a worker holds one snapshot while 10k tasks are updated — memory stays bounded, the snapshot throws COMPACTED instead of changing', async (t) => {
  const bound = 2 * MiB;
  const s = ClusterState.inMemory({ clusterId: 'held', maxRetainedBytes: bound, scrub: false });
  tasks(s, 10_000);
  await s.published();
  const w = new Worker(FAULT_WORKER, { workerData: { handle: s.shared(), mode: 'hold' } });
  s.trackWorker(w);
  t.teardown(() => void w.terminate());
  const held = await next<{ revision: number; values: number[] }>(w);
  t.is(held.values.length, 10_000);
  let maxShared = 0;
  let maxRetained = 0;
  for (let i = 0; i < 10_000; i++) {
    s.updateTask(`t${i}`, { priority: 1000 + (i % 7) });
    if (i % 100 === 99) {
      await s.published(); // never rejects: memory does not run out
      const m = s.memoryStats();
      maxShared = Math.max(maxShared, m.sharedBytes);
      maxRetained = Math.max(maxRetained, m.retiredBytes);
    }
  }
  const stats = s.memoryStats();
  t.true(maxRetained <= bound, `retired bytes stayed within maxRetainedBytes (max ${maxRetained})`);
  t.true(maxShared < 64 * MiB, `shared memory stayed bounded (max ${maxShared} bytes; unbounded it grows by ~1 MB per revision)`);
  t.true(stats.revokedPins >= 1, 'the old pin was revoked');
  w.postMessage('check');
  const r = await next<{ differing: number; readCode: string | null; helperCode: string | null; verifyCode: string | null; freshRevision: number; freshFirst: number }>(w);
  t.is(r.differing, 0, 'no value read through the held snapshot differs');
  t.is(r.readCode, 'COMPACTED', 'reading through the revoked snapshot throws COMPACTED');
  t.is(r.helperCode, 'COMPACTED', 'so does a helper given the snapshot');
  t.is(r.verifyCode, 'COMPACTED');
  t.is(r.freshRevision, s.revision, 'a new snapshot works and is current');
  t.is(r.freshFirst, 1000);
  w.postMessage('exit');
  await s.close();
});

test('finding 8: under maxRetainedBytes a held snapshot is never revoked nor changed; released pins free at once', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'kept', maxRetainedBytes: 512 * MiB, scrub: false });
  tasks(s, 5000);
  await s.published();
  const w = new Worker(FAULT_WORKER, { workerData: { handle: s.shared(), mode: 'hold' } });
  s.trackWorker(w);
  t.teardown(() => void w.terminate());
  const held = await next<{ revision: number; values: number[] }>(w);
  for (let round = 0; round < 50; round++) {
    for (let i = round; i < 5000; i += 50) s.updateTask(`t${i}`, { priority: 5000 + round });
    await s.published();
  }
  t.true(s.memoryStats().retiredBytes > 0, 'the held pin keeps superseded batches');
  w.postMessage('check');
  const r = await next<{ differing: number; read: number; readCode: string | null; helperCode: string | null; verifyCode: string | null }>(w);
  t.deepEqual([r.differing, r.read, r.readCode, r.helperCode, r.verifyCode], [0, held.values.length, null, null, null], 'the held snapshot still shows its revision');
  t.is(s.memoryStats().revokedPins, 0);
  const exited = new Promise((r) => w.once('exit', r));
  w.postMessage('exit'); // the reader closes: its pin no longer holds anything
  await exited;
  s.addTask({ id: 'after', type: 'x' });
  await s.published();
  t.is(s.memoryStats().retiredBytes, 0);
  await s.close();
});

test('finding 8: pinTimeoutMs is refused (pins never expire by age); maxRetainedBytes and scrub are validated', (t) => {
  for (const v of [0, 1, 50, 60_000, undefined]) {
    const e = t.throws(() => ClusterState.inMemory({ clusterId: 'x', pinTimeoutMs: v } as never), { instanceOf: StateError })!;
    t.is(e.code, 'INVALID_ARGUMENT');
    t.regex(e.message, /pinTimeoutMs/);
    t.regex(e.message, /maxRetainedBytes/, 'says what replaced it');
  }
  for (const v of ['abc', -1, 0, 1.5, 2 ** 60, NaN, Infinity, null]) {
    const e = t.throws(() => ClusterState.inMemory({ clusterId: 'x', maxRetainedBytes: v as never }), { instanceOf: StateError })!;
    t.is(e.code, 'INVALID_ARGUMENT');
    t.true(e.message.includes('options.maxRetainedBytes') && e.message.includes(String(v === null ? 'null' : typeof v === 'string' ? `"${v}"` : v)), e.message);
  }
  for (const v of [{ bytesPerTick: 0 }, { intervalMs: 0.5 }, { intervalMs: 2 ** 31 }, { every: 1 }, 'fast', true]) {
    const e = t.throws(() => ClusterState.inMemory({ clusterId: 'x', scrub: v as never }), { instanceOf: StateError })!;
    t.is(e.code, 'INVALID_ARGUMENT', e.message);
  }
});

test('finding 8: a helper whose snapshot is revoked while it computes gives COMPACTED, not its result (the withSnapshot check)', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'seqlock', maxRetainedBytes: 1, scrub: false });
  tasks(s, 5000);
  await s.published();
  const reader = attachState(s.shared());
  const snap = reader.snapshot();
  t.is(findTasksByStatus(snap, 'pending').length, 5000, 'unrevoked, the helper answers');
  // A snapshot whose tasks table is handed out just before the writer revokes the pin: the helper
  // computes over memory the writer may reuse, so its result must not be returned.
  let accesses = 0;
  const racing: Snapshot = {
    revision: snap.revision, clusterId: snap.clusterId, masterId: snap.masterId, updatedAt: snap.updatedAt, source: 'worker',
    get nodes() { return snap.nodes; },
    get content() { return snap.content; },
    get tasks() {
      const table = snap.tasks;
      if (++accesses === 2) {
        s.updateTask('t1', { priority: 1 });
        (s as unknown as { publishNow(): void }).publishNow(); // revokes (maxRetainedBytes: 1)
      }
      return table;
    },
    release: () => snap.release(),
    verify: () => snap.verify!(),
  };
  const e = t.throws(() => findTasksByStatus(racing, 'pending'), { instanceOf: StateError })!;
  t.is(e.code, 'COMPACTED');
  t.true(s.memoryStats().revokedPins >= 1);
  t.is(t.throws(() => getTaskById(snap, 't2'))!.message.split(':')[0], 'COMPACTED', 'and the snapshot itself is revoked');
  t.is(reader.snapshot().revision, s.revision, 'a new snapshot is fine');
  reader.close();
  await s.close();
});

test('finding 8: pool queries under churn with maxRetainedBytes 1 never return values of another revision (revoked queries rerun)', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'churn', maxRetainedBytes: 1, queryThreads: 2, scrub: false });
  s.transaction(() => {
    for (let i = 0; i < 9000; i++) s.addTask({ id: `t${i}`, type: 'process', priority: 0, payload: { p: 0 } });
  });
  await s.published();
  let bad = 0;
  let answered = 0;
  const queries: Promise<void>[] = [];
  for (let round = 1; round <= 150; round++) {
    // Keep the invariant priority == payload.p for every task, in every revision.
    s.transaction(() => {
      for (let i = round % 30; i < 9000; i += 30) s.updateTask(`t${i}`, { priority: round, payload: { p: round } });
    });
    const id = `t${(round * 37) % 9000}`;
    queries.push((s.query('getTaskById', id) as Promise<{ priority: number; payload: { p: number } }>).then((r) => {
      answered++;
      if (r.priority !== r.payload.p) bad++;
    }));
    if (round % 5 === 0) await s.published();
  }
  await Promise.all(queries);
  t.is(answered, 150);
  t.is(bad, 0);
  t.log(`revoked pins: ${s.memoryStats().revokedPins}`);
  await s.close();
});

// ───────────────────────── finding 9: readers writing into their views ─────────────────────────

test('finding 9: a worker sorts its snapshot\'s priority column in place — the scrub repairs it; queries and other readers see the writer\'s values', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'sorted', scrub: { intervalMs: 5, bytesPerTick: 64 * MiB }, queryThreads: 1 });
  s.transaction(() => {
    for (let i = 0; i < 3000; i++) s.addTask({ id: `t${i}`, type: 'process', priority: 3000 - i });
  });
  await s.published();
  const other = attachState(s.shared());
  const before = other.snapshot();
  t.is(before.tasks.getChild('priority')!.get(0), 3000);
  const w = new Worker(FAULT_WORKER, { workerData: { handle: s.shared(), mode: 'sort' } });
  s.trackWorker(w);
  t.teardown(() => void w.terminate());
  const sorted = await next<{ sorted: number; buffer: boolean }>(w);
  t.true(sorted.buffer, 'toArray() was a view on shared memory: the sort wrote into it');
  t.is(before.tasks.getChild('priority')!.get(0), 1, 'a reader that decoded the batch earlier sees the damage at once');
  await untilPublished(s.shared(), () => s.memoryStats().repairs > 0);
  t.true(s.memoryStats().repairs >= 1, 'the background scrub found and repaired the batch');
  t.is(s.publishedRevision, s.revision, 'a repair publishes the same revision again (no new revision)');
  t.deepEqual(await s.query('getTaskById', 't0'), s.getTask('t0'));
  t.is(((await s.query('getTaskById', 't0')) as { priority: number }).priority, 3000);
  const after = other.snapshot();
  t.is(after.revision, before.revision);
  t.is(after.tasks.getChild('priority')!.get(0), 3000, 'the other reader\'s next snapshot decodes the repaired extent');
  t.deepEqual(s.scrubNow().repaired, [], 'nothing left to repair');
  other.close();
  await s.close();
});

test('finding 9: scrubNow() finds damage anywhere (batch, prefix, directory, header) and repairs it', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'scrub', scrub: false });
  tasks(s, 5000);
  s.registerNode({ id: 'n1', role: 'worker' });
  await s.published();
  const h = s.shared();
  const reader = attachState(h);
  const original = JSON.stringify(getTaskById(reader.snapshot(), 't4321'));
  reader.release();
  const bytes = new Uint8Array(h.sab);
  const i64 = new BigInt64Array(h.sab, 0, 32);
  const pubs = i64[I64_PUBS]!;
  const dirOffset = Number(i64[recordIndex(pubs, 2)]);
  const { readDirectory } = await import('../../src/arena/directory.js');
  const dir = readDirectory(new Uint8Array(h.sab, dirOffset, Number(i64[recordIndex(pubs, 3)])));
  const batch = dir.tables.tasks.batches[1]!;
  const prefix = dir.tables.nodes.prefix;
  bytes[batch.offset + batch.length - 3]! ^= 0x10;
  bytes[prefix.offset + 20]! ^= 0x01;
  bytes[dirOffset + 9]! ^= 0x80;
  i64[I64_GEN] = 2n ** 62n;
  t.is(t.throws(() => reader.snapshot(), { instanceOf: StateError })!.code, 'CORRUPT', 'readers refuse the damaged state');
  const r = s.scrubNow();
  t.deepEqual([...r.repaired].sort(), ['directory', 'header GEN', 'nodes prefix', 'tasks batch 1']);
  t.true(r.checkedBytes > 0);
  t.is(JSON.stringify(getTaskById(reader.snapshot(), 't4321')), original, 'after the repair readers get the original values');
  t.is(reader.publishedRevision, s.revision);
  reader.close();
  await s.close();
});

// ───────────────────────────── finding 10: bit flips ─────────────────────────────

interface FuzzLine { k?: number; where?: string; result?: string; done?: boolean }

/** Runs the fuzz fixture in a child process; a case that crashes or hangs fails with its number. */
function fuzz(mode: 'shm' | 'decoder', seed: number, cases: number): Promise<{ lines: FuzzLine[]; code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--max-old-space-size=256', FUZZ.pathname, mode, String(seed), String(cases)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: FuzzLine[] = [];
    let buf = '';
    let stderr = '';
    let watchdog: NodeJS.Timeout;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`fuzz ${mode}: no progress for 30 s after case ${lines.at(-1)?.k ?? 'none'} (a hang)`));
      }, 30_000);
    };
    arm();
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, nl)) as FuzzLine);
        buf = buf.slice(nl + 1);
        arm();
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      resolve({ lines, code, signal, stderr });
    });
  });
}

function tally(lines: FuzzLine[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) if (l.result) out[l.result.startsWith('other') ? 'other' : l.result] = (out[l.result.startsWith('other') ? 'other' : l.result] ?? 0) + 1;
  return out;
}

test('finding 10: 400 random bit flips and forged slots in a copy of shared memory — every read returns the original values or CORRUPT (child process)', async (t) => {
  const cases = 400;
  const r = await fuzz('shm', 20261126, cases);
  t.is(r.code, 0, `the child exited cleanly (signal ${r.signal}; ${r.stderr.slice(0, 500)})`);
  t.true(r.lines.at(-1)?.done, 'every case ran');
  const results = r.lines.filter((l) => l.result);
  t.is(results.length, cases);
  const wrong = results.filter((l) => l.result !== 'same' && l.result !== 'corrupt');
  t.deepEqual(wrong, [], 'no silently changed values, no other errors');
  const forged = results.filter((l) => l.where!.startsWith('header: GEN') || l.where!.startsWith('header: record GEN'));
  t.is(forged.length, 4);
  t.true(forged.every((l) => l.result === 'corrupt'), 'a forged GEN of 2^62 or -5 is CORRUPT');
  t.log(JSON.stringify(tally(results)));
});

test('finding 10: damaged IPC messages decoded with no checksum in the way — values or CORRUPT, never another error, a crash, a hang or a huge allocation (child process)', async (t) => {
  const cases = 400;
  const r = await fuzz('decoder', 7, cases);
  t.is(r.code, 0, `the child exited cleanly (signal ${r.signal}; ${r.stderr.slice(0, 500)})`);
  const results = r.lines.filter((l) => l.result);
  t.is(results.length, cases);
  t.deepEqual(results.filter((l) => l.result!.startsWith('other')), []);
  t.log(JSON.stringify(tally(results)));
});

test('finding 10: a forged GEN (2^62, -5) in the live header is CORRUPT for readers, and the scrub restores it', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'gen', scrub: false });
  tasks(s, 100);
  await s.published();
  const h = s.shared();
  const i64 = new BigInt64Array(h.sab, 0, 32);
  const reader = attachState(h);
  for (const forged of [2n ** 62n, -5n]) {
    reader.release(); // (a snapshot already taken stays valid: it was verified when taken)
    i64[I64_GEN] = forged;
    t.is(t.throws(() => reader.publishedRevision, { instanceOf: StateError })!.code, 'CORRUPT');
    t.is((await t.throwsAsync(reader.waitForRevision(0, 10), { instanceOf: StateError }))!.code, 'CORRUPT');
    const rec = recordIndex(i64[I64_PUBS]!, REC_GEN);
    const kept = i64[rec]!;
    i64[rec] = forged;
    t.is(t.throws(() => reader.snapshot(), { instanceOf: StateError })!.code, 'CORRUPT');
    i64[rec] = kept;
    t.deepEqual(s.scrubNow().repaired, ['header GEN']);
    t.is(reader.publishedRevision, s.revision);
    t.is(reader.snapshot().revision, s.revision);
  }
  reader.close();
  await s.close();
});

// ─────────────────────── waitForRevision keeps a worker alive ───────────────────────

test('await reader.waitForRevision(rev) keeps a worker thread alive until the revision arrives', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'wait' });
  s.addTask({ id: 'a', type: 'x' });
  await s.published();
  const w = new Worker(FAULT_WORKER, { workerData: { handle: s.shared(), mode: 'wait' } });
  const exited = new Promise<number>((r) => w.once('exit', r));
  const waiting = await next<{ waiting: number }>(w);
  t.is(waiting.waiting, s.revision);
  const answer = next<{ got: number }>(w); // rejects if the worker exits first
  s.addTask({ id: 'b', type: 'x' }); // published on the next turn
  t.is((await answer).got, s.revision);
  t.is(await exited, 0);
  await s.close();
});
