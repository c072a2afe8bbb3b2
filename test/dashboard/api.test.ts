// The dashboard's JSON endpoints and event stream, asked directly over HTTP of a real
// `cluster-state serve` child process: answers equal the query API's on the same state, filters
// and cursors work (paging yields every row once), bad parameters are 400 naming the parameter and
// value, the server is read-only, and --host warns when it is not loopback.
import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterState, getContentAvailabilityMap, findOrphanedContent, queryState, readStateSnapshot } from '../../src/index.js';
import { CliFixtures, fingerprint, populate } from '../cli/support.js';
import { EventReader, serve } from './support.js';

const f = new CliFixtures();
const { root, fx, syn } = f;
test.before(() => f.build({ fx: true, syn: true }));
test.after.always(() => f.remove());

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.json() as any };
};

test('/api/summary: the totals, role × status counts, queue and replication health of the state', async (t) => {
  const { srv, url } = await serve([syn]);
  t.teardown(() => void srv.kill());
  const snap = readStateSnapshot(syn)!;
  const { status, type, body } = await get(`${url}/api/summary`);
  t.is(status, 200);
  t.regex(type, /^application\/json/);
  t.is(body.cluster_id, 'syn');
  t.is(body.revision, snap.revision);
  t.is(body.durable_revision, snap.revision);
  t.is(body.replicated_revision, null);
  t.is(body.nodes.total, snap.nodes.numRows);
  t.is(body.tasks.total, snap.tasks.numRows);
  t.is(body.content.total, snap.content.numRows);
  // Every role × status cell is the query engine's count.
  for (const g of queryState(snap, { from: 'nodes', groupBy: ['role', 'status'] }).groups!) {
    t.is(body.nodes.by_role_status[String(g.role)][String(g.status)], g.count, `${g.role} × ${g.status}`);
  }
  const pending = queryState(snap, { from: 'tasks', where: { status: 'pending' }, orderBy: ['created_at'], limit: 1 });
  t.is(body.queue.pending, pending.total);
  t.is(body.queue.oldest.id, pending.rows![0]!.id);
  // Replication health: the helpers' own figures.
  const avail = Object.values(getContentAvailabilityMap(snap));
  t.is(body.replication.under_replicated, avail.filter((a) => (a.shortfall ?? 0) > 0).length);
  t.is(body.replication.shortfall, avail.reduce((s, a) => s + (a.shortfall ?? 0), 0));
  t.is(body.replication.orphaned, findOrphanedContent(snap).length);
  t.true(body.replication.under_replicated > 0 && body.replication.orphaned > 0, 'the synthetic state has both');
  await srv.kill();
});

test('/api/nodes|tasks|content: each filter is the query it names; select, sort and limit', async (t) => {
  const { srv, url } = await serve([syn]);
  t.teardown(() => void srv.kill());
  const snap = readStateSnapshot(syn)!;
  const ids = (rows: Record<string, unknown>[], key = 'id') => rows.map((r) => r[key]);
  const cases: [string, Parameters<typeof queryState>[1], string?][] = [
    ['nodes?role=worker&status=online', { from: 'nodes', where: { role: 'worker', status: 'online' } }],
    ['nodes?status=offline,degraded', { from: 'nodes', where: { status: { in: ['offline', 'degraded'] } } }],
    ['nodes?capability=gpu', { from: 'nodes', where: { capabilities: { hasAny: ['gpu'] } } }],
    ['nodes?prefix=node-00001', { from: 'nodes', where: { id: { prefix: 'node-00001' } } }],
    ['nodes?where=resources.cpu_count>=16&sort=-resources.cpu_count,id', { from: 'nodes', where: { 'resources.cpu_count': { gte: 16 } }, orderBy: ['-resources.cpu_count', 'id'] }],
    ['tasks?status=pending&sort=created_at', { from: 'tasks', where: { status: 'pending' }, orderBy: 'created_at' }],
    ['tasks?type=process,analyze', { from: 'tasks', where: { type: { in: ['process', 'analyze'] } } }],
    ['tasks?where=priority>5&where=status!=completed', { from: 'tasks', where: { and: [{ priority: { gt: 5 } }, { status: { ne: 'completed' } }] } }],
    ['content?pinned=true', { from: 'content', where: { pinned: true } }, 'cid'],
    ['content?under_replicated=true', { from: 'content', where: { 'length(providers)': { lt: { field: 'replication' } } } }, 'cid'],
    ['content?under_replicated=false&sort=-size', { from: 'content', where: { not: { 'length(providers)': { lt: { field: 'replication' } } } }, orderBy: '-size' }, 'cid'],
  ];
  for (const [path, q, key] of cases) {
    const want = queryState(snap, { ...q, limit: 1000 });
    const { status, body } = await get(`${url}/api/${path}${path.includes('?') ? '&' : '?'}limit=1000`);
    t.is(status, 200, `${path}: ${JSON.stringify(body)}`);
    t.is(body.total, want.total, path);
    t.deepEqual(ids(body.items, key), ids(want.rows!, key), path);
    t.is(body.revision, snap.revision);
    t.true(want.total > 0, `${path} matches something (a filter that matches nothing proves little)`);
  }
  // The default page is 50 rows; select keeps the named fields only; limit=0 counts.
  const page = await get(`${url}/api/tasks`);
  t.is(page.body.items.length, 50);
  t.truthy(page.body.cursor);
  const sel = await get(`${url}/api/nodes?select=id,status&limit=3`);
  t.deepEqual(Object.keys(sel.body.items[0]).sort(), ['id', 'status']);
  const count = await get(`${url}/api/nodes?role=leecher&limit=0`);
  t.deepEqual(count.body.items, []);
  t.is(count.body.total, queryState(snap, { from: 'nodes', where: { role: 'leecher' }, limit: 0 }).total);
  await srv.kill();
});

test('cursors: paging through every table yields every matching row exactly once, in order', async (t) => {
  const { srv, url } = await serve([syn]);
  t.teardown(() => void srv.kill());
  const snap = readStateSnapshot(syn)!;
  const walk = async (path: string, key: string) => {
    const seen: unknown[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: { status: number; body: any } = await get(`${url}${path}&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      t.is(r.status, 200, JSON.stringify(r.body));
      t.true(r.body.items.length <= 7);
      seen.push(...r.body.items.map((x: Record<string, unknown>) => x[key]));
      cursor = r.body.cursor;
      pages++;
    } while (cursor !== null && pages < 100);
    return seen;
  };
  const all = (q: Parameters<typeof queryState>[1], key: string) => queryState(snap, { ...q, limit: 1000 }).rows!.map((r) => r[key]);
  t.deepEqual(await walk('/api/nodes?sort=-last_seen', 'id'), all({ from: 'nodes', orderBy: '-last_seen' }, 'id'));
  t.deepEqual(await walk('/api/tasks?sort=-priority,created_at', 'id'), all({ from: 'tasks', orderBy: ['-priority', 'created_at'] }, 'id'));
  t.deepEqual(await walk('/api/content?sort=size', 'cid'), all({ from: 'content', orderBy: 'size' }, 'cid'));
  const workers = await walk('/api/nodes?role=worker', 'id');
  t.is(new Set(workers).size, workers.length, 'no row twice');
  t.is(workers.length, queryState(snap, { from: 'nodes', where: { role: 'worker' }, limit: 0 }).total);
  await srv.kill();
});

test('bad parameters are 400 { error, code } naming the parameter and value; unknown paths 404; only GET and HEAD', async (t) => {
  const { srv, url } = await serve([fx]);
  t.teardown(() => void srv.kill());
  const other = (await get(`${url}/api/tasks?limit=1`)).body.cursor as string;
  t.truthy(other);
  const cases: [string, RegExp][] = [
    ['/api/nodes?role=boss', /parameter role must be one of master, worker, leecher.*got "boss"/],
    ['/api/nodes?status=online,', /parameter status .*got "online,"/],
    ['/api/tasks?status=done', /parameter status must be one of pending, assigned, running, completed, failed, cancelled.*got "done"/],
    ['/api/nodes?limit=-1', /parameter limit must be a whole number from 0 to 1000.*got "-1"/],
    ['/api/nodes?limit=1001', /parameter limit .*got "1001"/],
    ['/api/nodes?limit=ten', /parameter limit .*got "ten"/],
    ['/api/nodes?limit=1&limit=2', /parameter limit must be given once, got \["1","2"\]/],
    ['/api/nodes?sort=cpu', /parameter sort must be a field of nodes .*got "cpu"/],
    ['/api/nodes?select=id,nope', /parameter select.*got "nope"/],
    ['/api/nodes?cursor=%%%', /parameter cursor/],
    ['/api/nodes?cursor=bm90IGEgY3Vyc29y', /parameter cursor/],
    [`/api/nodes?cursor=${encodeURIComponent(other)}`, /parameter cursor must be a cursor of this query/],
    ['/api/nodes?where=cpu>4', /parameter where "cpu>4": nodes have no field "cpu"/],
    ['/api/tasks?where=priority>high', /parameter where "priority>high": priority is a number/],
    ['/api/content?pinned=maybe', /parameter pinned must be true or false, got "maybe"/],
    ['/api/content?role=worker', /unknown parameter "role" for \/api\/content: the parameters are provider, pinned, under_replicated, prefix, where, sort, select, limit, cursor/],
    ['/api/nodes?prefix=', /parameter prefix must be a non-empty prefix, got ""/],
    ['/api/summary?verbose=1', /unknown parameter "verbose": \/api\/summary takes no parameters/],
    ['/events?since=3', /unknown parameter "since": \/events takes no parameters/],
  ];
  for (const [path, re] of cases) {
    const r = await get(`${url}${path}`);
    t.is(r.status, 400, path);
    t.is(r.body.code, 'INVALID_ARGUMENT', path);
    t.regex(r.body.error, re, path);
  }
  const missing = await get(`${url}/api/workers`);
  t.is(missing.status, 404);
  t.regex(missing.body.error, /no endpoint "\/api\/workers"/);
  t.is((await fetch(`${url}/nope`)).status, 404);
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    for (const path of ['/', '/api/nodes', '/api/summary', '/events']) {
      const r = await fetch(`${url}${path}`, { method });
      t.is(r.status, 405, `${method} ${path}`);
      t.is(r.headers.get('allow'), 'GET, HEAD');
    }
  }
  const head = await fetch(`${url}/api/summary`, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(await head.text(), '');
  // The server goes on serving after all that.
  t.is((await get(`${url}/api/summary`)).body.cluster_id, 'fixture');
  await srv.kill();
});

test('the page and its assets are served from the package (nothing from the internet); the server never writes', async (t) => {
  const before = fingerprint(fx);
  const { srv, url } = await serve([fx]);
  t.teardown(() => void srv.kill());
  const page = await fetch(`${url}/`);
  t.is(page.status, 200);
  t.regex(page.headers.get('content-type') ?? '', /^text\/html/);
  t.regex(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
  const html = await page.text();
  for (const id of ['cluster-id', 'revision', 'nodes-total', 'tasks-total', 'content-total']) t.regex(html, new RegExp(`data-testid="${id}"`));
  // Every script and stylesheet the page names is ours, on this server.
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((r) => !r.startsWith('data:'));
  t.true(refs.length >= 4);
  for (const r of refs) {
    t.true(r.startsWith('/'), `${r} is local`);
    t.is((await fetch(`${url}${r}`)).status, 200, r);
  }
  const uplot = await fetch(`${url}/assets/uplot.esm.js`);
  t.regex(await uplot.text(), /uPlot.js \(μPlot\)[\s\S]*v1\.6\.32/);
  const etag = (await fetch(`${url}/assets/dashboard.js`)).headers.get('etag')!;
  t.is((await fetch(`${url}/assets/dashboard.js`, { headers: { 'if-none-match': etag } })).status, 304);
  await Promise.all([get(`${url}/api/summary`), get(`${url}/api/nodes`), get(`${url}/api/tasks?status=pending`), get(`${url}/api/content`)]);
  await srv.kill();
  t.deepEqual(fingerprint(fx), before, 'the state directory is byte-for-byte unchanged');
  t.false(existsSync(join(fx, 'writer.lock')));
});

test('--host: loopback by default and silent; another address works with a warning on stderr', async (t) => {
  const local = await serve([fx]);
  t.regex(local.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  await local.srv.kill();
  t.notRegex(local.srv.stderr, /warning/);
  const open = await serve([fx, '--host', '0.0.0.0']);
  t.teardown(() => void open.srv.kill());
  await open.srv.stderrIncludes('warning');
  t.regex(open.srv.stderr, /warning: listening on "0\.0\.0\.0", not a loopback address: anyone who can reach it can read the cluster's state/);
  const port = new URL(open.url).port;
  t.is((await get(`http://127.0.0.1:${port}/api/summary`)).body.cluster_id, 'fixture');
  await open.srv.kill();
});

test('/events: a snapshot, then coalesced updates whose feed holds every revision once, fed by the writer\'s change sets', async (t) => {
  const dir = join(root, 'events');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'events' });
  t.teardown(() => s.close());
  populate(s);
  const start = await s.flush();
  const { srv, url } = await serve([dir]);
  t.teardown(() => void srv.kill());
  const es = new EventReader(`${url}/events`);
  t.teardown(() => es.close());
  const first = await es.next((e) => e.event === 'snapshot', 'the snapshot event');
  t.is(first.id, String(start));
  t.is(first.data.summary.revision, start);
  t.is(first.data.summary.nodes.total, 5);
  t.true(Array.isArray(first.data.history.t) && first.data.history.counts.length === 6);
  // 40 revisions in a burst: fewer updates than revisions, and their feeds hold each revision once.
  for (let i = 0; i < 40; i++) s.addTask({ id: `burst-${i}`, type: 'process' });
  const mid = await s.flush();
  t.is(mid, start + 40);
  const last = await es.next((e) => e.event === 'update' && e.data.summary.revision === mid, `an update at revision ${mid}`);
  t.is(last.data.summary.tasks.total, 4 + 40);
  t.is(last.data.summary.queue.pending, 1 + 40);
  const fedUntil = (rev: number) => {
    const updates = es.events.filter((e) => e.event === 'update' && e.data.summary.revision <= rev);
    return { updates, fed: updates.flatMap((e) => e.data.feed as { revision: number; changes: unknown[] }[]), skipped: updates.reduce((n, e) => n + e.data.skipped, 0) };
  };
  const a = fedUntil(mid);
  t.deepEqual(a.fed.map((i) => i.revision), Array.from({ length: 40 }, (_, k) => start + 1 + k), 'each revision once, in order, no gap');
  t.is(a.skipped, 0);
  t.deepEqual(a.fed[0]!.changes, [{ table: 'tasks', op: 'upsert', id: 'burst-0', status: 'pending' }]);
  t.true(a.updates.length < 40, `coalesced: ${a.updates.length} updates for 40 revisions`);
  for (const u of a.updates) t.true(u.data.sample && u.data.sample.counts.length === 6);
  // 300 more in one burst: an update's feed holds at most 50 items and says how many it left out.
  for (let i = 0; i < 300; i++) s.addTask({ id: `flood-${i}`, type: 'process' });
  const end = await s.flush();
  await es.next((e) => e.event === 'update' && e.data.summary.revision === end, `an update at revision ${end}`);
  const later = es.events.filter((e) => e.event === 'update' && e.data.summary.revision > mid);
  const revs = later.flatMap((e) => (e.data.feed as { revision: number }[]).map((i) => i.revision));
  t.true(later.every((e) => e.data.feed.length <= 50));
  t.is(revs.length + later.reduce((n, e) => n + e.data.skipped, 0), 300, 'every change set is either in a feed or counted as skipped');
  t.deepEqual(revs, [...new Set(revs)].sort((x, y) => x - y), 'no revision twice, in order');
  t.is(revs.at(-1), end);
  es.close();
  await srv.kill();
});
