/**
 * `cluster-state watch <dir>`: follows a state directory like any sibling process would
 * (followState: no lock, no writes) — or, with `--nats <url> --cluster <id>`, a cluster through
 * NATS JetStream (a remote follower) — and prints the change set of every revision
 * (follower.watch(): ordered, gap-free, resumable with --after), or with --summary each revision
 * the follower loads with its counts and the ids that changed.
 */
import { followState, isStateError, NODE_ROLES, NODE_STATUSES, StateError, TASK_STATUSES, WATCH_TABLES, type ChangeSet, type Snapshot, type WatchTable } from '../../index.js';
import { intOption, JSON_OPTION, SOURCE_OPTIONS, UsageError, type Command, type Context } from '../command.js';
import { countBy, diffIds, idState, ordered, type Changes, type EntityChange, type IdState } from '../counts.js';
import { int, jsonText, printable, println } from '../format.js';
import { describe, followNats, locate, readState, sourceOf, type StateFollower, type StateLocation } from '../state.js';
import { untilSignal } from '../signals.js';
import { show as showValue } from '../../errors.js';

interface Counts {
  nodes: { total: number; by_status: Record<string, number>; by_role: Record<string, number> };
  tasks: { total: number; by_status: Record<string, number> };
  content: { total: number };
}

function countsOf(s: Snapshot): Counts {
  return {
    nodes: { total: s.nodes.numRows, by_status: ordered(countBy(s.nodes, 'status'), NODE_STATUSES), by_role: ordered(countBy(s.nodes, 'role'), NODE_ROLES) },
    tasks: { total: s.tasks.numRows, by_status: ordered(countBy(s.tasks, 'status'), TASK_STATUSES) },
    content: { total: s.content.numRows },
  };
}

/** "pending 1,931 (+3)" pairs for a text line. */
function statusLine(now: Record<string, number>, before: Record<string, number> | undefined): string {
  return Object.entries(now)
    .map(([k, v]) => {
      const d = before ? v - (before[k] ?? 0) : 0;
      return `${k} ${int(v)}${d ? ` (${d > 0 ? '+' : ''}${int(d)})` : ''}`;
    })
    .join('  ');
}

function idList(ids: string[], max: number): string {
  if (max <= 0 || ids.length <= max) return ids.map(printable).join(', ');
  return `${ids.slice(0, max).map(printable).join(', ')} (+${int(ids.length - max)} more)`;
}

function changeLines(kind: string, c: EntityChange, max: number): string[] {
  const lines: string[] = [];
  if (c.added.length) lines.push(`  + ${kind} ${int(c.added.length)}: ${idList(c.added, max)}`);
  if (c.removed.length) lines.push(`  - ${kind} ${int(c.removed.length)}: ${idList(c.removed, max)}`);
  const st = Object.entries(c.status ?? {});
  if (st.length) lines.push(`  ~ ${kind}: ${st.sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${int(v)}`).join(', ')}`);
  return lines;
}

/**
 * The follower of what the watch reads: a remote follower with --nats (UNAVAILABLE, NOT_FOUND as
 * followState says), else a directory's (a file is a usage error). With `precheck`, a directory's
 * damaged files fail at once (a follower would wait silently); `present` is false when the
 * directory holds no state yet (it is waited on).
 */
async function openWatched(ctx: Context, precheck: boolean): Promise<{ follower: StateFollower; loc: StateLocation; present: boolean }> {
  const src = sourceOf(ctx);
  if ('nats' in src) {
    if (ctx.values.polling) throw new UsageError('--polling polls a state directory; it does not go with --nats');
    return { follower: await followNats(src.nats), loc: src.nats, present: true };
  }
  const loc = locate(src.path);
  if (loc.kind !== 'dir') throw new UsageError(`watch follows a state directory; ${showValue(src.path)} is a file`);
  let present = true;
  if (precheck) {
    try {
      readState(loc.path);
    } catch (e) {
      if (!isStateError(e, 'NOT_FOUND')) throw e;
      present = false;
    }
  }
  return { follower: await followState(loc.path, { polling: !!ctx.values.polling }), loc, present };
}

/** `watch --summary`: each revision the follower loads, counted and compared with the one before. */
async function runSummary(ctx: Context): Promise<number> {
  const count = intOption(ctx, 'count', 0, 1);
  const maxIds = intOption(ctx, 'ids', 5, 0);
  const { follower, loc, present } = await openWatched(ctx, true);
  const stop = untilSignal();
  let printed = 0;
  let prev: { ids: IdState; counts: Counts } | null = null;
  let lastError = '';
  const json = !!ctx.values.json;
  const show = () => {
    const observed = Date.now();
    const snap = follower.snapshot();
    const ids = idState(snap);
    const counts = countsOf(snap);
    const changes: Changes | null = prev ? diffIds(prev.ids, ids) : null;
    if (json) {
    ctx.io.out.write(`${jsonText({
      revision: snap.revision, cluster_id: snap.clusterId, updated_at: new Date(snap.updatedAt).toISOString(),
      observed_at: new Date(observed).toISOString(), counts, changes,
    })}\n`);
    } else {
    const o = ctx.io.out;
    println(o, `revision ${int(snap.revision)}  ${new Date(snap.updatedAt).toISOString()}  cluster ${printable(snap.clusterId)}`);
    println(o, `  nodes   ${int(counts.nodes.total).padStart(9)}  ${statusLine(counts.nodes.by_status, prev?.counts.nodes.by_status)}`);
    println(o, `  tasks   ${int(counts.tasks.total).padStart(9)}  ${statusLine(counts.tasks.by_status, prev?.counts.tasks.by_status)}`);
    const dc = prev ? counts.content.total - prev.counts.content.total : 0;
    println(o, `  content ${int(counts.content.total).padStart(9)}${dc ? `  (${dc > 0 ? '+' : ''}${int(dc)})` : ''}`);
    if (changes) {
      for (const line of [...changeLines('nodes', changes.nodes, maxIds), ...changeLines('tasks', changes.tasks, maxIds), ...changeLines('content', changes.content, maxIds)]) {
        println(o, line);
      }
    }
    }
    prev = { ids, counts };
    printed++;
    if (count > 0 && printed >= count) stop.resolve('count');
  };
  follower.on('change', () => {
    try {
    show();
    } catch (e) {
    stop.reject(e);
    }
  });
  follower.on('error', (e: StateError) => {
    const msg = printable(e.message.replace(/\s+/g, ' '));
    if (msg !== lastError) ctx.io.err.write(`cluster-state: warning: ${msg} (keeping revision ${follower.revision})\n`);
    lastError = msg;
  });
  let notice: NodeJS.Timeout | null = null;
  if (follower.revision >= 0) show();
  else if (!present) ctx.io.err.write(`waiting for a state in ${describe(loc)} ...\n`);
  else {
    // The state was readable a moment ago (a busy writer may be replacing its file): say so only if it lasts.
    notice = setTimeout(() => {
    if (printed === 0) ctx.io.err.write(`waiting for a writer's arena file in ${describe(loc)} (only its Parquet file is readable now) ...\n`);
    }, 2000);
    notice.unref();
  }
  try {
    await stop.promise;
  } finally {
    if (notice) clearTimeout(notice);
    stop.dispose();
    await follower.close();
  }
  return 0;
}

/** Text lines of one change set (at most `max` changes listed; 0 = all). */
function changeSetLines(cs: ChangeSet, max: number): string[] {
  const lines = [`revision ${int(cs.revision)}  ${new Date(cs.updatedAt).toISOString()}  ${int(cs.changes.length)} change${cs.changes.length === 1 ? '' : 's'}${cs.masterId === null ? '' : `  master ${printable(cs.masterId)}`}`];
  const shown = max > 0 ? cs.changes.slice(0, max) : cs.changes;
  for (const c of shown) {
    const status = c.op === 'upsert' && c.table !== 'content' ? `  (${printable(String((c.record as { status?: unknown }).status))})` : '';
    lines.push(`  ${c.op === 'upsert' ? 'upsert' : 'delete'} ${c.table.padEnd(7)} ${printable(c.id)}${status}`);
  }
  if (shown.length < cs.changes.length) lines.push(`  ... ${int(cs.changes.length - shown.length)} more`);
  return lines;
}

export const watch: Command = {
  name: 'watch',
  summary: 'Follow a state directory; print every change set (or, with --summary, each revision\'s counts).',
  positionals: [{ name: 'dir', help: 'a state directory; or --nats <url> --cluster <id> instead', source: true }],
  options: {
    ...SOURCE_OPTIONS,
    ...JSON_OPTION,
    after: { type: 'string', value: '<rev>', help: 'print every revision after this one (default: the current revision); resumable from the journal\'s history' },
    tables: { type: 'string', value: '<list>', help: 'only these tables (comma-separated: nodes,tasks,content)' },
    ids: { type: 'string', value: '<n>', default: '5', help: 'changes (or ids, with --summary) listed per revision in text output (0 = all); --json lists all' },
    count: { type: 'string', value: '<n>', help: 'exit after printing n revisions (default: run until Ctrl-C)' },
    summary: { type: 'boolean', help: 'instead of change sets: each revision the follower loads with counts by status and ids added and removed' },
    polling: { type: 'boolean', help: 'poll the directory instead of using file-system events (network file systems; not with --nats)' },
  },
  description: 'Prints the change set of every durable revision after --after (default: the current revision),\n'
    + 'in order, without gaps or duplicates: each entity the commit changed, with its value after the\n'
    + 'commit (upsert) or its deletion. With --json: one ChangeSet per line (NDJSON),\n'
    + '{ revision, updatedAt, masterId, changes: [{ table, op, id, record? }] } (docs/changes.md).\n'
    + 'An --after older than the journal\'s history fails with COMPACTED naming the oldest revision that\n'
    + 'can be watched (relist: read the state, then watch --after its revision); so does a watch that\n'
    + 'falls behind the history while it runs. An empty directory is waited on until a writer creates\n'
    + 'a state there. Stops on Ctrl-C (exit 0).\n'
    + 'With --nats <url> --cluster <id>: the change sets of the revisions the cluster\'s master replicates\n'
    + 'there, from a remote follower; --after reaches back only to the revision it loaded on start.\n'
    + 'With --summary: the current revision first, then each newer revision the follower loads (quick\n'
    + 'successions may be seen together) with counts by status (and the change since the line before),\n'
    + 'ids added and removed and status changes; --json: { revision, cluster_id, updated_at,\n'
    + 'observed_at, counts, changes } ("changes" is null on the first line).',
  examples: [
    'cluster-state watch ./.cluster-state',
    'cluster-state watch ./.cluster-state --after 1200 --tables tasks --json | jq -c ".changes[] | {id, op}"',
    'cluster-state watch ./.cluster-state --summary',
    'cluster-state watch --nats nats://127.0.0.1:4222 --cluster c1 --json',
  ],
  async run(ctx) {
    if (ctx.values.summary) {
      if (ctx.values.after !== undefined || ctx.values.tables !== undefined) throw new UsageError('--after and --tables watch change sets; they do not go with --summary');
      return runSummary(ctx);
    }
    const count = intOption(ctx, 'count', 0, 1);
    const maxIds = intOption(ctx, 'ids', 5, 0);
    const after = ctx.values.after === undefined ? undefined : intOption(ctx, 'after', 0, 0);
    const tables = ctx.values.tables === undefined ? undefined : parseTables(String(ctx.values.tables));
    const { follower, loc } = await openWatched(ctx, false);
    const stop = untilSignal();
    const abort = new AbortController();
    void stop.promise.then(() => abort.abort(), () => abort.abort());
    let lastError = '';
    follower.on('error', (e: StateError) => {
      const msg = printable(e.message.replace(/\s+/g, ' '));
      if (msg !== lastError) ctx.io.err.write(`cluster-state: warning: ${msg} (keeping revision ${follower.revision})\n`);
      lastError = msg;
    });
    try {
      if (follower.revision < 0) {
        ctx.io.err.write(`waiting for a state in ${describe(loc)} ...\n`);
        const appeared = new Promise<void>((resolve) => follower.once('change', () => resolve()));
        if (await Promise.race([appeared.then(() => true), stop.promise.then(() => false, () => false)]) === false) return 0;
      }
      const json = !!ctx.values.json;
      let printed = 0;
      const watching = follower.watch({ afterRevision: after, tables, signal: abort.signal });
      ctx.io.err.write(`watching ${describe(loc)} after revision ${int(after ?? follower.revision)} (Ctrl-C stops)\n`);
      const done = (async () => {
        for await (const cs of watching) {
          if (json) ctx.io.out.write(`${jsonText(cs)}\n`);
          else for (const line of changeSetLines(cs, maxIds)) println(ctx.io.out, line);
          if (count > 0 && ++printed >= count) break;
        }
      })();
      await Promise.race([done, stop.promise.then(() => undefined)]);
      abort.abort();
      await done;
    } finally {
      stop.dispose();
      await follower.close();
    }
    return 0;
  },
};

/** `--tables nodes,tasks`: known names, each once. */
function parseTables(text: string): WatchTable[] {
  const names = text.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  if (names.length === 0) throw new UsageError(`--tables needs at least one of ${WATCH_TABLES.join(', ')}`);
  for (const n of names) if (!(WATCH_TABLES as readonly string[]).includes(n)) throw new UsageError(`--tables: ${showValue(n)} is not one of ${WATCH_TABLES.join(', ')}`);
  return [...new Set(names)] as WatchTable[];
}

/**
 * `cluster-state _follow <dir>` (hidden; used by demo): a follower that prints one small JSON
 * line per revision it loads — { revision, updated_at, observed_at, nodes, tasks, content } —
 * without computing differences, so it keeps up with a busy writer on a small machine.
 */
export const follow: Command = {
  name: '_follow',
  summary: 'Print each revision a follower loads as one JSON line (internal, for demo).',
  hidden: true,
  positionals: [{ name: 'dir', help: 'a state directory' }],
  options: {
    'exit-with-parent': { type: 'boolean', help: 'exit when the parent process goes away' },
  },
  async run(ctx) {
    const loc = locate(ctx.args.dir!);
    if (loc.kind !== 'dir') throw new UsageError(`_follow follows a state directory; ${showValue(ctx.args.dir)} is a file`);
    const follower = await followState(loc.path);
    const stop = untilSignal();
    const show = () => {
      const observed = Date.now();
      const s = follower.snapshot();
      ctx.io.out.write(`${JSON.stringify({
        revision: s.revision, updated_at: s.updatedAt, observed_at: observed, nodes: s.nodes.numRows, tasks: s.tasks.numRows, content: s.content.numRows,
      })}\n`);
    };
    follower.on('change', show);
    follower.on('error', (e: StateError) => ctx.io.err.write(`${printable(e.message.replace(/\s+/g, ' '))}\n`));
    if (follower.revision >= 0) show();
    let parentWatch: NodeJS.Timeout | null = null;
    if (ctx.values['exit-with-parent']) {
      const parent = process.ppid;
      parentWatch = setInterval(() => {
        if (process.ppid !== parent) stop.resolve('parent');
      }, 500);
      parentWatch.unref();
    }
    try {
      await stop.promise;
    } finally {
      if (parentWatch) clearInterval(parentWatch);
      stop.dispose();
      await follower.close();
    }
    return 0;
  },
};
