// Bad-input cases: transactions — functions that are not synchronous, failures after valid changes,
// nested and caught failures, reads that are refused inside a transaction.
import { StateError } from '../../../src/index.js';
import { any, type Case, content, q, task } from './support.js';

export const cases: Case[] = [
  // ── transactions ──
  { name: 'transaction: a number instead of a function', op: (s) => s.transaction(any(42)), code: 'INVALID_ARGUMENT', msg: ['transaction(fn)', 'got 42'] },
  { name: 'transaction: null instead of a function', op: (s) => s.transaction(any(null)), code: 'INVALID_ARGUMENT', msg: 'got null' },
  {
    name: 'transaction: an async function (its synchronous part is undone)', code: 'INVALID_ARGUMENT', msg: ['transaction(fn)', 'promise'],
    op: (s) => s.transaction(async (st) => {
      st.addTask(task({}));
      st.removeContent('c1');
    }),
  },
  {
    name: 'transaction: a function returning a thenable', code: 'INVALID_ARGUMENT', msg: 'promise',
    op: (s) => s.transaction((st) => {
      st.heartbeat('w1');
      return { then: () => undefined };
    }),
  },
  {
    name: 'transaction: valid changes, then an illegal assignment', code: 'INVALID_TRANSITION', msg: q('l1'),
    op: (s) => s.transaction((st) => {
      st.registerNode({ id: 'n-new', role: 'worker' });
      st.addTask(task({}));
      st.assignTask('t-new', 'n-new');
      st.updateTask('t-assigned', { status: 'running' });
      st.assignTask('t-pending', 'l1');
    }),
  },
  {
    name: 'transaction: master removed and nodes requeued, then a bad size', code: 'INVALID_ARGUMENT', msg: q('8 G B'),
    op: (s) => s.transaction((st) => {
      st.removeNode('m1');
      st.removeNode('w1', { requeue: true });
      st.removeContent('c2');
      st.updateContent('c1', { size: '8 G B' });
    }),
  },
  {
    name: 'transaction: a new master registered, then a duplicate provider', code: 'ALREADY_EXISTS', msg: q('w1'),
    op: (s) => s.transaction((st) => {
      st.updateNode('m1', { role: 'worker' });
      st.registerNode({ id: 'n-new', role: 'master' });
      st.addProvider('c2', 'w1');
      st.addProvider('c2', 'w1');
    }),
  },
  {
    name: 'transaction: a caught inner failure, then an uncaught one', code: 'NOT_FOUND', msg: q('ghost'),
    op: (s) => s.transaction((st) => {
      st.removeTask('t-completed');
      try {
        st.updateTask('t-cancelled', { status: 'pending' });
      } catch {
        // an expected refusal, handled
      }
      st.addTask(task({ id: 't-completed', type: 'analyze' }));
      st.removeProvider('c1', 'ghost');
    }),
  },
  {
    name: 'transaction: a nested transaction whose failure propagates', code: 'INVALID_TRANSITION', msg: q('t-completed'),
    op: (s) => s.transaction((outer) => {
      outer.heartbeat('w3', { cpu_load: 50 });
      outer.transaction((inner) => {
        inner.removeTask('t-failed');
        inner.assignTask('t-completed', 'w1');
      });
    }),
  },
  {
    name: 'transaction: getTables() inside a transaction', code: 'INVALID_ARGUMENT', msg: 'inside a transaction',
    op: (s) => s.transaction((st) => {
      st.addContent(content({}));
      st.getTables();
    }),
  },
  {
    name: 'transaction: getState() inside a transaction', code: 'INVALID_ARGUMENT', msg: 'inside a transaction',
    op: (s) => s.transaction((st) => {
      st.updateNodeStatus('w4', 'online');
      st.getState();
    }),
  },
  {
    name: 'transaction: removeTask, then re-adding it with a bad payload', code: 'INVALID_ARGUMENT', msg: 'task.payload',
    op: (s) => s.transaction((st) => {
      st.removeTask('t-pending');
      st.addTask({ id: 't-pending', type: 'process', payload: any({ when: new Date(0) }) });
    }),
  },
  {
    name: 'transaction: a StateError thrown by the function itself', code: 'NOT_FOUND', msg: q('custom-id'),
    op: (s) => s.transaction((st) => {
      st.updateContent('c3', { pinned: true, providers: ['w4'] });
      throw new StateError('NOT_FOUND', `no thing with id ${q('custom-id')}`);
    }),
  },
];
