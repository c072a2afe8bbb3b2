// The read commands with --nats <url> --cluster <id> instead of <dir>: a real nats-server per test,
// a master in this process replicating to it (and, for the comparisons, writing a state directory
// too), and the command as a child process. One-shot commands print exactly what they print for the
// master's directory; watch prints the change sets of new revisions; serve answers from a remote
// follower; --leecher reads the leecher projection; usage errors exit 2; a server that is not
// there is UNAVAILABLE naming the URL, a cluster that is not on the server NOT_FOUND.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState, type ChangeSet } from '../../src/index.js';
import { NatsServer } from '../support/nats-server.js';
import { COMMANDS, mainHelp, PROGRAM } from '../../src/cli/cli.js';
import { commandHelp } from '../../src/cli/command.js';
import { Live, noStack, oneLine, parsed, parsePrometheus, populate, run } from './support.js';

const CLUSTER = 'cli-c1';

/** A nats-server and a master replicating CLUSTER to it (with a state directory when `dir`), filled by populate(); both stopped in teardown. */
async function replicatedCluster(t: { teardown: (fn: () => Promise<void> | void) => void }, dir?: string): Promise<{ server: NatsServer; master: ClusterState; nats: string[] }> {
  const server = await NatsServer.start();
  let master: ClusterState | null = null;
  t.teardown(async () => {
    await master?.close();
    await server.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  master = await ClusterState.open({ clusterId: CLUSTER, nodeId: 'm1', nats: { servers: server.url }, ...(dir ? { statePath: dir } : {}) });
  populate(master);
  if (dir) await master.flush();
  await master.replicated();
  return { server, master, nats: ['--nats', server.url, '--cluster', CLUSTER] };
}

/** A local port nothing listens on (it was free a moment ago and is closed again). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const ids = (rows: { id?: string; cid?: string }[]) => rows.map((r) => r.id ?? r.cid).sort();

test('one-shot commands through NATS print what they print for the master\'s directory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cluster-state-cli-nats-'));
  const { master, nats } = await replicatedCluster(t, dir);
  const cases: string[][] = [
    ['status', '--json'],
    ['nodes', '--json', '--role', 'worker', '--sort', '-resources.cpu_count'],
    ['tasks', '--json', '--where', 'status=running,failed'],
    ['content', '--json', '--pinned'],
    ['query', '{"from":"tasks","groupBy":"status"}'],
    ['query', '{"from":"nodes","where":{"resources.cpu_count":{"gte":4}},"select":["id","status"]}'],
    ['export', '-'],
  ];
  for (const [cmd, ...rest] of cases) {
    const [viaDir, viaNats] = await Promise.all([run([cmd!, dir, ...rest]), run([cmd!, ...nats, ...rest])]);
    t.is(viaNats.code, 0, `${cmd} ${rest.join(' ')}: ${viaNats.stderr}`);
    t.deepEqual(parsed(viaNats), parsed(viaDir), `${cmd} ${rest.join(' ')}`);
  }
  for (const [kind, id] of [['node', 'w1'], ['task', 't-done']] as const) {
    const [viaDir, viaNats] = await Promise.all([run(['get', kind, dir, id, '--json']), run(['get', kind, ...nats, id, '--json'])]);
    t.deepEqual(parsed(viaNats), parsed(viaDir), `get ${kind} ${id}`);
  }
  // And against the master itself.
  const tables = master.getTables();
  const status = parsed(await run(['status', ...nats, '--json']));
  t.is(status.revision, master.revision);
  t.is(status.cluster_id, CLUSTER);
  const nodes = parsed(await run(['nodes', ...nats, '--json']));
  t.is(nodes.total, tables.nodes.numRows);
  t.deepEqual(ids(nodes.items), ids(tables.nodes.toArray().map((r) => r.toJSON() as { id: string })));
  const text = await run(['status', ...nats]);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, new RegExp(`^revision   ${master.revision} `, 'm'));
  t.regex(text.stdout, new RegExp(`^source     cluster cli-c1 at ${nats[1]!.replace(/[.]/g, '\\.')}$`, 'm'));
  const written = join(dir, '..', `${CLUSTER}-export-${process.pid}.json`);
  t.teardown(() => rmSync(written, { force: true }));
  const exp = await run(['export', ...nats, written, '--json']);
  t.like(parsed(exp), { path: written, cluster_id: CLUSTER, revision: master.revision, nodes: 5, tasks: 4, content: 3 });
});

test('metrics and get through NATS: the revision gauge, counts and a missing record', async (t) => {
  const { master, nats } = await replicatedCluster(t);
  const m = await run(['metrics', ...nats]);
  t.is(m.code, 0, m.stderr);
  const p = parsePrometheus(m.stdout);
  const value = (name: string, labels: Record<string, string> = {}) =>
    p.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  t.is(value('cluster_state_revision'), master.revision);
  t.is(value('cluster_state_nodes', { role: 'worker', status: 'offline' }), 1);
  t.is(value('cluster_state_tasks', { status: 'failed', type: 'analyze' }), 1);
  t.is(value('cluster_state_content_items'), 3);
  t.false(p.samples.some((s) => s.name === 'cluster_state_file_bytes'), 'no state files through NATS');
  const missingNode = await run(['get', 'node', ...nats, 'nope']);
  t.is(missingNode.code, 1);
  t.regex(missingNode.stderr, new RegExp(`^cluster-state get: NOT_FOUND: no node with id "nope" in cluster cli-c1 at ${nats[1]!.replace(/[.]/g, '\\.')} \\(revision ${master.revision}\\)$`, 'm'));
});

test('--leecher reads the leecher projection: nodes and content, no tasks', async (t) => {
  const { master, nats } = await replicatedCluster(t);
  const [nodes, tasks, content] = await Promise.all([
    run(['nodes', ...nats, '--leecher', '--json']),
    run(['tasks', ...nats, '--leecher', '--count', '--json']),
    run(['content', ...nats, '--leecher', '--json']),
  ]);
  const tables = master.getTables();
  t.deepEqual(ids(parsed(nodes).items), ids(tables.nodes.toArray().map((r) => r.toJSON() as { id: string })));
  t.true((parsed(nodes).items as { last_seen: unknown }[]).every((n) => n.last_seen === null), 'no heartbeat times in the projection');
  t.is(parsed(tasks).total, 0);
  t.deepEqual(ids(parsed(content).items), ['c1', 'c2', 'c3']);
  t.is(parsed(content).revision, master.revision);
});

test('watch --nats --json prints the change set of every new revision, in order', async (t) => {
  const { master, nats } = await replicatedCluster(t);
  const base = master.revision;
  const w = new Live(['watch', ...nats, '--json']);
  t.teardown(() => void w.kill('SIGKILL'));
  await w.stderrIncludes(`after revision ${base}`);
  master.addTask({ id: 'fresh-task', type: 'process' });
  await master.replicated();
  master.transaction(() => {
    master.updateNodeStatus('w2', 'offline');
    master.removeContent('c3');
    master.assignTask('fresh-task', 'w1');
  });
  const last = await master.replicated();
  await w.json<ChangeSet>((v) => v.revision === last, 15_000, `revision ${last}`);
  const seen = w.lines.map((l) => JSON.parse(l) as ChangeSet);
  t.deepEqual(seen.map((c) => c.revision), [base + 1, base + 2]);
  t.deepEqual(seen[0]!.changes.map((c) => [c.table, c.op, c.id]), [['tasks', 'upsert', 'fresh-task']]);
  t.deepEqual(seen[1]!.changes.map((c) => [c.table, c.op, c.id]).sort(), [
    ['content', 'delete', 'c3'], ['nodes', 'upsert', 'w2'], ['tasks', 'upsert', 'fresh-task'],
  ]);
  const w2 = seen[1]!.changes.find((c) => c.id === 'w2')!;
  t.is(w2.op === 'upsert' ? (w2.record as { status?: string }).status : null, 'offline');
  const exit = await w.kill('SIGTERM');
  t.is(exit.code, 0, w.stderr);
});

test('watch --nats --after <rev> --count 1: the change set right after the revision it names, then exits 0 by itself', async (t) => {
  const { master, nats } = await replicatedCluster(t);
  const base = master.revision;
  master.addTask({ id: 'after-task', type: 'process' });
  await master.replicated();
  const w = new Live(['watch', ...nats, '--after', String(base), '--count', '1', '--json']);
  t.teardown(() => void w.kill('SIGKILL'));
  const exit = await w.exited;
  t.is(exit.code, 0, w.stderr);
  const cs = JSON.parse(w.lines[0]!) as ChangeSet;
  t.is(cs.revision, base + 1);
  t.deepEqual(cs.changes.map((c) => c.id), ['after-task']);
});

test('watch --nats --summary prints the current revision, then each new one with its changes', async (t) => {
  const { master, nats } = await replicatedCluster(t);
  const w = new Live(['watch', ...nats, '--summary', '--json', '--count', '2']);
  t.teardown(() => void w.kill('SIGKILL'));
  await w.json<{ revision: number }>((v) => v.revision === master.revision, 15_000, `revision ${master.revision}`);
  master.addTask({ id: 'summary-task', type: 'process' });
  await master.replicated();
  const exit = await w.exited;
  t.is(exit.code, 0, w.stderr);
  const second = JSON.parse(w.lines[1]!) as { counts: { tasks: { total: number } }; changes: { tasks: { added: string[] } } };
  t.is(second.counts.tasks.total, 5);
  t.deepEqual(second.changes.tasks.added, ['summary-task']);
});

test('serve --nats answers /api/summary and /metrics from a remote follower, which follows the master', async (t) => {
  const { master, nats } = await replicatedCluster(t);
  const srv = new Live(['serve', ...nats, '--port', '0', '--json']);
  t.teardown(() => void srv.kill('SIGKILL'));
  const info = await srv.json<{ url: string; metrics: string; summary: string; nats: string; cluster: string }>((v) => typeof v.url === 'string');
  t.is(info.nats, nats[1]);
  t.is(info.cluster, CLUSTER);
  const summary = async () => (await (await fetch(info.summary)).json()) as { revision: number; tasks: { total: number } };
  t.like(await summary(), { revision: master.revision, tasks: { total: 4 } });
  const m = await fetch(info.metrics);
  t.is(m.status, 200);
  t.regex(await m.text(), new RegExp(`^cluster_state_revision\\{cluster_id="cli-c1"\\} ${master.revision}$`, 'm'));
  master.addTask({ id: 'served-task', type: 'process' });
  const rev = await master.replicated();
  // The follower applies the new revision when its message arrives: ask until it answers with it.
  const deadline = Date.now() + 15_000;
  let s = await summary();
  while (s.revision < rev && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    s = await summary();
  }
  t.like(s, { revision: rev, tasks: { total: 5 } });
  const exit = await srv.kill('SIGTERM');
  t.is(exit.code, 0, srv.stderr);
});

test('--help of every read command documents --nats, --cluster and --leecher', (t) => {
  const reads = ['status', 'nodes', 'tasks', 'content', 'query', 'get', 'export', 'watch', 'metrics', 'serve'];
  for (const name of reads) {
    const help = commandHelp(COMMANDS.find((c) => c.name === name)!, PROGRAM);
    for (const opt of [/--nats <url> +instead of <dir>/, /--cluster <id> +with --nats/, /--leecher +with --nats/]) t.regex(help, opt, name);
    t.regex(help, /--nats nats:\/\/127\.0\.0\.1:4222 --cluster c1/, `${name}: an example`);
  }
  t.regex(mainHelp(), /Instead of <dir>, each of them takes --nats <url> --cluster <id>/);
});

const URL_HINT = 'nats://127.0.0.1:4222';
const USAGE: [string, string[], RegExp][] = [
  ['--nats without --cluster', ['status', '--nats', URL_HINT], /^cluster-state status: --nats needs --cluster <id>/],
  ['--cluster without --nats', ['nodes', '--cluster', 'c1'], /^cluster-state nodes: --cluster needs --nats <url>/],
  ['--cluster with a directory', ['nodes', '/tmp', '--cluster', 'c1'], /--cluster needs --nats <url>/],
  ['--leecher without --nats', ['content', '/tmp', '--leecher'], /--leecher needs --nats <url> --cluster <id>/],
  ['a directory and --nats', ['status', '/tmp', '--nats', URL_HINT, '--cluster', 'c1'], /^cluster-state status: give either <dir> or --nats <url> --cluster <id>, not both/],
  ['a directory and --nats (get)', ['get', 'node', '/tmp', 'w1', '--nats', URL_HINT, '--cluster', 'c1'], /give either <dir> or --nats/],
  ['a directory and --nats (query)', ['query', '/tmp', '{"from":"nodes"}', '--nats', URL_HINT, '--cluster', 'c1'], /give either <dir> or --nats/],
  ['an http URL', ['status', '--nats', 'http://127.0.0.1:4222', '--cluster', 'c1'], /--nats must be a NATS server URL such as nats:\/\/127\.0\.0\.1:4222, got "http:\/\/127\.0\.0\.1:4222" \(the scheme must be nats/],
  ['not a URL', ['tasks', '--nats', 'not a url', '--cluster', 'c1'], /--nats must be a NATS server URL .*"not a url" is not a URL/],
  ['an empty --cluster', ['status', '--nats', URL_HINT, '--cluster', ''], /--cluster must be a non-empty string/],
  ['neither <dir> nor --nats', ['status'], /^cluster-state status: missing <dir> \(or --nats <url> --cluster <id>\)/],
  ['watch --polling with --nats', ['watch', '--nats', URL_HINT, '--cluster', 'c1', '--polling'], /--polling polls a state directory; it does not go with --nats/],
  ['serve: --nats without --cluster', ['serve', '--nats', URL_HINT, '--port', '0'], /--nats needs --cluster/],
  ['metrics: a directory and --nats', ['metrics', '/tmp', '--nats', URL_HINT, '--cluster', 'c1'], /give either <dir> or --nats/],
];

test('usage errors with --nats exit 2 with one line naming the problem', async (t) => {
  const results = await Promise.all(USAGE.map(([, args]) => run(args)));
  USAGE.forEach(([name, , re], i) => {
    const r = results[i]!;
    t.is(r.code, 2, `${name}: ${r.stderr}`);
    t.regex(r.stderr, re, name);
    oneLine(t, r);
    t.is(r.stdout, '', name);
  });
});

test('a server that is not there: UNAVAILABLE naming the URL (one-shot, watch and serve), exit 1', async (t) => {
  const url = `nats://127.0.0.1:${await closedPort()}`;
  const cmds = [['status'], ['nodes', '--json'], ['query', '{"from":"tasks"}'], ['watch'], ['serve', '--port', '0']];
  const results = await Promise.all(cmds.map((c) => run([c[0]!, '--nats', url, '--cluster', CLUSTER, ...c.slice(1)])));
  cmds.forEach((c, i) => {
    const r = results[i]!;
    t.is(r.code, 1, `${c[0]}: ${r.stderr}`);
    t.regex(r.stderr, new RegExp(`^cluster-state ${c[0]}: UNAVAILABLE: .*${url.replace(/[.]/g, '\\.')}`), c[0]!);
    oneLine(t, r);
    t.true(noStack(r));
  });
});

test('a cluster the server does not hold: NOT_FOUND naming it, exit 1', async (t) => {
  const { server } = await replicatedCluster(t);
  const r = await run(['status', '--nats', server.url, '--cluster', 'no-such-cluster']);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /^cluster-state status: NOT_FOUND: cluster "no-such-cluster" has no stream /);
  oneLine(t, r);
});
