// The piscina query pool (state.query): getters and counts run on worker threads and see every
// mutation made before them; close() stops the pool and later calls fail with CLOSED.
import test from 'ava';
import { ClusterState, StateError } from '../../src/index.js';
import { attachState } from '../../src/worker.js';

test('the query pool runs getters and counts on workers; close() stops it and later calls fail with CLOSED', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'pool', queryThreads: 2 });
  s.registerNode({ id: 'w', role: 'worker' });
  for (let i = 0; i < 100; i++) s.addTask({ id: `t${i}`, type: 'process' });
  s.assignTask('t5', 'w');
  t.deepEqual(await s.query('countTasksByStatus'), { pending: 99, assigned: 1 });
  t.deepEqual(await s.query('getTask', 't5'), s.getTask('t5'));
  t.is(await s.query('getNode', 'missing'), undefined);
  s.updateTask('t5', { status: 'running' });
  t.deepEqual(await s.query('countTasksByStatus'), { pending: 99, running: 1 }, 'a query sees every mutation made before it');
  const e = await t.throwsAsync(s.query('noSuchHelper'), { instanceOf: StateError });
  t.is(e!.code, 'INVALID_ARGUMENT');
  const reader = attachState(s.shared());
  await s.close();
  t.is((await t.throwsAsync(s.query('countTasksByStatus')))!.message.startsWith('CLOSED'), true);
  t.is(t.throws(() => s.addTask({ id: 'late', type: 'x' }))!.message.startsWith('CLOSED'), true);
  t.is(t.throws(() => reader.snapshot())!.message.startsWith('CLOSED'), true);
  await t.throwsAsync(s.published(), { message: /CLOSED/ });
});
