// Bad-input cases: malformed ids for every mutation, unknown ids, duplicate ids.
import { any, type Case, content, LONG_ID, node, q, task } from './support.js';

export const cases: Case[] = [
  // ── malformed ids, for every mutation ──
  { name: 'registerNode: empty id', op: (s) => s.registerNode(node({ id: '' })), code: 'INVALID_ARGUMENT', msg: ['node.id', '""'] },
  { name: 'registerNode: numeric id', op: (s) => s.registerNode(node({ id: 42 })), code: 'INVALID_ARGUMENT', msg: ['node.id', 'got 42'] },
  { name: 'registerNode: null id', op: (s) => s.registerNode(node({ id: null })), code: 'INVALID_ARGUMENT', msg: ['node.id', 'got null'] },
  { name: 'registerNode: missing id', op: (s) => s.registerNode(any({ role: 'worker' })), code: 'INVALID_ARGUMENT', msg: ['node.id', 'got undefined'] },
  { name: 'registerNode: id with NUL', op: (s) => s.registerNode(node({ id: 'n\u0000x' })), code: 'INVALID_ARGUMENT', msg: q('n\u0000x') },
  { name: 'registerNode: id with newline', op: (s) => s.registerNode(node({ id: 'n\nx' })), code: 'INVALID_ARGUMENT', msg: q('n\nx') },
  { name: 'registerNode: id with DEL', op: (s) => s.registerNode(node({ id: 'n\u007f' })), code: 'INVALID_ARGUMENT', msg: '"n\\u007f"' /* messages escape control characters */ },
  { name: 'registerNode: id with C1 control (NEL)', op: (s) => s.registerNode(node({ id: 'n\u0085x' })), code: 'INVALID_ARGUMENT', msg: 'node.id' },
  { name: 'registerNode: leading whitespace', op: (s) => s.registerNode(node({ id: ' n-new' })), code: 'INVALID_ARGUMENT', msg: q(' n-new') },
  { name: 'registerNode: trailing whitespace', op: (s) => s.registerNode(node({ id: 'n-new ' })), code: 'INVALID_ARGUMENT', msg: q('n-new ') },
  { name: 'registerNode: leading no-break space', op: (s) => s.registerNode(node({ id: '\u00a0n' })), code: 'INVALID_ARGUMENT', msg: 'node.id' },
  { name: 'registerNode: lone high surrogate', op: (s) => s.registerNode(node({ id: 'n\ud800' })), code: 'INVALID_ARGUMENT', msg: '\\ud800' },
  { name: 'registerNode: lone low surrogate', op: (s) => s.registerNode(node({ id: '\udc00n' })), code: 'INVALID_ARGUMENT', msg: '\\udc00' },
  { name: 'registerNode: reversed surrogate pair', op: (s) => s.registerNode(node({ id: 'x\udc00\ud800y' })), code: 'INVALID_ARGUMENT', msg: '\\udc00' },
  { name: 'registerNode: id over 512 characters', op: (s) => s.registerNode(node({ id: LONG_ID })), code: 'INVALID_ARGUMENT', msg: ['node.id', `"${'a'.repeat(60)}`] },
  { name: 'registerNode: object as id', op: (s) => s.registerNode(node({ id: { id: 'w1' } })), code: 'INVALID_ARGUMENT', msg: q({ id: 'w1' }) },
  { name: 'updateNode: empty id', op: (s) => s.updateNode('', {}), code: 'INVALID_ARGUMENT', msg: ['node id', '""'] },
  { name: 'updateNode: known id with a leading space is not looked up', op: (s) => s.updateNode(' w1', {}), code: 'INVALID_ARGUMENT', msg: q(' w1') },
  { name: 'updateNodeStatus: id with NUL', op: (s) => s.updateNodeStatus('w1\u0000', 'online'), code: 'INVALID_ARGUMENT', msg: q('w1\u0000') },
  { name: 'heartbeat: lone surrogate id', op: (s) => s.heartbeat('w1\udfff'), code: 'INVALID_ARGUMENT', msg: '\\udfff' },
  { name: 'heartbeat: non-string id', op: (s) => s.heartbeat(any(7)), code: 'INVALID_ARGUMENT', msg: 'got 7' },
  { name: 'removeNode: array as id', op: (s) => s.removeNode(any(['w1'])), code: 'INVALID_ARGUMENT', msg: q(['w1']) },
  { name: 'addTask: empty id', op: (s) => s.addTask(task({ id: '' })), code: 'INVALID_ARGUMENT', msg: ['task.id', '""'] },
  { name: 'addTask: id with tab', op: (s) => s.addTask(task({ id: 't\tnew' })), code: 'INVALID_ARGUMENT', msg: q('t\tnew') },
  { name: 'addTask: id with line separator at the end', op: (s) => s.addTask(task({ id: 't-new\u2028' })), code: 'INVALID_ARGUMENT', msg: 'task.id' },
  { name: 'addTask: empty type', op: (s) => s.addTask(task({ type: '' })), code: 'INVALID_ARGUMENT', msg: ['task.type', '""'] },
  { name: 'addTask: type with leading space', op: (s) => s.addTask(task({ type: ' process' })), code: 'INVALID_ARGUMENT', msg: q(' process') },
  { name: 'addTask: null type', op: (s) => s.addTask(task({ type: null })), code: 'INVALID_ARGUMENT', msg: ['task.type', 'got null'] },
  { name: 'assignTask: null task id', op: (s) => s.assignTask(any(null), 'w1'), code: 'INVALID_ARGUMENT', msg: ['task id', 'got null'] },
  { name: 'assignTask: node id with trailing tab', op: (s) => s.assignTask('t-pending', 'w1\t'), code: 'INVALID_ARGUMENT', msg: q('w1\t') },
  { name: 'updateTask: over-long id', op: (s) => s.updateTask('t'.repeat(600), { priority: 1 }), code: 'INVALID_ARGUMENT', msg: `"${'t'.repeat(60)}` },
  { name: 'removeTask: undefined id', op: (s) => s.removeTask(any(undefined)), code: 'INVALID_ARGUMENT', msg: ['task id', 'got undefined'] },
  { name: 'addContent: empty cid', op: (s) => s.addContent(content({ cid: '' })), code: 'INVALID_ARGUMENT', msg: ['content.cid', '""'] },
  { name: 'addContent: cid with BEL', op: (s) => s.addContent(content({ cid: 'Qm\u0007' })), code: 'INVALID_ARGUMENT', msg: q('Qm\u0007') },
  { name: 'updateContent: cid with leading space', op: (s) => s.updateContent(' c1', { pinned: false }), code: 'INVALID_ARGUMENT', msg: q(' c1') },
  { name: 'addProvider: empty node id', op: (s) => s.addProvider('c2', ''), code: 'INVALID_ARGUMENT', msg: ['provider node id', '""'] },
  { name: 'removeProvider: node id with newline', op: (s) => s.removeProvider('c1', 'w1\n'), code: 'INVALID_ARGUMENT', msg: q('w1\n') },
  { name: 'removeContent: numeric cid', op: (s) => s.removeContent(any(1)), code: 'INVALID_ARGUMENT', msg: ['cid', 'got 1'] },

  // ── unknown ids ──
  { name: 'updateNode: unknown node', op: (s) => s.updateNode('ghost', { status: 'offline' }), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'updateNode: ids are case-sensitive', op: (s) => s.updateNode('W1', {}), code: 'NOT_FOUND', msg: q('W1') },
  { name: 'updateNodeStatus: unknown node', op: (s) => s.updateNodeStatus('ghost', 'offline'), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'heartbeat: unknown node', op: (s) => s.heartbeat('ghost', { cpu_load: 5 }), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'removeNode: unknown node', op: (s) => s.removeNode('ghost'), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'removeNode: unknown node even with requeue', op: (s) => s.removeNode('n-new', { requeue: true }), code: 'NOT_FOUND', msg: q('n-new') },
  { name: 'assignTask: unknown task', op: (s) => s.assignTask('ghost', 'w1'), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'assignTask: unknown node', op: (s) => s.assignTask('t-pending', 'ghost'), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'updateTask: unknown task', op: (s) => s.updateTask('ghost', { priority: 1 }), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'updateTask: assign to an unknown node', op: (s) => s.updateTask('t-pending', { status: 'assigned', assigned_to: 'ghost' }), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'updateTask: move an assigned task to an unknown node', op: (s) => s.updateTask('t-assigned', { assigned_to: 'ghost' }), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'removeTask: unknown task', op: (s) => s.removeTask('ghost'), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'updateContent: unknown cid', op: (s) => s.updateContent('ghost', { pinned: true }), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'updateContent: provider list naming an unknown node', op: (s) => s.updateContent('c1', { providers: ['w1', 'ghost'] }), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'addContent: provider that is not a registered node', op: (s) => s.addContent(content({ providers: ['w1', 'ghost'] })), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'addProvider: unknown cid', op: (s) => s.addProvider('ghost', 'w1'), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'addProvider: unknown node', op: (s) => s.addProvider('c1', 'ghost'), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'removeProvider: unknown cid', op: (s) => s.removeProvider('ghost', 'w1'), code: 'NOT_FOUND', msg: q('ghost') },
  { name: 'removeProvider: registered node that is not a provider', op: (s) => s.removeProvider('c2', 'w1'), code: 'NOT_FOUND', msg: [q('w1'), q('c2')] },
  { name: 'removeProvider: content without providers', op: (s) => s.removeProvider('c3', 'm1'), code: 'NOT_FOUND', msg: q('m1') },
  { name: 'removeContent: unknown cid', op: (s) => s.removeContent('ghost'), code: 'NOT_FOUND', msg: q('ghost') },

  // ── duplicates ──
  { name: 'addTask: id already taken (pending task)', op: (s) => s.addTask(task({ id: 't-pending' })), code: 'ALREADY_EXISTS', msg: q('t-pending') },
  { name: 'addTask: id of a finished task is still taken', op: (s) => s.addTask(task({ id: 't-completed', type: 'analyze' })), code: 'ALREADY_EXISTS', msg: q('t-completed') },
  {
    name: 'addTask: same new id twice in one transaction', code: 'ALREADY_EXISTS', msg: q('t-new'),
    op: (s) => s.transaction(() => {
      s.addTask(task({}));
      s.addTask(task({ type: 'analyze' }));
    }),
  },
  { name: 'addContent: cid already present', op: (s) => s.addContent(content({ cid: 'c1' })), code: 'ALREADY_EXISTS', msg: q('c1') },
  {
    name: 'addContent: same new cid twice in one transaction', code: 'ALREADY_EXISTS', msg: q('c-new'),
    op: (s) => s.transaction(() => {
      s.addContent(content({}));
      s.addContent(content({ size: 5 }));
    }),
  },
  { name: 'addProvider: node already a provider', op: (s) => s.addProvider('c1', 'w2'), code: 'ALREADY_EXISTS', msg: [q('w2'), q('c1')] },
];
