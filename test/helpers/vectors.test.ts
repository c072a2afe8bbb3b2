// The Python original's helper test vectors (as the documentation of the Python project ipfs_kit_py describes them), built
// with ClusterState.inMemory and a clock under the test's control. Expected answers are the
// vectors' own, adjusted only where the document says the original was wrong (noted inline).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import {
  Field, Int32, Int64, List, makeBuilder, makeData, RecordBatch, Schema, Struct, Table, Utf8, type DataType,
} from 'apache-arrow';
import { ClusterState, StateError } from '../../src/index.js';
import * as H from '../../src/helpers/index.js';
import { GiB, manualClock, parquetBytes, tempDir, tickingClock } from './support.js';

const ids = (xs: { id: string }[] | null) => xs?.map((x) => x.id);
const mem = () => ClusterState.inMemory({ clusterId: 'test-cluster', clock: tickingClock() });

/** A source that counts how often the state is read (the original re-read its file per getter). */
const counting = (s: ClusterState) => {
  const src = { reads: 0, snapshot: () => (src.reads++, s.snapshot()) };
  return src;
};

test('§6.3.1 getStatePathFromMetadata: the base dir, its cluster_state child, and null for a missing path', (t) => {
  const tmp = tempDir(t);
  const alt = join(tmp, 'alt_state');
  mkdirSync(join(alt, 'cluster_state'), { recursive: true });
  writeFileSync(join(alt, 'cluster_state', 'state_metadata.json'), '{}');
  const opts = { standardLocations: false };
  t.is(H.getStatePathFromMetadata(alt, opts), join(alt, 'cluster_state'));
  t.is(H.getStatePathFromMetadata(join(alt, 'cluster_state'), opts), join(alt, 'cluster_state'));
  // The original's answer here depended on the machine's home directory; ours does not have to.
  t.is(H.getStatePathFromMetadata('/nonexistent/path', opts), null);
  // The standard locations, under a home directory the test controls.
  const home = tempDir(t);
  mkdirSync(join(home, '.ipfs_cluster_state'));
  writeFileSync(join(home, '.ipfs_cluster_state', 'state_metadata.json'), '{}');
  t.is(H.getStatePathFromMetadata('/nonexistent/path', { home }), join(home, '.ipfs_cluster_state'));
  mkdirSync(join(home, '.ipfs', 'cluster_state'), { recursive: true });
  writeFileSync(join(home, '.ipfs', 'cluster_state', 'state_metadata.json'), '{}');
  t.is(H.getStatePathFromMetadata(undefined, { home }), join(home, '.ipfs', 'cluster_state'), '~/.ipfs/cluster_state comes first');
  t.is(H.getStatePathFromMetadata('~/.ipfs', { home, standardLocations: false }), join(home, '.ipfs', 'cluster_state'), '~ expands to the home directory');
  mkdirSync(join(alt, '.ipfs_cluster_state'));
  writeFileSync(join(alt, '.ipfs_cluster_state', 'state_metadata.json'), '{}');
  t.is(H.getStatePathFromMetadata(alt, opts), join(alt, '.ipfs_cluster_state'), '.ipfs_cluster_state before cluster_state');
  t.deepEqual(H.stateSearchPath(alt, { home }), [alt, join(alt, '.ipfs_cluster_state'), join(alt, 'cluster_state'), join(home, '.ipfs', 'cluster_state'), join(home, '.ipfs_cluster_state'), '/var/lib/ipfs/cluster_state']);
  t.throws(() => H.getStatePathFromMetadata(42 as never), { instanceOf: StateError, message: /INVALID_ARGUMENT/ });
});

test('§6.3.2 connectToStateStore: the metadata of a state directory, null for a missing path', (t) => {
  const dir = join(tempDir(t), 'data_dir');
  mkdirSync(dir);
  const md = { plasma_socket: join(dir, 'plasma.sock'), object_id: '0123456789abcdef0123', schema: 'mock_schema', version: 1, cluster_id: 'test-cluster' };
  writeFileSync(join(dir, 'state_metadata.json'), JSON.stringify(md));
  writeFileSync(join(dir, 'plasma.sock'), 'dummy');
  const info = H.connectToStateStore(dir)!;
  t.is(info.metadata!.cluster_id, 'test-cluster');
  t.deepEqual(info, { statePath: dir, metadata: md, parquetPath: null });
  t.is(H.connectToStateStore('/nonexistent/path'), null);
});

test('§6.3.3 getClusterState: a real Parquet file with extra columns and an int updated_at; a missing path is NOT_FOUND', (t) => {
  const dir = join(tempDir(t), 'data_dir');
  mkdirSync(dir);
  const nodeT = new Struct([new Field('id', new Utf8(), true), new Field('role', new Utf8(), true)]);
  const col = (type: DataType, values: unknown[]) => {
    const b = makeBuilder({ type, nullValues: [null] });
    for (const v of values) b.append(v as never);
    return b.finish().flush();
  };
  const fields = [
    new Field('cluster_id', new Utf8(), true), new Field('master_id', new Utf8(), true), new Field('status', new Utf8(), true),
    new Field('node_count', new Int32(), true), new Field('updated_at', new Int64(), true),
    new Field('nodes', new List(new Field('element', nodeT, true)), true),
    new Field('tasks', new List(new Field('element', new Struct([new Field('id', new Utf8(), true)]), true)), true),
    new Field('content', new List(new Field('element', new Struct([new Field('cid', new Utf8(), true)]), true)), true),
  ];
  const children = [
    col(new Utf8(), ['test-cluster']), col(new Utf8(), ['node1']), col(new Utf8(), ['active']), col(new Int32(), [1]),
    col(new Int64(), [1_234_567_890_000n]), col(fields[5]!.type, [[{ id: 'node1', role: 'master' }]]), col(fields[6]!.type, [[]]), col(fields[7]!.type, [[]]),
  ];
  const schema = new Schema(fields);
  const table = new Table(schema, [new RecordBatch(schema, makeData({ type: new Struct(fields), length: 1, nullCount: 0, children }))]);
  writeFileSync(join(dir, 'state_test-cluster.parquet'), parquetBytes(table));
  writeFileSync(join(dir, 'state_metadata.json'), JSON.stringify({ parquet_path: join(dir, 'state_test-cluster.parquet') }));
  const got = H.getClusterState(dir);
  t.is(got.numRows, 1);
  t.is(got.getChild('cluster_id')!.get(0), 'test-cluster');
  for (const f of fields) t.true(got.schema.fields.some((g) => g.name === f.name), f.name);
  // ... and the helpers read it: missing fields are null, the int updated_at is taken as epoch ms.
  t.deepEqual(H.getAllNodes(dir).map((n) => [n.id, n.role, n.status, n.resources.cpu_count]), [['node1', 'master', null, null]]);
  t.deepEqual(H.getClusterMetadata(dir), { cluster_id: 'test-cluster', master_id: 'node1', updated_at: 1_234_567_890_000, node_count: 1, task_count: 0, content_count: 0 });
  // The original returned None (and logged once); a missing state is an error here.
  t.throws(() => H.getClusterState(join(dir, 'data_dir')), { instanceOf: StateError, message: /^NOT_FOUND/ });
});

test('§6.3.4/5 getAllNodes and findNodesByRole: nodes in order, unknown role → [], empty state → []', async (t) => {
  const s = mem();
  t.deepEqual(H.getAllNodes(s), [], 'no nodes: [] (the original returned None)');
  t.deepEqual(H.findNodesByRole(s, 'worker'), []);
  s.registerNode({ id: 'node1', role: 'master' });
  s.registerNode({ id: 'node2', role: 'worker' });
  s.registerNode({ id: 'node3', role: 'worker' });
  s.registerNode({ id: 'node4', role: 'leecher' });
  t.deepEqual(ids(H.getAllNodes(s)), ['node1', 'node2', 'node3', 'node4']);
  t.deepEqual(H.getAllNodes(s), ['node1', 'node2', 'node3', 'node4'].map((id) => s.getNode(id)!));
  t.deepEqual(ids(H.findNodesByRole(s, 'worker')), ['node2', 'node3']);
  t.deepEqual(ids(H.findNodesByRole(s, 'master')), ['node1']);
  t.deepEqual(H.findNodesByRole(s, 'nonexistent'), []);
  await s.close();
});

test('§6.3.6 findNodesWithGpu: gpu_count > 0 and gpu_available', async (t) => {
  const s = mem();
  for (const [id, gpu, avail] of [['node1', 0, false], ['node2', 2, true], ['node3', 4, true], ['node4', 2, false]] as const) {
    s.registerNode({ id, role: 'worker', resources: { gpu_count: gpu, gpu_available: avail } });
  }
  t.deepEqual(ids(H.findNodesWithGpu(s)), ['node2', 'node3']);
  await s.close();
});

test('§6.3.7 findTasksByStatus: pending gives task1 and task5', async (t) => {
  const s = mem();
  s.registerNode({ id: 'w', role: 'worker' });
  for (let i = 1; i <= 5; i++) s.addTask({ id: `task${i}`, type: 'process' });
  s.assignTask('task2', 'w');
  s.assignTask('task3', 'w');
  s.updateTask('task3', { status: 'running' });
  s.assignTask('task4', 'w');
  s.updateTask('task4', { status: 'completed' });
  t.deepEqual(ids(H.findTasksByStatus(s, 'pending')), ['task1', 'task5']);
  t.deepEqual(ids(H.findTasksByStatus(s, 'running')), ['task3']);
  await s.close();
});

test('§6.3.8 getClusterStatusSummary: nodes, resources, tasks and content totals from one read', async (t) => {
  const clock = manualClock(1_234_567_890_000);
  const s = ClusterState.inMemory({ clusterId: 'test-cluster', nodeId: 'master-node', clock: clock.fn });
  s.registerNode({ id: 'master-node', role: 'master', resources: { cpu_count: 4, gpu_count: 0, gpu_available: false, memory_total: 8 * GiB, memory_available: 4 * GiB } });
  s.registerNode({ id: 'worker1', role: 'worker', resources: { cpu_count: 8, gpu_count: 2, gpu_available: true, memory_total: 16 * GiB, memory_available: 8 * GiB } });
  s.registerNode({ id: 'worker2', role: 'worker', status: 'offline', resources: { cpu_count: 8, gpu_count: 2, gpu_available: false, memory_total: 16 * GiB, memory_available: 0 } });
  for (const id of ['t-pending', 't-assigned', 't-running', 't-completed', 't-failed']) s.addTask({ id, type: 'process' });
  s.assignTask('t-assigned', 'worker1');
  for (const [id, to] of [['t-running', 'running'], ['t-completed', 'completed'], ['t-failed', 'failed']] as const) {
    s.assignTask(id, 'worker1');
    s.updateTask(id, { status: 'running' });
    if (to !== 'running') s.updateTask(id, { status: to });
  }
  s.addContent({ cid: 'QmOne', size: '1GiB' });
  s.addContent({ cid: 'QmTwo', size: '2GiB' });
  clock.advance(5000);
  s.heartbeat('worker1');
  const src = counting(s);
  t.deepEqual(H.getClusterStatusSummary(src), {
    cluster_id: 'test-cluster',
    master_id: 'master-node',
    updated_at: 1_234_567_895_000, // epoch ms, UTC (the original converted through local time)
    nodes: { total: 3, active: 2, by_role: { master: 1, worker: 2, leecher: 0 } },
    resources: { cpu_cores: 20, gpu_cores: { total: 4, available: 2 }, memory_gb: { total: 40, available: 12 } },
    tasks: { total: 5, by_status: { pending: 1, assigned: 1, running: 1, completed: 1, failed: 1, cancelled: 0 } },
    content: { total: 2, total_size_gb: 3 },
  });
  t.is(src.reads, 1, 'one snapshot for the whole summary (the original read its file four times)');
  await s.close();
});

test('§6.3.9 findTasksByResourceRequirements: tasks needing at least the given resources', async (t) => {
  const s = mem();
  s.addTask({ id: 'task1', type: 'process', resources: { cpu_cores: 2, gpu_cores: 0, memory_mb: 512 } });
  s.addTask({ id: 'task2', type: 'process', resources: { cpu_cores: 4, gpu_cores: 1, memory_mb: 1024 } });
  s.addTask({ id: 'task3', type: 'process', resources: { cpu_cores: 8, gpu_cores: 2, memory_mb: 4096 } });
  s.addTask({ id: 'task4', type: 'process' });
  t.deepEqual(ids(H.findTasksByResourceRequirements(s, { cpu_cores: 4 })), ['task2', 'task3']);
  t.deepEqual(ids(H.findTasksByResourceRequirements(s, { gpu_cores: 1 })), ['task2', 'task3']);
  t.deepEqual(ids(H.findTasksByResourceRequirements(s, { memory_mb: 2048 })), ['task3']);
  t.deepEqual(ids(H.findTasksByResourceRequirements(s, { cpu_cores: 4, gpu_cores: 2, memory_mb: 4000 })), ['task3']);
  t.deepEqual(ids(H.findTasksByResourceRequirements(s, { cpu_cores: 16 })), []);
  // Friendly forms, and no filter = every task that states a requirement (task4 states none).
  t.deepEqual(ids(H.findTasksByResourceRequirements(s, { cpu: 4, memory: '1GiB' })), ['task2', 'task3']);
  t.deepEqual(ids(H.findTasksByResourceRequirements(s)), ['task1', 'task2', 'task3']);
  await s.close();
});

test('§6.3.10 findAvailableNodeForTask: worker1 (0.6) beats worker2 (0.5); not pending or too big → null', async (t) => {
  const s = mem();
  s.addTask({ id: 'task1', type: 'process', resources: { cpu_cores: 4, gpu_cores: 1, memory_mb: 1024 } });
  s.registerNode({ id: 'worker1', role: 'worker', resources: { cpu_count: 8, cpu_load: 25, gpu_count: 2, gpu_available: true, memory_total: 16 * GiB, memory_available: 8 * GiB } });
  s.registerNode({ id: 'worker2', role: 'worker', resources: { cpu_count: 4, cpu_load: 50, gpu_count: 1, gpu_available: true, memory_total: 8 * GiB, memory_available: 4 * GiB } });
  s.registerNode({ id: 'worker3', role: 'worker', status: 'offline', resources: { cpu_count: 16, gpu_count: 4, gpu_available: true, memory_total: 32 * GiB, memory_available: 32 * GiB } });
  s.registerNode({ id: 'worker4', role: 'worker', resources: { cpu_count: 2, gpu_count: 0, gpu_available: false, memory_total: 4 * GiB, memory_available: 2 * GiB } });
  const src = counting(s);
  t.is(H.findAvailableNodeForTask(src, 'task1')!.id, 'worker1');
  t.is(src.reads, 1, 'one read (the original read the task and the workers separately)');
  t.true(Math.abs(H.placementScore(25, 8 * GiB, 16 * GiB, 8, 0) - 0.6) < 1e-12);
  t.true(Math.abs(H.placementScore(50, 4 * GiB, 8 * GiB, 4, 0) - 0.5) < 1e-12);
  t.deepEqual(H.findAvailableNodeForTask(s, 'task1'), s.getNode('worker1'));
  s.assignTask('task1', 'worker2');
  t.is(H.findAvailableNodeForTask(s, 'task1'), null, 'assigned: no placement');
  s.updateTask('task1', { status: 'pending', resources: { cpu_cores: 32, gpu_cores: 1, memory_mb: 1024 } });
  t.is(H.findAvailableNodeForTask(s, 'task1'), null, '32 cores: nobody fits');
  t.is(H.findAvailableNodeForTask(s, 'no-such-task'), null);
  // The seed's call with requirements instead of a task id.
  t.is(H.findAvailableNodeForTask(s.getState(), { cpu: 2, memory: '4GB' })!.id, 'worker1');
  await s.close();
});

test('§6.3.11 getTaskExecutionMetrics: counts, completion rate 2/3, mean execution 75 s, types; no tasks → same keys', async (t) => {
  const clock = manualClock();
  const s = ClusterState.inMemory({ clusterId: 'test-cluster', clock: clock.fn });
  t.deepEqual(H.getTaskExecutionMetrics(s), {
    total_tasks: 0, completed_tasks: 0, failed_tasks: 0, pending_tasks: 0, running_tasks: 0,
    completion_rate: 0, average_execution_time: 0, task_types: {},
  }, 'no tasks: the same keys as otherwise (the original dropped three)');
  s.registerNode({ id: 'w', role: 'worker' });
  const now = clock.now + 1_000_000;
  const run = (id: string, type: string, from: number, to: number) => {
    s.addTask({ id, type });
    s.assignTask(id, 'w');
    clock.now = now - from * 1000;
    s.updateTask(id, { status: 'running' });
    clock.now = now - to * 1000;
    s.updateTask(id, { status: 'completed' });
  };
  run('task1', 'process', 100, 50);
  run('task2', 'process', 200, 100);
  s.addTask({ id: 'task3', type: 'analyze' });
  s.assignTask('task3', 'w');
  s.updateTask('task3', { status: 'failed' });
  s.addTask({ id: 'task4', type: 'analyze' });
  s.addTask({ id: 'task5', type: 'transfer' });
  s.assignTask('task5', 'w');
  s.updateTask('task5', { status: 'running' });
  const m = H.getTaskExecutionMetrics(s);
  t.is(m.total_tasks, 5);
  t.is(m.completed_tasks, 2);
  t.is(m.failed_tasks, 1);
  t.is(m.pending_tasks, 1);
  t.is(m.running_tasks, 1);
  t.is(Math.round(m.completion_rate * 100) / 100, 0.67);
  t.is(m.average_execution_time, 75);
  t.deepEqual(m.task_types, { process: 2, analyze: 2, transfer: 1 });
  await s.close();
});

test('§6.3.12 / §6.5 findOrphanedContent: exactly cid2 and cid5; no content → []', async (t) => {
  const s = mem();
  t.deepEqual(H.findOrphanedContent(s), []);
  s.registerNode({ id: 'w', role: 'worker' });
  for (let i = 1; i <= 5; i++) s.addContent({ cid: `cid${i}`, size: 1024 });
  s.addTask({ id: 'task1', type: 'process', input_cid: 'cid1', output_cid: 'cid2' });
  s.addTask({ id: 'task2', type: 'process', input_cids: ['cid3'] });
  s.addTask({ id: 'task3', type: 'process', output_cids: ['cid4'] });
  s.assignTask('task3', 'w');
  s.updateTask('task3', { status: 'completed' });
  t.deepEqual(H.findOrphanedContent(s).map((c) => c.cid), ['cid2', 'cid5']);
  await s.close();
});

test('§6.3.13 estimateTimeToCompletion: running ≈ 50, pending 100, completed 0, unique type null, one read each', async (t) => {
  const clock = manualClock();
  const s = ClusterState.inMemory({ clusterId: 'test-cluster', clock: clock.fn });
  s.registerNode({ id: 'w', role: 'worker' });
  const base = clock.now;
  [100, 120, 80].forEach((d, k) => {
    const id = `hist${k}`;
    s.addTask({ id, type: 'process' });
    s.assignTask(id, 'w');
    clock.now = base + k * 1_000_000;
    s.updateTask(id, { status: 'running' });
    clock.now += d * 1000;
    s.updateTask(id, { status: 'completed' });
  });
  clock.now = base + 10_000_000;
  s.addTask({ id: 'task1', type: 'process' });
  s.assignTask('task1', 'w');
  s.updateTask('task1', { status: 'running' });
  const now = clock.now + 50_000; // started 50 s ago
  const src = counting(s);
  t.is(H.estimateTimeToCompletion(src, 'task1', { now }), 50);
  t.is(src.reads, 1);
  const wall = H.estimateTimeToCompletion(s, 'task1')!; // against the wall clock: already overdue
  t.true(wall >= 0 && wall <= 50);
  s.updateTask('task1', { status: 'pending' }); // requeued: started_at cleared
  t.is(s.getTask('task1')!.started_at, null);
  t.is(H.estimateTimeToCompletion(s, 'task1', { now }), 100);
  s.assignTask('task1', 'w');
  s.updateTask('task1', { status: 'completed' });
  t.is(H.estimateTimeToCompletion(s, 'task1', { now }), 0);
  s.addTask({ id: 'lonely', type: 'unique_type' });
  t.is(H.estimateTimeToCompletion(s, 'lonely', { now }), null);
  t.is(H.estimateTimeToCompletion(s, 'missing', { now }), null);
  await s.close();
});

test('§6.3.14 / §6.5 getNetworkTopology: three nodes, three undirected links', async (t) => {
  const s = mem();
  s.registerNode({ id: 'node1', role: 'master', peers: ['node2', 'node3'], resources: { cpu: 8, memory: '16GiB' } });
  s.registerNode({ id: 'node2', role: 'worker', peers: ['node1', 'node3'] });
  s.registerNode({ id: 'node3', role: 'worker', status: 'offline', peers: ['node1', 'node2'] });
  const topo = H.getNetworkTopology(s);
  t.is(topo.nodes.length, 3);
  t.deepEqual(topo.nodes[0], { id: 'node1', role: 'master', status: 'online', resources: { cpu_count: 8, memory_gb: 16, gpu_count: null } });
  t.deepEqual(topo.connections, [{ source: 'node1', target: 'node2' }, { source: 'node1', target: 'node3' }, { source: 'node2', target: 'node3' }]);
  await s.close();
});

test('§6.3.15 exportStateToJson: true, real JSON with the counts; a missing state throws instead of returning false', async (t) => {
  const s = mem();
  s.registerNode({ id: 'n1', role: 'master' });
  s.registerNode({ id: 'n2', role: 'worker' });
  s.addTask({ id: 't1', type: 'process', payload: { cid: 'QmTest' } });
  s.addContent({ cid: 'QmC', size: 2048, providers: ['n1'] });
  const out = join(tempDir(t), 'state.json');
  t.true(H.exportStateToJson(s, out));
  const json = JSON.parse(readFileSync(out, 'utf8'));
  t.is(json.cluster_id, 'test-cluster');
  t.is(json.nodes.length, 2);
  t.is(json.tasks.length, 1);
  t.is(json.content.length, 1);
  t.deepEqual(json.tasks[0].payload, { cid: 'QmTest' }, 'a JSON value, not the repr of an array');
  t.true(Array.isArray(json.content[0].providers));
  t.throws(() => H.exportStateToJson(join(tempDir(t), 'none'), join(tempDir(t), 'x.json')), { instanceOf: StateError, message: /^NOT_FOUND/ });
  await s.close();
});

test('§6.3.16-18 the fixture-based vectors: nodes in order, workers by status, metrics of five tasks', async (t) => {
  const clock = manualClock();
  const s = ClusterState.inMemory({ clusterId: 'test-cluster', clock: clock.fn });
  s.registerNode({ id: 'master1', role: 'master' });
  s.registerNode({ id: 'worker1', role: 'worker' });
  s.registerNode({ id: 'worker2', role: 'worker', status: 'offline' });
  const all = H.getAllNodes(s);
  t.is(all.length, 3);
  t.is(all[0]!.id, 'master1');
  t.is(all[0]!.role, 'master');
  t.is(all[1]!.id, 'worker1');
  t.is(all[2]!.status, 'offline');
  s.registerNode({ id: 'worker3', role: 'worker' });
  const workers = H.findNodesByRole(s, 'worker');
  t.is(workers.length, 3);
  t.is(workers.filter((n) => n.status === 'online').length, 2);
  const t0 = clock.now;
  const done = (id: string, type: string, seconds: number) => {
    s.addTask({ id, type });
    s.assignTask(id, 'worker1');
    s.updateTask(id, { status: 'running' });
    clock.now += seconds * 1000;
    s.updateTask(id, { status: 'completed' });
  };
  done('a', 'model_training', 200);
  done('b', 'embedding_generation', 150);
  s.addTask({ id: 'c', type: 'model_training' });
  s.assignTask('c', 'worker1');
  s.updateTask('c', { status: 'running' });
  s.addTask({ id: 'd', type: 'model_training' });
  s.addTask({ id: 'e', type: 'embedding_generation' });
  s.assignTask('e', 'worker1');
  s.updateTask('e', { status: 'failed' });
  const m = H.getTaskExecutionMetrics(s);
  t.deepEqual([m.completed_tasks, m.running_tasks, m.pending_tasks, m.failed_tasks], [2, 1, 1, 1]);
  t.is(m.completion_rate, 2 / 3);
  t.is(m.average_execution_time, 175);
  t.deepEqual(m.task_types, { model_training: 3, embedding_generation: 2 });
  t.true(clock.now > t0);
  await s.close();
});
