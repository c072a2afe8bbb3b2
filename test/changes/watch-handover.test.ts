// The hand-over from older history to live, under random interleavings: a journal whose reads
// answer late, in pages of random size, and whose cut moves on; a small ring that revisions keep
// leaving; watchers starting from random revisions, filtered or not. Every step is followed by a
// turn of the event loop, so what a watcher reports is checked against the state at that moment.
// Checked: the hub asks the journal only for revisions after its cut that left the ring; every
// watcher's deliveries are ordered, unique, gap-free and exactly the matching revisions; a
// COMPACTED names a revision that neither the ring nor the journal held at that moment and that the
// watcher had not passed; in the end every watcher not failed has caught up with the newest one.
import test, { type ExecutionContext } from 'ava';
import { WatchHub, type Watch } from '../../src/changes/watch-hub.js';
import { prng } from '../../src/demo/synthetic.js';
import { Journal, maskOf, matches, randomCs, TABLES, turn, type TestCs } from './watch-support.js';

interface Catcher {
  w: Watch<TestCs>;
  after: number;
  mask: number;
  /** The first revision published after watch(). */
  q: number;
  delivered: number[];
  outstanding: boolean;
  /** It started before the ring's first revision. */
  fromJournal: boolean;
  ended: 'no' | 'compacted' | 'closed' | 'returned';
}

async function run(t: ExecutionContext, seed: number): Promise<Record<string, number>> {
  const rnd = prng(seed);
  const journal = new Journal(0);
  journal.mode = 'deferred';
  journal.maxPage = 1 + Math.floor(rnd() * 8);
  const historySize = 2 + Math.floor(rnd() * 15);
  const hub = new WatchHub<TestCs>({ revision: 0, historySize, maxBacklog: 1_000_000, olderSource: journal });
  const log: TestCs[] = [];
  const problems: string[] = [];
  const count = { reads: 0, handovers: 0, compacted: 0, delivered: 0 };
  const ringFirst = (): number => hub.history.newestRevision - hub.stats().historySize + 1;
  journal.onRead = (from, to) => {
    count.reads++;
    if (from - 1 < journal.cut || to >= ringFirst() || from > to) problems.push(`asked ${from}..${to} at cut ${journal.cut}, ring from ${ringFirst()}`);
  };
  const publish = (): void => {
    const cs = randomCs(rnd, log.length); // log[0] is a placeholder: revisions start at 1
    log[cs.revision] = cs;
    journal.append(cs);
    hub.publish(cs);
  };
  const newest = (): number => log.length - 1;
  log.push(undefined as never); // revisions start at 1
  for (let i = 0; i < 30; i++) publish();

  const catchers: Catcher[] = [];
  const finished: Catcher[] = []; // ended by return(): their deliveries are validated too
  const create = (): void => {
    const { oldestRevision, newestRevision } = hub.history;
    // Mostly near the oldest revision: a long catch-up through the journal.
    const span = newestRevision - oldestRevision + 1;
    const after = oldestRevision + Math.floor(rnd() * (rnd() < 0.6 ? Math.min(span, 10) : span));
    const tables = rnd() < 0.4 ? TABLES.filter(() => rnd() < 0.5) : undefined;
    const mask = maskOf(tables?.length ? tables : undefined);
    catchers.push({ w: hub.watch({ afterRevision: after, tables: tables?.length ? tables : undefined }), after, mask, q: newestRevision + 1, delivered: [], outstanding: false, fromJournal: after + 1 < ringFirst(), ended: 'no' });
  };
  const read = (c: Catcher): void => {
    c.outstanding = true;
    c.w.next().then((r) => {
      c.outstanding = false;
      if (r.done) {
        if (c.ended !== 'returned') problems.push('done without a break, an abort or a close');
        return;
      }
      c.delivered.push(r.value.revision);
      count.delivered++;
      // A watcher that started in the journal's part of the history and went live: a hand-over.
      if (c.fromJournal && r.value.revision >= c.q && (c.delivered.length === 1 || c.delivered.at(-2)! < c.q)) count.handovers++;
    }, (e: unknown) => {
      c.outstanding = false;
      const code = (e as { code?: string }).code;
      if (code === 'CLOSED') { c.ended = 'closed'; return; }
      c.ended = 'compacted';
      count.compacted++;
      const x = Number(/revision (\d+) is no longer/.exec(String(e))?.[1]);
      const last = c.delivered.at(-1) ?? c.after;
      let skipped = true; // the revisions between the last delivered one and x matched nothing
      for (let r = last + 1; r < x; r++) if (matches(log[r]!, c.mask)) skipped = false;
      if (code !== 'COMPACTED' || !(x - 1 < journal.cut && x < ringFirst() && x > last && x < c.q && skipped)) {
        problems.push(`unjustified ${String(e)}: cut ${journal.cut}, ring from ${ringFirst()}, last delivered ${last}, started after ${c.after}, queue from ${c.q}`);
      }
    });
  };

  for (let i = 0; i < 6; i++) create();
  for (let step = 0; step < 3000 && !problems.length; step++) {
    const x = rnd();
    if (x < 0.35) publish();
    else if (x < 0.5) journal.resolveOne();
    else if (x < 0.63) journal.cut = Math.min(newest(), journal.cut + 1 + Math.floor(rnd() * 4));
    else {
      const c = catchers[Math.floor(rnd() * catchers.length)]!;
      if ((c.ended !== 'no' && rnd() < 0.5) || (c.ended === 'no' && rnd() < 0.03)) {
        if (c.ended === 'no') {
          c.ended = 'returned';
          finished.push(c);
        }
        void c.w.return();
        catchers.splice(catchers.indexOf(c), 1);
        create();
      } else if (c.ended === 'no' && !c.outstanding) read(c);
    }
    await turn();
  }
  // Liveness: with no more publishing, every watcher still running reaches the newest revision.
  for (let round = 0; round < 100_000 && !problems.length; round++) {
    const running = catchers.filter((c) => c.ended === 'no' && (c.delivered.at(-1) ?? c.after) < lastMatching(log, c.mask));
    if (!running.length && !journal.waiting) break;
    for (const c of running) if (!c.outstanding) read(c);
    journal.resolveAll();
    await turn();
  }
  for (const c of catchers) {
    if (c.ended === 'no' && (c.delivered.at(-1) ?? c.after) < lastMatching(log, c.mask)) problems.push(`a watcher after ${c.after} did not catch up`);
  }
  hub.close();
  await turn();
  for (const c of [...catchers, ...finished]) {
    const last = c.delivered.at(-1) ?? c.after;
    const want: number[] = [];
    for (let r = c.after + 1; r <= last; r++) if (matches(log[r]!, c.mask)) want.push(r);
    if (JSON.stringify(c.delivered) !== JSON.stringify(want)) problems.push(`after ${c.after}: delivered ${c.delivered.join(',')}`);
  }
  t.deepEqual(problems.slice(0, 10), [], `seed ${seed}`);
  return count;
}

function lastMatching(log: TestCs[], mask: number): number {
  for (let r = log.length - 1; r > 0; r--) if (matches(log[r]!, mask)) return r;
  return 0;
}

test('older history → ring → live under random interleavings: no gap, no duplicate, COMPACTED only when justified, everyone catches up', async (t) => {
  const total: Record<string, number> = {};
  for (const seed of [11, 12, 13, 14, 15, 16]) {
    for (const [k, v] of Object.entries(await run(t, seed))) total[k] = (total[k] ?? 0) + v;
  }
  t.log(JSON.stringify(total));
  for (const k of ['reads', 'handovers', 'compacted', 'delivered']) t.true((total[k] ?? 0) > 0, `${k} happened`);
});
