// watch: the change set of every revision of a state directory a writer is changing (NDJSON and
// text; --after resumes; COMPACTED below the history; bad options), and --summary: each revision
// with the ids added and removed and the status changes; both wait for a state to appear.
import test from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterState, type ChangeSet } from '../../src/index.js';
import { CliFixtures, Live, populate, run, writeState } from './support.js';

const f = new CliFixtures();
const { root } = f;
test.after.always(() => f.remove());

interface WatchLine {
  revision: number;
  counts: { nodes: { by_status: Record<string, number> }; tasks: { total: number } };
  changes: null | {
    nodes: { added: string[]; removed: string[]; status: Record<string, number> };
    tasks: { added: string[]; removed: string[]; status: Record<string, number> };
    content: { added: string[]; removed: string[] };
  };
}

test('watch --summary --json: each new revision with ids added and removed and status changes', async (t) => {
  const dir = join(root, 'watched');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'watched' });
  const w = new Live(['watch', dir, '--summary', '--json']);
  try {
    populate(s);
    const first = await s.flush();
    await w.json<WatchLine>((v) => v.revision >= first, 15_000, `revision ${first}`);
    s.addTask({ id: 'fresh-task', type: 'process' });
    s.updateNodeStatus('w2', 'offline');
    s.addContent({ cid: 'c-new', size: 1 });
    await s.flush();
    await w.json<WatchLine>((v) => v.counts.tasks.total === 5 && v.counts.nodes.by_status.offline === 2, 15_000, 'the new task and offline node');
    const seen = w.lines.map((l) => JSON.parse(l) as WatchLine);
    t.is(seen[0]!.changes, null);
    const changes = seen.slice(1).map((v) => v.changes!);
    t.true(changes.some((c) => c.tasks.added.includes('fresh-task')));
    t.true(changes.some((c) => c.nodes.status['online->offline'] === 1));
    t.true(changes.some((c) => c.content.added.includes('c-new')));
    s.removeTask('fresh-task');
    s.assignTask('t-pending', 'w1');
    await s.flush();
    const gone = await w.json<WatchLine>((v) => !!v.changes?.tasks.removed.includes('fresh-task'), 15_000, 'fresh-task removed');
    t.is(gone.counts.tasks.total, 4);
    t.is(gone.changes!.tasks.status['pending->assigned'], 1);
    t.deepEqual(revisionsIncrease(w.lines), true);
  } finally {
    const exit = await w.kill('SIGTERM');
    t.is(exit.code, 0, w.stderr);
    await s.close();
  }
});

function revisionsIncrease(lines: string[]): boolean {
  const revs = lines.map((l) => (JSON.parse(l) as WatchLine).revision);
  return revs.every((r, i) => i === 0 || r > revs[i - 1]!);
}

test('watch --summary (text) --count 2 prints the change and exits 0 by itself', async (t) => {
  const dir = join(root, 'watched-text');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'watched' });
  try {
    populate(s);
    const rev = await s.flush();
    const w = new Live(['watch', dir, '--summary', '--count', '2']);
    await w.line((l) => l.startsWith(`revision ${rev} `), 15_000, 'the first revision');
    s.addTask({ id: 'text-task', type: 'process' });
    s.removeContent('c3');
    await s.flush();
    const exit = await w.exited;
    t.is(exit.code, 0, w.stderr);
    const out = w.lines.join('\n');
    t.regex(out, /^ {2}tasks +5 +pending 2 \(\+1\)/m);
    t.regex(out, /^ {2}\+ tasks 1: text-task$/m);
    t.regex(out, /^ {2}- content 1: c3$/m);
  } finally {
    await s.close();
  }
});

test('watch --summary waits for a state to appear in an empty directory', async (t) => {
  const dir = join(root, 'appears');
  mkdirSync(dir);
  const w = new Live(['watch', dir, '--summary', '--json']);
  try {
    await w.stderrIncludes('waiting for a state');
    const rev = await writeState(dir, 'late', populate);
    const v = await w.json<WatchLine>((x) => x.revision === rev, 15_000, `revision ${rev}`);
    t.is((JSON.parse(w.lines[0]!) as WatchLine).changes, null);
    t.is(v.counts.tasks.total, 4);
  } finally {
    t.is((await w.kill('SIGINT')).code, 0);
  }
});

/** The change sets a watch printed (NDJSON). */
const changeSets = (w: Live) => w.lines.map((l) => JSON.parse(l) as ChangeSet);

test('watch --json: one ChangeSet per line for every revision after the current one, in order, gap-free, with each change\'s value after the commit', async (t) => {
  const dir = join(root, 'cs-json');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'cs' });
  populate(s);
  const base = await s.flush();
  const w = new Live(['watch', dir, '--json']);
  try {
    await w.stderrIncludes(`after revision ${base}`);
    s.addTask({ id: 'fresh-task', type: 'process' });
    s.transaction(() => {
      s.updateNodeStatus('w2', 'offline');
      s.removeContent('c3');
      s.assignTask('fresh-task', 'w1');
    });
    const last = await s.flush();
    await w.json<ChangeSet>((v) => v.revision === last, 15_000, `revision ${last}`);
    const seen = changeSets(w);
    t.deepEqual(seen.map((c) => c.revision), [base + 1, base + 2]);
    t.deepEqual(seen[0]!.changes.map((c) => [c.table, c.op, c.id]), [['tasks', 'upsert', 'fresh-task']]);
    t.is((seen[0]!.changes[0] as { record: { status: string } }).record.status, 'pending');
    const tx = seen[1]!;
    t.is(tx.changes.length, 3, 'a transaction is one change set');
    t.deepEqual(tx.changes.map((c) => `${c.table} ${c.op} ${c.id}`).sort(), ['content delete c3', 'nodes upsert w2', 'tasks upsert fresh-task']);
    const task = tx.changes.find((c) => c.id === 'fresh-task') as { record: { status: string; assigned_to: string } };
    t.is(task.record.status, 'assigned');
    t.is(task.record.assigned_to, 'w1');
    t.deepEqual(task.record, JSON.parse(JSON.stringify(s.getTask('fresh-task'))), 'the record is what getTask returns');
    t.is(typeof tx.updatedAt, 'number');
  } finally {
    t.is((await w.kill('SIGTERM')).code, 0, w.stderr);
    await s.close();
  }
});

test('watch --after <rev> --count n resumes exactly after rev (from the journal\'s history), with --tables only the revisions that touch those tables', async (t) => {
  const dir = join(root, 'cs-after');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'cs' });
  populate(s);
  const from = await s.flush();
  s.addTask({ id: 'a1', type: 'process' });
  s.registerNode({ id: 'n-new', role: 'worker' });
  s.addTask({ id: 'a2', type: 'process' });
  s.addContent({ cid: 'c-new', size: 5 });
  await s.flush();
  await s.close(); // a closed directory: the change sets come from the journal alone
  const all = await run(['watch', dir, '--after', String(from), '--count', '4', '--json']);
  t.is(all.code, 0, all.stderr);
  const lines = all.stdout.trim().split('\n').map((l) => JSON.parse(l) as ChangeSet);
  t.deepEqual(lines.map((c) => c.revision), [from + 1, from + 2, from + 3, from + 4]);
  t.deepEqual(lines.map((c) => c.changes.map((x) => x.id)), [['a1'], ['n-new'], ['a2'], ['c-new']]);
  const tasks = await run(['watch', dir, '--after', String(from), '--count', '2', '--tables', 'tasks', '--json']);
  t.is(tasks.code, 0, tasks.stderr);
  t.deepEqual(tasks.stdout.trim().split('\n').map((l) => (JSON.parse(l) as ChangeSet).revision), [from + 1, from + 3]);
  const text = await run(['watch', dir, '--after', String(from + 2), '--count', '1']);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, new RegExp(`^revision ${from + 3} .* 1 change {2}master m1\\n {2}upsert tasks {3}a2 {2}\\(pending\\)$`, 'm'));
});

test('watch --after older than the history: COMPACTED naming the oldest revision that can be watched (exit 1, one line); bad --after and --tables are usage errors', async (t) => {
  const dir = join(root, 'cs-compacted');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'cs', history: { revisions: 0 } });
  populate(s);
  await s.flush();
  s.addTask({ id: 'x', type: 'process' });
  const rev = await s.flush();
  await s.checkpoint(); // the journal is cut behind the checkpoint, keeping no history
  await s.close();
  const old = await run(['watch', dir, '--after', '1', '--json']);
  t.is(old.code, 1, old.stdout);
  t.regex(old.stderr, /COMPACTED/);
  t.regex(old.stderr, new RegExp(`oldest revision .*${rev}|${rev}.*oldest`));
  t.is(old.stdout, '');
  for (const bad of ['-1', '1.5', 'abc', '']) {
    const r = await run(['watch', dir, '--after', bad]);
    t.is(r.code, 2, `--after ${JSON.stringify(bad)}: ${r.stderr}`);
    t.regex(r.stderr, /--after/);
  }
  const future = await run(['watch', dir, '--after', String(rev + 100)]);
  t.is(future.code, 1);
  t.regex(future.stderr, /INVALID_ARGUMENT/);
  for (const bad of ['jobs', 'tasks,jobs', ',']) {
    const r = await run(['watch', dir, '--tables', bad]);
    t.is(r.code, 2, `--tables ${JSON.stringify(bad)}: ${r.stderr}`);
    t.regex(r.stderr, /--tables/);
  }
  const mixed = await run(['watch', dir, '--summary', '--after', '1']);
  t.is(mixed.code, 2);
});

test('watch (change sets) waits for a state to appear in an empty directory, then prints its revisions', async (t) => {
  const dir = join(root, 'cs-appears');
  mkdirSync(dir);
  const w = new Live(['watch', dir, '--after', '0', '--json']);
  try {
    await w.stderrIncludes('waiting for a state');
    const rev = await writeState(dir, 'late', populate);
    await w.json<ChangeSet>((x) => x.revision === rev, 15_000, `revision ${rev}`);
    t.deepEqual(changeSets(w).map((c) => c.revision), Array.from({ length: rev }, (_, i) => i + 1));
  } finally {
    t.is((await w.kill('SIGINT')).code, 0, w.stderr);
  }
});
