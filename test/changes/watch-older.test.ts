// WatchHub with an older source (a journal): history before the ring is read page by page, then
// the ring, then live — without a gap or a duplicate while revisions keep being published — and
// every way the older source can fail or be cut.
import test from 'ava';
import { WatchHub, type Watch } from '../../src/changes/watch-hub.js';
import { StateError, unavailable } from '../../src/errors.js';
import { assertStateError, Journal, makeCs, narrowed, randomCs, thrown, turn, type TestCs } from './watch-support.js';
import { prng } from '../../src/demo/synthetic.js';

interface Setup {
  hub: WatchHub<TestCs>;
  journal: Journal;
  /** Appends to the journal, then publishes (as a writer with a journal does). */
  publish(from: number, to: number): void;
}
function setup(historySize: number, upTo: number, cut = 0): Setup {
  const journal = new Journal(cut);
  const hub = new WatchHub<TestCs>({ revision: 0, historySize, olderSource: journal });
  const publish = (from: number, to: number): void => {
    for (let r = from; r <= to; r++) {
      const cs = makeCs(r, r % 3 === 0 ? ['nodes'] : ['tasks']);
      journal.append(cs);
      hub.publish(cs);
    }
  };
  publish(1, upTo);
  // What the hub may ask: revisions after the journal's cut that have left the ring.
  journal.onRead = (from, to) => {
    if (from - 1 < journal.cut || to >= hub.history.newestRevision - hub.stats().historySize + 1 || from > to) {
      throw new Error(`the hub asked for ${from}..${to} (cut ${journal.cut}, ring from ${hub.history.newestRevision - hub.stats().historySize + 1})`);
    }
  };
  return { hub, journal, publish };
}

/** The next result of `w`, resolving the journal's waiting reads one by one until it settles. */
async function nextResolving(w: Watch<TestCs>, journal: Journal): Promise<IteratorResult<TestCs, undefined>> {
  let outcome: { ok: IteratorResult<TestCs, undefined> } | { err: unknown } | undefined;
  w.next().then((ok) => { outcome = { ok }; }, (err: unknown) => { outcome = { err }; });
  for (;;) {
    await turn();
    if (outcome) break;
    if (!journal.waiting) throw new Error('next() is waiting with no read to resolve');
    journal.resolveOne();
  }
  if ('err' in outcome) throw outcome.err;
  return outcome.ok;
}
async function revisions(w: Watch<TestCs>, journal: Journal, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(((await nextResolving(w, journal)).value as TestCs).revision);
  return out;
}
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('history: the older of the journal and the ring; below it is COMPACTED naming it', (t) => {
  const { hub, journal } = setup(3, 20, 4);
  t.deepEqual(hub.history, { oldestRevision: 4, newestRevision: 20 });
  assertStateError(t, thrown(() => hub.watch({ afterRevision: 3 })), 'COMPACTED', 'oldest revision that can still be watched is 4');
  journal.cut = 19; // a journal cut past the ring's start: the ring still holds 18..20
  t.deepEqual(hub.history, { oldestRevision: 17, newestRevision: 20 });
});

test('a synchronous journal: older history, then the ring, then live', async (t) => {
  const { hub, journal, publish } = setup(3, 20);
  const w = hub.watch({ afterRevision: 2 });
  publish(21, 22);
  t.deepEqual(await revisions(w, journal, 20), range(3, 22));
  t.deepEqual(journal.calls, [{ from: 3, to: 19 }], 'the ring moved to 20..22 before the first next()');
  const p = w.next();
  publish(23, 23);
  t.is(((await p).value as TestCs).revision, 23);
});

test('publishing while reads of the journal are in flight: pages, then the ring that moved meanwhile, then the queue — no gap, no duplicate', async (t) => {
  const { hub, journal, publish } = setup(3, 20);
  journal.mode = 'deferred';
  journal.maxPage = 4;
  const w = hub.watch({ afterRevision: 2 });
  const first = w.next();
  t.is(journal.waiting, 1);
  publish(21, 30); // the ring is now 28..30; 21..30 are in the watcher's queue
  journal.resolveOne();
  t.is(((await first).value as TestCs).revision, 3);
  t.deepEqual(await revisions(w, journal, 27), range(4, 30));
  // Asked: 3..17 (a page 3..6), then up to the queue's start only (20), never what the queue holds.
  t.deepEqual(journal.calls.map((c) => `${c.from}..${c.to}`), ['3..17', '7..20', '11..20', '15..20', '19..20']);
  publish(31, 31);
  t.deepEqual(await revisions(w, journal, 1), [31]);
});

test('the journal cut past a watcher catching up: COMPACTED at once (no read), or when a read in flight comes back empty', async (t) => {
  const { hub, journal } = setup(3, 20);
  journal.maxPage = 5;
  const w = hub.watch({ afterRevision: 2 });
  t.deepEqual(await revisions(w, journal, 5), range(3, 7));
  journal.cut = 10;
  const calls = journal.calls.length;
  assertStateError(t, await w.next().catch((e: unknown) => e), 'COMPACTED', 'revision 8 is no longer', 'is 10', 'state.snapshot()');
  t.is(journal.calls.length, calls, 'no read below the cut');

  journal.cut = 0;
  journal.mode = 'deferred';
  const w2 = hub.watch({ afterRevision: 2 });
  const p = w2.next();
  journal.cut = 5; // cut between the call and the read
  journal.resolveOne();
  assertStateError(t, await p.catch((e: unknown) => e), 'COMPACTED', 'revision 3 is no longer', 'is 5');
  t.is(hub.stats().watchers, 0);
});

test('a journal answering other revisions than asked is CORRUPT; one that throws is IO; its own StateError passes through', async (t) => {
  const make = (read: (from: number, to: number) => unknown): Watch<TestCs> => {
    const journal = new Journal(0);
    const hub = new WatchHub<TestCs>({ revision: 0, historySize: 2, olderSource: { oldestRevision: () => journal.cut, read: read as never } });
    for (let r = 1; r <= 10; r++) hub.publish(makeCs(r));
    return hub.watch({ afterRevision: 0 });
  };
  const err = async (read: (from: number, to: number) => unknown): Promise<unknown> => make(read).next().catch((e: unknown) => e);
  assertStateError(t, await err(() => [makeCs(5), makeCs(6)]), 'CORRUPT', 'returned revisions 5, 6 when asked for revisions 1..8');
  assertStateError(t, await err(() => [makeCs(1), makeCs(3)]), 'CORRUPT', 'revisions 1, 3');
  assertStateError(t, await err(() => []), 'CORRUPT', 'no change sets');
  assertStateError(t, await err(() => Promise.resolve('x')), 'CORRUPT', 'string instead of an array');
  assertStateError(t, await err(() => { throw new TypeError('boom'); }), 'IO', 'reading revisions 1..8 of the older history failed: boom');
  assertStateError(t, await err(() => Promise.reject(new Error('EIO'))), 'IO', 'EIO');
  const own = unavailable('the journal is being reopened');
  t.is(await err(() => Promise.reject(own)), own);
  t.true(own instanceof StateError);
  // Extra revisions after the asked range are ignored, not delivered twice — also those the
  // watcher's queue holds (published after watch()).
  const hub = new WatchHub<TestCs>({
    revision: 0, historySize: 2, olderSource: { oldestRevision: () => 0, read: (from: number) => range(from, 14).map((r) => makeCs(r)) },
  });
  for (let r = 1; r <= 10; r++) hub.publish(makeCs(r));
  const w = hub.watch({ afterRevision: 0 });
  for (let r = 11; r <= 14; r++) hub.publish(makeCs(r));
  const got: number[] = [];
  for (let i = 0; i < 14; i++) got.push(((await w.next()).value as TestCs).revision);
  t.deepEqual(got, range(1, 14));
});

test('abort or close while a journal read is in flight: done / CLOSED, and the late answer is ignored', async (t) => {
  const { hub, journal } = setup(3, 20);
  journal.mode = 'deferred';
  const ac = new AbortController();
  const a = hub.watch({ afterRevision: 2, signal: ac.signal });
  const pa = a.next();
  ac.abort();
  t.deepEqual(await pa, { done: true, value: undefined });
  const b = hub.watch({ afterRevision: 2 });
  const pb = b.next();
  hub.close();
  assertStateError(t, await pb.catch((e: unknown) => e), 'CLOSED');
  journal.resolveAll();
  await turn();
  t.deepEqual(await a.next(), { done: true, value: undefined });
  t.deepEqual(await b.next(), { done: true, value: undefined });
});

test('tables through journal pages: exactly the matching revisions, narrowed', async (t) => {
  const rnd = prng(7);
  const journal = new Journal(0);
  journal.maxPage = 3;
  const hub = new WatchHub<TestCs>({ revision: 0, historySize: 4, olderSource: journal });
  const log: TestCs[] = [];
  for (let r = 1; r <= 60; r++) {
    const cs = randomCs(rnd, r);
    log.push(cs);
    journal.append(cs);
    hub.publish(cs);
  }
  const w = hub.watch({ afterRevision: 10, tables: ['content'] });
  const want = log.filter((cs) => cs.revision > 10 && cs.changes.some((c) => c.table === 'content'));
  for (const cs of want) {
    const got = (await w.next()).value as TestCs;
    t.is(got.revision, cs.revision);
    t.deepEqual(got.changes, narrowed(cs, 4));
  }
  const p = w.next();
  let resolved = false;
  void p.then(() => { resolved = true; });
  await turn();
  t.false(resolved, 'nothing more touches content');
});
