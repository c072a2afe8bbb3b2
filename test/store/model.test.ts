// Randomized model test: a plain-object model of the documented semantics (cluster-state.ts doc
// comments, lifecycle.ts, docs/writer.md) runs the same random operations as ClusterState, valid
// and invalid, single and in transactions (nested, caught, aborted). After every step both must
// agree on the outcome (success or the StateError code), on the revision, master_id, updated_at
// and every record; every 100 steps and at the end the Arrow tables and the single-row state
// must decode to exactly the model's records, in insertion order.
import { shortFloat32 } from '../../src/arrow/decode/row-reader.js';
import test, { type ExecutionContext } from 'ava';
import { inspect } from 'node:util';
import { Vector, type Table } from 'apache-arrow';
import {
  ClusterState, StateError, type ContentRecord, type NodeRecord, type NodeResources, type TaskRecord, type TaskResources,
} from '../../src/index.js';

// ─────────────────────────── PRNG ───────────────────────────

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(arr: readonly T[]): T {
    return arr[this.int(arr.length)]!;
  }
  /** Up to `max` distinct elements, in random order. */
  subset<T>(arr: readonly T[], max: number): T[] {
    const pool = arr.slice();
    const n = this.int(Math.min(max, pool.length) + 1);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(pool.splice(this.int(pool.length), 1)[0]!);
    return out;
  }
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    const total = items.reduce((a, [w]) => a + w, 0);
    let x = this.next() * total;
    for (const [w, v] of items) {
      if ((x -= w) < 0) return v;
    }
    return items[items.length - 1]![1];
  }
}

// ─────────────────────────── value tables ───────────────────────────

/** Marks a generated value the library must reject with INVALID_ARGUMENT. */
const BAD = Symbol('BAD');
type V<T> = T | typeof BAD;
/** A generated argument: what is passed (raw) and what the model makes of it (norm). */
type G<T> = [raw: unknown, norm: V<T>];

type Code = 'NOT_FOUND' | 'ALREADY_EXISTS' | 'INVALID_ARGUMENT' | 'INVALID_TRANSITION';
type Role = NodeRecord['role'];
type NStatus = NodeRecord['status'];
type TStatus = TaskRecord['status'];
type Json = TaskRecord['payload'];

const INT32_MAX = 2 ** 31 - 1;
const MiB = 2 ** 20;
const GiB = 2 ** 30;

const NODE_POOL = ['m1', 'm2', 'w1', 'w2', 'w3', 'w4', 'l1', 'nö-ü'];
const TASK_POOL = ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7', 't-ß', 'x'.repeat(512)];
const CID_POOL = ['c0', 'c1', 'c2', 'c3', 'c4', 'bafy😀'];
const CAPS = ['gpu', 'storage', 'compute', 'pin', 'ünïcode'];
const TYPES = ['process', 'analyze', 'transfer', 'model_training', 'embedding', 'tränsform'];
const BAD_IDS: unknown[] = ['', ' w1', 'w1 ', 'a\u0000b', 'x\ud800', 'z'.repeat(513), 42, null, 'q\u0085'];
const NSTATUSES: NStatus[] = ['online', 'offline', 'degraded'];
const TSTATUSES: TStatus[] = ['pending', 'assigned', 'running', 'completed', 'failed', 'cancelled'];

/** The task lifecycle (lifecycle.ts): legal status changes. */
const LEGAL: Record<TStatus, readonly TStatus[]> = {
  pending: ['assigned', 'cancelled'],
  assigned: ['assigned', 'running', 'completed', 'failed', 'cancelled', 'pending'],
  running: ['running', 'completed', 'failed', 'cancelled', 'pending'],
  failed: ['pending'],
  completed: [],
  cancelled: [],
};

const COUNTS_OK: [number, number][] = [[0, 0], [1, 1], [4, 4], [16, 16], [INT32_MAX, INT32_MAX]];
const COUNTS_BAD: unknown[] = [-1, 2 ** 31, 1.5, '4', NaN, Infinity];
const SIZES_OK: [unknown, number][] = [
  ['8GB', 8e9], ['16GiB', 16 * GiB], ['512MiB', 512 * MiB], [1024, 1024], ['1.5TB', 1.5e12], ['2.01kB', 2010],
  ['4 GB', 4e9], ['0', 0], [0, 0], ['1kib', 1024], ['100', 100], ['7b', 7], ['1.005kB', 1005], ['2TB', 2e12],
  ['500GB', 5e11], ['3PB', 3e15],
];
const SIZES_BAD: unknown[] = ['8 G B', '-5GB', '1.5B', '8GBs', '', '1e3', '10PB', 2 ** 53, -1, 1.5, true, ' 8GB', '0x10'];
const LOADS_OK = [0, 50, 33.3, 100, 99.99, 0.1];
const LOADS_BAD: unknown[] = [101, -0.1, NaN, Infinity, '5'];
const PRIORITIES_OK = [0, 5, -3, INT32_MAX, -(2 ** 31)];
const PRIORITIES_BAD: unknown[] = [2 ** 31, -(2 ** 31) - 1, 1.5, '5', NaN];
const REPLICATION_OK = [0, 1, 3];
const REPLICATION_BAD: unknown[] = [-1, 2 ** 31, 1.5, '2'];

class Widget {
  constructor(readonly n = 1) {}
}
function namedFn() {
  return 1;
}
function cyclic(): unknown {
  const o: Record<string, unknown> = { a: 1 };
  o.me = o;
  return o;
}
const JSON_OK: (() => Json)[] = [
  () => ({ a: 1 }), () => ({ a: [1, 2, { b: null }] }), () => 'str', () => 42, () => true, () => null, () => [], () => ({}),
  () => ({ nested: { deep: 'x', n: 1.5 } }), () => [1, 'two', false], () => ({ 'ü': 'ünï', emoji: '😀' }),
];
const JSON_BAD: (() => unknown)[] = [
  () => namedFn, () => 10n, () => NaN, () => Infinity, () => ({ u: undefined }), () => new Date(0), () => new Map(),
  () => cyclic(), () => Symbol('s'), () => [1, , 2], () => ({ w: new Widget() }),
];
const META_OK: (() => Record<string, Json> | null)[] = [() => ({ location: 'us-east' }), () => ({ a: { b: [1, 2] } }), () => null, () => ({})];
const META_BAD: (() => unknown)[] = [() => [1], () => 'x', () => ({ f: namedFn }), () => new Date(0), () => ({ n: NaN }), () => new Widget()];

const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

// ─────────────────────────── generators ───────────────────────────

function genId(r: Rng, pool: readonly string[], badP = 0.03): G<string> {
  if (r.chance(badP)) return [r.pick(BAD_IDS), BAD];
  const id = r.pick(pool);
  return [id, id];
}
function genCount(r: Rng, allowNull: boolean, badP = 0.05): G<number | null> {
  if (r.chance(badP)) return [r.pick(COUNTS_BAD), BAD];
  if (allowNull && r.chance(0.1)) return [null, null];
  return r.pick(COUNTS_OK);
}
function genSize(r: Rng, allowNull: boolean, badP = 0.05): G<number | null> {
  if (r.chance(badP)) return [r.pick(SIZES_BAD), BAD];
  if (allowNull && r.chance(0.1)) return [null, null];
  return r.pick(SIZES_OK) as G<number>;
}
function genJson(r: Rng, badP = 0.06): G<Json> {
  if (r.chance(badP)) return [r.pick(JSON_BAD)(), BAD];
  const v = r.pick(JSON_OK)();
  return [v, clone(v)];
}

/** Collects raw fields and their normalised values; any BAD marks the whole input bad. */
class Builder {
  raw: Record<string, unknown> = {};
  bad = false;
  take<T>(key: string, [raw, norm]: G<T>): T | undefined {
    this.raw[key] = raw;
    if (norm === BAD) {
      this.bad = true;
      return undefined;
    }
    return norm;
  }
}

/** Node resources as the friendly or the schema names (docs/writer.md; validate/nodes.ts nodeResourcesPatch). */
interface ResGen {
  raw: unknown;
  bad: boolean;
  patch: Partial<NodeResources>;
}
function genNodeRes(r: Rng): ResGen {
  const b = new Builder();
  const patch: Partial<NodeResources> = {};
  const pairs = [['cpu', 'cpu_count', 'count'], ['gpu', 'gpu_count', 'count'], ['memory', 'memory_total', 'size'], ['disk', 'disk_total', 'size']] as const;
  const friendly = new Set<string>();
  for (const [f, field, kind] of pairs) {
    const gen = (allowNull: boolean) => (kind === 'count' ? genCount(r, allowNull) : genSize(r, allowNull));
    if (r.chance(0.02)) {
      // Given both ways: refused.
      b.take(f, gen(false));
      b.take(field, gen(true));
      b.bad = true;
      continue;
    }
    const mode = r.int(3);
    if (mode === 1) {
      const v = b.take(f, gen(false));
      friendly.add(f);
      if (v !== undefined) patch[field] = v;
    } else if (mode === 2) {
      const v = b.take(field, gen(true));
      if (v !== undefined) patch[field] = v;
    }
  }
  if (r.chance(0.35)) {
    const g: G<number | null> = r.chance(0.05) ? [r.pick(LOADS_BAD), BAD] : r.chance(0.08) ? [null, null] : (() => {
      const x = r.pick(LOADS_OK);
      return [x, shortFloat32(x)];
    })();
    const v = b.take('cpu_load', g);
    if (v !== undefined) patch.cpu_load = v;
  }
  // A friendly total without its `_available` means all of it is available; gpu_available follows gpu > 0.
  if (r.chance(0.25)) {
    const g: G<boolean | null> = r.chance(0.05) ? [r.pick(['yes', 1]), BAD] : (() => {
      const x = r.pick([true, false, null]);
      return [x, x];
    })();
    const v = b.take('gpu_available', g);
    if (v !== undefined) patch.gpu_available = v;
  } else if (friendly.has('gpu')) {
    patch.gpu_available = (patch.gpu_count ?? 0) > 0;
  }
  for (const [avail, f, total] of [['memory_available', 'memory', 'memory_total'], ['disk_available', 'disk', 'disk_total']] as const) {
    if (r.chance(0.3)) {
      const v = b.take(avail, genSize(r, true));
      if (v !== undefined) patch[avail] = v;
    } else if (friendly.has(f)) {
      patch[avail] = patch[total] ?? null;
    }
  }
  if (r.chance(0.02)) b.take('cpus', [4, BAD]);
  return { raw: b.raw, bad: b.bad, patch };
}

interface NodeNorm {
  bad: boolean;
  id?: string;
  role?: Role;
  status?: NStatus;
  peers?: string[];
  capabilities?: string[];
  res?: Partial<NodeResources>;
  address?: string | null;
  metadata?: Record<string, Json> | null;
}
function genIdList(r: Rng, pool: readonly string[], max: number): G<string[]> {
  const x = r.float();
  if (x < 0.04) {
    const a = r.pick(pool);
    return [[a, r.pick(pool.filter((p) => p !== a)), a], BAD]; // duplicate entry
  }
  if (x < 0.06) return [r.pick(pool), BAD]; // a string, not an array
  if (x < 0.08) return [[r.pick(pool), r.pick(BAD_IDS)], BAD];
  const list = r.subset(pool, max);
  return [list.slice(), list];
}
function genNodeFields(r: Rng, isUpdate: boolean): { raw: unknown; n: NodeNorm } {
  const b = new Builder();
  const n: NodeNorm = { bad: false };
  if (!isUpdate) n.id = b.take('id', genId(r, NODE_POOL, 0.02));
  if (!isUpdate || r.chance(0.3)) {
    // A missing role is an error on registration only (in a patch, undefined means "not given").
    if (r.chance(0.03)) b.take('role', [r.pick(isUpdate ? ['boss', 'Master', null] : ['boss', 'Master', null, undefined]), BAD]);
    else {
      const role: Role = r.weighted([[2, 'master'], [6, 'worker'], [2, 'leecher']] as const);
      n.role = b.take('role', [role, role]);
    }
  }
  if (r.chance(isUpdate ? 0.3 : 0.4)) {
    if (r.chance(0.05)) b.take('status', [r.pick(['busy', null, 'running']), BAD]);
    else {
      const st = r.weighted([[6, 'online'], [2, 'offline'], [2, 'degraded']] as const);
      n.status = b.take('status', [st, st]);
    }
  }
  if (r.chance(0.3)) n.peers = b.take('peers', genIdList(r, NODE_POOL, 3));
  if (r.chance(0.25)) n.capabilities = b.take('capabilities', genIdList(r, CAPS, 3));
  if (r.chance(0.45)) {
    if (r.chance(0.03)) b.take('resources', [r.pick([null, [4], 'cpu=4']), BAD]);
    else {
      const g = genNodeRes(r);
      b.raw.resources = g.raw;
      if (g.bad) b.bad = true;
      n.res = g.patch;
    }
  }
  if (r.chance(0.2)) {
    const g: G<string | null> = r.chance(0.1) ? [r.pick([42, 'x\ud800', {}]), BAD] : (() => {
      const a = r.pick(['10.0.0.1', null, '', 'host.local:4001']);
      return [a, a];
    })();
    const v = b.take('address', g);
    if (v !== undefined) n.address = v;
  }
  if (r.chance(0.2)) {
    const g: G<Record<string, Json> | null> = r.chance(0.1) ? [r.pick(META_BAD)(), BAD] : (() => {
      const m = r.pick(META_OK)();
      return [m, clone(m)];
    })();
    const v = b.take('metadata', g);
    if (v !== undefined) n.metadata = v;
  }
  if (r.chance(0.02)) b.take(isUpdate ? r.pick(['id', 'last_seen', 'name']) : r.pick(['name', 'last_seen']), ['x', BAD]);
  n.bad = b.bad;
  return { raw: b.raw, n };
}

interface TaskResGen {
  raw: unknown;
  bad: boolean;
  value: TaskResources | null;
}
function genTaskRes(r: Rng): TaskResGen {
  if (r.chance(0.15)) return { raw: null, bad: false, value: null };
  if (r.chance(0.02)) return { raw: r.pick([[2], 'cpu=2']), bad: true, value: null };
  const b = new Builder();
  const value: TaskResources = { cpu_cores: null, gpu_cores: null, memory_mb: null };
  for (const [f, field] of [['cpu', 'cpu_cores'], ['gpu', 'gpu_cores']] as const) {
    if (r.chance(0.03)) {
      b.take(f, genCount(r, false));
      b.take(field, genCount(r, true));
      b.bad = true;
      continue;
    }
    const mode = r.int(3);
    if (mode === 1) {
      const v = b.take(f, genCount(r, false));
      if (v !== undefined) value[field] = v;
    } else if (mode === 2) {
      const v = b.take(field, genCount(r, true));
      if (v !== undefined) value[field] = v;
    }
  }
  const mode = r.chance(0.03) ? 3 : r.int(3);
  if (mode === 1 || mode === 3) {
    // Friendly memory: a size converted to whole MiB, rounded up; must fit int32.
    const bytes = b.take('memory', genSize(r, false));
    if (bytes !== undefined && bytes !== null) {
      const mib = Math.ceil(bytes / MiB);
      if (mib > INT32_MAX) b.bad = true;
      else value.memory_mb = mib;
    }
  }
  if (mode === 2 || mode === 3) {
    const v = b.take('memory_mb', genCount(r, true));
    if (v !== undefined) value.memory_mb = v;
  }
  if (mode === 3) b.bad = true;
  if (r.chance(0.02)) b.take('cores', [2, BAD]);
  return { raw: b.raw, bad: b.bad, value };
}

interface TaskNorm {
  bad: boolean;
  id?: string;
  type?: string;
  priority?: number;
  payload?: Json;
  hasPayload?: boolean;
  resources?: TaskResources | null;
  hasResources?: boolean;
  input_cid?: string | null;
  output_cid?: string | null;
  input_cids?: string[];
  output_cids?: string[];
  // updates only
  status?: TStatus;
  assigned_to?: string | null;
  hasAssignee?: boolean;
  result?: Json;
  hasResult?: boolean;
  error?: string | null;
  hasError?: boolean;
}
function genTaskCommon(r: Rng, b: Builder, n: TaskNorm, p: { priority: number; payload: number; resources: number; cid: number }): void {
  if (r.chance(p.priority)) {
    const g: G<number> = r.chance(0.06) ? [r.pick(PRIORITIES_BAD), BAD] : (() => {
      const x = r.pick(PRIORITIES_OK);
      return [x, x];
    })();
    n.priority = b.take('priority', g);
  }
  if (r.chance(p.payload)) {
    const v = b.take('payload', genJson(r));
    if (v !== undefined) {
      n.payload = v;
      n.hasPayload = true;
    }
  }
  if (r.chance(p.resources)) {
    const g = genTaskRes(r);
    b.raw.resources = g.raw;
    if (g.bad) b.bad = true;
    n.resources = g.value;
    n.hasResources = true;
  }
  for (const k of ['input_cid', 'output_cid'] as const) {
    if (r.chance(p.cid)) {
      // null is a valid value here (no link), so the malformed ids exclude it.
      const g: G<string | null> = r.chance(0.15) ? [null, null] : r.chance(0.08) ? [r.pick(BAD_IDS.filter((x) => x !== null)), BAD] : genId(r, CID_POOL, 0);
      const v = b.take(k, g);
      if (v !== undefined) n[k] = v;
    }
  }
  for (const k of ['input_cids', 'output_cids'] as const) {
    if (r.chance(p.cid)) n[k] = b.take(k, genIdList(r, CID_POOL, 3));
  }
}
function genTaskInput(r: Rng): { raw: unknown; n: TaskNorm } {
  if (r.chance(0.01)) return { raw: r.pick([null, 'task', [{ id: 't0', type: 'process' }]]), n: { bad: true } };
  const b = new Builder();
  const n: TaskNorm = { bad: false };
  n.id = b.take('id', genId(r, TASK_POOL, 0.02));
  n.type = b.take('type', r.chance(0.03) ? [r.pick(['', ' process', null, 5]), BAD] : (() => {
    const t = r.pick(TYPES);
    return [t, t] as G<string>;
  })());
  genTaskCommon(r, b, n, { priority: 0.4, payload: 0.5, resources: 0.35, cid: 0.15 });
  if (r.chance(0.02)) b.take(r.pick(['status', 'assigned_to', 'attempts']), ['running', BAD]);
  n.bad = b.bad;
  return { raw: b.raw, n };
}
function genTaskPatch(r: Rng, current: TaskRecord | undefined): { raw: unknown; n: TaskNorm } {
  if (r.chance(0.01)) return { raw: r.pick([null, 'completed', [1]]), n: { bad: true } };
  const b = new Builder();
  const n: TaskNorm = { bad: false };
  if (r.chance(0.65)) {
    if (r.chance(0.04)) b.take('status', [r.pick(['done', 'PENDING', null, 'online']), BAD]);
    else {
      const legal = current ? LEGAL[current.status] : [];
      const st = legal.length && r.chance(0.6) ? r.pick(legal) : r.pick(TSTATUSES);
      n.status = b.take('status', [st, st]);
    }
  }
  if (r.chance(n.status === 'assigned' ? 0.8 : 0.25)) {
    const g: G<string | null> = r.chance(0.04) ? [r.pick([5, '', ' w1']), BAD] : r.chance(0.15) ? [null, null] : genId(r, NODE_POOL, 0);
    const v = b.take('assigned_to', g);
    if (v !== undefined) {
      n.assigned_to = v;
      n.hasAssignee = true;
    }
  }
  if (r.chance(0.25)) {
    const v = b.take('result', genJson(r));
    if (v !== undefined) {
      n.result = v;
      n.hasResult = true;
    }
  }
  if (r.chance(0.15)) {
    const g: G<string | null> = r.chance(0.1) ? [r.pick([5, 'bad\udc00']), BAD] : (() => {
      const e = r.pick(['boom', null, '', 'timeout ✗']);
      return [e, e];
    })();
    const v = b.take('error', g);
    if (v !== undefined) {
      n.error = v;
      n.hasError = true;
    }
  }
  genTaskCommon(r, b, n, { priority: 0.15, payload: 0.1, resources: 0.1, cid: 0.05 });
  if (r.chance(0.02)) b.take(r.pick(['attempts', 'created_at', 'id']), [1, BAD]);
  n.bad = b.bad;
  return { raw: b.raw, n };
}

interface ContentNorm {
  bad: boolean;
  /** updateContent: errors found before the provider lookup. */
  preBad?: boolean;
  pinnedBad?: boolean;
  cid?: string;
  size?: number;
  providers?: string[];
  pinned?: boolean;
  replication?: number;
}
function genPinned(r: Rng): G<boolean> {
  if (r.chance(0.05)) return [r.pick(['yes', 1, null]), BAD];
  const p = r.chance(0.5);
  return [p, p];
}
function genReplication(r: Rng): G<number> {
  if (r.chance(0.08)) return [r.pick(REPLICATION_BAD), BAD];
  const x = r.pick(REPLICATION_OK);
  return [x, x];
}
function genContentInput(r: Rng): { raw: unknown; n: ContentNorm } {
  if (r.chance(0.01)) return { raw: r.pick([null, 42, ['c0']]), n: { bad: true } };
  const b = new Builder();
  const n: ContentNorm = { bad: false };
  n.cid = b.take('cid', genId(r, CID_POOL, 0.02));
  if (r.chance(0.02)) b.bad = true; // size missing
  else n.size = b.take('size', genSize(r, false)) ?? undefined;
  if (r.chance(0.5)) n.providers = b.take('providers', genIdList(r, NODE_POOL, 3));
  if (r.chance(0.4)) n.pinned = b.take('pinned', genPinned(r));
  if (r.chance(0.3)) n.replication = b.take('replication', genReplication(r));
  if (r.chance(0.02)) b.take('owner', ['w1', BAD]);
  n.bad = b.bad;
  return { raw: b.raw, n };
}
function genContentPatch(r: Rng): { raw: unknown; n: ContentNorm } {
  if (r.chance(0.01)) return { raw: r.pick([null, 'pin', [1]]), n: { bad: true, preBad: true } };
  const b = new Builder();
  const n: ContentNorm = { bad: false };
  if (r.chance(0.02)) b.take(r.pick(['cid', 'pinned_at', 'created_at']), [1, BAD]);
  if (r.chance(0.25)) n.size = b.take('size', genSize(r, false)) ?? undefined;
  if (r.chance(0.2)) n.replication = b.take('replication', genReplication(r));
  if (r.chance(0.3)) n.providers = b.take('providers', genIdList(r, NODE_POOL, 3));
  n.preBad = b.bad;
  if (r.chance(0.45)) {
    n.pinned = b.take('pinned', genPinned(r));
    n.pinnedBad = n.pinned === undefined;
  }
  n.bad = b.bad;
  return { raw: b.raw, n };
}

// ─────────────────────────── operations ───────────────────────────

type Id = G<string>;
type Op =
  | { k: 'registerNode'; raw: unknown; n: NodeNorm }
  | { k: 'updateNode'; id: Id; raw: unknown; n: NodeNorm }
  | { k: 'updateNodeStatus'; id: Id; status: G<NStatus> }
  | { k: 'heartbeat'; id: Id; res?: ResGen }
  | { k: 'removeNode'; id: Id; opts: G<boolean> }
  | { k: 'addTask'; raw: unknown; n: TaskNorm }
  | { k: 'assignTask'; task: Id; node: Id }
  | { k: 'updateTask'; id: Id; raw: unknown; n: TaskNorm }
  | { k: 'removeTask'; id: Id }
  | { k: 'addContent'; raw: unknown; n: ContentNorm }
  | { k: 'updateContent'; cid: Id; raw: unknown; n: ContentNorm }
  | { k: 'addProvider'; cid: Id; node: Id }
  | { k: 'removeProvider'; cid: Id; node: Id }
  | { k: 'removeContent'; cid: Id }
  | { k: 'tx'; subs: Sub[]; end: TxEnd };
type SingleOp = Exclude<Op, { k: 'tx' }>;
type TxEnd = 'none' | 'error' | 'promise';
interface Sub {
  op: SingleOp | { k: 'nested'; subs: Sub[]; end: TxEnd };
  /** The transaction function catches this sub-operation's failure and goes on. */
  catch: boolean;
  /** The clock while it runs. */
  at: number;
}

/** Thrown by a transaction function to abort it. */
class Abort extends Error {
  constructor() {
    super('abort');
  }
}

function existing(r: Rng, ids: string[], pool: readonly string[], p: number): Id {
  if (ids.length && r.chance(p)) {
    const id = r.pick(ids);
    return [id, id];
  }
  return genId(r, pool);
}

function genSingle(r: Rng, m: Model): SingleOp {
  const nodeIds = [...m.w.nodes.keys()];
  const taskIds = [...m.w.tasks.keys()];
  const cids = [...m.w.content.keys()];
  const kind = r.weighted([
    [12, 'registerNode'], [7, 'updateNode'], [6, 'updateNodeStatus'], [6, 'heartbeat'], [5, 'removeNode'],
    [11, 'addTask'], [10, 'assignTask'], [16, 'updateTask'], [4, 'removeTask'],
    [6, 'addContent'], [6, 'updateContent'], [4, 'addProvider'], [3, 'removeProvider'], [2, 'removeContent'],
  ] as const);
  switch (kind) {
    case 'registerNode': {
      const { raw, n } = genNodeFields(r, false);
      return { k: kind, raw, n };
    }
    case 'updateNode': {
      const { raw, n } = genNodeFields(r, true);
      return { k: kind, id: existing(r, nodeIds, NODE_POOL, 0.7), raw, n };
    }
    case 'updateNodeStatus': {
      const status: G<NStatus> = r.chance(0.05) ? [r.pick(['busy', null, 'running']), BAD] : (() => {
        const st = r.pick(NSTATUSES);
        return [st, st] as G<NStatus>;
      })();
      return { k: kind, id: existing(r, nodeIds, NODE_POOL, 0.7), status };
    }
    case 'heartbeat': {
      const id = existing(r, nodeIds, NODE_POOL, 0.7);
      if (r.chance(0.4)) return { k: kind, id };
      if (r.chance(0.04)) return { k: kind, id, res: { raw: r.pick([null, 'cpu', [1]]), bad: true, patch: {} } };
      return { k: kind, id, res: genNodeRes(r) };
    }
    case 'removeNode': {
      const opts: G<boolean> = r.weighted<G<boolean>>([
        [55, [undefined, false]], [30, [{ requeue: true }, true]], [10, [{ requeue: false }, false]],
        [5, [r.pick([{ requeue: 'yes' }, { force: true }, null]), BAD]],
      ]);
      return { k: kind, id: existing(r, nodeIds, NODE_POOL, 0.6), opts };
    }
    case 'addTask': {
      const { raw, n } = genTaskInput(r);
      return { k: kind, raw, n };
    }
    case 'assignTask': {
      const open = taskIds.filter((t) => ['pending', 'assigned'].includes(m.w.tasks.get(t)!.status));
      const able = nodeIds.filter((x) => m.w.nodes.get(x)!.role !== 'leecher' && m.w.nodes.get(x)!.status === 'online');
      return { k: kind, task: existing(r, open, TASK_POOL, 0.6), node: existing(r, able, NODE_POOL, 0.6) };
    }
    case 'updateTask': {
      const id = existing(r, taskIds, TASK_POOL, 0.75);
      const { raw, n } = genTaskPatch(r, id[1] === BAD ? undefined : m.w.tasks.get(id[1]));
      return { k: kind, id, raw, n };
    }
    case 'removeTask':
      return { k: kind, id: existing(r, taskIds, TASK_POOL, 0.5) };
    case 'addContent': {
      const { raw, n } = genContentInput(r);
      return { k: kind, raw, n };
    }
    case 'updateContent': {
      const { raw, n } = genContentPatch(r);
      return { k: kind, cid: existing(r, cids, CID_POOL, 0.7), raw, n };
    }
    case 'addProvider':
      return { k: kind, cid: existing(r, cids, CID_POOL, 0.7), node: existing(r, nodeIds, NODE_POOL, 0.6) };
    case 'removeProvider': {
      const cid = existing(r, cids, CID_POOL, 0.7);
      const provs = cid[1] === BAD ? [] : (m.w.content.get(cid[1])?.providers ?? []);
      return { k: kind, cid, node: existing(r, provs, NODE_POOL, 0.6) };
    }
    case 'removeContent':
      return { k: kind, cid: existing(r, cids, CID_POOL, 0.5) };
  }
}

function genEnd(r: Rng): TxEnd {
  return r.weighted<TxEnd>([[70, 'none'], [22, 'error'], [8, 'promise']]);
}

/** A transaction of several operations (sometimes a nested one); `base` is the step's clock. */
function genTx(r: Rng, m: Model, base: number): Op {
  let at = base;
  const subs: Sub[] = [];
  const count = 2 + r.int(4);
  for (let i = 0; i < count; i++) {
    if (r.chance(0.12)) {
      const inner: Sub[] = [];
      for (let j = 0, c = 1 + r.int(3); j < c; j++) inner.push({ op: genSingle(r, m), catch: r.chance(0.3), at: (at += 1) });
      subs.push({ op: { k: 'nested', subs: inner, end: genEnd(r) }, catch: r.chance(0.6), at: (at += 1) });
    } else {
      subs.push({ op: genSingle(r, m), catch: r.chance(0.5), at: (at += 1) });
    }
  }
  return { k: 'tx', subs, end: genEnd(r) };
}

// ─────────────────────────── the model ───────────────────────────

class ModelError extends Error {
  constructor(readonly code: Code) {
    super(code);
  }
}
const fail = (code: Code): never => {
  throw new ModelError(code);
};

interface World {
  nodes: Map<string, NodeRecord>;
  tasks: Map<string, TaskRecord>;
  content: Map<string, ContentRecord>;
  masterId: string | null;
}

const EMPTY_RES: NodeResources = {
  cpu_count: null, cpu_load: null, gpu_count: null, gpu_available: null,
  memory_total: null, memory_available: null, disk_total: null, disk_available: null,
};
const EMPTY_TASK_RES: TaskResources = { cpu_cores: null, gpu_cores: null, memory_mb: null };

/** Merges reported resources; available may not exceed total, gpu_available may not be true with 0 GPUs. */
function mergeRes(old: NodeResources, patch: Partial<NodeResources>): NodeResources {
  const r = { ...old, ...patch };
  if (r.memory_available !== null && r.memory_total !== null && r.memory_available > r.memory_total) fail('INVALID_ARGUMENT');
  if (r.disk_available !== null && r.disk_total !== null && r.disk_available > r.disk_total) fail('INVALID_ARGUMENT');
  if (r.gpu_available === true && r.gpu_count === 0) fail('INVALID_ARGUMENT');
  return r;
}

const isActive = (s: TStatus) => s === 'assigned' || s === 'running';

class Model {
  w: World = { nodes: new Map(), tasks: new Map(), content: new Map(), masterId: null };
  revision = 0;
  updatedAt: number;
  now: number;
  constructor(readonly nodeId: string | null, now: number) {
    this.now = now;
    this.updatedAt = now;
  }

  save(): World {
    return structuredClone(this.w);
  }
  restore(w: World): void {
    this.w = w;
  }

  private node(g: Id): NodeRecord {
    if (g[1] === BAD) fail('INVALID_ARGUMENT');
    return this.w.nodes.get(g[1] as string) ?? fail('NOT_FOUND');
  }
  private task(g: Id): TaskRecord {
    if (g[1] === BAD) fail('INVALID_ARGUMENT');
    return this.w.tasks.get(g[1] as string) ?? fail('NOT_FOUND');
  }
  private item(g: Id): ContentRecord {
    if (g[1] === BAD) fail('INVALID_ARGUMENT');
    return this.w.content.get(g[1] as string) ?? fail('NOT_FOUND');
  }
  private activeOn(id: string): TaskRecord[] {
    return [...this.w.tasks.values()].filter((t) => isActive(t.status) && t.assigned_to === id);
  }
  private checkDemotion(old: NodeRecord, role: Role): void {
    if (role === 'leecher' && old.role !== 'leecher' && this.activeOn(old.id).length > 0) fail('INVALID_TRANSITION');
  }
  /** master_id: the writer's own node if it is a master, else the current master if still one, else the first master. */
  private followMaster(): void {
    const isMaster = (id: string | null) => id !== null && this.w.nodes.get(id)?.role === 'master';
    if (this.nodeId !== null && isMaster(this.nodeId)) this.w.masterId = this.nodeId;
    else if (!isMaster(this.w.masterId)) this.w.masterId = [...this.w.nodes.values()].find((n) => n.role === 'master')?.id ?? null;
  }
  private assignable(task: TaskRecord, node: NodeRecord): void {
    if (task.status !== 'pending' && task.status !== 'assigned') fail('INVALID_TRANSITION');
    if (node.role === 'leecher') fail('INVALID_TRANSITION');
    if (node.status !== 'online') fail('INVALID_TRANSITION');
  }

  /** One operation: validates completely, then applies; returns the record the call returns. */
  apply(op: SingleOp): unknown {
    const now = this.now;
    switch (op.k) {
      case 'registerNode': {
        const n = op.n;
        if (n.bad) fail('INVALID_ARGUMENT');
        const id = n.id!;
        if (n.peers?.includes(id)) fail('INVALID_ARGUMENT');
        const fresh = mergeRes(EMPTY_RES, n.res ?? {});
        const old = this.w.nodes.get(id);
        let rec: NodeRecord;
        if (!old) {
          rec = {
            id, role: n.role!, status: n.status ?? 'online', peers: n.peers ?? [], capabilities: n.capabilities ?? [],
            resources: fresh, last_seen: now, address: 'address' in n ? n.address! : null, metadata: 'metadata' in n ? n.metadata! : null,
          };
        } else {
          rec = {
            ...old, role: n.role!, status: n.status ?? 'online', peers: n.peers ?? old.peers, capabilities: n.capabilities ?? old.capabilities,
            resources: n.res ? mergeRes(old.resources, n.res) : old.resources,
            address: 'address' in n ? n.address! : old.address, metadata: 'metadata' in n ? n.metadata! : old.metadata, last_seen: now,
          };
          this.checkDemotion(old, rec.role);
        }
        this.w.nodes.set(id, rec);
        this.followMaster();
        return rec;
      }
      case 'updateNode': {
        const old = this.node(op.id);
        const n = op.n;
        if (n.bad) fail('INVALID_ARGUMENT');
        const rec: NodeRecord = {
          ...old,
          ...(n.role !== undefined ? { role: n.role } : {}),
          ...(n.status !== undefined ? { status: n.status } : {}),
          ...(n.peers !== undefined ? { peers: n.peers } : {}),
          ...(n.capabilities !== undefined ? { capabilities: n.capabilities } : {}),
          ...('address' in n ? { address: n.address! } : {}),
          ...('metadata' in n ? { metadata: n.metadata! } : {}),
          resources: n.res ? mergeRes(old.resources, n.res) : old.resources,
        };
        if (rec.peers.includes(rec.id)) fail('INVALID_ARGUMENT');
        this.checkDemotion(old, rec.role);
        this.w.nodes.set(rec.id, rec);
        this.followMaster();
        return rec;
      }
      case 'updateNodeStatus': {
        const old = this.node(op.id);
        if (op.status[1] === BAD) fail('INVALID_ARGUMENT');
        const rec = { ...old, status: op.status[1] as NStatus };
        this.w.nodes.set(rec.id, rec);
        return rec;
      }
      case 'heartbeat': {
        const old = this.node(op.id);
        if (op.res?.bad) fail('INVALID_ARGUMENT');
        const rec: NodeRecord = {
          ...old,
          status: old.status === 'offline' ? 'online' : old.status,
          resources: op.res ? mergeRes(old.resources, op.res.patch) : old.resources,
          last_seen: now,
        };
        this.w.nodes.set(rec.id, rec);
        return rec;
      }
      case 'removeNode': {
        const old = this.node(op.id);
        if (op.opts[1] === BAD) fail('INVALID_ARGUMENT');
        const active = this.activeOn(old.id);
        if (active.length && !op.opts[1]) fail('INVALID_TRANSITION');
        for (const t of active) {
          this.w.tasks.set(t.id, { ...t, status: 'pending', assigned_to: null, started_at: null, completed_at: null, updated_at: now });
        }
        for (const c of this.w.content.values()) {
          if (c.providers.includes(old.id)) this.w.content.set(c.cid, { ...c, providers: c.providers.filter((p) => p !== old.id) });
        }
        this.w.nodes.delete(old.id);
        this.followMaster();
        return undefined;
      }
      case 'addTask': {
        const n = op.n;
        if (n.bad) fail('INVALID_ARGUMENT');
        if (this.w.tasks.has(n.id!)) fail('ALREADY_EXISTS');
        const rec: TaskRecord = {
          id: n.id!, type: n.type!, status: 'pending', created_at: now, updated_at: now, assigned_to: null,
          resources: n.resources ?? { ...EMPTY_TASK_RES },
          input_cid: n.input_cid ?? null, output_cid: n.output_cid ?? null, input_cids: n.input_cids ?? [], output_cids: n.output_cids ?? [],
          priority: n.priority ?? 0, payload: n.hasPayload ? n.payload! : null, result: null, error: null,
          started_at: null, completed_at: null, attempts: 0,
        };
        this.w.tasks.set(rec.id, rec);
        return rec;
      }
      case 'assignTask': {
        const task = this.task(op.task);
        const node = this.node(op.node);
        this.assignable(task, node);
        const rec: TaskRecord = { ...task, status: 'assigned', assigned_to: node.id, updated_at: now };
        this.w.tasks.set(rec.id, rec);
        return rec;
      }
      case 'updateTask': {
        const task = this.task(op.id);
        const n = op.n;
        if (n.bad) fail('INVALID_ARGUMENT');
        const rec: TaskRecord = { ...task, updated_at: now };
        for (const k of ['input_cid', 'output_cid', 'input_cids', 'output_cids', 'priority'] as const) {
          if (n[k] !== undefined) (rec as unknown as Record<string, unknown>)[k] = n[k];
        }
        if (n.hasResult) rec.result = n.result!;
        if (n.hasPayload) rec.payload = n.payload!;
        if (n.hasError) rec.error = n.error!;
        if (n.hasResources) rec.resources = n.resources ?? { ...EMPTY_TASK_RES };
        const to = n.status ?? task.status;
        const assignee = n.hasAssignee ? n.assigned_to! : task.assigned_to;
        if (to !== task.status && !LEGAL[task.status].includes(to)) fail('INVALID_TRANSITION');
        if (to === 'assigned') {
          if (assignee === null) fail('INVALID_ARGUMENT');
          if (assignee !== task.assigned_to || task.status !== 'assigned') {
            this.assignable(task, this.w.nodes.get(assignee!) ?? fail('NOT_FOUND'));
          }
          rec.assigned_to = assignee;
        } else if (to === 'pending') {
          if (n.hasAssignee && assignee !== null) fail('INVALID_ARGUMENT');
          rec.assigned_to = null;
          rec.started_at = null;
          rec.completed_at = null;
        } else if (n.hasAssignee && assignee !== task.assigned_to) {
          fail('INVALID_TRANSITION'); // the node only changes while the task is assigned
        }
        if (to !== task.status) {
          const seconds = now / 1000;
          // Entering running counts an attempt; finishing an assigned task stamps its start as well.
          if (to === 'running' || ((to === 'completed' || to === 'failed') && task.status === 'assigned')) {
            rec.started_at = seconds;
            rec.attempts = task.attempts + 1;
          }
          if (to === 'completed' || to === 'failed' || to === 'cancelled') rec.completed_at = seconds;
          rec.status = to;
        }
        this.w.tasks.set(rec.id, rec);
        return rec;
      }
      case 'removeTask': {
        const task = this.task(op.id);
        this.w.tasks.delete(task.id);
        return undefined;
      }
      case 'addContent': {
        const n = op.n;
        if (n.bad) fail('INVALID_ARGUMENT');
        if (this.w.content.has(n.cid!)) fail('ALREADY_EXISTS');
        for (const p of n.providers ?? []) if (!this.w.nodes.has(p)) fail('NOT_FOUND');
        const pinned = n.pinned ?? false;
        const rec: ContentRecord = {
          cid: n.cid!, size: n.size!, created_at: now, providers: n.providers ?? [], pinned,
          replication: n.replication ?? 1, pinned_at: pinned ? now : null,
        };
        this.w.content.set(rec.cid, rec);
        return rec;
      }
      case 'updateContent': {
        const old = this.item(op.cid);
        const n = op.n;
        // The patch is validated whole (INVALID_ARGUMENT) before the providers are looked up (NOT_FOUND).
        if (n.preBad || n.pinnedBad || n.bad) fail('INVALID_ARGUMENT');
        for (const p of n.providers ?? []) if (!this.w.nodes.has(p)) fail('NOT_FOUND');
        const rec: ContentRecord = { ...old };
        if (n.size !== undefined) rec.size = n.size;
        if (n.replication !== undefined) rec.replication = n.replication;
        if (n.providers !== undefined) rec.providers = n.providers;
        if (n.pinned !== undefined) {
          rec.pinned = n.pinned;
          if (n.pinned && !old.pinned) rec.pinned_at = now; // pinning stamps pinned_at
          if (!n.pinned) rec.pinned_at = null; // unpinning clears it
        }
        this.w.content.set(rec.cid, rec);
        return rec;
      }
      case 'addProvider': {
        const c = this.item(op.cid);
        const node = this.node(op.node);
        if (c.providers.includes(node.id)) fail('ALREADY_EXISTS');
        const rec = { ...c, providers: [...c.providers, node.id] };
        this.w.content.set(rec.cid, rec);
        return rec;
      }
      case 'removeProvider': {
        const c = this.item(op.cid);
        if (op.node[1] === BAD) fail('INVALID_ARGUMENT');
        if (!c.providers.includes(op.node[1] as string)) fail('NOT_FOUND');
        const rec = { ...c, providers: c.providers.filter((p) => p !== op.node[1]) };
        this.w.content.set(rec.cid, rec);
        return rec;
      }
      case 'removeContent': {
        const c = this.item(op.cid);
        this.w.content.delete(c.cid);
        return undefined;
      }
    }
  }

  /** Runs sub-operations as a transaction: all or nothing. Returns whether anything changed. */
  private tx(subs: Sub[], end: TxEnd, log: string[]): boolean {
    const saved = this.save();
    let changed = false;
    try {
      for (const sub of subs) {
        this.now = sub.at;
        try {
          if (sub.op.k === 'nested') {
            changed = this.tx(sub.op.subs, sub.op.end, log) || changed;
          } else {
            this.apply(sub.op);
            changed = true;
          }
          log.push('ok');
        } catch (e) {
          log.push(outcomeOf(e));
          if (!sub.catch) throw e;
        }
      }
      if (end === 'error') throw new Abort();
      if (end === 'promise') fail('INVALID_ARGUMENT');
    } catch (e) {
      this.restore(saved);
      throw e;
    }
    return changed;
  }

  /** A top-level call: one revision per successful mutation or non-empty transaction. */
  run(op: Op, now: number, log: string[]): unknown {
    this.now = now;
    let changed = true;
    let ret: unknown;
    if (op.k === 'tx') changed = this.tx(op.subs, op.end, log);
    else ret = this.apply(op);
    if (changed) {
      this.revision++;
      this.updatedAt = Math.max(this.updatedAt, this.now);
    }
    return ret;
  }
}

// ─────────────────────────── running against ClusterState ───────────────────────────

function exec(s: ClusterState, op: SingleOp): unknown {
  const a = <T>(v: unknown) => v as T;
  switch (op.k) {
    case 'registerNode': return s.registerNode(a(op.raw));
    case 'updateNode': return s.updateNode(a(op.id[0]), a(op.raw));
    case 'updateNodeStatus': return s.updateNodeStatus(a(op.id[0]), a(op.status[0]));
    case 'heartbeat': return op.res === undefined ? s.heartbeat(a(op.id[0])) : s.heartbeat(a(op.id[0]), a(op.res.raw));
    case 'removeNode': return op.opts[0] === undefined ? s.removeNode(a(op.id[0])) : s.removeNode(a(op.id[0]), a(op.opts[0]));
    case 'addTask': return s.addTask(a(op.raw));
    case 'assignTask': return s.assignTask(a(op.task[0]), a(op.node[0]));
    case 'updateTask': return s.updateTask(a(op.id[0]), a(op.raw));
    case 'removeTask': return s.removeTask(a(op.id[0]));
    case 'addContent': return s.addContent(a(op.raw));
    case 'updateContent': return s.updateContent(a(op.cid[0]), a(op.raw));
    case 'addProvider': return s.addProvider(a(op.cid[0]), a(op.node[0]));
    case 'removeProvider': return s.removeProvider(a(op.cid[0]), a(op.node[0]));
    case 'removeContent': return s.removeContent(a(op.cid[0]));
  }
}

function execTx(s: ClusterState, subs: Sub[], end: TxEnd, setNow: (t: number) => void, log: string[]): unknown {
  return s.transaction((st) => {
    for (const sub of subs) {
      setNow(sub.at);
      try {
        if (sub.op.k === 'nested') execTx(st, sub.op.subs, sub.op.end, setNow, log);
        else exec(st, sub.op);
        log.push('ok');
      } catch (e) {
        log.push(outcomeOf(e));
        if (!sub.catch) throw e;
      }
    }
    if (end === 'error') throw new Abort();
    if (end === 'promise') return Promise.resolve(1);
    return undefined;
  });
}

function outcomeOf(e: unknown): string {
  if (e instanceof ModelError) return e.code;
  if (e instanceof StateError) return e.code;
  if (e instanceof Abort) return 'ABORT';
  return `CRASH: ${e instanceof Error ? e.stack : String(e)}`;
}

// ─────────────────────────── comparing ───────────────────────────

/** Key-sorted deep copy, so that comparisons ignore property order. */
function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])]));
  }
  return v;
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Vector) return Array.from(v as Iterable<unknown>).map(plain);
  if (v && typeof v === 'object') {
    if (Array.isArray(v)) return v.map(plain);
    const o = v as { toJSON?: () => unknown };
    if (typeof o.toJSON === 'function') return plain(o.toJSON());
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

const parseJsonCol = (v: unknown) => (v === null ? null : JSON.parse(v as string));
function decodeNode(row: unknown): unknown {
  const o = plain(row) as Record<string, unknown>;
  // cpu_load is float32 in Arrow: it reads back as the shortest decimal with the same float32.
  const res = o.resources as Record<string, unknown>;
  const resources = res && typeof res.cpu_load === 'number' ? { ...res, cpu_load: shortFloat32(res.cpu_load) } : res;
  return { ...o, resources, metadata: parseJsonCol(o.metadata) };
}
function decodeTask(row: unknown): unknown {
  const o = plain(row) as Record<string, unknown>;
  return { ...o, payload: parseJsonCol(o.payload), result: parseJsonCol(o.result) };
}
function decodeContent(row: unknown): unknown {
  return plain(row);
}
function decodeRows(t: Table, f: (row: unknown) => unknown): unknown[] {
  return t.toArray().map(f);
}

function liveView(s: ClusterState) {
  return canon({
    revision: s.revision, masterId: s.masterId, updatedAt: s.updatedAt, counts: s.counts,
    nodes: NODE_POOL.map((id) => s.getNode(id) ?? null),
    tasks: TASK_POOL.map((id) => s.getTask(id) ?? null),
    content: CID_POOL.map((id) => s.getContent(id) ?? null),
  });
}
function modelView(m: Model) {
  return canon({
    revision: m.revision, masterId: m.w.masterId, updatedAt: m.updatedAt,
    counts: { nodes: m.w.nodes.size, tasks: m.w.tasks.size, content: m.w.content.size },
    nodes: NODE_POOL.map((id) => m.w.nodes.get(id) ?? null),
    tasks: TASK_POOL.map((id) => m.w.tasks.get(id) ?? null),
    content: CID_POOL.map((id) => m.w.content.get(id) ?? null),
  });
}

function arrowView(s: ClusterState) {
  const t = s.getTables();
  const state = s.getState();
  const row = plain(state.get(0)) as Record<string, unknown>;
  const single = {
    cluster_id: row.cluster_id, master_id: row.master_id, updated_at: row.updated_at,
    nodes: (row.nodes as unknown[]).map((n) => decodeNode(n)),
    tasks: (row.tasks as unknown[]).map((x) => ({ ...(x as object), payload: parseJsonCol((x as { payload: unknown }).payload), result: parseJsonCol((x as { result: unknown }).result) })),
    content: row.content,
  };
  return canon({
    tables: { nodes: decodeRows(t.nodes, decodeNode), tasks: decodeRows(t.tasks, decodeTask), content: decodeRows(t.content, decodeContent) },
    single,
  });
}
function modelArrowView(m: Model, clusterId: string) {
  const nodes = [...m.w.nodes.values()];
  const tasks = [...m.w.tasks.values()];
  const content = [...m.w.content.values()];
  return canon({
    tables: { nodes, tasks, content },
    single: { cluster_id: clusterId, master_id: m.w.masterId, updated_at: m.updatedAt, nodes, tasks, content },
  });
}

function describe(op: Op): string {
  return inspect(op, { depth: 6, breakLength: 160, maxStringLength: 80 });
}

// ─────────────────────────── the driver ───────────────────────────

interface Stats {
  outcomes: Record<string, number>;
  perKind: Record<string, Record<string, number>>;
  statusesSeen: Set<string>;
  txCommitted: number;
  txRolledBack: number;
  requeues: number;
  masters: Set<string | null>;
}

function runModel(t: ExecutionContext, seed: number, steps: number, nodeId: string | undefined): Stats | null {
  const r = new Rng(seed);
  let now = 1_700_000_000_000;
  const clusterId = `model-${seed}`;
  const s = ClusterState.inMemory({ clusterId, clock: () => now, ...(nodeId ? { nodeId } : {}) });
  const m = new Model(nodeId ?? null, now);
  const stats: Stats = { outcomes: {}, perKind: {}, statusesSeen: new Set(), txCommitted: 0, txRolledBack: 0, requeues: 0, masters: new Set() };
  try {
    for (let step = 1; step <= steps; step++) {
      // Mostly forward, sometimes the wall clock steps back.
      now += r.chance(0.04) ? -2500 : 1000;
      const base = now;
      const op: Op = r.chance(0.08) ? genTx(r, m, base) : genSingle(r, m);
      const where = `seed ${seed}, step ${step}: ${describe(op)}`;

      const realLog: string[] = [];
      let real: string;
      let realRet: unknown;
      try {
        realRet = op.k === 'tx' ? execTx(s, op.subs, op.end, (x) => (now = x), realLog) : exec(s, op);
        real = 'ok';
      } catch (e) {
        real = outcomeOf(e);
      }
      const modelLog: string[] = [];
      let expected: string;
      let expRet: unknown;
      const revBefore = m.revision;
      try {
        expRet = m.run(op, base, modelLog);
        expected = 'ok';
      } catch (e) {
        expected = outcomeOf(e);
      }

      if (real !== expected || JSON.stringify(realLog) !== JSON.stringify(modelLog)) {
        t.deepEqual({ outcome: real, subOps: realLog }, { outcome: expected, subOps: modelLog }, `outcome differs at ${where}`);
        return null;
      }
      if (expected === 'ok' && op.k !== 'tx' && JSON.stringify(canon(realRet ?? null)) !== JSON.stringify(canon(expRet ?? null))) {
        t.deepEqual(canon(realRet ?? null), canon(expRet ?? null), `returned record differs at ${where}`);
        return null;
      }
      const live = liveView(s);
      const want = modelView(m);
      if (JSON.stringify(live) !== JSON.stringify(want)) {
        t.deepEqual(live, want, `state differs after ${where}`);
        return null;
      }
      // Encode pending changes at random moments too, so that updates land on both freshly
      // encoded and long-pending batches (in-place column rebuilds, compaction after deletes).
      const materialize = r.chance(0.08);
      if (materialize) s.getTables();
      if (step % 100 === 0 || step === steps || (materialize && r.chance(0.25))) {
        const arrow = arrowView(s);
        const wantArrow = modelArrowView(m, clusterId);
        if (JSON.stringify(arrow) !== JSON.stringify(wantArrow)) {
          t.deepEqual(arrow, wantArrow, `Arrow tables differ from the model at seed ${seed}, step ${step}`);
          return null;
        }
      }

      // Statistics, to make sure the run exercised what it should.
      const kind = op.k;
      stats.outcomes[expected] = (stats.outcomes[expected] ?? 0) + 1;
      (stats.perKind[kind] ??= {})[expected] = (stats.perKind[kind]![expected] ?? 0) + 1;
      for (const x of modelLog) stats.outcomes[`sub:${x}`] = (stats.outcomes[`sub:${x}`] ?? 0) + 1;
      for (const task of m.w.tasks.values()) stats.statusesSeen.add(task.status);
      if (op.k === 'tx') {
        if (expected === 'ok' && m.revision > revBefore) stats.txCommitted++;
        if (expected !== 'ok') stats.txRolledBack++;
      }
      if (op.k === 'removeNode' && expected === 'ok' && op.opts[1] === true) stats.requeues++;
      stats.masters.add(m.w.masterId);
    }
  } finally {
    void s.close();
  }
  return stats;
}

function checkCoverage(t: ExecutionContext, stats: Stats, steps: number): void {
  const o = stats.outcomes;
  t.true((o.ok ?? 0) > steps * 0.3, `enough successful steps: ${inspect(o)}`);
  for (const code of ['NOT_FOUND', 'ALREADY_EXISTS', 'INVALID_ARGUMENT', 'INVALID_TRANSITION']) {
    t.true((o[code] ?? 0) >= 20, `${code} seen often enough: ${inspect(o)}`);
  }
  t.true((o.ABORT ?? 0) > 0, 'some transactions were aborted');
  for (const st of TSTATUSES) t.true(stats.statusesSeen.has(st), `a task reached ${st}`);
  t.true(stats.txCommitted >= 20, `transactions committed: ${stats.txCommitted}`);
  t.true(stats.txRolledBack >= 20, `transactions rolled back: ${stats.txRolledBack}`);
  t.true(stats.requeues > 0, 'removeNode with requeue happened');
  t.true(stats.masters.size >= 3, `master_id moved around: ${inspect([...stats.masters])}`);
  for (const kind of Object.keys(stats.perKind)) {
    t.true((stats.perKind[kind]!.ok ?? 0) > 0, `${kind} succeeded at least once: ${inspect(stats.perKind[kind])}`);
  }
  t.is(Object.keys(stats.perKind).length, 15, 'every operation kind was generated');
}

const STEPS = 4000;
for (const [seed, nodeId] of [[1, undefined], [20240601, 'm2'], [777, 'w1']] as const) {
  test(`model: ${STEPS} random operations, seed ${seed}${nodeId ? `, writer node ${nodeId}` : ''}`, (t) => {
    const stats = runModel(t, seed, STEPS, nodeId);
    if (!stats) return;
    t.log(inspect({ outcomes: stats.outcomes, txCommitted: stats.txCommitted, txRolledBack: stats.txRolledBack, requeues: stats.requeues, masters: [...stats.masters] }, { breakLength: 200 }));
    checkCoverage(t, stats, STEPS);
  });
}

// ─────────────────────────── records are values ───────────────────────────
// Not random, but part of the model's assumptions: the store holds its own copies.

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
