// kill -9 of a writer child process (test/fixtures/journal-writer.ts) at random points, 100 times,
// each followed by reopening the directory in this process. Checked after every kill:
// - every revision whose flush() resolved (ACK) is there: the reopened revision is at least the
//   last ACK, and replaying the recovered history (the reopened writer's watch() from the previous
//   recovery on) reproduces, at every revision the child printed a PRE hash for, exactly the rows
//   the child had; the reopened tables equal the replay, row by row;
// - what watchers saw before the kill is consistent with what recovery restores: a follower in
//   this process (one watch across all 100 writers, durable revisions only) saw exactly the
//   recovered change sets, gap-free, and never reloaded; the child's own watch (the writer's: it
//   delivers durable revisions only) saw a prefix of what recovery restored, each revision with
//   exactly the restored change set.
// The next two children are started (and load the library) while the current one runs, so that
// 100 kills take under a minute.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ClusterState, type ChangeSet } from '../../src/index.js';
import { followState } from '../../src/follower/index.js';
import { applyChangeSet, emptyRows, rowDiff, rowsHash, rowsOf, stable, type PlainChangeSet, type Rows } from '../fixtures/change-replay.js';
import { mulberry32 } from '../fixtures/rng.js';

const SCRIPT = new URL('../fixtures/journal-writer.js', import.meta.url).pathname;

interface Child {
  proc: ChildProcess;
  lines: string[];
  pre: Map<number, string>;
  acks: number[];
  /** Change sets its own watch delivered: revision → key-sorted JSON. */
  seen: Map<number, string>;
  open: { revision: number; hash: string } | null;
  until(pred: () => boolean): Promise<void>;
  exited: Promise<number | null>;
  stderr(): string;
}

const spawned: ChildProcess[] = [];
test.after.always(() => {
  for (const p of spawned) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

function start(dir: string, seed: number): Child {
  const proc = spawn(process.execPath, [SCRIPT, dir, String(seed)], { stdio: ['pipe', 'pipe', 'pipe'] });
  spawned.push(proc);
  const c: Child = {
    proc, lines: [], pre: new Map(), acks: [], seen: new Map(), open: null,
    until: (pred) => (pred() ? Promise.resolve() : new Promise((resolve, reject) => {
      waiting.push({ pred, resolve });
      void c.exited.then((code) => reject(new Error(`writer child exited (${code}): ${stderr.slice(-2000)}`)));
    })),
    exited: new Promise((r) => proc.once('exit', (code) => r(code))),
    stderr: () => stderr,
  };
  let stderr = '';
  const waiting: { pred: () => boolean; resolve: () => void }[] = [];
  proc.stderr!.on('data', (d) => (stderr += String(d)));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const sp = line.indexOf(' ');
    const kind = sp < 0 ? line : line.slice(0, sp);
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    if (kind === 'PRE') {
      const [rev, hash] = rest.split(' ');
      c.pre.set(Number(rev), hash!);
    } else if (kind === 'ACK') c.acks.push(Number(rest));
    else if (kind === 'OPEN') {
      const [rev, hash] = rest.split(' ');
      c.open = { revision: Number(rev), hash: hash! };
    } else if (kind === 'CS') {
      const cs = JSON.parse(rest) as PlainChangeSet;
      c.seen.set(cs.revision, stable(cs));
    }
    c.lines.push(kind);
    for (const w of waiting.splice(0)) (w.pred() ? w.resolve() : waiting.push(w));
  });
  return c;
}

test('kill -9 of the writer at random points, 100 times: every acknowledged revision is there with its content; what watchers saw is what recovery restores', async (t) => {
  t.timeout(240_000); // about 50 s alone on 2 cores; more while other test files run alongside
  const dir = mkdtempSync(join(tmpdir(), 'acs-crashj-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rnd = mulberry32(4242);
  const t0 = performance.now();

  // The recovered history so far: revision → key-sorted JSON of its change set.
  const restored = new Map<number, string>();
  let base = -1; // the revision the previous recovery ended at (checked), -1 before the first
  let rows: Rows = emptyRows(); // the state at `base`
  let lastAck = -1;
  const counts = { runs: 0, killedOpening: 0, anonymousLocks: 0, acked: 0, preChecked: 0, beyondAck: 0, lostDeliveries: 0, childSeenChecked: 0 };
  const problems: string[] = [];

  // A follower watching across every writer (durable revisions only).
  let follower: Awaited<ReturnType<typeof followState>> | null = null;
  const followed: PlainChangeSet[] = [];
  let followerReloads = 0;
  const followerErrors: string[] = [];
  let followerDone: Promise<void> | null = null;

  // Two children ahead load the library while the current one runs (loading is most of a child's cost).
  const ahead = [start(dir, 1), start(dir, 2)];
  for (let i = 0; i < 100; i++) {
    const child = ahead.shift()!;
    await child.until(() => child.lines.includes('LOADED'));
    child.proc.stdin!.write('GO\n');
    ahead.push(start(dir, i + 3));
    const mode = rnd();
    if (mode < 0.08) {
      // Killed while it opens (recovering, claiming, writing its first checkpoint).
      await child.until(() => child.lines.length >= 1 + Math.floor(rnd() * 2));
      counts.killedOpening++;
    } else {
      const acks = 1 + Math.floor(rnd() * 3);
      await child.until(() => child.acks.length >= acks);
      const more = child.lines.length + Math.floor(rnd() * 25);
      await child.until(() => child.lines.length >= more || child.acks.length >= acks + 4);
    }
    child.proc.kill('SIGKILL');
    await child.exited;
    counts.runs++;
    if (child.lines.some((l) => l === 'FATAL')) problems.push(`run ${i}: the writer stopped: ${child.lines.join(' ')}`);
    const acked = child.acks.length ? Math.max(...child.acks) : -1;
    counts.acked += child.acks.length;
    lastAck = Math.max(lastAck, acked);

    // Reopen. A child killed between creating the lock directory and writing writer.json leaves a
    // lock that names no holder: it is only taken over once stale (lockStaleMs), so wait for that.
    const opts = { statePath: dir, clusterId: 'kill', parquet: false, history: { revisions: 2000 } } as const;
    let s: ClusterState;
    try {
      s = await ClusterState.open(opts);
    } catch (e) {
      if ((e as { code?: string }).code !== 'LOCKED' || !/writer\.json does not say which/.test((e as Error).message)) throw e;
      counts.anonymousLocks++;
      s = await ClusterState.open({ ...opts, lockStaleMs: 2000, lockWaitMs: 30_000 });
    }
    const rev = s.revision;
    if (rev < lastAck) problems.push(`run ${i}: reopened at ${rev}, but ${lastAck} was acknowledged`);
    if (rev > acked && acked >= 0) counts.beyondAck++;
    if (child.open && base >= 0 && child.open.revision !== base) problems.push(`run ${i}: the child recovered ${child.open.revision}, the previous reopen ${base}`);
    // Replay the recovered history from the previous recovery: every PRE'd revision has exactly its rows.
    if (base < 0) {
      // The first run: the history starts at the empty state (revision 0).
      base = 0;
      rows = emptyRows();
    }
    if (s.history.oldestRevision > base) problems.push(`run ${i}: the reopened history starts at ${s.history.oldestRevision}, after ${base}`);
    const w = s.watch({ afterRevision: base });
    for (let r = base + 1; r <= rev; r++) {
      const cs = JSON.parse(JSON.stringify((await w.next()).value as ChangeSet)) as PlainChangeSet;
      if (cs.revision !== r) {
        problems.push(`run ${i}: recovered history gives ${cs.revision} where ${r} was expected`);
        break;
      }
      problems.push(...applyChangeSet(rows, cs).map((p) => `run ${i}: ${p}`));
      const json = stable(cs);
      const before = restored.get(r);
      if (before !== undefined && before !== json) problems.push(`run ${i}: revision ${r} changed content after an earlier recovery`);
      restored.set(r, json);
      const pre = child.pre.get(r);
      if (pre !== undefined) {
        counts.preChecked++;
        if (rowsHash(rows) !== pre) problems.push(`run ${i}: revision ${r} does not have the content the writer had (PRE)`);
      }
      const seen = child.seen.get(r);
      if (seen !== undefined) {
        counts.childSeenChecked++;
        if (seen !== json) problems.push(`run ${i}: the child's watch saw revision ${r} with other content than recovery restored`);
      }
    }
    await w.return?.();
    for (const r of child.seen.keys()) {
      if (r <= rev) continue;
      counts.lostDeliveries++;
      problems.push(`run ${i}: the child's watch delivered revision ${r}, which recovery did not restore${r <= acked ? ' (it was acknowledged)' : ''}`);
    }
    if (!child.pre.has(rev) && rev !== base && child.pre.size) problems.push(`run ${i}: recovered ${rev}, which the child never flushed`);
    problems.push(...rowDiff(rowsOf(s.getTables()), rows, 3).map((d) => `run ${i}: reopened tables vs replay: ${d}`));
    base = rev;
    await s.close();

    if (!follower) {
      follower = await followState(dir, { safetyPollMs: 100 });
      follower.on('reload', () => followerReloads++);
      follower.on('error', (e) => followerErrors.push(`${e.code}: ${e.message}`));
      const fw = follower.watch({ afterRevision: follower.history.oldestRevision });
      followerDone = (async () => {
        for await (const cs of fw) followed.push(JSON.parse(JSON.stringify(cs)) as PlainChangeSet);
      })().catch((e: unknown) => void followerErrors.push(`watch: ${String(e)}`));
    }
    if (problems.length > 10) break;
  }
  for (const c of ahead) c.proc.stdin!.end();
  await Promise.all(ahead.map((c) => c.exited));
  t.deepEqual(problems.slice(0, 10), []);

  // The follower catches up with the last recovery and saw exactly the recovered history.
  await follower!.waitFor(base, 20_000);
  while ((followed.at(-1)?.revision ?? -1) < base && !followerErrors.length) await new Promise<void>((r) => setImmediate(r));
  await follower!.close();
  await followerDone;
  const first = followed[0]?.revision ?? 0;
  t.deepEqual(followed.map((cs) => cs.revision), Array.from({ length: base - first + 1 }, (_, k) => first + k), 'the follower\'s watch: gap-free to the end');
  const differing = followed.filter((cs) => restored.get(cs.revision) !== stable(cs)).map((cs) => cs.revision);
  t.deepEqual(differing, [], 'every change set the follower delivered is the one recovery restored');
  t.is(followerReloads, 0, 'the follower never had to reload (it never held a revision that was not durable)');
  t.deepEqual(followerErrors.filter((e) => !e.startsWith('watch: StateError: CLOSED')), []);

  const ms = Math.round(performance.now() - t0);
  t.log(JSON.stringify({ ...counts, finalRevision: base, followerDelivered: followed.length, ms }));
  t.is(counts.runs, 100);
  t.true(counts.preChecked > 100 && counts.childSeenChecked > 100, JSON.stringify(counts));
});
