// The `cluster-state` command, run as real child processes against state directories written
// by a real writer: output, --json shapes, exit codes, bad input, read-only guarantees (no
// writes, no lock, works beside a running writer), watch, serve, and the demo end to end.
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync, fstatSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState, followState, readStateSnapshot, StateError } from '../../src/index.js';
import { loadSynthetic } from '../../src/demo/synthetic.js';
import { fingerprint, Live, parsePrometheus, run, type Result } from './support.js';

const root = mkdtempSync(join(tmpdir(), 'cluster-state-cli-'));
const fx = join(root, 'fx');
const syn = join(root, 'syn');
const empty = join(root, 'empty');
const corrupt = join(root, 'corrupt');
const badParquet = join(root, 'bad.parquet');
let fxRevision = -1;

const GiB = 2 ** 30;

/** A small hand-made cluster with known ids and statuses. */
function populate(s: ClusterState): void {
  s.registerNode({ id: 'm1', role: 'master', resources: { cpu: 4, memory: '8GiB' }, address: '10.0.0.1' });
  s.registerNode({
    id: 'w1', role: 'worker', capabilities: ['gpu', 'pinning'], metadata: { zone: 'a' },
    resources: { cpu_count: 8, cpu_load: 25, gpu_count: 1, gpu_available: true, memory_total: '16GiB', memory_available: '8GiB' },
  });
  s.registerNode({ id: 'w2', role: 'worker', resources: { cpu: 4, memory: '8GiB' } });
  s.registerNode({ id: 'w3', role: 'worker', resources: { cpu: 2, memory: '4GiB' } });
  s.registerNode({ id: 'l1', role: 'leecher' });
  s.updateNodeStatus('w3', 'offline');
  s.addTask({ id: 't-pending', type: 'process', payload: { n: 1 } });
  s.addTask({ id: 't-running', type: 'model_training', resources: { cpu_cores: 2, memory_mb: 1024 } });
  s.assignTask('t-running', 'w1');
  s.updateTask('t-running', { status: 'running' });
  s.addTask({ id: 't-done', type: 'process' });
  s.assignTask('t-done', 'w2');
  s.updateTask('t-done', { status: 'completed', result: { ok: true } });
  s.addTask({ id: 't-failed', type: 'analyze' });
  s.assignTask('t-failed', 'w1');
  s.updateTask('t-failed', { status: 'running' });
  s.updateTask('t-failed', { status: 'failed', error: 'boom' });
  s.addContent({ cid: 'c1', size: 1048576, providers: ['w1', 'w2'], pinned: true, replication: 3 });
  s.addContent({ cid: 'c2', size: 2048, providers: ['w1'], replication: 1 });
  s.addContent({ cid: 'c3', size: 10, providers: [], replication: 2 });
}

async function writeState(dir: string, clusterId: string, fill: (s: ClusterState) => void | Promise<void>): Promise<number> {
  const s = await ClusterState.open({ statePath: dir, clusterId });
  await fill(s);
  await s.flush();
  const rev = s.revision;
  await s.close();
  return rev;
}

test.before(async () => {
  fxRevision = await writeState(fx, 'fixture', populate);
  await writeState(syn, 'syn', (s) => loadSynthetic(s, { nodes: 80, tasks: 120, content: 60 }));
  mkdirSync(empty);
  // A state whose arena file is damaged after its meta slots: every revision fails its checksum.
  await writeState(corrupt, 'broken', populate);
  const fd = openSync(join(corrupt, readdirSync(corrupt).find((n) => /^state_broken\.\d+\.arena$/.test(n))!), 'r+');
  const size = fstatSync(fd).size;
  writeSync(fd, Buffer.alloc(size - 8192, 0xff), 0, size - 8192, 8192);
  closeSync(fd);
  writeFileSync(badParquet, 'PAR1 this is not a parquet file PAR1');
});

test.after.always(() => {
  rmSync(root, { recursive: true, force: true });
});

const oneLine = (t: { is: (a: unknown, b: unknown, m?: string) => void }, r: Result) => {
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  t.is(lines.length, 1, `stderr must be one line, got: ${r.stderr}`);
};
const noStack = (r: Result) => !/^\s+at /m.test(r.stderr);

/** The JSON a successful command printed (fails the test with its stderr when it did not succeed). */
function parsed(r: Result): any {
  if (r.code !== 0) throw new Error(`exit ${r.signal ?? r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// ───────────────────────────── help and usage ─────────────────────────────

test('--help for the command and every subcommand; exit 0', async (t) => {
  const main = await run(['--help']);
  t.is(main.code, 0);
  for (const c of ['demo', 'status', 'nodes', 'tasks', 'content', 'get', 'export', 'watch', 'metrics', 'serve']) t.regex(main.stdout, new RegExp(`^  ${c}\\b`, 'm'));
  t.notRegex(main.stdout, /_follow/); // hidden
  const subs = ['demo', 'status', 'nodes', 'tasks', 'content', 'get', 'export', 'watch', 'metrics', 'serve'];
  const results = await Promise.all(subs.map((c) => run([c, '--help'])));
  results.forEach((r, i) => {
    t.is(r.code, 0, subs[i]);
    t.regex(r.stdout, new RegExp(`^Usage: cluster-state ${subs[i]}`), subs[i]);
    t.regex(r.stdout, /Exit codes: 0 ok, 1 failure/);
    t.is(r.stderr, '');
  });
  const viaHelp = await run(['help', 'nodes']);
  t.is(viaHelp.code, 0);
  t.is(viaHelp.stdout, results[2]!.stdout);
  // Help wins over anything else on the line, even bad flags.
  t.is((await run(['status', '--frob', '-h'])).code, 0);
});

test('no arguments: usage on stderr, exit 2; --version', async (t) => {
  const r = await run([]);
  t.is(r.code, 2);
  t.regex(r.stderr, /^cluster-state: look into/);
  t.is(r.stdout, '');
  const v = await run(['--version']);
  t.is(v.code, 0);
  t.regex(v.stdout, /^\d+\.\d+\.\d+/);
});

// ───────────────────────────── status ─────────────────────────────

test('status: text and --json', async (t) => {
  const [text, json] = await Promise.all([run(['status', fx]), run(['status', fx, '--json'])]);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^cluster +fixture/m);
  t.regex(text.stdout, /^nodes +5 total, 4 online +master 1 +worker 3 +leecher 1$/m);
  t.regex(text.stdout, /pending 1 +assigned 0 +running 1 +completed 1 +failed 1 +cancelled 0/);
  t.regex(text.stdout, new RegExp(`^revision +${fxRevision}\\b`, 'm'));
  t.is(json.code, 0);
  const s = parsed(json);
  t.is(s.cluster_id, 'fixture');
  t.is(s.revision, fxRevision);
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

// ───────────────────────────── lists ─────────────────────────────

const ids = (r: Result, key = 'id') => (parsed(r).items as Record<string, unknown>[]).map((x) => x[key]);

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
  t.is(body.revision, fxRevision);
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
  t.is(lines[4], `3 nodes (revision ${fxRevision})`);
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
  t.regex(lines.at(-1)!, /^50 of 80 nodes \(revision \d+\); --limit 0 prints all$/);
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

// ───────────────────────────── get ─────────────────────────────

test('get node|task|content: text, --json, NOT_FOUND', async (t) => {
  const [node, task, content, missing, badKind] = await Promise.all([
    run(['get', 'node', fx, 'w1', '--json']),
    run(['get', 'task', fx, 't-done']),
    run(['get', 'content', fx, 'c1', '--json']),
    run(['get', 'task', fx, 'no-such-task']),
    run(['get', 'gizmo', fx, 'x']),
  ]);
  t.is(node.code, 0);
  const n = parsed(node);
  t.is(n.id, 'w1');
  t.deepEqual(n.capabilities, ['gpu', 'pinning']);
  t.is(task.code, 0);
  t.regex(task.stdout, /^task t-done/);
  t.regex(task.stdout, /^ {2}status +completed$/m);
  t.regex(task.stdout, /^ {2}assigned_to +w2$/m);
  t.regex(task.stdout, /^ {2}result +\{"ok":true\}$/m);
  t.regex(task.stdout, /^ {2}completed_at +\d{4}-\d\d-\d\dT/m);
  const c = parsed(content);
  t.deepEqual(c.providers, ['w1', 'w2']);
  t.is(c.replication, 3);
  t.is(missing.code, 1);
  t.is(missing.stdout, '');
  oneLine(t, missing);
  t.regex(missing.stderr, /^cluster-state get: NOT_FOUND: no task with id "no-such-task"/);
  t.is(badKind.code, 2);
  oneLine(t, badKind);
});

// ───────────────────────────── export ─────────────────────────────

test('export: to a file, to stdout, --json report; never into the state directory', async (t) => {
  const out = join(root, 'export-out.json');
  const [file, stdout, report, inside] = await Promise.all([
    run(['export', fx, out]),
    run(['export', fx, '-']),
    run(['export', fx, join(root, 'export-2.json'), '--json']),
    run(['export', fx, join(fx, 'x.json')]),
  ]);
  t.is(file.code, 0, file.stderr);
  t.regex(file.stdout, /^wrote .*export-out\.json: revision \d+ of cluster fixture, 5 nodes, 4 tasks, 3 content items/);
  const doc = JSON.parse(readFileSync(out, 'utf8'));
  t.is(doc.cluster_id, 'fixture');
  t.deepEqual(doc.nodes.map((x: { id: string }) => x.id), ['m1', 'w1', 'w2', 'w3', 'l1']);
  t.regex(doc.tasks[2].completed_at, /^\d{4}-\d\d-\d\dT.*Z$/);
  t.deepEqual(parsed(stdout), doc);
  const r = parsed(report);
  t.like(r, { cluster_id: 'fixture', revision: fxRevision, nodes: 5, tasks: 4, content: 3 });
  t.true(r.bytes > 0);
  t.is(inside.code, 2);
  oneLine(t, inside);
  t.false(existsSync(join(fx, 'x.json')));
});

// ───────────────────────────── metrics ─────────────────────────────

test('metrics: valid Prometheus text with the expected gauges; --json', async (t) => {
  const [r, j] = await Promise.all([run(['metrics', fx]), run(['metrics', fx, '--json'])]);
  t.is(r.code, 0, r.stderr);
  const p = parsePrometheus(r.stdout);
  const names = [...new Set(p.samples.map((s) => s.name))];
  for (const n of names) {
    t.true(p.help.has(n), `HELP for ${n}`);
    t.is(p.type.get(n), 'gauge', `TYPE for ${n}`);
  }
  const value = (name: string, labels: Record<string, string> = {}) => {
    const found = p.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    t.is(found.length, 1, `${name} ${JSON.stringify(labels)}`);
    return found[0]?.value;
  };
  t.true(p.samples.every((s) => s.labels.cluster_id === 'fixture'));
  t.is(value('cluster_state_revision'), fxRevision);
  t.is(value('cluster_state_nodes', { role: 'worker', status: 'online' }), 2);
  t.is(value('cluster_state_nodes', { role: 'worker', status: 'offline' }), 1);
  t.is(value('cluster_state_nodes', { role: 'leecher', status: 'degraded' }), 0);
  t.is(value('cluster_state_tasks', { status: 'running', type: 'model_training' }), 1);
  t.is(value('cluster_state_tasks', { status: 'completed', type: 'process' }), 1);
  t.is(value('cluster_state_tasks', { status: 'pending', type: 'process' }), 1);
  t.is(value('cluster_state_content_items'), 3);
  t.is(value('cluster_state_content_bytes'), 1048576 + 2048 + 10);
  t.is(value('cluster_state_content_pinned'), 1);
  // c1 wants 3 and has 2 online providers, c3 wants 2 and has none.
  t.is(value('cluster_state_replication_shortfall'), 3);
  t.is(value('cluster_state_content_under_replicated'), 2);
  t.true(value('cluster_state_file_age_seconds', { file: 'state_fixture.parquet' })! >= 0);
  t.true(value('cluster_state_file_bytes', { file: readdirSync(fx).find((n) => /^state_fixture\.\d+\.arena$/.test(n))! })! > 0);
  t.true(value('cluster_state_age_seconds')! >= 0);
  t.is(j.code, 0);
  const js = parsed(j) as { name: string }[];
  t.true(js.some((m) => m.name === 'cluster_state_nodes'));
});

// ───────────────────────────── bad input ─────────────────────────────

const BAD: [string, string[], number, RegExp][] = [
  ['missing directory', ['status', join(root, 'nope')], 1, /^cluster-state status: NOT_FOUND: .*nope".* does not exist$/],
  ['directory without a state', ['nodes', empty], 1, /^cluster-state nodes: NOT_FOUND: no cluster state in /],
  ['corrupt arena file', ['status', corrupt], 1, /^cluster-state status: CORRUPT: .*state_broken\.\d+\.arena.*checksum/],
  ['corrupt arena file (metrics)', ['metrics', corrupt], 1, /CORRUPT/],
  ['corrupt arena file (watch)', ['watch', corrupt], 1, /CORRUPT/],
  ['corrupt arena file (serve)', ['serve', corrupt, '--port', '0'], 1, /CORRUPT/],
  ['not a Parquet file', ['status', badParquet], 1, /^cluster-state status: CORRUPT: .*not a readable Parquet file/],
  ['unknown subcommand', ['frobnicate', fx], 2, /^cluster-state: unknown command "frobnicate" \(see 'cluster-state --help'\)$/],
  ['unknown flag', ['status', fx, '--frob'], 2, /^cluster-state status: unknown option --frob \(see 'cluster-state status --help'\)$/],
  ['unknown short flag', ['nodes', fx, '-x'], 2, /unknown option -x/],
  ['flag before the subcommand', ['--frob'], 2, /unknown option --frob/],
  ['missing <dir>', ['status'], 2, /^cluster-state status: missing <dir>/],
  ['extra argument', ['status', fx, 'extra'], 2, /unexpected argument "extra"/],
  ['flag without its value', ['nodes', fx, '--limit'], 2, /--limit needs a value/],
  ['boolean flag with a value', ['status', fx, '--json=yes'], 2, /--json does not take a value/],
  ['bad --limit', ['tasks', fx, '--limit', 'ten'], 2, /--limit must be a whole number >= 0, got "ten"/],
  ['negative --limit', ['tasks', fx, '--limit=-1'], 2, /--limit must be a whole number/],
  ['bad --role', ['nodes', fx, '--role', 'boss'], 2, /--role must be one of master, worker, leecher, got "boss"/],
  ['bad task --status', ['tasks', fx, '--status', 'done'], 2, /--status must be one of pending, assigned/],
  ['bad get kind', ['get', 'gadget', fx, 'x'], 2, /<kind> must be node, task or content/],
  ['bad id', ['get', 'node', fx, 'no-such-node'], 1, /^cluster-state get: NOT_FOUND: no node with id "no-such-node"/],
  ['empty id', ['get', 'node', fx, ''], 2, /<id> must not be empty/],
  ['bad port', ['serve', fx, '--port', '70000'], 2, /--port must be a whole number from 0 to 65535/],
  ['watch a file', ['watch', badParquet], 2, /watch follows a state directory/],
  ['export into the state directory', ['export', fx, join(fx, 'out.json')], 2, /inside the state directory/],
  ['export to a missing directory', ['export', fx, join(root, 'no', 'dir', 'out.json')], 1, /^cluster-state export: IO: /],
  ['demo: bad --nodes', ['demo', '--nodes', '0', '--dir', join(root, 'never')], 2, /--nodes must be a whole number from 1/],
  ['demo: bad --duration', ['demo', '--duration', 'soon', '--dir', join(root, 'never')], 2, /--duration must be a number/],
  ['demo: --keep with --fresh', ['demo', '--keep', '--fresh', '--dir', join(root, 'never')], 2, /contradict/],
  ['help for an unknown command', ['help', 'frob'], 2, /unknown command "frob"/],
];

for (const [name, args, code, message] of BAD) {
  test(`bad input: ${name} → exit ${code}, one line on stderr, no stack`, async (t) => {
    const r = await run(args);
    t.is(r.code, code, r.stderr);
    oneLine(t, r);
    t.regex(r.stderr.trim(), message);
    t.true(noStack(r));
    t.is(r.stdout, '');
  });
}

test('bad input: --debug adds the stack trace', async (t) => {
  const r = await run(['status', corrupt, '--debug']);
  t.is(r.code, 1);
  t.regex(r.stderr, /^cluster-state status: CORRUPT: /);
  t.regex(r.stderr, /^\s+at /m);
  t.false(existsSync(join(root, 'never')), 'demo usage errors created nothing');
});

// ───────────────────────────── read-only guarantees ─────────────────────────────

test('read-only commands leave the state directory byte-for-byte unchanged and take no lock', async (t) => {
  const before = fingerprint(fx);
  const out = join(root, 'ro-export.json');
  const results = await Promise.all([
    run(['status', fx]), run(['status', fx, '--json']), run(['nodes', fx]), run(['tasks', fx, '--json']), run(['content', fx]),
    run(['get', 'node', fx, 'm1']), run(['get', 'task', fx, 'nope']), run(['export', fx, out]), run(['export', fx, '-']),
    run(['metrics', fx]), run(['watch', fx, '--count', '1']), run(['watch', fx, '--count', '1', '--json']),
  ]);
  t.deepEqual(results.map((r) => r.code), [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
  const serve = new Live(['serve', fx, '--port', '0', '--json']);
  const { metrics } = await serve.json<{ metrics: string }>((v) => typeof v.metrics === 'string');
  t.is((await fetch(metrics)).status, 200);
  await serve.kill();
  // Nothing was written, created or left behind (a lock would be a writer.lock directory).
  t.deepEqual(fingerprint(fx), before);
  t.false(existsSync(join(fx, 'writer.lock')));
});

test('read-only commands work while a writer holds the lock, and leave it held', async (t) => {
  const dir = join(root, 'locked');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'live' });
  try {
    populate(s);
    const rev = await s.flush();
    const [status, nodes, get, metrics, watch] = await Promise.all([
      run(['status', dir, '--json']), run(['nodes', dir, '--json']), run(['get', 'task', dir, 't-running', '--json']),
      run(['metrics', dir]), run(['watch', dir, '--count', '1', '--json']),
    ]);
    t.is(status.code, 0, status.stderr);
    t.is(parsed(status).revision, rev);
    t.is(parsed(nodes).total, 5);
    t.is(parsed(get).assigned_to, 'w1');
    t.regex(metrics.stdout, new RegExp(`^cluster_state_revision\\{cluster_id="live"\\} ${rev}$`, 'm'));
    t.is(parsed(watch).revision, rev);
    // The writer still owns the directory: a second writer is refused, and this one goes on.
    const err = await t.throwsAsync(ClusterState.open({ statePath: dir, clusterId: 'live' }));
    t.is((err as StateError).code, 'LOCKED');
    s.addTask({ id: 'after', type: 'process' });
    t.true((await s.flush()) > rev);
  } finally {
    await s.close();
  }
});

// ───────────────────────────── watch ─────────────────────────────

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

// ───────────────────────────── serve ─────────────────────────────

test('serve: /metrics in Prometheus text and /api/summary as JSON, re-read per request', async (t) => {
  const dir = join(root, 'served');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'served' });
  const srv = new Live(['serve', dir, '--port', '0', '--json']);
  try {
    populate(s);
    const rev = await s.flush();
    const info = await srv.json<{ url: string; metrics: string; summary: string }>((v) => typeof v.url === 'string');
    t.regex(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const m = await fetch(info.metrics);
    t.is(m.status, 200);
    t.regex(m.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await m.text();
    t.regex(text, /^# HELP cluster_state_nodes /m);
    t.regex(text, /^# TYPE cluster_state_nodes gauge$/m);
    const p = parsePrometheus(text);
    t.true(p.samples.length > 20);
    t.true(p.samples.some((x) => x.name === 'cluster_state_revision' && x.value >= rev));
    const sum = await fetch(info.summary);
    t.is(sum.status, 200);
    t.regex(sum.headers.get('content-type') ?? '', /^application\/json/);
    const body = await sum.json() as { cluster_id: string; nodes: { total: number }; revision: number };
    t.is(body.cluster_id, 'served');
    t.is(body.nodes.total, 5);
    // A new revision is visible on the next request.
    s.registerNode({ id: 'w9', role: 'worker' });
    const rev2 = await s.flush();
    const again = await (await fetch(info.summary)).json() as { nodes: { total: number }; revision: number };
    t.is(again.revision, rev2);
    t.is(again.nodes.total, 6);
    t.is((await fetch(`${info.url}/nope`)).status, 404);
    t.is((await fetch(info.metrics, { method: 'POST' })).status, 405);
  } finally {
    const exit = await srv.kill('SIGTERM');
    t.is(exit.code, 0, srv.stderr);
    await s.close();
  }
});

// ───────────────────────────── demo ─────────────────────────────

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
  const d = new Live(['demo', '--json', '--nodes', '30', '--tasks', '60', '--content', '30', '--dir', dir]);
  const loaded = await d.json<{ event: string; nodes: number }>((v) => v.event === 'loaded', 30_000, 'loaded');
  t.is(loaded.nodes, 30);
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
