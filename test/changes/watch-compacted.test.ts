// COMPACTED and the relist pattern on real state directories: the history window (a small
// in-memory history, checkpoints cutting the journal) moves past a watcher — on the writer, and on
// a follower in a child process that is paused while the writer moves on — and the consumer
// relists (`snapshot()` + `watch({ afterRevision: snap.revision })`), catches up and ends equal to
// the writer, row by row. Also: the writer's history between its in-memory ring and the journal
// (committed, not yet flushed) and journal cuts while watchers read the journal.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState, type ChangeSet } from '../../src/index.js';
import { followState } from '../../src/follower/index.js';
import { applyChangeSet, copyRows, rowDiff, rowsHash, rowsOf, stable, type Rows } from '../fixtures/change-replay.js';
import { startFollower } from '../fixtures/follower-child.js';

const made: string[] = [];
test.after.always(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'acs-compacted-'));
  made.push(d);
  return d;
};
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A writer whose every commit's state is recorded (small states: rows per revision). */
async function writer(t: import('ava').ExecutionContext, history: number, checkpointRevisions = 1_000_000) {
  const dir = tempDir();
  const s = await ClusterState.open({ statePath: dir, clusterId: 'cmp', parquet: false, history: { revisions: history }, checkpoint: { revisions: checkpointRevisions } });
  t.teardown(() => s.close().catch(() => undefined));
  const states = new Map<number, Rows>([[s.revision, rowsOf(s.getTables())]]);
  let n = 0;
  /** One commit (a task added, updated or removed), recorded. */
  const commit = (): number => {
    const i = n++;
    if (i % 5 === 4) s.removeTask(`t${i - 2}`);
    else if (i % 5 === 3) s.updateTask(`t${i - 1}`, { priority: i, payload: { i } });
    else s.addTask({ id: `t${i}`, type: i % 2 ? 'process' : 'analyze', priority: i % 9, payload: { i } });
    states.set(s.revision, rowsOf(s.getTables()));
    return s.revision;
  };
  /** `k` commits, each flushed on its own (a journal record each). */
  const commits = async (k: number): Promise<number> => {
    for (let i = 0; i < k; i++) {
      commit();
      await s.flush();
    }
    return s.revision;
  };
  return { dir, s, states, commit, commits };
}

async function take(w: AsyncIterator<ChangeSet>, k: number): Promise<ChangeSet[]> {
  const out: ChangeSet[] = [];
  for (let i = 0; i < k; i++) out.push((await w.next()).value as ChangeSet);
  return out;
}
const revs = (css: { revision: number }[]): number[] => css.map((c) => c.revision);
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('writer: the history moves past a watcher catching up (ring and journal cut) → COMPACTED naming the oldest revision; the relist pattern catches up and replays to the writer\'s state', async (t) => {
  const { s, states, commits } = await writer(t, 5);
  await commits(20);
  t.deepEqual(s.history, { oldestRevision: 0, newestRevision: 20 }, 'the journal holds everything so far');
  const w = s.watch({ afterRevision: 2 });
  t.deepEqual(revs(await take(w, 3)), [3, 4, 5], 'older history from the journal');
  await commits(20);
  const cp = await s.checkpoint(); // cuts the journal behind revision min(40, 40 - 5)
  t.is(cp, 40);
  const { oldestRevision } = s.history;
  t.is(oldestRevision, 35);
  // What it had read of the journal before the cut (a page) it still delivers; then COMPACTED.
  const delivered = [5];
  let e: Error | undefined;
  for (;;) {
    try {
      delivered.push(((await w.next()).value as ChangeSet).revision);
    } catch (err) {
      e = err as Error;
      break;
    }
  }
  const last = delivered.at(-1)!;
  t.deepEqual(delivered, range(5, last), 'gap-free up to the error');
  t.true(last + 1 < 35, `it stopped at ${last}, below the oldest revision`);
  t.is((e as { code?: string }).code, 'COMPACTED');
  t.true(e!.message.includes(`revision ${last + 1} is no longer in the history`), e!.message);
  t.true(e!.message.includes('the oldest revision that can still be watched is 35'), e!.message);
  t.true(e!.message.includes('const s = state.snapshot(); state.watch({ afterRevision: s.revision })'), e!.message);
  t.deepEqual(await w.next(), { done: true, value: undefined }, 'a failed watch is done after its error');
  // A new watch below the history is refused at once, naming it.
  const below = t.throws(() => s.watch({ afterRevision: 34 }));
  t.is((below as { code?: string }).code, 'COMPACTED');
  t.true(below!.message.includes('is 35'), below!.message);
  // At the oldest revision it works: 36.. from the journal.
  const atOldest = s.watch({ afterRevision: 35 });
  t.deepEqual(revs(await take(atOldest, 5)), range(36, 40));
  await atOldest.return?.();

  // The relist pattern.
  const snap = s.snapshot();
  t.is(snap.revision, 40);
  t.deepEqual(rowDiff(rowsOf(snap), states.get(40)!), []);
  const relisted = s.watch({ afterRevision: snap.revision });
  const final = await commits(15);
  const got = await take(relisted, 15);
  t.deepEqual(revs(got), range(41, final));
  const rows = copyRows(rowsOf(snap));
  t.deepEqual(got.flatMap((cs) => applyChangeSet(rows, JSON.parse(JSON.stringify(cs)))), []);
  t.deepEqual(rowDiff(rows, rowsOf(s.getTables())), [], 'snapshot + change sets = the writer\'s state, row by row');
  await relisted.return?.();
});

test('writer: a consumer whose backlog passes maxBacklog fails with COMPACTED saying where to resume; resuming there (or relisting) catches up', async (t) => {
  const { s, states, commit, commits } = await writer(t, 100);
  const start = await commits(3);
  const w = s.watch({ maxBacklog: 3 });
  for (let i = 0; i < 4; i++) commit(); // nobody reads: the 4th overflows the backlog
  await s.flush(); // the writer's watchers get revisions once they are durable
  const e = await t.throwsAsync(w.next());
  t.is((e as { code?: string }).code, 'COMPACTED');
  t.true(e!.message.includes(`maxBacklog = 3 change sets behind at revision ${start + 4}`), e!.message);
  t.true(e!.message.includes(`resume with watch({ afterRevision: ${start} })`), e!.message);
  const resumed = s.watch({ afterRevision: start });
  const got = await take(resumed, 4);
  t.deepEqual(revs(got), range(start + 1, start + 4));
  const rows = copyRows(states.get(start)!);
  for (const cs of got) applyChangeSet(rows, JSON.parse(JSON.stringify(cs)));
  t.deepEqual(rowDiff(rows, rowsOf(s.getTables())), []);
  await resumed.return?.();
  // Other watchers were not affected by the one that overflowed.
  t.is(s.revision, start + 4);
});

test('writer: revisions that left the in-memory history before a flush put them in the journal are served, not CORRUPT', async (t) => {
  const { s, states, commit, commits } = await writer(t, 5);
  await commits(2);
  for (let i = 0; i < 40; i++) commit(); // no flush yet: the ring holds the last 5, the journal revisions up to 2
  const w = s.watch({ afterRevision: 2 });
  const first = await take(w, 40);
  t.deepEqual(revs(first), range(3, 42));
  const rows = copyRows(states.get(2)!);
  t.deepEqual(first.flatMap((cs) => applyChangeSet(rows, JSON.parse(JSON.stringify(cs)))), []);
  t.deepEqual(rowDiff(rows, states.get(42)!), []);
  // While a flush of them is in flight, too.
  for (let i = 0; i < 40; i++) commit();
  const flushing = s.flush();
  const w2 = s.watch({ afterRevision: 42 });
  const beforeFlush = await take(w2, 40);
  t.deepEqual(revs(beforeFlush), range(43, 82));
  await flushing;
  const w3 = s.watch({ afterRevision: 10 });
  const again = await take(w3, 72);
  t.deepEqual(revs(again), range(11, 82));
  t.is(stable(JSON.parse(JSON.stringify(again.slice(-40)))), stable(JSON.parse(JSON.stringify(beforeFlush))), 'the same content from the journal as before the flush');
  await w.return?.();
  await w2.return?.();
  await w3.return?.();
});

test('writer: journal cuts while watchers read the journal: every read gives the revisions asked (never CORRUPT), or COMPACTED when the cut passed them', async (t) => {
  const { s, commits } = await writer(t, 3);
  await commits(30);
  const problems: string[] = [];
  let reads = 0;
  let compacted = 0;
  for (let round = 0; round < 15; round++) {
    await commits(6);
    const cut = s.checkpoint();
    let cutDone = false;
    void cut.then(() => { cutDone = true; });
    // Read history below the ring over and over while the cut runs (its new file is renamed in
    // place before the writer switches to it).
    while (!cutDone) {
      const { oldestRevision, newestRevision } = s.history;
      const after = Math.max(oldestRevision, newestRevision - 8);
      const w = s.watch({ afterRevision: after });
      try {
        const cs = (await w.next()).value as ChangeSet;
        if (cs.revision !== after + 1) problems.push(`asked after ${after}, got ${cs.revision}`);
        reads++;
      } catch (e) {
        if ((e as { code?: string }).code === 'COMPACTED') compacted++;
        else problems.push(String(e));
      }
      await w.return?.();
      await turn();
    }
    await cut;
  }
  t.deepEqual(problems, []);
  t.log(`${reads} reads during 15 cuts, ${compacted} COMPACTED`);
  t.true(reads > 15);
});

test('follower (child process): paused while the writer moves past the journal\'s history, it reloads, its watch fails with COMPACTED, the relist pattern catches up and ends equal to the writer', async (t) => {
  const { dir, s, states, commits } = await writer(t, 5);
  const start = await commits(10);
  const child = startFollower(dir, { relist: true });
  t.teardown(() => void child.proc.kill('SIGKILL'));
  const ready = await child.until((l) => l.t === 'ready') as { after: number; oldest: number };
  t.is(ready.after, start);
  t.is(ready.oldest, 0, 'the follower\'s history is the journal\'s');
  // It follows along…
  const mid = await commits(5);
  await child.until((l) => l.t === 'cs' && l.cs.revision === mid);
  // …then stops (SIGSTOP) while the writer moves on and cuts the journal past it.
  child.proc.kill('SIGSTOP');
  await commits(30);
  await s.checkpoint();
  const cutTo = s.history.oldestRevision;
  t.true(cutTo > mid, `the journal now follows ${cutTo}, after the follower's ${mid}`);
  child.proc.kill('SIGCONT');
  const reload = await child.until((l) => l.t === 'reload') as { revision: number; before: number };
  t.is(reload.before, mid, 'it reloaded from where it really was');
  const compacted = await child.until((l) => l.t === 'compacted') as { after: number; message: string };
  t.is(compacted.after, mid, 'its watch had delivered everything up to where it was');
  t.regex(compacted.message, /reloaded its state at revision \d+ from a checkpoint/);
  t.true(compacted.message.includes('follower.snapshot()'), compacted.message);
  const relist = await child.until((l) => l.t === 'relist') as { revision: number; hash: string };
  t.true(relist.revision >= cutTo);
  t.is(relist.hash, rowsHash(states.get(relist.revision)!), 'the relisted snapshot is exactly the writer\'s state at its revision');
  const final = await commits(12);
  await child.until((l) => l.t === 'cs' && l.cs.revision === final);
  t.is(await child.stop(), 0, child.stderr());
  // Before the pause: every revision after its start; after the relist: every revision after it.
  const css = child.changeSets();
  const before = css.filter((cs) => cs.revision <= mid);
  const after = css.filter((cs) => cs.revision > relist.revision);
  t.deepEqual(revs(before), range(start + 1, mid));
  t.deepEqual(revs(after), range(relist.revision + 1, final));
  t.is(css.length, before.length + after.length, 'nothing between (no change set of the gap)');
  const rows = copyRows(states.get(relist.revision)!);
  t.deepEqual(after.flatMap((cs) => applyChangeSet(rows, cs)), []);
  t.deepEqual(rowDiff(rows, rowsOf(s.getTables())), [], 'relisted snapshot + change sets = the writer\'s state, row by row');
  const early = copyRows(states.get(start)!);
  before.forEach((cs) => applyChangeSet(early, cs));
  t.deepEqual(rowDiff(early, states.get(mid)!), []);
  t.deepEqual(child.lines.filter((l) => l.t === 'reload').length, 1, 'one reload');
});

test('follower (in process): a journal cut behind a follower that keeps up causes no reload; a follower started later serves the journal\'s history, COMPACTED below it naming the oldest revision', async (t) => {
  const { dir, s, states, commits } = await writer(t, 5);
  await commits(10);
  const f = await followState(dir, { safetyPollMs: 50 });
  t.teardown(() => f.close());
  let reloads = 0;
  f.on('reload', () => reloads++);
  const w = f.watch();
  const got: ChangeSet[] = [];
  const reading = (async () => {
    for await (const cs of w) got.push(cs);
  })();
  for (let round = 0; round < 6; round++) {
    const rev = await commits(4);
    await f.waitFor(rev, 20_000); // it keeps up …
    await s.checkpoint(); // … so a cut (keeping 5 revisions) never passes it
  }
  const final = await commits(3);
  await f.waitFor(final, 20_000);
  while (got.at(-1)?.revision !== final) await turn();
  t.is(reloads, 0);
  t.deepEqual(revs(got), range(11, final));
  t.deepEqual(rowDiff(rowsOf(f.snapshot()), rowsOf(s.getTables())), []);
  await w.return?.();
  await reading;

  // A follower started now: its history reaches back to the journal's base, not further.
  const f2 = await followState(dir, { safetyPollMs: 50 });
  t.teardown(() => f2.close());
  t.is(f2.revision, final);
  const { oldestRevision, newestRevision } = f2.history;
  t.is(newestRevision, final);
  t.true(oldestRevision > 10 && oldestRevision < final, `the follower's history is the journal's (${oldestRevision})`);
  const e = t.throws(() => f2.watch({ afterRevision: oldestRevision - 1 }));
  t.is((e as { code?: string }).code, 'COMPACTED');
  t.true(e!.message.includes(`oldest revision that can still be watched is ${oldestRevision}`), e!.message);
  t.true(e!.message.includes('follower.snapshot()'), e!.message);
  const old = f2.watch({ afterRevision: oldestRevision });
  const fromJournal = await take(old, final - oldestRevision);
  t.deepEqual(revs(fromJournal), range(oldestRevision + 1, final));
  const rows = copyRows(states.get(oldestRevision)!);
  t.deepEqual(fromJournal.flatMap((cs) => applyChangeSet(rows, JSON.parse(JSON.stringify(cs)))), []);
  t.deepEqual(rowDiff(rows, rowsOf(f2.snapshot())), [], 'the journal\'s change sets replay to the follower\'s state');
  t.deepEqual(rowDiff(rows, rowsOf(s.getTables())), []);
  await old.return?.();
});
