// metrics (Prometheus text and --json of a state directory) and serve (/metrics and /api/summary
// over HTTP, re-read per request).
import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterState } from '../../src/index.js';
import { CliFixtures, Live, parsed, parsePrometheus, populate, run } from './support.js';

const f = new CliFixtures();
const { root, fx } = f;
test.before(() => f.build({ fx: true }));
test.after.always(() => f.remove());

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
  t.is(value('cluster_state_revision'), f.fxRevision);
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
