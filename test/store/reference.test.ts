// The intended semantics of the Python original's tests (as the documentation of the Python project ipfs_kit_py describes them),
// written against our API.
import test from 'ava';
import { ClusterState, stateSchema } from '../../src/index.js';

const GiB = 2 ** 30;
const clock = () => {
  let t = 1_700_000_000_000;
  return () => (t += 1000);
};

test('schema creation: top-level columns and nested node/resources fields', (t) => {
  const s = stateSchema();
  t.deepEqual(s.fields.slice(0, 6).map((f) => f.name), ['cluster_id', 'master_id', 'updated_at', 'nodes', 'tasks', 'content']);
  t.is(String(s.fields[0]!.type), 'Utf8');
  t.is(String(s.fields[1]!.type), 'Utf8');
  t.is(String(s.fields[2]!.type), 'Timestamp<MILLISECOND>');
  const node = s.fields[3]!.type.children[0]!.type;
  const names = node.children.map((c: { name: string }) => c.name);
  for (const n of ['id', 'role', 'resources']) t.true(names.includes(n));
  const res = node.children.find((c: { name: string }) => c.name === 'resources')!.type;
  const rnames = res.children.map((c: { name: string }) => c.name);
  for (const n of ['cpu_count', 'memory_total', 'gpu_available']) t.true(rnames.includes(n));
});

test('an empty state: one row, the cluster id, empty lists, revision 0', (t) => {
  const s = ClusterState.inMemory({ clusterId: 'test-cluster', clock: clock() });
  const table = s.getState();
  t.true(table.schema.fields.every((f, i) => f.name === stateSchema().fields[i]!.name && String(f.type) === String(stateSchema().fields[i]!.type)));
  t.is(table.numRows, 1);
  t.is(table.getChild('cluster_id')!.get(0), 'test-cluster');
  t.is(table.getChild('master_id')!.get(0), null);
  for (const k of ['nodes', 'tasks', 'content']) t.is(table.getChild(k)!.get(0)!.length, 0);
  t.is(s.revision, 0);
  t.deepEqual(s.counts, { nodes: 0, tasks: 0, content: 0 });
});

test('registering a node with full resources stores every field', (t) => {
  const s = ClusterState.inMemory({ clusterId: 'test-cluster', clock: clock() });
  const resources = {
    cpu_count: 8, cpu_load: 20, memory_total: 16 * GiB, memory_available: 8 * GiB,
    disk_total: 500 * GiB, disk_available: 200 * GiB, gpu_count: 2, gpu_available: true,
  };
  s.registerNode({ id: 'worker-node-456', role: 'worker', address: '192.168.1.100', resources, capabilities: ['model_training', 'embedding_generation'] });
  const table = s.getState();
  t.is(table.getChild('cluster_id')!.get(0), 'test-cluster');
  const nodes = table.getChild('nodes')!.get(0)!;
  t.is(nodes.length, 1);
  const n = nodes.get(0)!.toJSON();
  t.is(n.id, 'worker-node-456');
  t.is(n.role, 'worker');
  t.is(n.address, '192.168.1.100');
  t.is(n.resources.toJSON().cpu_count, 8);
  t.is(n.resources.toJSON().memory_total, BigInt(17179869184));
  t.is(n.resources.toJSON().gpu_available, true);
  t.deepEqual([...n.capabilities], ['model_training', 'embedding_generation']);
  t.deepEqual(s.getNode('worker-node-456')!.resources, resources);
});

test('a task round-trips through the Arrow state with its id, type, status, priority and assignment', (t) => {
  const s = ClusterState.inMemory({ clusterId: 'test-cluster', nodeId: 'test-node-123', clock: clock() });
  s.registerNode({ id: 'test-node-123', role: 'master' });
  s.addTask({ id: 'task-1', type: 'model_training', priority: 5 });
  const task = s.getState().getChild('tasks')!.get(0)!.get(0)!.toJSON();
  t.is(task.id, 'task-1');
  t.is(task.type, 'model_training');
  t.is(task.status, 'pending');
  t.is(task.priority, 5);
  t.is(task.assigned_to, null);
  t.is(s.masterId, 'test-node-123');
});

test('assigning a task records the node and the status on the task', (t) => {
  const s = ClusterState.inMemory({ clusterId: 'test-cluster', clock: clock() });
  s.registerNode({ id: 'worker-1', role: 'worker', resources: { cpu: 4, memory: '8GB' } });
  s.addTask({ id: 'task-123', type: 'process', payload: { cid: 'QmTest', options: { format: 'json' } } });
  s.assignTask('task-123', 'worker-1');
  const task = s.getTask('task-123')!;
  t.is(task.assigned_to, 'worker-1');
  t.is(task.status, 'assigned');
  const tasks = s.getTables().tasks;
  const assigned = tasks.getChild('assigned_to')!.toArray() as string[];
  t.deepEqual(assigned, ['worker-1']);
});

test('the seeds\' flow: assign, then complete with a result; getTask returns the stored values', (t) => {
  const s = ClusterState.inMemory({ clusterId: 'test-cluster', clock: clock() });
  s.registerNode({ id: 'worker-1', role: 'worker', resources: { cpu: 4, memory: '8GB' }, metadata: { location: 'us-east' } });
  s.updateNodeStatus('worker-1', 'online');
  s.addTask({ id: 'task-123', type: 'process', payload: { cid: 'QmTest', options: { format: 'json' } } });
  s.assignTask('task-123', 'worker-1');
  const r = s.updateTask('task-123', { status: 'completed', result: { success: true, output_cid: 'QmOutput' } });
  t.is(r.status, 'completed');
  const task = s.getTask('task-123')!;
  t.deepEqual(task.result, { success: true, output_cid: 'QmOutput' });
  t.deepEqual(task.payload, { cid: 'QmTest', options: { format: 'json' } });
  t.is(task.attempts, 1);
  t.true(task.started_at !== null && task.completed_at !== null && task.completed_at >= task.started_at);
  t.deepEqual(s.getNode('worker-1')!.metadata, { location: 'us-east' });
  t.is(s.getNode('worker-1')!.resources.memory_total, 8e9);
});

test('node info by id returns the registered node; unknown ids give undefined', (t) => {
  const s = ClusterState.inMemory({ clusterId: 'test-cluster', clock: clock() });
  s.registerNode({ id: 'worker-node-456', role: 'worker' });
  const n = s.getNode('worker-node-456')!;
  t.is(n.id, 'worker-node-456');
  t.is(n.role, 'worker');
  t.is(n.status, 'online');
  t.is(s.getNode('nope'), undefined);
  t.is(s.getTask('nope'), undefined);
  t.is(s.getContent('nope'), undefined);
});

test('master_id follows the registered master and moves when it is removed or demoted', (t) => {
  const s = ClusterState.inMemory({ clusterId: 'c', clock: clock() });
  t.is(s.masterId, null);
  s.registerNode({ id: 'w', role: 'worker' });
  t.is(s.masterId, null);
  s.registerNode({ id: 'm1', role: 'master' });
  s.registerNode({ id: 'm2', role: 'master' });
  t.is(s.masterId, 'm1');
  s.removeNode('m1');
  t.is(s.masterId, 'm2');
  s.updateNode('m2', { role: 'worker' });
  t.is(s.masterId, null);
  s.updateNode('w', { role: 'master' });
  t.is(s.masterId, 'w');
  t.is(s.getState().getChild('master_id')!.get(0), 'w');
});

test('registerNode is an upsert that keeps assignments and merges resources', (t) => {
  const s = ClusterState.inMemory({ clusterId: 'c', clock: clock() });
  s.registerNode({ id: 'w', role: 'worker', resources: { cpu_count: 4, memory: '8GiB' }, capabilities: ['gpu'] });
  s.addTask({ id: 't', type: 'process' });
  s.assignTask('t', 'w');
  const before = s.getNode('w')!;
  s.registerNode({ id: 'w', role: 'worker', resources: { cpu_load: 50 } });
  const after = s.getNode('w')!;
  t.is(after.resources.cpu_count, 4);
  t.is(after.resources.cpu_load, 50);
  t.deepEqual(after.capabilities, ['gpu']);
  t.true(after.last_seen! > before.last_seen!);
  t.is(s.getTask('t')!.assigned_to, 'w');
  t.throws(() => s.removeNode('w'), { message: /1 task/ });
  s.removeNode('w', { requeue: true });
  t.is(s.getTask('t')!.status, 'pending');
  t.is(s.getTask('t')!.assigned_to, null);
});

test('revision counts committed changes and updated_at never goes back', (t) => {
  let now = 2_000_000_000_000;
  const s = ClusterState.inMemory({ clusterId: 'c', clock: () => now });
  s.registerNode({ id: 'a', role: 'worker' });
  t.is(s.revision, 1);
  now -= 5000; // the wall clock steps back
  s.registerNode({ id: 'b', role: 'worker' });
  t.is(s.revision, 2);
  t.is(s.updatedAt, 2_000_000_000_000);
  s.transaction(() => {
    s.addTask({ id: 't1', type: 'x' });
    s.addTask({ id: 't2', type: 'x' });
  });
  t.is(s.revision, 3);
  s.transaction(() => undefined);
  t.is(s.revision, 3, 'an empty transaction commits nothing');
});
