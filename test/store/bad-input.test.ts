// Table-driven bad input: every case must throw a StateError with exactly the expected code,
// name the offending value in its message, and leave the revision and the whole state (the live
// records and the Arrow tables) exactly as they were.
import test from 'ava';
import { Vector, type Table } from 'apache-arrow';
import { ClusterState, StateError } from '../../src/index.js';

type Code = 'NOT_FOUND' | 'ALREADY_EXISTS' | 'INVALID_ARGUMENT' | 'INVALID_TRANSITION';

interface Case {
  name: string;
  op: (s: ClusterState) => unknown;
  code: Code;
  /** Substrings the message must contain (the offending value, rendered as the library shows it). */
  msg: string | string[];
}

const T0 = 1_700_000_000_000;

// ─────────────────────────── fixture ───────────────────────────

interface Fixture {
  s: ClusterState;
  tick: () => void;
}

/**
 * A master, two online workers, an offline worker (still holding an assigned task), a degraded
 * worker, a leecher; tasks in every status; content with providers.
 */
function populated(): Fixture {
  let now = T0;
  const s = ClusterState.inMemory({ clusterId: 'bad-input', clock: () => now });
  const tick = () => {
    now += 1000;
  };
  const step = (f: () => unknown) => {
    tick();
    f();
  };
  step(() => s.registerNode({ id: 'm1', role: 'master', address: '10.0.0.1', capabilities: ['schedule'] }));
  step(() => s.registerNode({
    id: 'w1', role: 'worker', peers: ['m1'], capabilities: ['cpu', 'pin'], metadata: { zone: 'a', rack: [1, 2] },
    resources: {
      cpu_count: 8, cpu_load: 10, gpu_count: 0, gpu_available: false,
      memory_total: '16GB', memory_available: '8GB', disk_total: '1TB', disk_available: '500GB',
    },
  }));
  step(() => s.registerNode({ id: 'w2', role: 'worker', peers: ['m1', 'w1'], resources: { cpu: 4, gpu: 2, memory: '8GiB' } }));
  step(() => s.registerNode({ id: 'w3', role: 'worker', resources: { cpu: 2 } }));
  step(() => s.registerNode({ id: 'w4', role: 'worker', status: 'degraded' }));
  step(() => s.registerNode({ id: 'l1', role: 'leecher', capabilities: ['fetch'] }));
  for (const id of ['t-pending', 't-assigned', 't-running', 't-completed', 't-failed', 't-cancelled', 't-stranded']) {
    step(() => s.addTask({ id, type: id === 't-running' ? 'model_training' : 'process', priority: 1, payload: { id }, input_cids: ['c1'] }));
  }
  step(() => s.assignTask('t-assigned', 'w1'));
  step(() => s.assignTask('t-running', 'w2'));
  step(() => s.updateTask('t-running', { status: 'running' }));
  step(() => s.assignTask('t-completed', 'w1'));
  step(() => s.updateTask('t-completed', { status: 'completed', result: { ok: true }, output_cid: 'c3' }));
  step(() => s.assignTask('t-failed', 'w2'));
  step(() => s.updateTask('t-failed', { status: 'running' }));
  step(() => s.updateTask('t-failed', { status: 'failed', error: 'boom' }));
  step(() => s.updateTask('t-cancelled', { status: 'cancelled' }));
  step(() => s.assignTask('t-stranded', 'w3'));
  step(() => s.updateNodeStatus('w3', 'offline'));
  step(() => s.addContent({ cid: 'c1', size: '1GiB', providers: ['w1', 'w2'], pinned: true, replication: 2 }));
  step(() => s.addContent({ cid: 'c2', size: 2048, providers: ['m1'] }));
  step(() => s.addContent({ cid: 'c3', size: '5MB' }));
  s.getState(); // materialize the setup
  return { s, tick };
}

// Every id that exists in the fixture, plus every id a case tries to create.
const NODE_IDS = ['m1', 'w1', 'w2', 'w3', 'w4', 'l1', 'n-new', 'ghost'];
const TASK_IDS = ['t-pending', 't-assigned', 't-running', 't-completed', 't-failed', 't-cancelled', 't-stranded', 't-new', 'ghost'];
const CIDS = ['c1', 'c2', 'c3', 'c-new', 'ghost'];

// ─────────────────────────── fingerprints ───────────────────────────

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Vector) return Array.from(v as Iterable<unknown>).map(plain);
  if (v && typeof v === 'object') {
    const o = v as { toJSON?: () => unknown };
    if (Array.isArray(v)) return v.map(plain);
    if (typeof o.toJSON === 'function') return plain(o.toJSON());
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

function tableRows(t: Table): unknown[] {
  return t.toArray().map((r) => plain(r));
}

/** What a case must not change: revision, master, counts, every record, the Arrow views. */
function fingerprint(s: ClusterState): string {
  const tables = s.getTables();
  const state = s.getState();
  return JSON.stringify({
    revision: s.revision,
    masterId: s.masterId,
    updatedAt: s.updatedAt,
    counts: s.counts,
    nodes: NODE_IDS.map((id) => s.getNode(id) ?? null),
    tasks: TASK_IDS.map((id) => s.getTask(id) ?? null),
    content: CIDS.map((id) => s.getContent(id) ?? null),
    tables: { nodes: tableRows(tables.nodes), tasks: tableRows(tables.tasks), content: tableRows(tables.content) },
    state: state.toArray().map((r) => plain(r)),
  });
}

/**
 * A valid change touching all three tables: applied after the failed call to the case's state
 * and to a fresh fixture, it forces every table to be re-encoded, so any change the failed call
 * leaked into the writer's buffers (behind the per-revision caches) shows up in the Arrow data.
 */
function probe(f: Fixture): void {
  f.tick();
  f.s.transaction((s) => {
    s.heartbeat('m1');
    s.updateTask('t-pending', { priority: 9 });
    s.updateContent('c3', { replication: 4 });
  });
}

// ─────────────────────────── helpers for the cases ───────────────────────────

const q = (v: unknown) => JSON.stringify(v);
const LONG_ID = 'a'.repeat(513);

class Widget {
  constructor(readonly size = 1) {}
}
function cyclic(): Record<string, unknown> {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
}
function deep(n: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < n; i++) v = [v];
  return v;
}
function namedFn() {
  return 1;
}
const node = (extra: Record<string, unknown>) => ({ id: 'n-new', role: 'worker', ...extra }) as never;
const task = (extra: Record<string, unknown>) => ({ id: 't-new', type: 'process', ...extra }) as never;
const content = (extra: Record<string, unknown>) => ({ cid: 'c-new', size: '1MB', ...extra }) as never;
const res = (resources: Record<string, unknown>) => node({ resources });
const tres = (resources: Record<string, unknown>) => task({ resources });
// Cast helper: deliberately wrong inputs.
const any = <T>(v: unknown) => v as T;
/** A revoked Proxy: every operation on it throws a TypeError. */
const revoked = <T = never>(): T => {
  const p = Proxy.revocable({}, {});
  p.revoke();
  return p.proxy as T;
};

// ─────────────────────────── the cases ───────────────────────────

const cases: Case[] = [
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

  // ── roles and statuses ──
  { name: 'registerNode: unknown role', op: (s) => s.registerNode(node({ role: 'boss' })), code: 'INVALID_ARGUMENT', msg: ['node.role', q('boss')] },
  { name: 'registerNode: role in the wrong case', op: (s) => s.registerNode(node({ role: 'Master' })), code: 'INVALID_ARGUMENT', msg: q('Master') },
  { name: 'registerNode: missing role', op: (s) => s.registerNode(any({ id: 'n-new' })), code: 'INVALID_ARGUMENT', msg: ['node.role', 'got undefined'] },
  { name: 'registerNode: unknown status', op: (s) => s.registerNode(node({ status: 'busy' })), code: 'INVALID_ARGUMENT', msg: ['node.status', q('busy')] },
  { name: 'registerNode (upsert): unknown status for an existing node', op: (s) => s.registerNode(any({ id: 'w1', role: 'worker', status: 'sleeping' })), code: 'INVALID_ARGUMENT', msg: q('sleeping') },
  { name: 'updateNode: unknown role', op: (s) => s.updateNode('w1', any({ role: 'admin' })), code: 'INVALID_ARGUMENT', msg: ['patch.role', q('admin')] },
  { name: 'updateNodeStatus: unknown status', op: (s) => s.updateNodeStatus('w1', any('busy')), code: 'INVALID_ARGUMENT', msg: q('busy') },
  { name: 'updateNodeStatus: null status', op: (s) => s.updateNodeStatus('w1', any(null)), code: 'INVALID_ARGUMENT', msg: 'got null' },
  { name: 'updateNodeStatus: missing status', op: (s) => s.updateNodeStatus('w1', any(undefined)), code: 'INVALID_ARGUMENT', msg: 'undefined' },
  { name: 'updateNodeStatus: a task status is not a node status', op: (s) => s.updateNodeStatus('w1', any('running')), code: 'INVALID_ARGUMENT', msg: q('running') },
  { name: 'updateTask: unknown status', op: (s) => s.updateTask('t-pending', any({ status: 'done' })), code: 'INVALID_ARGUMENT', msg: ['patch.status', q('done')] },
  { name: 'updateTask: status in the wrong case', op: (s) => s.updateTask('t-assigned', any({ status: 'RUNNING' })), code: 'INVALID_ARGUMENT', msg: q('RUNNING') },
  { name: 'updateTask: a node status is not a task status', op: (s) => s.updateTask('t-assigned', any({ status: 'online' })), code: 'INVALID_ARGUMENT', msg: q('online') },

  // ── unknown fields ──
  { name: 'registerNode: unknown field', op: (s) => s.registerNode(node({ name: 'x' })), code: 'INVALID_ARGUMENT', msg: ['node.name', q('x')] },
  { name: 'registerNode: camelCase field is not silently dropped', op: (s) => s.registerNode(node({ lastSeen: 5 })), code: 'INVALID_ARGUMENT', msg: 'node.lastSeen' },
  { name: 'registerNode: unknown resource field', op: (s) => s.registerNode(res({ cpus: 4 })), code: 'INVALID_ARGUMENT', msg: ['node.resources.cpus', 'got 4'] },
  { name: 'updateNode: id in a patch', op: (s) => s.updateNode('w1', any({ id: 'w9' })), code: 'INVALID_ARGUMENT', msg: ['patch.id', q('w9')] },
  { name: 'updateNode: last_seen in a patch', op: (s) => s.updateNode('w1', any({ last_seen: 5 })), code: 'INVALID_ARGUMENT', msg: 'patch.last_seen' },
  { name: 'updateNode: unknown resource field', op: (s) => s.updateNode('w1', any({ resources: { memory_used: 5 } })), code: 'INVALID_ARGUMENT', msg: 'patch.resources.memory_used' },
  { name: 'heartbeat: status is not a resource', op: (s) => s.heartbeat('w1', any({ status: 'online' })), code: 'INVALID_ARGUMENT', msg: ['resources.status', q('online')] },
  { name: 'addTask: status in a new task', op: (s) => s.addTask(task({ status: 'running' })), code: 'INVALID_ARGUMENT', msg: ['task.status', q('running')] },
  { name: 'addTask: assigned_to in a new task', op: (s) => s.addTask(task({ assigned_to: 'w1' })), code: 'INVALID_ARGUMENT', msg: 'task.assigned_to' },
  { name: 'addTask: unknown resource field', op: (s) => s.addTask(tres({ cores: 2 })), code: 'INVALID_ARGUMENT', msg: 'task.resources.cores' },
  { name: 'updateTask: attempts in a patch', op: (s) => s.updateTask('t-pending', any({ attempts: 3 })), code: 'INVALID_ARGUMENT', msg: ['patch.attempts', 'got 3'] },
  { name: 'updateTask: created_at in a patch', op: (s) => s.updateTask('t-running', any({ created_at: 0 })), code: 'INVALID_ARGUMENT', msg: 'patch.created_at' },
  { name: 'updateTask: node resource field in task resources', op: (s) => s.updateTask('t-pending', any({ resources: { cpu_count: 2 } })), code: 'INVALID_ARGUMENT', msg: 'patch.resources.cpu_count' },
  { name: 'addContent: unknown field', op: (s) => s.addContent(content({ owner: 'w1' })), code: 'INVALID_ARGUMENT', msg: ['content.owner', q('w1')] },
  { name: 'updateContent: cid in a patch', op: (s) => s.updateContent('c1', any({ cid: 'c9' })), code: 'INVALID_ARGUMENT', msg: ['patch.cid', q('c9')] },
  { name: 'updateContent: pinned_at in a patch', op: (s) => s.updateContent('c1', any({ pinned_at: 5 })), code: 'INVALID_ARGUMENT', msg: 'patch.pinned_at' },
  { name: 'removeNode: unknown option', op: (s) => s.removeNode('w4', any({ force: true })), code: 'INVALID_ARGUMENT', msg: ['options.force', 'true'] },

  // ── illegal transitions ──
  { name: 'updateTask: completing a pending task', op: (s) => s.updateTask('t-pending', { status: 'completed' }), code: 'INVALID_TRANSITION', msg: [q('t-pending'), q('completed')] },
  { name: 'updateTask: running a pending task', op: (s) => s.updateTask('t-pending', { status: 'running' }), code: 'INVALID_TRANSITION', msg: [q('pending'), q('running')] },
  { name: 'updateTask: failing a pending task', op: (s) => s.updateTask('t-pending', { status: 'failed', error: 'x' }), code: 'INVALID_TRANSITION', msg: q('failed') },
  { name: 'assignTask: to an offline node', op: (s) => s.assignTask('t-pending', 'w3'), code: 'INVALID_TRANSITION', msg: [q('w3'), 'offline'] },
  { name: 'assignTask: to a degraded node', op: (s) => s.assignTask('t-pending', 'w4'), code: 'INVALID_TRANSITION', msg: [q('w4'), 'degraded'] },
  { name: 'assignTask: to a leecher', op: (s) => s.assignTask('t-pending', 'l1'), code: 'INVALID_TRANSITION', msg: [q('l1'), 'leecher'] },
  { name: 'updateTask: assigning to a leecher', op: (s) => s.updateTask('t-pending', { status: 'assigned', assigned_to: 'l1' }), code: 'INVALID_TRANSITION', msg: q('l1') },
  { name: 'assignTask: moving an assigned task to an offline node', op: (s) => s.assignTask('t-assigned', 'w3'), code: 'INVALID_TRANSITION', msg: q('w3') },
  { name: 'updateTask: re-running a completed task', op: (s) => s.updateTask('t-completed', { status: 'running' }), code: 'INVALID_TRANSITION', msg: [q('t-completed'), 'final'] },
  { name: 'updateTask: requeueing a completed task', op: (s) => s.updateTask('t-completed', { status: 'pending' }), code: 'INVALID_TRANSITION', msg: q('completed') },
  { name: 'updateTask: failing a completed task', op: (s) => s.updateTask('t-completed', { status: 'failed' }), code: 'INVALID_TRANSITION', msg: q('failed') },
  { name: 'assignTask: a completed task', op: (s) => s.assignTask('t-completed', 'w2'), code: 'INVALID_TRANSITION', msg: q('t-completed') },
  { name: 'updateTask: moving a completed task to another node', op: (s) => s.updateTask('t-completed', { assigned_to: 'w2' }), code: 'INVALID_TRANSITION', msg: q('t-completed') },
  { name: 'assignTask: re-assigning a running task', op: (s) => s.assignTask('t-running', 'w1'), code: 'INVALID_TRANSITION', msg: [q('t-running'), q('running')] },
  { name: 'updateTask: moving a running task to another node', op: (s) => s.updateTask('t-running', { assigned_to: 'w1' }), code: 'INVALID_TRANSITION', msg: q('t-running') },
  { name: 'updateTask: running back to assigned', op: (s) => s.updateTask('t-running', { status: 'assigned', assigned_to: 'w1' }), code: 'INVALID_TRANSITION', msg: q('assigned') },
  { name: 'updateTask: cancelled → pending', op: (s) => s.updateTask('t-cancelled', { status: 'pending' }), code: 'INVALID_TRANSITION', msg: [q('t-cancelled'), 'final'] },
  { name: 'updateTask: cancelled → assigned', op: (s) => s.updateTask('t-cancelled', { status: 'assigned', assigned_to: 'w1' }), code: 'INVALID_TRANSITION', msg: q('cancelled') },
  { name: 'updateTask: cancelled → running', op: (s) => s.updateTask('t-cancelled', { status: 'running' }), code: 'INVALID_TRANSITION', msg: q('cancelled') },
  { name: 'updateTask: cancelled → completed', op: (s) => s.updateTask('t-cancelled', { status: 'completed', result: 1 }), code: 'INVALID_TRANSITION', msg: q('cancelled') },
  { name: 'updateTask: cancelled → failed', op: (s) => s.updateTask('t-cancelled', { status: 'failed' }), code: 'INVALID_TRANSITION', msg: q('cancelled') },
  { name: 'assignTask: a cancelled task', op: (s) => s.assignTask('t-cancelled', 'w1'), code: 'INVALID_TRANSITION', msg: q('t-cancelled') },
  { name: 'updateTask: failed → running (must be requeued first)', op: (s) => s.updateTask('t-failed', { status: 'running' }), code: 'INVALID_TRANSITION', msg: [q('failed'), 'pending'] },
  { name: 'updateTask: failed → cancelled', op: (s) => s.updateTask('t-failed', { status: 'cancelled' }), code: 'INVALID_TRANSITION', msg: q('cancelled') },
  { name: 'assignTask: a failed task', op: (s) => s.assignTask('t-failed', 'w1'), code: 'INVALID_TRANSITION', msg: q('t-failed') },
  { name: 'updateNode: demoting a node with an assigned task to leecher', op: (s) => s.updateNode('w1', { role: 'leecher' }), code: 'INVALID_TRANSITION', msg: [q('w1'), q('leecher')] },
  { name: 'registerNode (upsert): demoting a node with a running task to leecher', op: (s) => s.registerNode({ id: 'w2', role: 'leecher' }), code: 'INVALID_TRANSITION', msg: [q('w2'), q('leecher')] },
  { name: 'updateNode: demoting an offline node that still holds a task', op: (s) => s.updateNode('w3', { role: 'leecher', status: 'online' }), code: 'INVALID_TRANSITION', msg: q('w3') },
  { name: 'removeNode: node with an assigned task', op: (s) => s.removeNode('w1'), code: 'INVALID_TRANSITION', msg: [q('w1'), 't-assigned', 'requeue'] },
  { name: 'removeNode: node with a running task', op: (s) => s.removeNode('w2'), code: 'INVALID_TRANSITION', msg: [q('w2'), 't-running'] },
  { name: 'removeNode: offline node still holding a task', op: (s) => s.removeNode('w3'), code: 'INVALID_TRANSITION', msg: 't-stranded' },
  { name: 'removeNode: requeue: false refuses too', op: (s) => s.removeNode('w1', { requeue: false }), code: 'INVALID_TRANSITION', msg: q('w1') },

  // ── assignment arguments that contradict the status ──
  { name: 'updateTask: assigned without a node', op: (s) => s.updateTask('t-pending', { status: 'assigned' }), code: 'INVALID_ARGUMENT', msg: ['patch.assigned_to', 'null'] },
  { name: 'updateTask: assigned with a null node', op: (s) => s.updateTask('t-assigned', { status: 'assigned', assigned_to: null }), code: 'INVALID_ARGUMENT', msg: 'patch.assigned_to' },
  { name: 'updateTask: pending with a node', op: (s) => s.updateTask('t-assigned', { status: 'pending', assigned_to: 'w2' }), code: 'INVALID_ARGUMENT', msg: ['patch.assigned_to', q('w2')] },
  { name: 'updateTask: a node for a pending task without a status', op: (s) => s.updateTask('t-pending', { assigned_to: 'w1' }), code: 'INVALID_ARGUMENT', msg: q('w1') },
  { name: 'updateTask: numeric assigned_to', op: (s) => s.updateTask('t-assigned', any({ assigned_to: 5 })), code: 'INVALID_ARGUMENT', msg: ['patch.assigned_to', 'got 5'] },

  // ── numbers ──
  { name: 'cpu_count negative', op: (s) => s.registerNode(res({ cpu_count: -1 })), code: 'INVALID_ARGUMENT', msg: ['cpu_count', 'got -1'] },
  { name: 'cpu_count 2**31 overflows int32', op: (s) => s.registerNode(res({ cpu_count: 2 ** 31 })), code: 'INVALID_ARGUMENT', msg: ['cpu_count', String(2 ** 31)] },
  { name: 'cpu (friendly) fractional', op: (s) => s.registerNode(res({ cpu: 1.5 })), code: 'INVALID_ARGUMENT', msg: 'got 1.5' },
  { name: 'cpu_count NaN', op: (s) => s.updateNode('w1', { resources: { cpu_count: NaN } }), code: 'INVALID_ARGUMENT', msg: 'got NaN' },
  { name: 'cpu_count Infinity', op: (s) => s.heartbeat('w2', { cpu_count: Infinity }), code: 'INVALID_ARGUMENT', msg: 'got Infinity' },
  { name: 'cpu_count as a string', op: (s) => s.registerNode(res({ cpu_count: '4' })), code: 'INVALID_ARGUMENT', msg: q('4') },
  { name: 'gpu_count negative', op: (s) => s.registerNode(res({ gpu_count: -2 })), code: 'INVALID_ARGUMENT', msg: ['gpu_count', 'got -2'] },
  { name: 'cpu_load above 100', op: (s) => s.heartbeat('w1', { cpu_load: 100.5 }), code: 'INVALID_ARGUMENT', msg: ['cpu_load', '100.5'] },
  { name: 'cpu_load below 0', op: (s) => s.heartbeat('w1', { cpu_load: -0.1 }), code: 'INVALID_ARGUMENT', msg: '-0.1' },
  { name: 'cpu_load NaN', op: (s) => s.registerNode(res({ cpu_load: NaN })), code: 'INVALID_ARGUMENT', msg: ['cpu_load', 'NaN'] },
  { name: 'cpu_load -Infinity', op: (s) => s.updateNode('w2', { resources: { cpu_load: -Infinity } }), code: 'INVALID_ARGUMENT', msg: '-Infinity' },
  { name: 'priority 2**31 overflows int32', op: (s) => s.addTask(task({ priority: 2 ** 31 })), code: 'INVALID_ARGUMENT', msg: ['task.priority', String(2 ** 31)] },
  { name: 'priority below int32', op: (s) => s.addTask(task({ priority: -(2 ** 31) - 1 })), code: 'INVALID_ARGUMENT', msg: String(-(2 ** 31) - 1) },
  { name: 'priority fractional', op: (s) => s.updateTask('t-running', { priority: 2.5 }), code: 'INVALID_ARGUMENT', msg: ['patch.priority', '2.5'] },
  { name: 'priority as a string', op: (s) => s.updateTask('t-pending', any({ priority: '5' })), code: 'INVALID_ARGUMENT', msg: q('5') },
  { name: 'priority Infinity', op: (s) => s.updateTask('t-pending', { priority: Infinity }), code: 'INVALID_ARGUMENT', msg: 'Infinity' },
  { name: 'replication -1', op: (s) => s.addContent(content({ replication: -1 })), code: 'INVALID_ARGUMENT', msg: ['content.replication', 'got -1'] },
  { name: 'replication 2**31', op: (s) => s.updateContent('c1', { replication: 2 ** 31 }), code: 'INVALID_ARGUMENT', msg: ['patch.replication', String(2 ** 31)] },
  { name: 'replication fractional', op: (s) => s.updateContent('c2', { replication: 1.5 }), code: 'INVALID_ARGUMENT', msg: '1.5' },
  { name: 'task cpu_cores negative', op: (s) => s.addTask(tres({ cpu_cores: -1 })), code: 'INVALID_ARGUMENT', msg: ['cpu_cores', 'got -1'] },
  { name: 'task memory_mb 2**31', op: (s) => s.updateTask('t-pending', { resources: { memory_mb: 2 ** 31 } }), code: 'INVALID_ARGUMENT', msg: ['memory_mb', String(2 ** 31)] },
  { name: 'task memory 3PB overflows int32 MiB', op: (s) => s.addTask(tres({ memory: '3PB' })), code: 'INVALID_ARGUMENT', msg: 'task.resources.memory' },
  { name: 'task gpu as a boolean', op: (s) => s.addTask(tres({ gpu: true })), code: 'INVALID_ARGUMENT', msg: ['gpu_cores', 'got true'] },

  // ── resource consistency ──
  { name: 'memory_available above memory_total', op: (s) => s.registerNode(res({ memory_total: '8GB', memory_available: '9GB' })), code: 'INVALID_ARGUMENT', msg: ['memory_available', '9000000000'] },
  { name: 'heartbeat: memory_available above the known memory_total', op: (s) => s.heartbeat('w1', { memory_available: '17GB' }), code: 'INVALID_ARGUMENT', msg: ['memory_available', '17000000000'] },
  { name: 'updateNode: lowering memory_total below memory_available', op: (s) => s.updateNode('w1', { resources: { memory_total: '4GB' } }), code: 'INVALID_ARGUMENT', msg: 'memory_available' },
  { name: 'disk_available above disk_total', op: (s) => s.updateNode('w1', { resources: { disk_available: '2TB' } }), code: 'INVALID_ARGUMENT', msg: ['disk_available', '2000000000000'] },
  { name: 'gpu_available true with gpu_count 0', op: (s) => s.registerNode(res({ gpu_count: 0, gpu_available: true })), code: 'INVALID_ARGUMENT', msg: ['gpu_available', 'true'] },
  { name: 'heartbeat: gpu_available true on a node with no GPUs', op: (s) => s.heartbeat('w1', { gpu_available: true }), code: 'INVALID_ARGUMENT', msg: 'gpu_available' },
  { name: 'gpu_available as a string', op: (s) => s.registerNode(res({ gpu_available: 'yes' })), code: 'INVALID_ARGUMENT', msg: q('yes') },

  // ── sizes ──
  { name: "size '8 G B'", op: (s) => s.registerNode(res({ memory: '8 G B' })), code: 'INVALID_ARGUMENT', msg: q('8 G B') },
  { name: "size '-5GB'", op: (s) => s.registerNode(res({ memory_total: '-5GB' })), code: 'INVALID_ARGUMENT', msg: q('-5GB') },
  { name: "size '1.5B' (fractional bytes)", op: (s) => s.addContent(content({ size: '1.5B' })), code: 'INVALID_ARGUMENT', msg: ['content.size', q('1.5B')] },
  { name: "size '1.0001kB' (fractional bytes)", op: (s) => s.updateContent('c1', { size: '1.0001kB' }), code: 'INVALID_ARGUMENT', msg: q('1.0001kB') },
  { name: "size '8GBs'", op: (s) => s.addContent(content({ size: '8GBs' })), code: 'INVALID_ARGUMENT', msg: q('8GBs') },
  { name: "size ''", op: (s) => s.addContent(content({ size: '' })), code: 'INVALID_ARGUMENT', msg: ['content.size', '""'] },
  { name: "size '1e3'", op: (s) => s.updateContent('c2', { size: '1e3' }), code: 'INVALID_ARGUMENT', msg: q('1e3') },
  { name: "size '10PB' above 2**53", op: (s) => s.addContent(content({ size: '10PB' })), code: 'INVALID_ARGUMENT', msg: q('10PB') },
  { name: "size '9007199254740992' (2**53) as a string", op: (s) => s.heartbeat('w1', { disk_total: '9007199254740992' }), code: 'INVALID_ARGUMENT', msg: '9007199254740992' },
  { name: 'size 2**53 as a number', op: (s) => s.addContent(content({ size: 2 ** 53 })), code: 'INVALID_ARGUMENT', msg: '9007199254740992' },
  { name: 'size -1 as a number', op: (s) => s.addContent(content({ size: -1 })), code: 'INVALID_ARGUMENT', msg: 'got -1' },
  { name: 'size 1.5 as a number', op: (s) => s.updateContent('c3', { size: 1.5 }), code: 'INVALID_ARGUMENT', msg: 'got 1.5' },
  { name: "size '0x10'", op: (s) => s.addContent(content({ size: '0x10' })), code: 'INVALID_ARGUMENT', msg: q('0x10') },
  { name: "size ' 8GB' (leading space)", op: (s) => s.registerNode(res({ disk: ' 8GB' })), code: 'INVALID_ARGUMENT', msg: q(' 8GB') },
  { name: "size '8XB' (unknown unit)", op: (s) => s.addTask(tres({ memory: '8XB' })), code: 'INVALID_ARGUMENT', msg: q('8XB') },
  { name: 'size null where required', op: (s) => s.addContent(content({ size: null })), code: 'INVALID_ARGUMENT', msg: ['content.size', 'got null'] },
  { name: 'size missing', op: (s) => s.addContent(any({ cid: 'c-new' })), code: 'INVALID_ARGUMENT', msg: ['content.size', 'got undefined'] },
  { name: 'size as a boolean', op: (s) => s.addContent(content({ size: true })), code: 'INVALID_ARGUMENT', msg: 'got true' },

  // ── sizes and counts given both ways ──
  { name: 'cpu and cpu_count together', op: (s) => s.registerNode(res({ cpu: 4, cpu_count: 4 })), code: 'INVALID_ARGUMENT', msg: ['resources.cpu', 'cpu_count'] },
  { name: 'memory and memory_total together', op: (s) => s.heartbeat('w2', any({ memory: '8GB', memory_total: 8e9 })), code: 'INVALID_ARGUMENT', msg: ['resources.memory', q('8GB')] },
  { name: 'gpu and gpu_count together', op: (s) => s.updateNode('w2', { resources: { gpu: 1, gpu_count: 1 } }), code: 'INVALID_ARGUMENT', msg: 'patch.resources.gpu' },
  { name: 'disk and disk_total together', op: (s) => s.registerNode(res({ disk: '1TB', disk_total: 1e12 })), code: 'INVALID_ARGUMENT', msg: 'resources.disk' },
  { name: 'task cpu and cpu_cores together', op: (s) => s.addTask(tres({ cpu: 2, cpu_cores: 2 })), code: 'INVALID_ARGUMENT', msg: 'task.resources.cpu' },
  { name: 'task memory and memory_mb together', op: (s) => s.updateTask('t-pending', { resources: { memory: '1GB', memory_mb: 954 } }), code: 'INVALID_ARGUMENT', msg: ['patch.resources.memory', q('1GB')] },
  { name: 'task gpu and gpu_cores together', op: (s) => s.addTask(tres({ gpu: 1, gpu_cores: 1 })), code: 'INVALID_ARGUMENT', msg: 'task.resources.gpu' },

  // ── values that are not JSON ──
  { name: 'payload: a function', op: (s) => s.addTask(task({ payload: namedFn })), code: 'INVALID_ARGUMENT', msg: ['task.payload', '[function namedFn]'] },
  { name: 'payload: a function inside an object', op: (s) => s.addTask(task({ payload: { f: namedFn } })), code: 'INVALID_ARGUMENT', msg: ['task.payload.f', 'namedFn'] },
  { name: 'payload: a BigInt', op: (s) => s.addTask(task({ payload: 10n })), code: 'INVALID_ARGUMENT', msg: ['task.payload', '10n'] },
  { name: 'payload: NaN inside an object', op: (s) => s.addTask(task({ payload: { n: NaN } })), code: 'INVALID_ARGUMENT', msg: ['task.payload.n', 'NaN'] },
  { name: 'payload: Infinity inside an array', op: (s) => s.addTask(task({ payload: [1, Infinity] })), code: 'INVALID_ARGUMENT', msg: ['task.payload[1]', 'Infinity'] },
  { name: 'payload: an undefined property', op: (s) => s.addTask(task({ payload: { u: undefined } })), code: 'INVALID_ARGUMENT', msg: ['task.payload.u', 'undefined'] },
  { name: 'payload: undefined inside an array', op: (s) => s.updateTask('t-pending', any({ payload: [1, undefined] })), code: 'INVALID_ARGUMENT', msg: 'patch.payload[1]' },
  { name: 'payload: a Date', op: (s) => s.addTask(task({ payload: new Date(0) })), code: 'INVALID_ARGUMENT', msg: ['task.payload', '1970-01-01T00:00:00.000Z'] },
  { name: 'payload: a Map', op: (s) => s.addTask(task({ payload: new Map([['a', 1]]) })), code: 'INVALID_ARGUMENT', msg: ['task.payload', 'class instance'] },
  { name: 'payload: a class instance', op: (s) => s.addTask(task({ payload: { w: new Widget(3) } })), code: 'INVALID_ARGUMENT', msg: ['task.payload.w', q({ size: 3 })] },
  { name: 'payload: a cycle', op: (s) => s.addTask(task({ payload: cyclic() })), code: 'INVALID_ARGUMENT', msg: ['task.payload.self', '[cycle]'] },
  { name: 'payload: a symbol', op: (s) => s.addTask(task({ payload: Symbol('sym') })), code: 'INVALID_ARGUMENT', msg: 'Symbol(sym)' },
  { name: 'payload: a symbol value inside an object', op: (s) => s.addTask(task({ payload: { s: Symbol('inner') } })), code: 'INVALID_ARGUMENT', msg: ['task.payload.s', 'Symbol(inner)'] },
  { name: 'payload: a symbol-keyed property (JSON would drop it)', op: (s) => s.addTask(task({ payload: { keep: 1, [Symbol('dropped')]: 2 } })), code: 'INVALID_ARGUMENT', msg: 'task.payload' },
  {
    name: 'payload: an array with a named property (JSON would drop it)', code: 'INVALID_ARGUMENT', msg: 'task.payload',
    op: (s) => s.addTask(task({ payload: Object.assign([1, 2], { extra: 'dropped' }) })),
  },
  { name: 'payload: a sparse array', op: (s) => s.addTask(task({ payload: [1, , 3] })), code: 'INVALID_ARGUMENT', msg: 'task.payload[1]' },
  { name: 'payload: nested 100 levels', op: (s) => s.addTask(task({ payload: deep(100) })), code: 'INVALID_ARGUMENT', msg: '[deep value]' },
  { name: 'payload: JSON text over 1 MiB', op: (s) => s.updateTask('t-pending', { payload: 'x'.repeat(1024 * 1024) }), code: 'INVALID_ARGUMENT', msg: ['patch.payload', 'xxxxxxxxxx'] },
  { name: 'payload: a Set in a patch', op: (s) => s.updateTask('t-pending', any({ payload: new Set([1]) })), code: 'INVALID_ARGUMENT', msg: 'patch.payload' },
  { name: 'result: -Infinity', op: (s) => s.updateTask('t-running', { status: 'completed', result: { r: -Infinity } }), code: 'INVALID_ARGUMENT', msg: ['patch.result.r', '-Infinity'] },
  { name: 'result: a cycle through an array', op: (s) => { const a: unknown[] = []; a.push({ back: a }); s.updateTask('t-running', { result: a as never }); }, code: 'INVALID_ARGUMENT', msg: '[cycle]' },
  { name: 'result: a BigInt deep inside', op: (s) => s.updateTask('t-assigned', any({ status: 'completed', result: { a: [{ b: 1n }] } })), code: 'INVALID_ARGUMENT', msg: ['patch.result.a[0].b', '1n'] },
  { name: 'metadata: a function value', op: (s) => s.registerNode(node({ metadata: { cb: namedFn } })), code: 'INVALID_ARGUMENT', msg: ['node.metadata.cb', 'namedFn'] },
  { name: 'metadata: a Date value', op: (s) => s.updateNode('w1', any({ metadata: { seen: new Date(86_400_000) } })), code: 'INVALID_ARGUMENT', msg: ['patch.metadata.seen', '1970-01-02'] },
  { name: 'metadata: an array instead of an object', op: (s) => s.registerNode(node({ metadata: ['a', 'b'] })), code: 'INVALID_ARGUMENT', msg: ['node.metadata', q(['a', 'b'])] },
  { name: 'metadata: a string instead of an object', op: (s) => s.updateNode('w2', any({ metadata: 'zone=a' })), code: 'INVALID_ARGUMENT', msg: q('zone=a') },
  { name: 'metadata: a class instance at the top', op: (s) => s.registerNode(node({ metadata: new Widget(7) })), code: 'INVALID_ARGUMENT', msg: ['node.metadata', 'class instance'] },
  { name: 'metadata: a cycle', op: (s) => s.registerNode(node({ metadata: cyclic() })), code: 'INVALID_ARGUMENT', msg: '[cycle]' },
  { name: 'metadata: a BigInt value', op: (s) => s.registerNode({ id: 'w1', role: 'worker', metadata: any({ mem: 5n }) }), code: 'INVALID_ARGUMENT', msg: '5n' },

  // ── wrong types ──
  { name: 'registerNode: null input', op: (s) => s.registerNode(any(null)), code: 'INVALID_ARGUMENT', msg: ['node must be an object', 'got null'] },
  { name: 'registerNode: string input', op: (s) => s.registerNode(any('w1')), code: 'INVALID_ARGUMENT', msg: q('w1') },
  { name: 'registerNode: array input', op: (s) => s.registerNode(any([{ id: 'n-new', role: 'worker' }])), code: 'INVALID_ARGUMENT', msg: 'node must be an object' },
  { name: 'updateNode: null patch', op: (s) => s.updateNode('w1', any(null)), code: 'INVALID_ARGUMENT', msg: ['patch', 'got null'] },
  { name: 'updateNode: array patch', op: (s) => s.updateNode('w1', any([{ status: 'offline' }])), code: 'INVALID_ARGUMENT', msg: 'patch must be an object' },
  { name: 'heartbeat: string resources', op: (s) => s.heartbeat('w1', any('cpu=4')), code: 'INVALID_ARGUMENT', msg: q('cpu=4') },
  { name: 'heartbeat: null resources', op: (s) => s.heartbeat('w3', any(null)), code: 'INVALID_ARGUMENT', msg: ['resources', 'got null'] },
  { name: 'registerNode: resources as an array', op: (s) => s.registerNode(node({ resources: [4, '8GB'] })), code: 'INVALID_ARGUMENT', msg: 'node.resources' },
  { name: 'registerNode: peers as a string', op: (s) => s.registerNode(node({ peers: 'w1' })), code: 'INVALID_ARGUMENT', msg: ['node.peers', q('w1')] },
  { name: 'registerNode: peers with a number', op: (s) => s.registerNode(node({ peers: ['w1', 2] })), code: 'INVALID_ARGUMENT', msg: ['node.peers[1]', 'got 2'] },
  { name: 'registerNode: peers with a malformed id', op: (s) => s.registerNode(node({ peers: ['w1', ' w2'] })), code: 'INVALID_ARGUMENT', msg: ['node.peers[1]', q(' w2')] },
  { name: 'updateNode: null capabilities', op: (s) => s.updateNode('w1', any({ capabilities: null })), code: 'INVALID_ARGUMENT', msg: ['patch.capabilities', 'got null'] },
  { name: 'registerNode: numeric address', op: (s) => s.registerNode(node({ address: 42 })), code: 'INVALID_ARGUMENT', msg: ['node.address', 'got 42'] },
  { name: 'updateNode: address with a lone surrogate', op: (s) => s.updateNode('w1', { address: 'host\ud83d' }), code: 'INVALID_ARGUMENT', msg: 'patch.address' },
  { name: 'updateTask: numeric error', op: (s) => s.updateTask('t-running', any({ status: 'failed', error: 500 })), code: 'INVALID_ARGUMENT', msg: ['patch.error', 'got 500'] },
  { name: 'updateTask: error text over 64 KiB', op: (s) => s.updateTask('t-running', { error: 'e'.repeat(64 * 1024 + 1) }), code: 'INVALID_ARGUMENT', msg: ['patch.error', 'eeeeeeee'] },
  { name: 'updateTask: null patch', op: (s) => s.updateTask('t-pending', any(null)), code: 'INVALID_ARGUMENT', msg: ['patch', 'got null'] },
  { name: 'updateTask: string patch', op: (s) => s.updateTask('t-pending', any('completed')), code: 'INVALID_ARGUMENT', msg: q('completed') },
  { name: 'addTask: undefined input', op: (s) => s.addTask(any(undefined)), code: 'INVALID_ARGUMENT', msg: ['task must be an object', 'undefined'] },
  { name: 'addTask: resources as an array', op: (s) => s.addTask(task({ resources: [2] })), code: 'INVALID_ARGUMENT', msg: 'task.resources' },
  { name: 'addTask: input_cids as a string', op: (s) => s.addTask(task({ input_cids: 'c1' })), code: 'INVALID_ARGUMENT', msg: ['task.input_cids', q('c1')] },
  { name: 'addTask: numeric input_cid', op: (s) => s.addTask(task({ input_cid: 5 })), code: 'INVALID_ARGUMENT', msg: ['task.input_cid', 'got 5'] },
  { name: 'updateTask: empty output_cid', op: (s) => s.updateTask('t-running', { output_cid: '' }), code: 'INVALID_ARGUMENT', msg: 'patch.output_cid' },
  { name: 'addContent: numeric input', op: (s) => s.addContent(any(42)), code: 'INVALID_ARGUMENT', msg: 'got 42' },
  { name: 'addContent: pinned as a string', op: (s) => s.addContent(content({ pinned: 'true' })), code: 'INVALID_ARGUMENT', msg: ['content.pinned', q('true')] },
  { name: 'updateContent: pinned as a number', op: (s) => s.updateContent('c2', any({ pinned: 1 })), code: 'INVALID_ARGUMENT', msg: ['patch.pinned', 'got 1'] },
  { name: 'addContent: providers as a string', op: (s) => s.addContent(content({ providers: 'w1' })), code: 'INVALID_ARGUMENT', msg: ['content.providers', q('w1')] },
  { name: 'updateContent: null providers', op: (s) => s.updateContent('c1', any({ providers: null })), code: 'INVALID_ARGUMENT', msg: ['patch.providers', 'got null'] },
  { name: 'updateContent: string patch', op: (s) => s.updateContent('c1', any('pin')), code: 'INVALID_ARGUMENT', msg: q('pin') },
  { name: 'removeNode: null options', op: (s) => s.removeNode('w4', any(null)), code: 'INVALID_ARGUMENT', msg: ['options', 'got null'] },
  { name: 'removeNode: requeue as a number', op: (s) => s.removeNode('w1', any({ requeue: 1 })), code: 'INVALID_ARGUMENT', msg: ['options.requeue', 'got 1'] },

  // ── duplicates inside lists, self-peering ──
  { name: 'peers with a duplicate', op: (s) => s.registerNode(node({ peers: ['w1', 'w2', 'w1'] })), code: 'INVALID_ARGUMENT', msg: ['node.peers[2]', q('w1')] },
  { name: 'capabilities with a duplicate', op: (s) => s.updateNode('w1', { capabilities: ['gpu', 'gpu'] }), code: 'INVALID_ARGUMENT', msg: ['patch.capabilities[1]', q('gpu')] },
  { name: 'providers with a duplicate (addContent)', op: (s) => s.addContent(content({ providers: ['w1', 'w1'] })), code: 'INVALID_ARGUMENT', msg: ['content.providers[1]', q('w1')] },
  { name: 'providers with a duplicate (updateContent)', op: (s) => s.updateContent('c2', { providers: ['m1', 'w2', 'm1'] }), code: 'INVALID_ARGUMENT', msg: ['patch.providers[2]', q('m1')] },
  { name: 'input_cids with a duplicate', op: (s) => s.addTask(task({ input_cids: ['c1', 'c2', 'c1'] })), code: 'INVALID_ARGUMENT', msg: ['task.input_cids[2]', q('c1')] },
  { name: 'output_cids with a duplicate', op: (s) => s.updateTask('t-running', { output_cids: ['o', 'o'] }), code: 'INVALID_ARGUMENT', msg: ['patch.output_cids[1]', q('o')] },
  { name: 'a new node listing itself as a peer', op: (s) => s.registerNode(node({ peers: ['m1', 'n-new'] })), code: 'INVALID_ARGUMENT', msg: ['node.peers', q('n-new')] },
  { name: 'an existing node re-registering with itself as a peer', op: (s) => s.registerNode({ id: 'w2', role: 'worker', peers: ['w2'] }), code: 'INVALID_ARGUMENT', msg: q('w2') },
  { name: 'updateNode: a node listing itself as a peer', op: (s) => s.updateNode('w1', { peers: ['m1', 'w1'] }), code: 'INVALID_ARGUMENT', msg: ['patch.peers', q('w1')] },

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

// ─────────────────────────── the tests ───────────────────────────

test('the table has at least 120 distinct cases', (t) => {
  t.true(cases.length >= 120, `${cases.length} cases`);
  t.is(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are unique');
  t.is(new Set(cases.map((c) => c.op.toString())).size, cases.length, 'no two cases run the same code');
});

for (const c of cases) {
  test(`bad input: ${c.name}`, async (t) => {
    const f = populated();
    const { s } = f;
    const before = fingerprint(s);
    const revision = s.revision;
    const err = t.throws(() => c.op(s));
    if (!(err instanceof StateError)) {
      if (err !== undefined) t.fail(`expected a StateError, got ${String(err)}`); // (undefined: t.throws already failed)
      await s.close();
      return;
    }
    t.is(err.code, c.code, err.message);
    t.true(err.message.startsWith(`${c.code}: `), err.message);
    t.true(err.message.length > c.code.length + 10, `message too short: ${err.message}`);
    for (const m of Array.isArray(c.msg) ? c.msg : [c.msg]) {
      t.true(err.message.includes(m), `message ${JSON.stringify(err.message.slice(0, 300))} should contain ${JSON.stringify(m)}`);
    }
    t.is(s.revision, revision, 'revision unchanged');
    t.is(fingerprint(s), before, 'state unchanged');
    // A later valid change must produce exactly what it produces on an untouched fixture.
    const ref = populated();
    probe(f);
    probe(ref);
    t.is(fingerprint(s), fingerprint(ref.s), 'no residue of the failed call after a later change');
    await s.close();
    await ref.s.close();
  });
}

// Not a case of the table: a plain Error thrown inside a transaction is rethrown as is.
test('transaction: a plain Error from the function is rethrown unchanged and undoes everything', async (t) => {
  const f = populated();
  const before = fingerprint(f.s);
  const boom = new Error('boom');
  const err = t.throws(() => f.s.transaction((st) => {
    st.removeNode('w2', { requeue: true });
    st.addTask(task({}));
    throw boom;
  }));
  t.is(err, boom);
  t.is(fingerprint(f.s), before);
  await f.s.close();
});
