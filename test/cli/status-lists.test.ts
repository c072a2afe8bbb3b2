// status and the lists (nodes, tasks, content) on a state directory written by a real writer: the
// text and --json output, filters, --limit; status of a Parquet file given directly.
import test from 'ava';
import { join } from 'node:path';
import { CliFixtures, GiB, ids, parsed, run } from './support.js';

const f = new CliFixtures();
const { fx, syn } = f;
test.before(() => f.build({ fx: true, syn: true }));
test.after.always(() => f.remove());

test('status: text and --json', async (t) => {
  const [text, json] = await Promise.all([run(['status', fx]), run(['status', fx, '--json'])]);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^cluster +fixture/m);
  t.regex(text.stdout, /^nodes +5 total, 4 online +master 1 +worker 3 +leecher 1$/m);
  t.regex(text.stdout, /pending 1 +assigned 0 +running 1 +completed 1 +failed 1 +cancelled 0/);
  t.regex(text.stdout, new RegExp(`^revision +${f.fxRevision}\\b`, 'm'));
  t.is(json.code, 0);
  const s = parsed(json);
  t.is(s.cluster_id, 'fixture');
  t.is(s.revision, f.fxRevision);
  t.deepEqual(s.nodes, { total: 5, active: 4, by_role: { master: 1, worker: 3, leecher: 1 } });
  t.deepEqual(s.tasks, { total: 4, by_status: { pending: 1, assigned: 0, running: 1, completed: 1, failed: 1, cancelled: 0 } });
  t.is(s.content.total, 3);
  t.is(s.content.total_size_gb, (1048576 + 2048 + 10) / GiB);
  t.is(s.resources.cpu_cores, 18);
});

test('status reads a Parquet file given directly', async (t) => {
  const r = await run(['status', join(fx, 'state_fixture.parquet'), '--json']);
  t.is(r.code, 0, r.stderr);
  t.is(parsed(r).nodes.total, 5);
});

test('nodes: filters, --json shape, text table', async (t) => {
  const [all, workers, offline, onlineWorkers, gpu, text] = await Promise.all([
    run(['nodes', fx, '--json']),
    run(['nodes', fx, '--role', 'worker', '--json']),
    run(['nodes', fx, '--status', 'offline', '--json']),
    run(['nodes', fx, '--role', 'worker', '--status', 'online', '--json']),
    run(['nodes', fx, '--capability', 'gpu', '--json']),
    run(['nodes', fx, '--role', 'worker']),
  ]);
  const body = parsed(all);
  t.is(body.cluster_id, 'fixture');
  t.is(body.revision, f.fxRevision);
  t.is(body.total, 5);
  t.deepEqual(ids(all), ['m1', 'w1', 'w2', 'w3', 'l1']);
  const w1 = body.items[1];
  t.is(w1.role, 'worker');
  t.is(w1.resources.cpu_count, 8);
  t.is(w1.resources.memory_available, 8 * GiB);
  t.deepEqual(w1.metadata, { zone: 'a' });
  t.deepEqual(ids(workers), ['w1', 'w2', 'w3']);
  t.deepEqual(ids(offline), ['w3']);
  t.deepEqual(ids(onlineWorkers), ['w1', 'w2']);
  t.deepEqual(ids(gpu), ['w1']);
  t.is(text.code, 0);
  const lines = text.stdout.trimEnd().split('\n');
  t.regex(lines[0]!, /^ID +ROLE +STATUS +CPU/);
  t.is(lines.length, 5); // header, three nodes, footer
  t.regex(lines[3]!, /^w3 +worker +offline +2 /);
  t.is(lines[4], `3 nodes (revision ${f.fxRevision})`);
});

test('lists: --limit (50 by default in text, all in --json, 0 = all)', async (t) => {
  const [text, json, limited, zero, textTwo] = await Promise.all([
    run(['nodes', syn]),
    run(['nodes', syn, '--json']),
    run(['nodes', syn, '--json', '--limit', '7']),
    run(['nodes', syn, '--limit', '0']),
    run(['tasks', syn, '--limit', '2']),
  ]);
  const lines = text.stdout.trimEnd().split('\n');
  t.is(lines.length, 1 + 50 + 1);
  t.regex(lines.at(-1)!, /^50 of 80 nodes \(revision \d+\); --limit 0 prints all, --cursor \S+ the next page$/);
  t.is(parsed(json).items.length, 80);
  const l = parsed(limited);
  t.is(l.items.length, 7);
  t.is(l.total, 80);
  t.is(zero.stdout.trimEnd().split('\n').length, 1 + 80 + 1);
  t.regex(textTwo.stdout, /^2 of 120 tasks/m);
});

test('tasks and content: filters', async (t) => {
  const [running, process, onW1, failedOnW1, none, prov, pinned, contentAll] = await Promise.all([
    run(['tasks', fx, '--status', 'running', '--json']),
    run(['tasks', fx, '--type', 'process', '--json']),
    run(['tasks', fx, '--node', 'w1', '--json']),
    run(['tasks', fx, '--node', 'w1', '--status', 'failed', '--json']),
    run(['tasks', fx, '--type', 'no-such-type']),
    run(['content', fx, '--provider', 'w2', '--json']),
    run(['content', fx, '--pinned', '--json']),
    run(['content', fx]),
  ]);
  t.deepEqual(ids(running), ['t-running']);
  t.deepEqual(ids(process), ['t-pending', 't-done']);
  t.deepEqual(ids(onW1), ['t-running', 't-failed']);
  t.deepEqual(ids(failedOnW1), ['t-failed']);
  t.is(parsed(failedOnW1).items[0].error, 'boom');
  t.is(none.code, 0);
  t.regex(none.stdout, /^no tasks match/);
  t.deepEqual(ids(prov, 'cid'), ['c1']);
  t.deepEqual(ids(pinned, 'cid'), ['c1']);
  t.regex(contentAll.stdout, /^c1 +1\.00 MiB +yes +2\/3 /m);
});
