// The questions against answers computed by hand on a small state, and bad queries:
// INVALID_ARGUMENT naming the offending part, before the source is read.
import test from 'ava';
import { ClusterState, isStateError, queryState, type Query, type QueryResult } from '../../src/index.js';
import { tickingClock } from '../helpers/support.js';

const GiB = 2 ** 30;

function small(): ClusterState {
  const s = ClusterState.inMemory({ clusterId: 'q', clock: tickingClock() });
  s.registerNode({ id: 'w1', role: 'worker', status: 'online', capabilities: ['gpu'], resources: { cpu_count: 8, memory_total: 16 * GiB, memory_available: 6 * GiB } });
  s.registerNode({ id: 'w2', role: 'worker', status: 'online', resources: { cpu_count: 4, memory_total: 8 * GiB, memory_available: 4 * GiB } }); // exactly at both floors
  s.registerNode({ id: 'w3', role: 'worker', status: 'online', resources: { cpu_count: 2, memory_total: 8 * GiB, memory_available: 7 * GiB } }); // too few CPUs
  s.registerNode({ id: 'w4', role: 'worker', status: 'offline', resources: { cpu_count: 16, memory_total: 64 * GiB, memory_available: 60 * GiB } }); // offline
  s.registerNode({ id: 'm1', role: 'master', status: 'online', resources: { cpu_count: 32, memory_total: 64 * GiB, memory_available: 60 * GiB } }); // not a worker
  s.registerNode({ id: 'ü-5', role: 'worker', status: 'online', resources: { cpu_count: 4 } }); // memory unknown: never matches
  s.addContent({ cid: 'c1', size: 10, providers: ['w1'], replication: 3 }); // under
  s.addContent({ cid: 'c2', size: 10, providers: ['w1', 'w2', 'w3'], replication: 3 }); // exactly
  s.addContent({ cid: 'c3', size: 2 ** 40, providers: [], replication: 1 }); // under, empty list
  s.addContent({ cid: 'c4', size: 10, providers: ['w2'], replication: 0 });
  for (let i = 0; i < 7; i++) s.addTask({ id: `t${i}`, type: i % 2 ? 'process' : 'analyze', resources: { cpu_cores: i } });
  s.assignTask('t0', 'w1');
  s.assignTask('t1', 'w1');
  s.updateTask('t1', { status: 'running' });
  s.assignTask('t2', 'w2');
  s.updateTask('t2', { status: 'running' });
  s.updateTask('t2', { status: 'completed' });
  s.updateTask('t3', { status: 'cancelled' });
  return s;
}

test('the issue\'s questions give the answers computed by hand', (t) => {
  const s = small();
  const placement = queryState(s, {
    from: 'nodes',
    where: { status: 'online', role: 'worker', 'resources.cpu_count': { gte: 4 }, 'resources.memory_available': { gte: 4 * GiB } },
    select: ['id'],
  });
  t.deepEqual(placement.rows, [{ id: 'w1' }, { id: 'w2' }]);
  t.is(placement.total, 2);
  const under = queryState(s, { from: 'content', where: { 'length(providers)': { lt: { field: 'replication' } } }, select: ['cid', 'length(providers)', 'replication'] });
  t.deepEqual(under.rows, [{ cid: 'c1', 'length(providers)': 1, replication: 3 }, { cid: 'c3', 'length(providers)': 0, replication: 1 }]);
  const byStatus = queryState(s, { from: 'tasks', groupBy: 'status' });
  t.deepEqual(byStatus.groups, [
    { status: 'assigned', count: 1 }, { status: 'cancelled', count: 1 }, { status: 'completed', count: 1 }, { status: 'pending', count: 3 }, { status: 'running', count: 1 },
  ]);
  t.is(byStatus.total, 7);
  // Counting only: limit 0.
  t.deepEqual(queryState(s, { from: 'tasks', where: { status: 'pending' }, limit: 0 }), { revision: s.revision, total: 3, rows: [], cursor: null });
  // Aggregates per group, ordered by an aggregate.
  const load = queryState(s, { from: 'tasks', where: { status: { in: ['assigned', 'running'] } }, groupBy: 'assigned_to', aggregates: ['count', 'sum(resources.cpu_cores)'], orderBy: '-count' });
  t.deepEqual(load.groups, [{ assigned_to: 'w1', count: 2, 'sum(resources.cpu_cores)': 1 }]);
  const all = queryState(s, { from: 'content', aggregates: ['count', 'sum(size)', 'min(size)', 'max(length(providers))', 'mean(replication)', 'count(pinned_at)'] });
  t.deepEqual(all.groups, [{ count: 4, 'sum(size)': 2 ** 40 + 30, 'min(size)': 10, 'max(length(providers))': 3, 'mean(replication)': 7 / 4, 'count(pinned_at)': 0 }]);
  // Order, limit and the cursor: nulls last, ties by id.
  const page1 = queryState(s, { from: 'nodes', orderBy: '-resources.memory_available', select: ['id'], limit: 4 });
  t.deepEqual(page1.rows, [{ id: 'm1' }, { id: 'w4' }, { id: 'w3' }, { id: 'w1' }]);
  t.is(typeof page1.cursor, 'string');
  const page2 = queryState(s, { from: 'nodes', orderBy: '-resources.memory_available', select: ['id'], limit: 4, cursor: page1.cursor! });
  t.deepEqual(page2.rows, [{ id: 'w2' }, { id: 'ü-5' }]);
  t.is(page2.cursor, null);
  // or, not, prefix, has, in with null.
  t.deepEqual(queryState(s, { from: 'nodes', where: { or: [{ capabilities: { has: 'gpu' } }, { id: { prefix: 'ü' } }] }, select: ['id'] }).rows, [{ id: 'w1' }, { id: 'ü-5' }]);
  t.deepEqual(queryState(s, { from: 'nodes', where: { not: { role: 'worker' } }, select: ['id'] }).rows, [{ id: 'm1' }]);
  t.deepEqual(queryState(s, { from: 'nodes', where: { 'resources.memory_available': { in: [null, 4 * GiB] } }, select: ['id'] }).rows, [{ id: 'w2' }, { id: 'ü-5' }]);
  t.deepEqual(queryState(s, { from: 'content', where: { size: { gt: 2 ** 32 } }, select: ['cid', 'size'] }).rows, [{ cid: 'c3', size: 2 ** 40 }]);
});

test('the pool runs queries in a worker thread and refuses a bad one before posting it', async (t) => {
  const s = small();
  try {
    const q: Query = { from: 'nodes', where: { status: 'online' }, orderBy: 'id', select: ['id'], limit: 2 };
    const r = await s.query('queryState', q) as QueryResult;
    t.deepEqual(r, queryState(s, q));
    const e = await t.throwsAsync(s.query('queryState', { from: 'nodes', limit: -5 }));
    t.true(isStateError(e, 'INVALID_ARGUMENT'));
    t.regex(e!.message, /query\.limit must be a whole number ≥ 0.*got -5/);
  } finally {
    await s.close();
  }
});

const BAD: [string, unknown, RegExp][] = [
  ['not an object', 'nodes', /^INVALID_ARGUMENT: query must be an object/],
  ['unknown table', { from: 'jobs' }, /query\.from must be one of nodes, tasks, content, got "jobs"/],
  ['unknown key', { from: 'nodes', filter: {} }, /query key "filter" must be absent/],
  ['unknown field', { from: 'nodes', where: { cpu: 4 } }, /query\.where: field "cpu" must be a field of nodes \(one of id, role,.*resources\.cpu_count/],
  ['unknown nested field', { from: 'nodes', where: { or: [{ status: 'online' }, { 'resources.cpus': 1 }] } }, /query\.where\.or\[1\]: field "resources\.cpus" must be a field of nodes/],
  ['unknown test', { from: 'nodes', where: { status: { equals: 'online' } } }, /query\.where\.status: test "equals" must be one of eq, ne/],
  ['text operand for a number', { from: 'nodes', where: { 'resources.cpu_count': { gte: 'four' } } }, /query\.where\["resources\.cpu_count"\]\.gte must be a finite number.*got "four"/],
  ['number operand for text', { from: 'nodes', where: { status: 4 } }, /query\.where\.status must be a string \(status is text\), got 4/],
  ['NaN', { from: 'content', where: { size: { lt: Number.NaN } } }, /query\.where\.size\.lt must be a finite number/],
  ['a bad time', { from: 'nodes', where: { last_seen: { gt: '2026-13-45' } } }, /query\.where\.last_seen\.gt must be a finite number \(epoch milliseconds\) or an ISO-8601 time/],
  ['range on a boolean', { from: 'content', where: { pinned: { gt: true } } }, /query\.where\.pinned\.gt must be a test of a boolean/],
  ['comparing text with a number field', { from: 'nodes', where: { id: { lt: { field: 'resources.cpu_count' } } } }, /query\.where\.id\.lt must be a field comparable with id \(id is text and resources\.cpu_count is a number\)/],
  ['comparing seconds with milliseconds', { from: 'tasks', where: { started_at: { gt: { field: 'created_at' } } } }, /comparable with started_at \(started_at holds epoch s and created_at epoch ms\)/],
  ['comparing with an unknown field', { from: 'content', where: { replication: { lt: { field: 'copies' } } } }, /query\.where\.replication\.lt\.field must be a field of content/],
  ['a list compared by order', { from: 'content', where: { providers: { gt: 'w1' } } }, /compare length\(providers\) for sizes/],
  ['has on text', { from: 'nodes', where: { status: { has: 'online' } } }, /must be a test of a list field \(status is text; use eq or in\)/],
  ['JSON compared', { from: 'tasks', where: { payload: { eq: 'x' } } }, /payload holds JSON, which can only be tested for null/],
  ['a struct compared', { from: 'nodes', where: { resources: { null: true } } }, /a test of one of resources's fields/],
  ['a lone surrogate', { from: 'nodes', where: { id: '\ud800' } }, /well-formed Unicode/],
  ['limit -5', { from: 'nodes', limit: -5 }, /query\.limit must be a whole number ≥ 0 \(0 counts without returning rows\), got -5/],
  ['limit 1.5', { from: 'nodes', limit: 1.5 }, /query\.limit must be a whole number/],
  ['select empty', { from: 'nodes', select: [] }, /query\.select must be a non-empty array/],
  ['select unknown', { from: 'tasks', select: ['id', 'owner'] }, /query\.select\[1\] must be a field of tasks/],
  ['order by a list', { from: 'nodes', orderBy: 'peers' }, /query\.orderBy\[0\] must be a text, number or boolean field \(peers is a list\)/],
  ['group by JSON', { from: 'tasks', groupBy: 'payload' }, /query\.groupBy\[0\] must be a text, number or boolean field \(payload is JSON\)/],
  ['sum of text', { from: 'tasks', groupBy: 'status', aggregates: ['sum(type)'] }, /query\.aggregates\[0\] must be sum of a number or boolean field \(type is text\)/],
  ['an unknown aggregate', { from: 'tasks', aggregates: ['median(priority)'] }, /query\.aggregates\[0\] must be count, or one of count, sum, min, max, mean of a field/],
  ['order by what the groups lack', { from: 'tasks', groupBy: 'status', orderBy: 'priority' }, /must be a group field or aggregate of the query \(one of status, count\)/],
  ['select in a group query', { from: 'tasks', groupBy: 'status', select: ['id'] }, /query\.select must be absent in a group query/],
  ['a cursor that does not decode', { from: 'nodes', limit: 2, cursor: 'nonsense' }, /query\.cursor must be the cursor string of a previous page/],
  ['where not an object', { from: 'nodes', where: [{ status: 'online' }] }, /query\.where must be a filter object/],
  ['or not an array', { from: 'nodes', where: { or: { status: 'online' } } }, /query\.where\.or must be an array of filters/],
];

for (const [label, q, message] of BAD) {
  test(`a bad query is INVALID_ARGUMENT naming the part: ${label}`, (t) => {
    // The source is a directory that does not exist: the query is refused before it is read.
    const e = t.throws(() => queryState('/nonexistent/acs-query-source', q as Query));
    t.true(isStateError(e, 'INVALID_ARGUMENT'), e?.message);
    t.regex(e!.message, message);
  });
}

test('a cursor of another query is refused', (t) => {
  const s = small();
  const first = queryState(s, { from: 'nodes', orderBy: 'id', limit: 1 });
  t.deepEqual(first.rows!.map((r) => r.id), ['m1']);
  const e = t.throws(() => queryState(s, { from: 'nodes', orderBy: '-id', limit: 1, cursor: first.cursor! }));
  t.regex(e!.message, /query\.cursor must be a cursor of this query \(same from, where and orderBy\): it belongs to another query/);
  t.deepEqual(queryState(s, { from: 'nodes', orderBy: 'id', limit: 1, cursor: first.cursor! }).rows!.map((r) => r.id), ['w1']);
});
