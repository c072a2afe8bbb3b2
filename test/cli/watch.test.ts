// watch: each new revision of a state directory a writer is changing, with the ids added and
// removed and the status changes (--json and text), and waiting for a state to appear.
import test from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterState } from '../../src/index.js';
import { CliFixtures, Live, populate, writeState } from './support.js';

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

test('watch --json: each new revision with ids added and removed and status changes', async (t) => {
  const dir = join(root, 'watched');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'watched' });
  const w = new Live(['watch', dir, '--json']);
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

test('watch (text) --count 2 prints the change and exits 0 by itself', async (t) => {
  const dir = join(root, 'watched-text');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'watched' });
  try {
    populate(s);
    const rev = await s.flush();
    const w = new Live(['watch', dir, '--count', '2']);
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

test('watch waits for a state to appear in an empty directory', async (t) => {
  const dir = join(root, 'appears');
  mkdirSync(dir);
  const w = new Live(['watch', dir, '--json']);
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
