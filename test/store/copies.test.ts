// Records are values: what a mutation returns and what it was given are copies — changing them
// later does not change the state (an assumption of the model test).
import test from 'ava';
import { ClusterState } from '../../src/index.js';

test('records returned by mutations are copies: changing them does not change the state', async (t) => {
  let now = 1_000;
  const s = ClusterState.inMemory({ clusterId: 'copies', clock: () => (now += 1) });
  const n = s.registerNode({ id: 'w1', role: 'worker', peers: ['x'] });
  const task = s.addTask({ id: 't1', type: 'process', payload: { a: 1 } });
  const c = s.addContent({ cid: 'c1', size: 10 });
  const rev = s.revision;
  n.role = 'leecher';
  n.peers.push('w1');
  task.status = 'completed';
  (task.payload as { a: number }).a = 2;
  c.size = 99;
  t.is(s.revision, rev);
  t.is(s.getNode('w1')!.role, 'worker');
  t.deepEqual(s.getNode('w1')!.peers, ['x']);
  t.is(s.getTask('t1')!.status, 'pending');
  t.deepEqual(s.getTask('t1')!.payload, { a: 1 });
  t.is(s.getContent('c1')!.size, 10);
  await s.close();
});

test('mutation inputs are copied: changing them after the call does not change the state', async (t) => {
  let now = 1_000;
  const s = ClusterState.inMemory({ clusterId: 'inputs', clock: () => (now += 1) });
  const metadata = { zone: 'a' };
  const payload = { job: [1, 2] };
  const result = { ok: true };
  s.registerNode({ id: 'w1', role: 'worker', metadata });
  s.addTask({ id: 't1', type: 'process', payload });
  s.assignTask('t1', 'w1');
  s.updateTask('t1', { status: 'completed', result });
  const rev = s.revision;
  metadata.zone = 'b';
  payload.job.push(3);
  result.ok = false;
  t.is(s.revision, rev);
  t.deepEqual(s.getNode('w1')!.metadata, { zone: 'a' });
  t.deepEqual(s.getTask('t1')!.payload, { job: [1, 2] });
  t.deepEqual(s.getTask('t1')!.result, { ok: true });
  await s.close();
});
