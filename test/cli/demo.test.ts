// The demo end to end: it ends cleanly with files a follower and readStateSnapshot can load, its
// --json samples, Ctrl-C, --keep, and it never touches another cluster's state nor a locked one.
import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterState, followState, readStateSnapshot } from '../../src/index.js';
import { CliFixtures, fingerprint, Live, oneLine, parsed, populate, run, writeState } from './support.js';

const f = new CliFixtures();
const { root } = f;
test.after.always(() => f.remove());

test('demo --duration 3 ends cleanly with files a follower and readStateSnapshot can load', async (t) => {
  const dir = join(root, 'demo');
  const r = await run(['demo', '--duration', '3', '--nodes', '50', '--tasks', '200', '--content', '100', '--dir', dir], { timeoutMs: 40_000 });
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  // Not a TTY: plain progress and one summary line per second, then where the files are.
  t.regex(r.stdout, /^ {2}loaded 350\/350 records \(100%\)$/m);
  t.regex(r.stdout, /^\[ +\d+s\] rev [\d,]+ \(worker [\d,]+, follower [\d,]+, durable [\d,]+\) \| [\d,]+ mut\/s/m);
  t.regex(r.stdout, /stopping \(duration reached\)/);
  t.regex(r.stdout, /the follower process reached it/);
  t.notRegex(r.stdout, /\x1b\[/); // no terminal control sequences in a pipe
  const parquet = join(dir, 'state_demo.parquet');
  t.true(r.stdout.includes(`duckdb -c "SELECT cluster_id, len(nodes) FROM '`));
  t.true(r.stdout.includes('python -c "import pyarrow.parquet as pq; print(pq.read_table('));
  t.true(existsSync(parquet));
  const snap = readStateSnapshot(dir);
  t.truthy(snap);
  t.is(snap!.clusterId, 'demo');
  t.is(snap!.nodes.numRows, 50);
  t.true(snap!.tasks.numRows >= 200);
  t.true(snap!.revision > 10);
  const f = await followState(dir);
  try {
    t.is(f.revision, snap!.revision);
    t.is(f.snapshot().nodes.numRows, 50);
  } finally {
    await f.close();
  }
  // The Parquet file holds the final state too.
  const fromParquet = await run(['status', parquet, '--json']);
  t.is(parsed(fromParquet).tasks.total, snap!.tasks.numRows);
  t.false(existsSync(join(dir, 'writer.lock')), 'the lock was released');
});

test('demo --duration 1.05: the sample measured in the run is shown even when the run ends while it is taken', async (t) => {
  // The first sample starts 1 s into the run and needs the query pool, a flush and the follower:
  // on a busy machine it formerly finished after a short run had ended and was dropped.
  const dir = join(root, 'demo-short');
  const r = await run(['demo', '--duration', '1.05', '--nodes', '20', '--tasks', '40', '--content', '20', '--dir', dir], { timeoutMs: 40_000 });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^\[ +\d+s\] rev [\d,]+ \(worker [\d,]+, follower [\d,]+, durable [\d,]+\)/m);
});

test('demo --json: samples, Ctrl-C stops cleanly; an earlier demo state is replaced', async (t) => {
  const dir = join(root, 'demo-json');
  await writeState(dir, 'demo', (s) => {
    s.registerNode({ id: 'old-node', role: 'worker' });
  });
  const d = new Live(['demo', '--json', '--nodes', '30', '--tasks', '60', '--content', '30', '--dir', dir, '--port', '0']);
  const loaded = await d.json<{ event: string; nodes: number }>((v) => v.event === 'loaded', 30_000, 'loaded');
  t.is(loaded.nodes, 30);
  // The dashboard is served while the demo runs: its summary is the demo's cluster.
  const dash = await d.json<{ event: string; url: string }>((v) => v.event === 'dashboard', 30_000, 'the dashboard');
  t.regex(dash.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await fetch(dash.url);
  t.is(page.status, 200);
  t.regex(await page.text(), /data-testid="nodes-total"/);
  const summary = await (await fetch(`${dash.url}api/summary`)).json() as { cluster_id?: string; nodes?: { total: number } };
  t.is(summary.nodes?.total, 30, JSON.stringify(summary).slice(0, 300));
  const sample = await d.json<Record<string, any>>((v) => v.event === 'sample', 30_000, 'a sample');
  t.is(typeof sample.revision.writer, 'number');
  t.is(typeof sample.revision.worker, 'number');
  t.is(typeof sample.per_second.mutations, 'number');
  t.deepEqual(Object.keys(sample.tasks.by_status), ['pending', 'assigned', 'running', 'completed', 'failed', 'cancelled']);
  t.is(sample.nodes.total, 30);
  d.child.kill('SIGINT');
  const done = await d.json<Record<string, any>>((v) => v.event === 'done', 30_000, 'done');
  const exit = await d.exited;
  t.is(exit.code, 0, d.stderr);
  t.is(done.reason, 'SIGINT');
  t.true(done.follower_caught_up);
  t.is(done.follower_revision, done.revision);
  t.true(done.files.some((f: { name: string }) => f.name === 'state_demo.parquet'));
  const snap = readStateSnapshot(dir)!;
  t.is(snap.revision, done.revision);
  const ids = snap.nodes.getChild('id')!.toArray() as string[];
  t.false(ids.includes('old-node'), 'started clean');
});

test('demo --keep continues an earlier demo state', async (t) => {
  const dir = join(root, 'demo-keep');
  await writeState(dir, 'demo', (s) => {
    s.registerNode({ id: 'kept-node', role: 'worker', resources: { cpu: 4, memory: '8GiB' } });
    s.addTask({ id: 'kept-task', type: 'process' });
  });
  const r = await run(['demo', '--keep', '--duration', '1', '--rate', '5', '--dir', dir], { timeoutMs: 30_000 });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^continuing the demo state in .* at revision \d+: 1 nodes, 1 tasks, 0 content items$/m);
  const snap = readStateSnapshot(dir)!;
  t.deepEqual(snap.nodes.getChild('id')!.toArray(), ['kept-node']);
});

test('demo never touches another cluster\'s state, nor a directory whose writer runs', async (t) => {
  const prod = join(root, 'prod');
  await writeState(prod, 'prod', populate);
  const before = fingerprint(prod);
  const foreign = await run(['demo', '--duration', '1', '--dir', prod]);
  t.is(foreign.code, 1);
  oneLine(t, foreign);
  t.regex(foreign.stderr, /holds the state of cluster "prod", not a demo state/);
  const kept = await run(['demo', '--keep', '--duration', '1', '--dir', prod]);
  t.is(kept.code, 1);
  t.deepEqual(fingerprint(prod), before);
  const dir = join(root, 'demo-locked');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'demo' });
  try {
    s.registerNode({ id: 'n', role: 'worker' });
    await s.flush();
    const locked = await run(['demo', '--duration', '1', '--dir', dir]);
    t.is(locked.code, 1);
    oneLine(t, locked);
    t.regex(locked.stderr, /^cluster-state demo: LOCKED: /);
    const keep = await run(['demo', '--keep', '--duration', '1', '--dir', dir]);
    t.is(keep.code, 1);
    t.regex(keep.stderr, /LOCKED/);
    t.is(s.getNode('n')?.id, 'n');
  } finally {
    await s.close();
  }
});
