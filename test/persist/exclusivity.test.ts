// One writer, whatever happens to its lock (issue 10, finding 1): a deleted lock, a stopped
// writer, a writer presumed dead that comes back. Real child processes, real files.
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState, StateError } from '../../src/index.js';
import { hashRows } from '../fixtures/invariants.js';
import { kill9, startWriter, type Child } from '../fixtures/writer-child.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'acs-excl-'));

/** Reopens `dir` after every writer is gone: it must hold every revision `children` acknowledged, with exactly its content. */
async function reopenHasEverything(t: import('ava').ExecutionContext, dir: string, children: Child[]): Promise<number> {
  const s = await ClusterState.open({ statePath: dir, clusterId: 'crash', parquet: false });
  const acked = Math.max(-1, ...children.flatMap((c) => c.acks));
  t.true(s.revision >= acked, `reopened at ${s.revision}; ${acked} was acknowledged`);
  const pre = children.map((c) => c.pre.get(s.revision)).find((h) => h !== undefined);
  t.is(hashRows(s.getTables()), pre as string, `revision ${s.revision} has exactly the content it was acknowledged with`);
  const rev = s.revision;
  await s.close();
  return rev;
}

/** Makes writer.json say the holder runs on another host (whose processes cannot be checked from here). */
function elsewhere(dir: string): void {
  const h = JSON.parse(readFileSync(join(dir, 'writer.json'), 'utf8'));
  writeFileSync(join(dir, 'writer.json'), JSON.stringify({ ...h, host: `${h.host}-elsewhere` }));
}

test('a deleted lock: a second writer is refused while the first is alive, the first stops before acknowledging more, nothing acknowledged is lost', async (t) => {
  const dir = tempDir();
  const a = startWriter(dir, 11, 'loop');
  await a.until(() => a.acks.length >= 5);
  rmSync(join(dir, 'writer.lock'), { recursive: true, force: true });
  const acksAtDeletion = a.acks.length;
  const e = await t.throwsAsync(ClusterState.open({ statePath: dir, clusterId: 'crash', parquet: false }), { instanceOf: StateError });
  t.is(e!.code, 'LOCKED');
  t.regex(e!.message, new RegExp(`pid ${a.proc.pid} on this host .*alive`));
  t.regex(e!.message, /lockWaitMs/);
  const fatal = await a.until((l) => l.startsWith('FATAL') || l.startsWith('FAIL'));
  t.regex(fatal, /LOCKED|deleted/);
  t.true(a.acks.length - acksAtDeletion <= 1, `at most the flush in flight at the deletion is acknowledged (${a.acks.length - acksAtDeletion} were)`);
  await kill9(a);
  await reopenHasEverything(t, dir, [a]);
  rmSync(dir, { recursive: true, force: true });
});

test('a stopped writer (SIGSTOP past lockStaleMs) is not taken over on its host; resumed, it is still the only writer and nothing is corrupted', async (t) => {
  const dir = tempDir();
  const a = startWriter(dir, 12, 'loop');
  await a.until(() => a.acks.length >= 5);
  a.proc.kill('SIGSTOP');
  // Past its lockStaleMs (2 s): the lock looks stale, but its process is alive.
  await new Promise((r) => setTimeout(r, 3000));
  const e = await t.throwsAsync(ClusterState.open({ statePath: dir, clusterId: 'crash', lockStaleMs: 2000, parquet: false }), { instanceOf: StateError });
  t.is(e!.code, 'LOCKED');
  t.regex(e!.message, /alive/);
  t.is(readdirSync(dir).filter((n) => n.endsWith('.arena')).length, 1, 'the refused writer claimed nothing');
  a.proc.kill('SIGCONT');
  const before = a.acks.length;
  // Resumed, it either goes on (its lock was not lost) or stops (proper-lockfile saw its lock lapse): never a second writer.
  await a.until((l) => l.startsWith('FATAL') || a.acks.length >= before + 3, 30_000);
  await kill9(a);
  await reopenHasEverything(t, dir, [a]);
  rmSync(dir, { recursive: true, force: true });
});

test('a writer presumed dead (another host, lock deleted) that comes back: the new writer claims a new generation first, the old one stops, every acknowledged revision survives', async (t) => {
  const dir = tempDir();
  const a = startWriter(dir, 13, 'loop');
  await a.until(() => a.acks.length >= 5);
  elsewhere(dir);
  // Its lock is fresh: a writer on "another host" is presumed alive until the lock is stale.
  const e = await t.throwsAsync(ClusterState.open({ statePath: dir, clusterId: 'crash', parquet: false }), { instanceOf: StateError });
  t.is(e!.code, 'LOCKED');
  t.regex(e!.message, /another host|cannot be checked/);
  rmSync(join(dir, 'writer.lock'), { recursive: true, force: true });
  const b = await ClusterState.open({ statePath: dir, clusterId: 'crash', parquet: false });
  const recovered = b.revision;
  await a.until((l) => l.startsWith('FATAL') || l.startsWith('FAIL') || l.startsWith('STOPPED'));
  t.true(Math.max(...a.acks) <= recovered, `the old writer acknowledged nothing the new one did not read (${Math.max(...a.acks)} > ${recovered}?)`);
  t.is(hashRows(b.getTables()), a.pre.get(recovered) as string, 'the new writer holds exactly the revision it recovered');
  b.registerNode({ id: 'from-b', role: 'worker' });
  const bRev = await b.flush();
  await kill9(a);
  await b.close();
  const s = await ClusterState.open({ statePath: dir, clusterId: 'crash', parquet: false });
  t.is(s.revision, bRev);
  t.truthy(s.getNode('from-b'));
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a zombie: a writer on "another host" stopped past lockStaleMs, taken over, then resumed — its writes land nowhere that matters', async (t) => {
  const dir = tempDir();
  const a = startWriter(dir, 14, 'loop');
  await a.until(() => a.acks.length >= 5);
  elsewhere(dir);
  a.proc.kill('SIGSTOP');
  const b = await ClusterState.open({ statePath: dir, clusterId: 'crash', lockStaleMs: 2000, lockWaitMs: 20_000, parquet: false });
  const recovered = b.revision;
  t.true(recovered >= Math.max(...a.acks));
  for (let i = 0; i < 20; i++) {
    b.registerNode({ id: `b-${i}`, role: 'worker' });
    await b.flush();
  }
  const bHash = hashRows(b.getTables());
  a.proc.kill('SIGCONT'); // the zombie finishes whatever it was doing, then must notice
  await a.until((l) => l.startsWith('FATAL') || l.startsWith('FAIL') || l.startsWith('STOPPED'), 30_000);
  t.true(Math.max(...a.acks) <= recovered, 'nothing acknowledged by the zombie after the takeover');
  for (let i = 20; i < 25; i++) {
    b.registerNode({ id: `b-${i}`, role: 'worker' });
    await b.flush();
  }
  const last = b.revision;
  const lastHash = hashRows(b.getTables());
  await kill9(a);
  await b.close();
  const s = await ClusterState.open({ statePath: dir, clusterId: 'crash', parquet: false });
  t.is(s.revision, last, 'the new writer\'s files are intact');
  t.is(hashRows(s.getTables()), lastHash);
  t.not(bHash, lastHash);
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a dead holder is taken over at once; a refused open of a new folder creates nothing', async (t) => {
  const dir = tempDir();
  const a = startWriter(dir, 15, 'hold');
  await a.until((l) => l === 'READY');
  await kill9(a);
  t.true(existsSync(join(dir, 'writer.lock')), 'a killed writer leaves its lock behind');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'crash', parquet: false }); // no lockWaitMs: no waiting needed
  await s.close();
  const fresh = join(dir, 'new', 'nested');
  const e = await t.throwsAsync(ClusterState.open({ statePath: fresh }), { instanceOf: StateError });
  t.is(e!.code, 'INVALID_ARGUMENT');
  t.regex(e!.message, /clusterId/);
  t.false(existsSync(join(dir, 'new')), 'no folder and no writer.json for a refused open');
  rmSync(dir, { recursive: true, force: true });
});
