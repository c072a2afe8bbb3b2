// The documented semantics of the helpers, and the Python original's defects (§7) fixed:
// unknown resources never crash, a zero memory_total never wins a placement, placements spread
// by load, undirected de-duplicated links, UTC times, one snapshot per call, real atomic JSON,
// and malformed arguments rejected while unknown ids are simply not found.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ClusterState, StateError } from '../../src/index.js';
import * as H from '../../src/helpers/index.js';
import { attachState } from '../../src/worker.js';
import { cases, run } from './cases.js';
import { GiB, manualClock, parquetBytes, randomState, seedTable, tempDir, tickingClock } from './support.js';

const mem = (id = 'sem') => ClusterState.inMemory({ clusterId: id, clock: tickingClock() });
const errCode = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof StateError) return e.code;
    throw e;
  }
  return 'no error';
};

const node = (id: string, resources: Record<string, unknown> | null, extra: Record<string, unknown> = {}) => ({
  id, role: 'worker', status: 'online', peers: [], capabilities: [], resources, ...extra,
});

test('unknown (null) resources never crash: they count as nothing in totals and make a node ineligible', (t) => {
  const table = seedTable({
    cluster_id: 'nulls',
    nodes: [
      node('all-null', null),
      node('partial', { cpu_count: 4, cpu_load: null, gpu_count: null, gpu_available: null, memory_total: 8 * GiB, memory_available: null, disk_total: null, disk_available: null }),
      node('full', { cpu_count: 4, cpu_load: 10, gpu_count: 1, gpu_available: true, memory_total: 8 * GiB, memory_available: 4 * GiB, disk_total: 100, disk_available: 25 }),
    ],
    tasks: [{ id: 't', type: 'process', status: 'pending', created_at: 1, updated_at: 1, assigned_to: null, resources: null, input_cid: null, output_cid: null, input_cids: null, output_cids: null }],
  });
  t.deepEqual(H.findNodesWithGpu(table).map((n) => n.id), ['full']);
  const sum = H.getClusterStatusSummary(table);
  t.deepEqual(sum.resources, { cpu_cores: 8, gpu_cores: { total: 1, available: 1 }, memory_gb: { total: 16, available: 4 } });
  t.is(H.findAvailableNodeForTask(table, 't')!.id, 'full', 'unknown memory_available cannot host anything');
  t.is(H.findAvailableNodeForTask(table, { gpu: 2 }), null);
  t.deepEqual(H.findTasksByResourceRequirements(table, { cpu_cores: 0 }), [], 'a null resources struct states nothing');
  t.deepEqual(H.getAllTasks(table)[0]!.input_cids, [], 'a null list reads as []');
  t.deepEqual(H.getNodeResourceUtilization(table, 'partial'), {
    node_id: 'partial', cpu_utilization: null, memory_utilization: null, disk_utilization: null, gpu_utilization: null, load_index: null, active_tasks: 0, success_rate: null,
  });
  t.deepEqual(H.getNetworkTopology(table).nodes[0]!.resources, { cpu_count: null, memory_gb: null, gpu_count: null });
});

test('placement: a zero memory_total never wins (the original scored free bytes as the ratio)', (t) => {
  const res = (total: number, avail: number, load = 10) => ({ cpu_count: 8, cpu_load: load, gpu_count: 0, gpu_available: false, memory_total: total, memory_available: avail, disk_total: null, disk_available: null });
  const table = seedTable({ cluster_id: 'zero', nodes: [node('zero-total', res(0, 64 * GiB)), node('sane', res(16 * GiB, 2 * GiB))] });
  t.is(H.findAvailableNodeForTask(table, { cpu: 1 })!.id, 'sane');
  t.is(H.placementScore(0, 64 * GiB, 0, 8, 0), 0.4, 'the memory term is 0 when the total is 0');
});

test('placement: unknown cpu_load counts as 50 %, masters, leechers and non-online nodes are never chosen', async (t) => {
  const s = mem();
  const r = (load: number | null) => ({ cpu_count: 4, cpu_load: load, memory_total: 8 * GiB, memory_available: 4 * GiB });
  s.registerNode({ id: 'm', role: 'master', resources: { ...r(0), memory_available: 8 * GiB } });
  s.registerNode({ id: 'l', role: 'leecher', resources: { ...r(0), memory_available: 8 * GiB } });
  s.registerNode({ id: 'd', role: 'worker', status: 'degraded', resources: { ...r(0), memory_available: 8 * GiB } });
  s.registerNode({ id: 'busy', role: 'worker', resources: r(60) });
  s.registerNode({ id: 'unknown', role: 'worker', resources: r(null) });
  t.is(H.findAvailableNodeForTask(s, {})!.id, 'unknown', 'unknown (50) beats 60');
  s.registerNode({ id: 'calm', role: 'worker', resources: r(40) });
  t.is(H.findAvailableNodeForTask(s, {})!.id, 'calm', '40 beats unknown (50)');
  await s.close();
});

test('placement spreads: each assignment lowers a node’s score, so equal nodes take turns', async (t) => {
  const s = mem();
  for (const id of ['w1', 'w2', 'w3']) s.registerNode({ id, role: 'worker', resources: { cpu_count: 2, cpu_load: 20, memory_total: 8 * GiB, memory_available: 6 * GiB } });
  const placed: string[] = [];
  for (let i = 0; i < 9; i++) {
    s.addTask({ id: `t${i}`, type: 'process', resources: { cpu: 1, memory: '1GiB' } });
    const n = H.findAvailableNodeForTask(s, `t${i}`)!;
    placed.push(n.id);
    s.assignTask(`t${i}`, n.id);
  }
  t.deepEqual(placed, ['w1', 'w2', 'w3', 'w1', 'w2', 'w3', 'w1', 'w2', 'w3']);
  // Finished tasks stop counting.
  for (const i of [0, 3, 6]) s.updateTask(`t${i}`, { status: 'completed' });
  s.addTask({ id: 'next', type: 'process' });
  t.is(H.findAvailableNodeForTask(s, 'next')!.id, 'w1');
  t.is(H.getNodeResourceUtilization(s, 'w2')!.active_tasks, 3);
  await s.close();
});

test('node utilization: fractions of cpu, memory, disk, GPUs claimed by active tasks, load index, success rate', async (t) => {
  const s = mem();
  s.registerNode({ id: 'n', role: 'worker', resources: { cpu_count: 8, cpu_load: 25, gpu_count: 4, gpu_available: true, memory_total: 16 * GiB, memory_available: 4 * GiB, disk_total: 1000, disk_available: 900 } });
  const add = (id: string, gpu: number | null, fate: 'assigned' | 'running' | 'completed' | 'failed') => {
    s.addTask({ id, type: 'process', resources: { gpu_cores: gpu } });
    s.assignTask(id, 'n');
    if (fate !== 'assigned') s.updateTask(id, { status: fate });
  };
  add('a', 1, 'assigned');
  add('b', 2, 'running');
  add('c', 4, 'completed');
  add('d', null, 'completed');
  add('e', 1, 'completed');
  add('f', 1, 'failed');
  const u = H.getNodeResourceUtilization(s, 'n')!;
  t.deepEqual(u, {
    node_id: 'n', cpu_utilization: 0.25, memory_utilization: 0.75, disk_utilization: 0.09999999999999998, gpu_utilization: 0.75,
    load_index: (0.25 + 0.75 + 0.75) / 3, active_tasks: 2, success_rate: 0.75,
  });
  s.updateNode('n', { resources: { gpu_available: false } });
  t.is(H.getNodeResourceUtilization(s, 'n')!.gpu_utilization, 1, 'GPUs reported unavailable count as fully used');
  s.updateNode('n', { resources: { gpu_count: 0, gpu_available: false } });
  t.is(H.getNodeResourceUtilization(s, 'n')!.gpu_utilization, null, 'no GPUs: no GPU figure');
  t.is(H.getNodeResourceUtilization(s, 'nobody'), null);
  await s.close();
});

test('content availability: online providers only, each once; shortfall against replication', async (t) => {
  const table = seedTable({
    cluster_id: 'avail',
    nodes: [node('on', null), node('off', null, { status: 'offline' }), node('deg', null, { status: 'degraded' })],
    content: [
      { cid: 'a', size: 1, created_at: 1, providers: ['on', 'on', 'off', 'deg', 'ghost'], pinned: true, replication: 3 },
      { cid: 'b', size: 1, created_at: 1, providers: [], pinned: false, replication: 0 },
      { cid: 'c', size: 1, created_at: 1, providers: ['on'], pinned: false, replication: null },
      { cid: 'a', size: 2, created_at: 1, providers: [], pinned: false, replication: 9 },
    ],
  });
  t.deepEqual(H.getContentAvailabilityMap(table), {
    a: { providers: ['on', 'on', 'off', 'deg', 'ghost'], replication: 3, available: 1, shortfall: 2 },
    b: { providers: [], replication: 0, available: 0, shortfall: 0 },
    c: { providers: ['on'], replication: null, available: 1, shortfall: null },
  });
  t.deepEqual(H.findContentByProvider(table, 'ghost').map((c) => c.cid), ['a']);
  t.deepEqual(H.findContentByCid(table, 'a')!.size, 1, 'a repeated CID: the first item');
});

test('topology: duplicate peers give one link, links listed only by the larger id are kept, peers that are not nodes too', (t) => {
  const table = seedTable({
    cluster_id: 'topo',
    nodes: [
      node('b', null, { peers: ['a', 'a', 'c', 'b'] }), // duplicate and self peer
      node('a', null, { peers: ['b'] }), // the same link from the other side
      node('z', null, { peers: ['y-ghost'] }), // listed only by the larger id
      node('é', null, { peers: ['😀', 'f'] }), // code-point order: 'f' < 'é' < '😀'
    ],
  });
  t.deepEqual(H.getNetworkTopology(table).connections, [
    { source: 'a', target: 'b' }, { source: 'b', target: 'c' }, { source: 'y-ghost', target: 'z' }, { source: 'é', target: '😀' }, { source: 'f', target: 'é' },
  ]);
  t.true(H.compareCodePoints('\uffff', '😀') < 0, 'U+FFFF sorts before U+1F600 (UTF-16 order would say otherwise)');
  t.true('\uffff' > '😀');
});

test('times are UTC epoch ms whatever the local time zone; the export writes ISO-8601 UTC', async (t) => {
  const before = process.env.TZ;
  const clock = manualClock(Date.UTC(2025, 0, 2, 3, 4, 5, 678));
  const s = ClusterState.inMemory({ clusterId: 'tz', clock: clock.fn });
  s.registerNode({ id: 'n', role: 'worker' });
  s.addTask({ id: 't', type: 'process' });
  s.assignTask('t', 'n');
  clock.advance(1500);
  s.updateTask('t', { status: 'running' });
  const out = join(tempDir(t), 'tz.json');
  try {
    for (const tz of ['UTC', 'America/New_York', 'Asia/Tokyo']) {
      process.env.TZ = tz;
      t.is(H.getClusterMetadata(s).updated_at, Date.UTC(2025, 0, 2, 3, 4, 7, 178), tz);
      t.is(H.getClusterStatusSummary(s.getState()).updated_at, Date.UTC(2025, 0, 2, 3, 4, 7, 178), tz);
      H.exportStateToJson(s, out);
      const json = JSON.parse(readFileSync(out, 'utf8'));
      t.is(json.updated_at, '2025-01-02T03:04:07.178Z', tz);
      t.is(json.nodes[0].last_seen, '2025-01-02T03:04:05.678Z');
      t.is(json.tasks[0].started_at, '2025-01-02T03:04:07.178Z', 'started_at (epoch seconds) as ISO too');
      t.is(json.tasks[0].completed_at, null);
    }
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
    await s.close();
  }
});

test('export: real JSON (arrays, numbers, JSON values), replaced atomically; failures throw IO and leave no temporary file', async (t) => {
  const s = mem('exp');
  s.registerNode({ id: 'n1', role: 'worker', resources: { memory: '16GiB' }, metadata: { zone: 'a' }, capabilities: ['gpu'] });
  s.addContent({ cid: 'big', size: 2 ** 40, providers: ['n1'], pinned: true });
  s.addTask({ id: 't', type: 'process', payload: { nested: [1, { x: 'é' }] } });
  const dir = tempDir(t);
  const out = join(dir, 'state.json');
  writeFileSync(out, 'old contents');
  t.true(H.exportStateToJson(s, out));
  const text = readFileSync(out, 'utf8');
  const json = JSON.parse(text);
  t.is(json.content[0].size, 2 ** 40);
  t.deepEqual(json.nodes[0].capabilities, ['gpu']);
  t.deepEqual(json.nodes[0].metadata, { zone: 'a' });
  t.deepEqual(json.tasks[0].payload, { nested: [1, { x: 'é' }] });
  t.is(json.nodes[0].resources.memory_total, 16 * GiB);
  t.deepEqual(readdirSync(dir), ['state.json']);
  // A directory in the way: INVALID_ARGUMENT, and nothing is left behind.
  const blocked = join(dir, 'blocked');
  mkdirSync(join(blocked, 'x'), { recursive: true });
  t.is(errCode(() => H.exportStateToJson(s, blocked)), 'INVALID_ARGUMENT');
  t.deepEqual(readdirSync(dir).sort(), ['blocked', 'state.json']);
  t.is(errCode(() => H.exportStateToJson(s, join(dir, 'no', 'such', 'dir.json'))), 'IO');
  t.is(errCode(() => H.exportStateToJson(s, '')), 'INVALID_ARGUMENT');
  t.is(readFileSync(out, 'utf8'), text, 'the earlier export is untouched');
  await s.close();
});

test('malformed arguments are INVALID_ARGUMENT; well-formed ones that match nothing are null or []', async (t) => {
  const s = mem();
  s.registerNode({ id: 'n', role: 'worker' });
  s.addTask({ id: 't', type: 'process' });
  for (const bad of [undefined, null, 5, '', {}, ['n']]) {
    t.is(errCode(() => H.getNodeById(s, bad as never)), 'INVALID_ARGUMENT', `getNodeById(${String(bad)})`);
    t.is(errCode(() => H.findNodesByRole(s, bad as never)), 'INVALID_ARGUMENT');
    t.is(errCode(() => H.findTasksByStatus(s, bad as never)), 'INVALID_ARGUMENT');
    t.is(errCode(() => H.findContentByProvider(s, bad as never)), 'INVALID_ARGUMENT');
    t.is(errCode(() => H.estimateTimeToCompletion(s, bad as never)), 'INVALID_ARGUMENT');
  }
  for (const req of [{ cpu: -1 }, { cpu_cores: 1.5 }, { memory: '4 bananas' }, { memory: -5 }, { gpu_cores: '2' }, { disk: 4 }, { cpu: 1, cpu_cores: 2 }, [], 7, true]) {
    t.is(errCode(() => H.findAvailableNodeForTask(s, req as never)), 'INVALID_ARGUMENT', JSON.stringify(req));
    t.is(errCode(() => H.findTasksByResourceRequirements(s, req as never)), 'INVALID_ARGUMENT', JSON.stringify(req));
  }
  t.is(errCode(() => H.estimateTimeToCompletion(s, 't', { now: 'soon' } as never)), 'INVALID_ARGUMENT');
  t.is(errCode(() => H.estimateTimeToCompletion(s, 't', { later: 1 } as never)), 'INVALID_ARGUMENT');
  t.is(errCode(() => H.getStatePathFromMetadata('/x', { homeDir: '/' } as never)), 'INVALID_ARGUMENT');
  t.is(H.getNodeById(s, 'missing'), null);
  t.is(H.getTaskById(s, 'missing'), null);
  t.is(H.findContentByCid(s, 'missing'), null);
  t.is(H.getNodeResourceUtilization(s, 'missing'), null);
  t.is(H.estimateTimeToCompletion(s, 'missing'), null);
  t.is(H.findAvailableNodeForTask(s, 'missing'), null);
  t.deepEqual(H.findTasksByNode(s, 'missing'), []);
  t.deepEqual(H.findNodesByCapability(s, 'missing'), []);
  t.deepEqual(H.findTasksByType(s, 'missing'), []);
  await s.close();
  t.is(errCode(() => H.getAllNodes(s)), 'CLOSED', 'a closed writer is not a source');
});

test('one snapshot per call: every helper reads its source exactly once; a caller’s snapshot is not released', async (t) => {
  const rs = randomState(31, { nodes: 20, tasks: 60, content: 30 });
  const src = { reads: 0, snapshot: () => (src.reads++, rs.state.snapshot()) };
  for (const c of cases(rs, 31)) {
    const before = src.reads;
    run(c, src);
    t.is(src.reads, before + 1, c.label);
  }
  await rs.state.published();
  const reader = attachState(rs.state.shared());
  const snap = reader.snapshot();
  const n = H.getAllNodes(snap).length;
  t.is(H.getAllNodes(snap).length, n, 'still usable after helpers ran on it');
  t.is(reader.snapshot(), snap, 'still the reader’s live snapshot');
  reader.close();
  await rs.state.close();
});

test('records are the same where code generation is disallowed (node --disallow-code-generation-from-strings)', async (t) => {
  const rs = randomState(32, { nodes: 15, tasks: 40, content: 20 });
  const dir = tempDir(t);
  const file = join(dir, 'state.parquet');
  writeFileSync(file, parquetBytes(rs.state.getState()));
  const index = new URL('../../src/index.js', import.meta.url).href;
  const script = `const H = await import(${JSON.stringify(index)}); process.stdout.write(JSON.stringify(H.getClusterStateAsDict(${JSON.stringify(file)})));`;
  const out = execFileSync(process.execPath, ['--disallow-code-generation-from-strings', '--input-type=module', '-e', script], { encoding: 'utf8' });
  t.deepEqual(JSON.parse(out), JSON.parse(JSON.stringify(H.getClusterStateAsDict(file))));
  t.deepEqual(Object.keys(JSON.parse(out).tasks[0]), Object.keys(H.getAllTasks(rs.state)[0]!), 'same field order');
  await rs.state.close();
});
