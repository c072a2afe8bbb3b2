// watch() options through every entry point — a writer with a state directory, an in-memory
// writer, a follower: afterRevision negative, fractional, NaN, ±Infinity, a string, a bigint,
// beyond 2^53, in the future; unknown option keys; tables naming unknown tables; bad maxBacklog
// and signal — each INVALID_ARGUMENT naming the option, thrown at once, leaving the state and its
// other watchers unaffected. (The hub's own checks: watch-hub.test.ts.)
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState, type ChangeSet } from '../../src/index.js';
import { followState } from '../../src/follower/index.js';

const made: string[] = [];
test.after.always(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'acs-watch-args-'));
  made.push(d);
  return d;
};

type Watchable = { watch(o?: unknown): AsyncIterator<ChangeSet>; history: { oldestRevision: number; newestRevision: number } };

/** Bad options for a source whose newest revision is `newest`: [options, parts of the message]. */
function badCases(newest: number): [unknown, string[]][] {
  return [
    [{ afterRevision: -1 }, ['watch options.afterRevision', '-1']],
    [{ afterRevision: -0.5 }, ['afterRevision']],
    [{ afterRevision: 1.5 }, ['afterRevision', '1.5']],
    [{ afterRevision: Number.NaN }, ['afterRevision', 'NaN']],
    [{ afterRevision: Infinity }, ['afterRevision']],
    [{ afterRevision: -Infinity }, ['afterRevision']],
    [{ afterRevision: '3' }, ['afterRevision', '"3"']],
    [{ afterRevision: `${newest}` }, ['afterRevision']],
    [{ afterRevision: 3n }, ['afterRevision']],
    [{ afterRevision: null }, ['afterRevision', 'null']],
    [{ afterRevision: 2 ** 53 }, ['afterRevision']],
    [{ afterRevision: newest + 1 }, ['afterRevision', `newest revision ${newest}`, 'future']],
    [{ afterRevision: newest + 1000 }, ['afterRevision', 'future']],
    [{ after: 1 }, ['watch options.after', 'accepted: afterRevision, tables, signal, maxBacklog']],
    [{ afterRevison: 1 }, ['watch options.afterRevison']],
    [{ afterRevision: 1, limit: 10 }, ['watch options.limit']],
    [{ tables: ['jobs'] }, ['watch options.tables[0]', '"jobs"', '"nodes", "tasks", "content"']],
    [{ tables: ['tasks', 'Nodes'] }, ['watch options.tables[1]', '"Nodes"']],
    [{ tables: ['tasks', 'tasks'] }, ['tables[1]', 'distinct']],
    [{ tables: [] }, ['tables', 'non-empty']],
    [{ tables: 'tasks' }, ['tables', 'an array']],
    [{ maxBacklog: 0 }, ['maxBacklog']],
    [{ maxBacklog: -1 }, ['maxBacklog']],
    [{ signal: 'abort' }, ['signal', 'AbortSignal']],
    [7, ['watch options']],
    ['afterRevision', ['watch options']],
  ];
}

/** Every bad case throws INVALID_ARGUMENT at once naming what is wrong; then a good watch still gets the next revision. */
async function checkSource(t: ExecutionContext, name: string, src: Watchable, next: () => Promise<number>): Promise<void> {
  const { oldestRevision, newestRevision } = src.history;
  for (const [options, parts] of badCases(newestRevision)) {
    let err: unknown;
    try {
      src.watch(options);
    } catch (e) {
      err = e;
    }
    const what = `${name}: watch(${typeof options === 'bigint' ? String(options) : JSON.stringify(options, (_k, v) => (typeof v === 'bigint' ? `${v}n` : Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v))})`;
    t.is((err as { code?: string } | undefined)?.code, 'INVALID_ARGUMENT', `${what}: ${String(err)}`);
    for (const p of parts) t.true(String((err as Error | undefined)?.message).includes(p), `${what}: ${String(err)} names ${p}`);
  }
  // The edges that are valid: the oldest and the newest revision.
  const atOldest = src.watch({ afterRevision: oldestRevision });
  t.is(((await atOldest.next()).value as ChangeSet).revision, oldestRevision + 1);
  const atNewest = src.watch({ afterRevision: newestRevision, tables: ['nodes', 'tasks', 'content'], maxBacklog: 1 });
  const rev = await next();
  t.is(((await atNewest.next()).value as ChangeSet).revision, rev, `${name}: a good watch after the refused ones gets the next revision`);
  await atOldest.return?.();
  await atNewest.return?.();
}

test('writer with a state directory: bad watch options are INVALID_ARGUMENT', async (t) => {
  const s = await ClusterState.open({ statePath: tempDir(), clusterId: 'args', parquet: false });
  for (let i = 0; i < 5; i++) s.addTask({ id: `t${i}`, type: 'process' });
  await s.flush();
  let i = 0;
  await checkSource(t, 'writer', s as unknown as Watchable, async () => {
    s.addTask({ id: `n${i++}`, type: 'process' });
    return s.revision;
  });
  await s.close();
});

test('in-memory writer: bad watch options are INVALID_ARGUMENT', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'args', history: { revisions: 3 } });
  for (let i = 0; i < 5; i++) s.addTask({ id: `t${i}`, type: 'process' });
  t.is(s.history.oldestRevision, 2, 'in memory, the history is the last 3 revisions');
  let i = 0;
  await checkSource(t, 'in-memory writer', s as unknown as Watchable, async () => {
    s.addTask({ id: `n${i++}`, type: 'process' });
    return s.revision;
  });
  await s.close();
});

test('follower: bad watch options are INVALID_ARGUMENT (the future is past the revision it loaded); before a state is loaded watch() is NOT_FOUND', async (t) => {
  const dir = tempDir();
  const empty = await followState(dir);
  t.is((t.throws(() => empty.watch()) as { code?: string }).code, 'NOT_FOUND');
  t.is((t.throws(() => empty.history) as { code?: string }).code, 'NOT_FOUND');
  await empty.close();
  const s = await ClusterState.open({ statePath: dir, clusterId: 'args', parquet: false });
  for (let i = 0; i < 5; i++) s.addTask({ id: `t${i}`, type: 'process' });
  const loaded = await s.flush();
  const f = await followState(dir, { safetyPollMs: 50 });
  t.teardown(() => f.close());
  t.is(f.revision, loaded);
  let i = 0;
  await checkSource(t, 'follower', f as unknown as Watchable, async () => {
    s.addTask({ id: `n${i++}`, type: 'process' });
    return s.flush();
  });
  await f.close();
  t.is((t.throws(() => f.watch()) as { code?: string }).code, 'CLOSED');
  await s.close();
});
