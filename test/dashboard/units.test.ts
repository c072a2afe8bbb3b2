// The dashboard's server-side parts on their own: the content health counts against the helpers
// they stand for, the history ring, the feed's bounds, the loopback test.
import test from 'ava';
import { ClusterState, findOrphanedContent, getContentAvailabilityMap } from '../../src/index.js';
import { loadSynthetic } from '../../src/demo/synthetic.js';
import { contentHealth } from '../../src/dashboard/health.js';
import { TaskHistory } from '../../src/dashboard/history.js';
import { Feed, feedItem, FEED_CHANGES } from '../../src/dashboard/feed.js';
import { isLoopback } from '../../src/dashboard/server.js';
import { populate } from '../cli/support.js';

function helperHealth(s: ClusterState) {
  const avail = Object.values(getContentAvailabilityMap(s));
  return {
    under_replicated: avail.filter((a) => (a.shortfall ?? 0) > 0).length,
    shortfall: avail.reduce((n, a) => n + (a.shortfall ?? 0), 0),
    unavailable: avail.filter((a) => (a.shortfall ?? 0) > 0 && a.available === 0).length,
    orphaned: findOrphanedContent(s).length,
    items: avail.length,
  };
}

test('contentHealth counts what getContentAvailabilityMap and findOrphanedContent report', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'health' });
  populate(s);
  // A provider that is offline; a task referring to content; an empty state of tasks.
  s.addContent({ cid: 'c4', size: 1, providers: ['w3', 'w1'], replication: 3 });
  s.addContent({ cid: 'c5', size: 1, providers: ['w1', 'w2'], replication: 0 });
  s.addTask({ id: 't-ref', type: 'process', input_cid: 'c4', input_cids: ['c5'] });
  s.addTask({ id: 't-out', type: 'process', output_cid: 'c2' });
  const h = contentHealth(s.snapshot());
  t.like(h, helperHealth(s));
  t.is(h.revision, s.revision);
  t.true(h.under_replicated > 0 && h.orphaned > 0 && h.unavailable > 0);
  const big = ClusterState.inMemory({ clusterId: 'health-syn' });
  await loadSynthetic(big, { nodes: 300, tasks: 2000, content: 1500 });
  t.like(contentHealth(big.snapshot()), helperHealth(big));
  // Nodes going offline change the counts as the helper's.
  for (const id of ['node-000001-12D3KooW1w7drqp', 'node-000002-12D3KooWxgrnhia']) if (big.getNode(id)) big.updateNodeStatus(id, 'offline');
  t.like(contentHealth(big.snapshot()), helperHealth(big));
  const empty = ClusterState.inMemory({ clusterId: 'empty' });
  t.like(contentHealth(empty.snapshot()), { items: 0, under_replicated: 0, shortfall: 0, unavailable: 0, orphaned: 0 });
  await Promise.all([s.close(), big.close(), empty.close()]);
});

test('TaskHistory: at most capacity samples, oldest first, one per interval bucket (the later wins)', (t) => {
  const h = new TaskHistory(3, 1000);
  h.add(1000, 1, [1, 0, 0, 0, 0, 0]);
  h.add(1500, 2, [2, 0, 0, 0, 0, 0]); // same second: replaces
  t.deepEqual(h.samples().map((x) => x.revision), [2]);
  h.add(2000, 3, [3, 0, 0, 0, 0, 0]);
  h.add(3000, 4, [4, 0, 0, 0, 0, 0]);
  h.add(4000, 5, [5, 1, 2, 3, 4, 5]);
  t.deepEqual(h.samples().map((x) => x.revision), [3, 4, 5]);
  const c = h.columns();
  t.deepEqual(c.t, [2, 3, 4]);
  t.deepEqual(c.counts[0], [3, 4, 5]);
  t.deepEqual(c.counts[5], [0, 0, 5]);
  t.is(h.latest()!.revision, 5);
  t.throws(() => new TaskHistory(0), { message: /history capacity must be a whole number >= 1/ });
});

test('feed items are bounded whatever the change set; the feed keeps the newest', (t) => {
  const changes = Array.from({ length: 1000 }, (_, i) => ({ table: 'tasks' as const, op: 'upsert' as const, id: `t${i}`, record: { status: 'running' } as never }));
  const item = feedItem({ revision: 9, updatedAt: 1, masterId: null, changes: [...changes, { table: 'nodes', op: 'delete', id: 'n1' }] });
  t.is(item.changes.length, FEED_CHANGES);
  t.is(item.more, 1001 - FEED_CHANGES);
  t.deepEqual(item.counts, { nodes: { upserts: 0, deletes: 1 }, tasks: { upserts: 1000, deletes: 0 }, content: { upserts: 0, deletes: 0 } });
  t.deepEqual(item.changes[0], { table: 'tasks', op: 'upsert', id: 't0', status: 'running' });
  const f = new Feed(50);
  for (let r = 1; r <= 500; r++) f.push({ ...item, revision: r });
  t.deepEqual(f.list().map((i) => i.revision), Array.from({ length: 50 }, (_, k) => 451 + k));
});

test('isLoopback: 127.0.0.0/8, ::1 and localhost only', (t) => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) t.true(isLoopback(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1']) t.false(isLoopback(h), h);
});
