/**
 * `cluster-state watch <dir>`: follows a state directory like any sibling process would
 * (followState: no lock, no writes) and prints every new durable revision with what changed.
 */
import { followState, isStateError, NODE_ROLES, NODE_STATUSES, StateError, TASK_STATUSES, type Snapshot } from '../../index.js';
import { intOption, JSON_OPTION, UsageError, type Command } from '../command.js';
import { countBy, diffIds, idState, ordered, type Changes, type EntityChange, type IdState } from '../counts.js';
import { displayPath, int, jsonText, printable, println } from '../format.js';
import { readState, locate } from '../state.js';
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

export const watch: Command = {
  name: 'watch',
  summary: 'Follow a state directory; print each new revision and what changed.',
  positionals: [{ name: 'dir', help: 'a state directory' }],
  options: {
    ...JSON_OPTION,
    ids: { type: 'string', value: '<n>', default: '5', help: 'ids listed per change in text output (0 = all); --json lists all' },
    count: { type: 'string', value: '<n>', help: 'exit after printing n revisions (default: run until Ctrl-C)' },
    polling: { type: 'boolean', help: 'poll the directory instead of using file-system events (network file systems)' },
  },
  description: 'Prints the current revision first, then every newer durable revision: counts by status (with the\n'
    + 'change since the previous line), ids added and removed, and status changes ("pending->assigned 3").\n'
    + 'Revisions written in quick succession may be seen together (the follower loads the newest).\n'
    + 'An empty directory is waited on until a writer creates a state there. Damaged files are\n'
    + 'reported on stderr and the last good revision is kept. Stops on Ctrl-C (exit 0).\n'
    + 'With --json: one JSON object per line: { revision, cluster_id, updated_at, observed_at, counts, changes }\n'
    + '("changes" is null on the first line).',
  examples: ['cluster-state watch ./.cluster-state', 'cluster-state watch ./.cluster-state --json | jq -c "{revision, tasks: .counts.tasks.by_status}"'],
  async run(ctx) {
    const count = intOption(ctx, 'count', 0, 1);
    const maxIds = intOption(ctx, 'ids', 5, 0);
    const loc = locate(ctx.args.dir!);
    if (loc.kind !== 'dir') throw new UsageError(`watch follows a state directory; ${showValue(ctx.args.dir)} is a file`);
    // Fail early on damaged files (a follower would wait silently); an empty directory is waited on.
    let present = true;
    try {
      readState(loc.path);
    } catch (e) {
      if (!isStateError(e, 'NOT_FOUND')) throw e;
      present = false;
    }
    const follower = await followState(loc.path, { polling: !!ctx.values.polling });
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
    else if (!present) ctx.io.err.write(`waiting for a state in ${displayPath(loc.path)} ...\n`);
    else {
      // The state was readable a moment ago (a busy writer may be replacing its file): say so only if it lasts.
      notice = setTimeout(() => {
        if (printed === 0) ctx.io.err.write(`waiting for a writer's arena file in ${displayPath(loc.path)} (only its Parquet file is readable now) ...\n`);
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
  },
};

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
