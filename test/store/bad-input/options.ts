// Bad-input cases: reads with malformed ids, options (unknown keys, the shared-memory bound), and
// exotic objects (revoked Proxies, throwing getters and traps, class instances, symbol keys).
import { ClusterState } from '../../../src/index.js';
import { any, type Case, content, node, q, revoked, task, Widget } from './support.js';

export const cases: Case[] = [
  // ── reads and options ──
  { name: 'getNode: malformed id', op: (s) => s.getNode('w1\u0000'), code: 'INVALID_ARGUMENT', msg: q('w1\u0000') },
  { name: 'getTask: non-string id', op: (s) => s.getTask(any({})), code: 'INVALID_ARGUMENT', msg: 'task id' },
  { name: 'inMemory: cluster id with trailing space', op: () => ClusterState.inMemory({ clusterId: 'c ' }), code: 'INVALID_ARGUMENT', msg: ['options.clusterId', q('c ')] },
  { name: 'inMemory: clock that is not a function', op: () => ClusterState.inMemory({ clusterId: 'c', clock: any(5) }), code: 'INVALID_ARGUMENT', msg: ['options.clock', 'got 5'] },

  // ── exotic objects: read once into a plain copy, their exceptions are INVALID_ARGUMENT ──
  { name: 'registerNode: a revoked Proxy as input', op: (s) => s.registerNode(revoked()), code: 'INVALID_ARGUMENT', msg: ['node must be a readable plain value', 'revoked'] },
  { name: 'updateNode: a revoked Proxy as patch', op: (s) => s.updateNode('w1', revoked()), code: 'INVALID_ARGUMENT', msg: ['patch must be a readable plain value', 'revoked'] },
  { name: 'heartbeat: a revoked Proxy as resources', op: (s) => s.heartbeat('w1', revoked()), code: 'INVALID_ARGUMENT', msg: 'resources must be a readable plain value' },
  { name: 'registerNode: a revoked Proxy as peers', op: (s) => s.registerNode(node({ peers: revoked() })), code: 'INVALID_ARGUMENT', msg: 'node.peers must be a readable plain value' },
  { name: 'addTask: a revoked Proxy nested in the payload', op: (s) => s.addTask(task({ payload: { a: [1, revoked()] } })), code: 'INVALID_ARGUMENT', msg: 'task.payload.a[1] must be a readable plain value' },
  { name: 'updateTask: a revoked Proxy as result', op: (s) => s.updateTask('t-running', { status: 'completed', result: revoked() }), code: 'INVALID_ARGUMENT', msg: 'patch.result' },
  { name: 'addContent: a revoked Proxy as providers', op: (s) => s.addContent(content({ providers: revoked() })), code: 'INVALID_ARGUMENT', msg: 'content.providers' },
  { name: 'updateContent: a revoked Proxy as patch', op: (s) => s.updateContent('c1', revoked()), code: 'INVALID_ARGUMENT', msg: 'patch must be a readable plain value' },
  { name: 'removeNode: a revoked Proxy as options', op: (s) => s.removeNode('w3', revoked()), code: 'INVALID_ARGUMENT', msg: 'options must be a readable plain value' },
  { name: 'transaction: a revoked Proxy after a valid change', op: (s) => s.transaction((st) => { st.heartbeat('w1'); st.addTask(revoked()); }), code: 'INVALID_ARGUMENT', msg: 'task must be a readable plain value' },
  { name: 'registerNode: a getter that throws', op: (s) => s.registerNode(any({ id: 'n-new', get role() { throw new Error('getter boom'); } })), code: 'INVALID_ARGUMENT', msg: ['node must be a readable plain value', 'getter boom'] },
  { name: 'addTask: a Proxy whose ownKeys trap throws', op: (s) => s.addTask(new Proxy({ id: 't-new', type: 'process' }, { ownKeys() { throw new RangeError('trap boom'); } }) as never), code: 'INVALID_ARGUMENT', msg: ['task must be a readable plain value', 'trap boom'] },
  { name: 'addTask: a Proxy whose getOwnPropertyDescriptor trap throws', op: (s) => s.addTask(task({ payload: new Proxy({ a: 1 }, { getOwnPropertyDescriptor() { throw new Error('gopd boom'); } }) })), code: 'INVALID_ARGUMENT', msg: ['task.payload', 'gopd boom'] },
  { name: 'registerNode: an array Proxy whose element getter throws', op: (s) => s.registerNode(node({ capabilities: new Proxy(['a'], { getOwnPropertyDescriptor(tg, k) { if (k === '0') throw new Error('element boom'); return Reflect.getOwnPropertyDescriptor(tg, k); } }) })), code: 'INVALID_ARGUMENT', msg: ['node.capabilities', 'element boom'] },
  { name: 'registerNode: a class instance as input', op: (s) => s.registerNode(any(new Widget())), code: 'INVALID_ARGUMENT', msg: ['node must be a plain object', 'class instance'] },
  { name: 'addContent: a symbol key in the input', op: (s) => s.addContent(content({ [Symbol('x')]: 1 })), code: 'INVALID_ARGUMENT', msg: ['content[Symbol(x)]', 'symbol keys'] },
  { name: 'updateTask: a non-enumerable field in the patch', op: (s) => s.updateTask('t-pending', Object.defineProperty({}, 'priority', { value: 3, enumerable: false }) as never), code: 'INVALID_ARGUMENT', msg: ['patch.priority', 'enumerable'] },

  // ── unknown option keys are errors, never ignored ──
  { name: 'removeNode: misspelt option', op: (s) => s.removeNode('w3', any({ reqeue: true })), code: 'INVALID_ARGUMENT', msg: ['options.reqeue', '"reqeue" is not an option', 'accepted: requeue'] },
  { name: 'inMemory: statePath (an open option) is refused, not ignored', op: () => ClusterState.inMemory(any({ clusterId: 'c', statePath: './x' })), code: 'INVALID_ARGUMENT', msg: ['options.statePath', '"statePath" is not an option', 'accepted: clusterId, nodeId, clock'] },
  { name: 'inMemory: misspelt option', op: () => ClusterState.inMemory(any({ clusterId: 'c', queryThread: 2 })), code: 'INVALID_ARGUMENT', msg: ['options.queryThread', 'queryThreads'] },
  { name: 'inMemory: a revoked Proxy as options', op: () => ClusterState.inMemory(revoked()), code: 'INVALID_ARGUMENT', msg: 'options must be a readable plain value' },

  // ── the shared-memory bound ──
  { name: 'inMemory: maxSharedBytes as text', op: () => ClusterState.inMemory({ clusterId: 'c', maxSharedBytes: any('abc') }), code: 'INVALID_ARGUMENT', msg: ['options.maxSharedBytes', '"abc"'] },
  { name: 'inMemory: negative maxSharedBytes', op: () => ClusterState.inMemory({ clusterId: 'c', maxSharedBytes: -1 }), code: 'INVALID_ARGUMENT', msg: ['options.maxSharedBytes', 'got -1'] },
  { name: 'inMemory: fractional maxSharedBytes', op: () => ClusterState.inMemory({ clusterId: 'c', maxSharedBytes: 1.5 }), code: 'INVALID_ARGUMENT', msg: ['options.maxSharedBytes', 'got 1.5'] },
  { name: 'inMemory: maxSharedBytes of 2^40', op: () => ClusterState.inMemory({ clusterId: 'c', maxSharedBytes: 2 ** 40 }), code: 'INVALID_ARGUMENT', msg: ['options.maxSharedBytes', `got ${2 ** 40}`, '4294967296'] },
  { name: 'inMemory: maxSharedBytes below initialSharedBytes', op: () => ClusterState.inMemory({ clusterId: 'c', initialSharedBytes: 4 << 20, maxSharedBytes: 2 << 20 }), code: 'INVALID_ARGUMENT', msg: ['options.maxSharedBytes', `got ${2 << 20}`, 'initialSharedBytes'] },
];
