// WatchHub, one behaviour per test: delivery from the ring and live, the filter, bad input,
// COMPACTED for history and backlog, break / abort / close, and the bounds of its memory.
import test from 'ava';
import { WatchHub, type Watch } from '../../src/changes/watch-hub.js';
import { assertStateError, makeCs, thrown, turn, type TestCs } from './watch-support.js';

function hubAt(revision: number, extra: Record<string, unknown> = {}): WatchHub<TestCs> {
  return new WatchHub<TestCs>({ revision, ...extra });
}
function publishRange(hub: WatchHub<TestCs>, from: number, to: number, tables?: ('nodes' | 'tasks' | 'content')[]): TestCs[] {
  const out: TestCs[] = [];
  for (let r = from; r <= to; r++) {
    const cs = makeCs(r, tables);
    hub.publish(cs);
    out.push(cs);
  }
  return out;
}
async function take(w: Watch<TestCs>, n: number): Promise<number[]> {
  const revs: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await w.next();
    if (r.done) break;
    revs.push(r.value.revision);
  }
  return revs;
}
/** Whether `p` has settled after one turn of the event loop. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => { done = true; }, () => { done = true; });
  await turn();
  return done;
}

test('watch() starts after the current revision; every later revision is yielded once, in order, as the published object', async (t) => {
  const hub = hubAt(57);
  t.deepEqual(hub.history, { oldestRevision: 57, newestRevision: 57 });
  const w = hub.watch();
  const published = publishRange(hub, 58, 60);
  const got: TestCs[] = [];
  for await (const cs of w) {
    got.push(cs);
    if (got.length === 3) break;
  }
  t.deepEqual(got.map((c) => c.revision), [58, 59, 60]);
  got.forEach((cs, i) => t.is(cs, published[i]));
  t.deepEqual(hub.history, { oldestRevision: 57, newestRevision: 60 });
  t.is(hub.stats().watchers, 0, 'break detached the watcher');
  const iterable: AsyncIterable<TestCs> = hub.watch(); // the contract's type, checked by tsc
  t.is(iterable[Symbol.asyncIterator]() as unknown, iterable);
});

test('afterRevision equal to the newest revision is legal and waits for the next one', async (t) => {
  const hub = hubAt(5);
  publishRange(hub, 6, 8);
  const w = hub.watch({ afterRevision: 8 });
  const p = w.next();
  t.false(await settled(p));
  hub.publish(makeCs(9));
  t.is(((await p).value as TestCs).revision, 9);
});

test('a watch from an older revision replays the ring, then continues live without a gap or a duplicate', async (t) => {
  const hub = hubAt(0);
  publishRange(hub, 1, 10);
  const w = hub.watch({ afterRevision: 4 });
  publishRange(hub, 11, 12);
  t.deepEqual(await take(w, 8), [5, 6, 7, 8, 9, 10, 11, 12]);
  const p = w.next();
  hub.publish(makeCs(13));
  t.is(((await p).value as TestCs).revision, 13);
});

test('overlapping next() calls are answered in call order', async (t) => {
  const hub = hubAt(0);
  const w = hub.watch();
  const ps = [w.next(), w.next(), w.next()];
  publishRange(hub, 1, 3);
  t.deepEqual((await Promise.all(ps)).map((r) => (r.value as TestCs).revision), [1, 2, 3]);
});

test('history: the ring keeps historySize change sets; afterRevision below its oldest is COMPACTED naming the oldest', async (t) => {
  const hub = hubAt(0, { historySize: 5 });
  publishRange(hub, 1, 10);
  t.deepEqual(hub.history, { oldestRevision: 5, newestRevision: 10 });
  const e = thrown(() => hub.watch({ afterRevision: 4 }));
  assertStateError(t, e, 'COMPACTED', 'revision 5 is no longer', 'oldest revision that can still be watched is 5', 'state.snapshot()');
  t.deepEqual(await take(hub.watch({ afterRevision: 5 }), 5), [6, 7, 8, 9, 10]);
  t.is(hub.stats().historySize, 5);
});

test('history: historyBytes bounds the ring by the sizes given to publish; one oversized change set is kept alone', (t) => {
  const hub = hubAt(0, { historyBytes: 1000 });
  for (let r = 1; r <= 5; r++) hub.publish(makeCs(r), 400);
  t.deepEqual(hub.stats(), { watchers: 0, queued: 0, historySize: 2, historyBytes: 800 });
  t.deepEqual(hub.history, { oldestRevision: 3, newestRevision: 5 });
  hub.publish(makeCs(6), 5000);
  t.deepEqual(hub.stats(), { watchers: 0, queued: 0, historySize: 1, historyBytes: 5000 });
  t.deepEqual(hub.history, { oldestRevision: 5, newestRevision: 6 });
});

test('historySize 0: only live watches; a revision before the newest is COMPACTED', async (t) => {
  const hub = hubAt(3, { historySize: 0 });
  publishRange(hub, 4, 6);
  t.deepEqual(hub.history, { oldestRevision: 6, newestRevision: 6 });
  assertStateError(t, thrown(() => hub.watch({ afterRevision: 5 })), 'COMPACTED', 'is 6');
  const w = hub.watch();
  publishRange(hub, 7, 8);
  t.deepEqual(await take(w, 2), [7, 8]);
});

test('a watcher replaying the ring that the ring overtakes fails with COMPACTED at the revision it missed', async (t) => {
  const hub = hubAt(0, { historySize: 5 });
  publishRange(hub, 1, 5);
  const w = hub.watch({ afterRevision: 0 });
  t.deepEqual(await take(w, 2), [1, 2]);
  publishRange(hub, 6, 9); // ring 5..9: revisions 3 and 4 are gone
  const e = await w.next().catch((x: unknown) => x);
  assertStateError(t, e, 'COMPACTED', 'revision 3 is no longer', 'is 4');
  t.deepEqual(await w.next(), { done: true, value: undefined }, 'after the error: done');
  t.is(hub.stats().watchers, 0);
});

test('tables: only revisions touching them, with only their changes; the same object when nothing is left out', async (t) => {
  const hub = hubAt(0);
  const tasks = hub.watch({ tables: ['tasks'] });
  const nodesContent = hub.watch({ tables: ['content', 'nodes'] });
  const all = hub.watch({ tables: ['nodes', 'tasks', 'content'] });
  const sets = [makeCs(1, ['nodes']), makeCs(2, ['tasks']), makeCs(3, ['nodes', 'tasks', 'content']), makeCs(4, []), makeCs(5, ['content'], true)];
  for (const cs of sets) hub.publish(cs);
  const a = await tasks.next();
  const b = await tasks.next();
  t.is(a.value, sets[1]);
  t.deepEqual(b.value, { revision: 3, updatedAt: sets[2]!.updatedAt, masterId: sets[2]!.masterId, changes: [sets[2]!.changes[1]!] });
  t.false(await settled(tasks.next()), 'nothing else touches tasks');
  const nc: TestCs[] = [];
  for (let i = 0; i < 3; i++) nc.push((await nodesContent.next()).value as TestCs);
  t.deepEqual(nc.map((c) => c.revision), [1, 3, 5]);
  t.deepEqual(nc[1]!.changes.map((c) => c.table), ['nodes', 'content']);
  t.is(nc[2], sets[4]);
  t.deepEqual(await take(all, 5), [1, 2, 3, 4, 5], 'all three tables is no filter: an empty change set too');
  // Replaying the ring filters the same way.
  t.deepEqual(await take(hub.watch({ afterRevision: 0, tables: ['tasks'] }), 2), [2, 3]);
});

test('bad watch options are INVALID_ARGUMENT naming the option, and attach nothing', (t) => {
  const hub = hubAt(10, { historySize: 5 });
  const cases: [unknown, string[]][] = [
    [5, ['watch options', 'an object']],
    [{ afterRevision: -1 }, ['afterRevision', '-1']],
    [{ afterRevision: 1.5 }, ['afterRevision', '1.5']],
    [{ afterRevision: '7' }, ['afterRevision', '"7"']],
    [{ afterRevision: Number.NaN }, ['afterRevision', 'NaN']],
    [{ afterRevision: Infinity }, ['afterRevision']],
    [{ afterRevision: 10n }, ['afterRevision']],
    [{ afterRevision: null }, ['afterRevision', 'null']],
    [{ afterRevision: 11 }, ['afterRevision', 'newest revision 10', 'future']],
    [{ after: 3 }, ['watch options.after', 'accepted: afterRevision, tables, signal, maxBacklog']],
    [{ tables: [] }, ['tables', 'non-empty']],
    [{ tables: 'tasks' }, ['tables', 'an array']],
    [{ tables: ['jobs'] }, ['tables[0]', '"jobs"', '"nodes", "tasks", "content"']],
    [{ tables: ['tasks', 'tasks'] }, ['tables[1]', 'distinct']],
    [{ tables: [1] }, ['tables[0]']],
    [{ signal: {} }, ['signal', 'AbortSignal']],
    [{ signal: { aborted: false, addEventListener() {} } }, ['signal', 'AbortSignal']],
    [{ maxBacklog: 0 }, ['maxBacklog', 'at least 1']],
    [{ maxBacklog: 2.5 }, ['maxBacklog']],
  ];
  for (const [options, parts] of cases) {
    assertStateError(t, thrown(() => hub.watch(options as never)), 'INVALID_ARGUMENT', ...parts);
  }
  t.is(hub.stats().watchers, 0);
  // afterRevision: undefined counts as absent (the default), as for every optional field.
  hub.watch({ afterRevision: undefined });
  t.is(hub.stats().watchers, 1);
});

test('watch options are read once: a getter runs once and its first answer is the one used', async (t) => {
  const hub = hubAt(0);
  publishRange(hub, 1, 3);
  let reads = 0;
  const options = { get afterRevision() { reads++; return reads === 1 ? 1 : -5; } };
  t.deepEqual(await take(hub.watch(options), 2), [2, 3]);
  t.is(reads, 1);
});

test('bad hub options and a non-consecutive publish are INVALID_ARGUMENT; the refused publish changes nothing', async (t) => {
  for (const [options, part] of [
    [{}, 'revision'], [{ revision: -1 }, 'revision'], [{ revision: 0, extra: 1 }, 'extra'], [{ revision: 0, historySize: -1 }, 'historySize'],
    [{ revision: 0, historyBytes: Number.NaN }, 'historyBytes'], [{ revision: 0, maxBacklog: 0 }, 'maxBacklog'],
    [{ revision: 0, olderSource: {} }, 'olderSource'], [{ revision: 0, name: '' }, 'name'],
  ] as const) {
    assertStateError(t, thrown(() => new WatchHub(options as never)), 'INVALID_ARGUMENT', part);
  }
  const hub = hubAt(0);
  const w = hub.watch();
  assertStateError(t, thrown(() => hub.publish(makeCs(2))), 'INVALID_ARGUMENT', '1, the revision after 0', 'got 2');
  assertStateError(t, thrown(() => hub.publish(makeCs(0))), 'INVALID_ARGUMENT');
  assertStateError(t, thrown(() => hub.publish(makeCs(1), -3)), 'INVALID_ARGUMENT', 'bytes');
  t.deepEqual(hub.history, { oldestRevision: 0, newestRevision: 0 });
  t.is(hub.stats().queued, 0);
  hub.publish(makeCs(1));
  t.deepEqual(await take(w, 1), [1]);
});

test('backlog: a watcher that stops reading holds at most maxBacklog change sets, then fails with COMPACTED and frees them; others are unaffected', async (t) => {
  const hub = hubAt(0, { maxBacklog: 1000 });
  const stopped = hub.watch({ maxBacklog: 3 });
  const reader = hub.watch();
  publishRange(hub, 1, 3);
  t.is(hub.stats().queued, 6, 'exactly maxBacklog unread: no failure yet');
  t.deepEqual(await take(stopped, 1), [1]);
  publishRange(hub, 4, 4);
  t.is(hub.stats().watchers, 2);
  hub.publish(makeCs(5)); // 2, 3, 4 unread and 5 would be the fourth
  t.deepEqual(hub.stats(), { watchers: 1, queued: 5, historySize: 5, historyBytes: 0 }, 'the stopped watcher is detached, its queue freed');
  t.deepEqual(await take(reader, 5), [1, 2, 3, 4, 5], 'the other watcher is unaffected');
  publishRange(hub, 6, 1005);
  t.deepEqual(hub.stats().queued, 1000, 'the reader stopped reading: 1000 unread, its limit');
  hub.publish(makeCs(1006));
  const e = await stopped.next().catch((x: unknown) => x);
  assertStateError(t, e, 'COMPACTED', 'maxBacklog = 3', 'at revision 5', 'last revision it delivered was 1', 'afterRevision: 1', 'state.snapshot()');
  t.deepEqual(await stopped.next(), { done: true, value: undefined });
  t.deepEqual(hub.stats(), { watchers: 0, queued: 0, historySize: 1006, historyBytes: 0 }, 'the reader overflowed its 1000 too: both queues are gone');
  assertStateError(t, await reader.next().catch((x: unknown) => x), 'COMPACTED', 'maxBacklog = 1000', 'at revision 1006', 'afterRevision: 5');
});

test('backlog: a pending next() takes the change set at once, so it never counts against maxBacklog', async (t) => {
  const hub = hubAt(0);
  const w = hub.watch({ maxBacklog: 1 });
  for (let r = 1; r <= 99; r += 2) {
    const p = w.next();
    hub.publish(makeCs(r)); // taken by the pending next()
    hub.publish(makeCs(r + 1)); // waits in the queue: 1 of 1
    t.is(((await p).value as TestCs).revision, r);
    t.is(((await w.next()).value as TestCs).revision, r + 1);
  }
  t.is(hub.stats().watchers, 1);
  publishRange(hub, 101, 102);
  assertStateError(t, await w.next().catch((e: unknown) => e), 'COMPACTED', 'maxBacklog = 1', 'at revision 102');
});

test('break and return(): end the watch, free its queue, later next() is done; return() is idempotent', async (t) => {
  const hub = hubAt(0);
  const w = hub.watch();
  publishRange(hub, 1, 5);
  for await (const cs of w) if (cs.revision === 2) break;
  t.deepEqual(hub.stats(), { watchers: 0, queued: 0, historySize: 5, historyBytes: 0 });
  t.deepEqual(await w.next(), { done: true, value: undefined });
  t.deepEqual(await w.return(), { done: true, value: undefined });
  const w2 = hub.watch();
  const pending = w2.next();
  await w2.return();
  t.deepEqual(await pending, { done: true, value: undefined }, 'a pending next() gives done');
});

test('abort: a pending next() resolves done (it does not reject); queued change sets are dropped; the listener is removed', async (t) => {
  const hub = hubAt(0);
  const ac = new AbortController();
  const w = hub.watch({ signal: ac.signal });
  const p = w.next();
  ac.abort(new Error('shutting down'));
  t.deepEqual(await p, { done: true, value: undefined });
  t.is(hub.stats().watchers, 0);
  const ac2 = new AbortController();
  let removed = 0;
  const remove = ac2.signal.removeEventListener.bind(ac2.signal);
  ac2.signal.removeEventListener = (...a: Parameters<AbortSignal['removeEventListener']>) => { removed++; remove(...a); };
  const w2 = hub.watch({ signal: ac2.signal });
  publishRange(hub, 1, 3);
  t.deepEqual(await take(w2, 1), [1]);
  ac2.abort();
  t.deepEqual(await w2.next(), { done: true, value: undefined });
  t.is(hub.stats().queued, 0);
  t.is(removed, 1);
  // A loop over an aborted watch just ends.
  const ac3 = new AbortController();
  const seen: number[] = [];
  const loop = (async () => { for await (const cs of hub.watch({ signal: ac3.signal })) seen.push(cs.revision); })();
  hub.publish(makeCs(4));
  await turn();
  ac3.abort();
  await loop;
  t.deepEqual(seen, [4]);
});

test('abort: a signal aborted before watch() gives a watch that is done at once and never attached', async (t) => {
  const hub = hubAt(0);
  const w = hub.watch({ signal: AbortSignal.abort() });
  t.is(hub.stats().watchers, 0);
  hub.publish(makeCs(1));
  t.deepEqual(await w.next(), { done: true, value: undefined });
});

test('close(): pending and later next() reject with CLOSED once, then done; watch() after close is CLOSED; publish does nothing', async (t) => {
  const hub = hubAt(0, { name: 'follower' });
  const a = hub.watch();
  const b = hub.watch();
  publishRange(hub, 1, 2);
  const pa = (async () => { await a.next(); await a.next(); return a.next(); })();
  t.false(await settled(pa));
  hub.close();
  assertStateError(t, await pa.catch((e: unknown) => e), 'CLOSED', 'follower is closed');
  assertStateError(t, await b.next().catch((e: unknown) => e), 'CLOSED', 'follower is closed');
  t.deepEqual(await b.next(), { done: true, value: undefined });
  assertStateError(t, thrown(() => hub.watch()), 'CLOSED');
  hub.publish(makeCs(3));
  hub.publish(makeCs(99));
  t.deepEqual(hub.history, { oldestRevision: 2, newestRevision: 2 });
  t.deepEqual(hub.stats(), { watchers: 0, queued: 0, historySize: 0, historyBytes: 0 });
  hub.close(new Error('second close is ignored'));
});

test('close(err): watchers fail with that very error', async (t) => {
  const hub = hubAt(0);
  const w = hub.watch();
  const p = w.next();
  const err = new Error('lock compromised');
  hub.close(err);
  t.is(await p.catch((e: unknown) => e), err);
});
