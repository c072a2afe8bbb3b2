// The model test's generator: random operations of the writer's API, valid and invalid, single
// and in (nested) transactions, each argument paired with what the reference model makes of it.
import type { NodeResources, TaskRecord, TaskResources } from '../../../src/index.js';
import type { ContentNorm, Id, NodeNorm, Op, ResGen, SingleOp, Sub, TaskNorm, TaskResGen, TxEnd } from './ops.js';
import { shortFloat32 } from '../../../src/arrow/decode/row-reader.js';
import type { Model } from './reference.js';
import type { Rng } from '../../fixtures/rng.js';
import {
  BAD, BAD_IDS, CAPS, CID_POOL, clone, COUNTS_BAD, COUNTS_OK, INT32_MAX, JSON_BAD, JSON_OK, LEGAL, LOADS_BAD, LOADS_OK, META_BAD,
  META_OK, MiB, NODE_POOL, NSTATUSES, PRIORITIES_BAD, PRIORITIES_OK, REPLICATION_BAD, REPLICATION_OK, SIZES_BAD, SIZES_OK, TASK_POOL,
  TSTATUSES, TYPES, type G, type Json, type NStatus, type Role,
} from './values.js';

export function genId(r: Rng, pool: readonly string[], badP = 0.03): G<string> {
  if (r.chance(badP)) return [r.pick(BAD_IDS), BAD];
  const id = r.pick(pool);
  return [id, id];
}
export function genCount(r: Rng, allowNull: boolean, badP = 0.05): G<number | null> {
  if (r.chance(badP)) return [r.pick(COUNTS_BAD), BAD];
  if (allowNull && r.chance(0.1)) return [null, null];
  return r.pick(COUNTS_OK);
}
export function genSize(r: Rng, allowNull: boolean, badP = 0.05): G<number | null> {
  if (r.chance(badP)) return [r.pick(SIZES_BAD), BAD];
  if (allowNull && r.chance(0.1)) return [null, null];
  return r.pick(SIZES_OK) as G<number>;
}
export function genJson(r: Rng, badP = 0.06): G<Json> {
  if (r.chance(badP)) return [r.pick(JSON_BAD)(), BAD];
  const v = r.pick(JSON_OK)();
  return [v, clone(v)];
}

/** Collects raw fields and their normalised values; any BAD marks the whole input bad. */
export class Builder {
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

export function genNodeRes(r: Rng): ResGen {
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

export function genIdList(r: Rng, pool: readonly string[], max: number): G<string[]> {
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
export function genNodeFields(r: Rng, isUpdate: boolean): { raw: unknown; n: NodeNorm } {
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

export function genTaskRes(r: Rng): TaskResGen {
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

export function genTaskCommon(r: Rng, b: Builder, n: TaskNorm, p: { priority: number; payload: number; resources: number; cid: number }): void {
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
export function genTaskInput(r: Rng): { raw: unknown; n: TaskNorm } {
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
export function genTaskPatch(r: Rng, current: TaskRecord | undefined): { raw: unknown; n: TaskNorm } {
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

export function genPinned(r: Rng): G<boolean> {
  if (r.chance(0.05)) return [r.pick(['yes', 1, null]), BAD];
  const p = r.chance(0.5);
  return [p, p];
}
export function genReplication(r: Rng): G<number> {
  if (r.chance(0.08)) return [r.pick(REPLICATION_BAD), BAD];
  const x = r.pick(REPLICATION_OK);
  return [x, x];
}
export function genContentInput(r: Rng): { raw: unknown; n: ContentNorm } {
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
export function genContentPatch(r: Rng): { raw: unknown; n: ContentNorm } {
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

// ─────────────────────────── operations of a step ───────────────────────────

export function existing(r: Rng, ids: string[], pool: readonly string[], p: number): Id {
  if (ids.length && r.chance(p)) {
    const id = r.pick(ids);
    return [id, id];
  }
  return genId(r, pool);
}

export function genSingle(r: Rng, m: Model): SingleOp {
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

export function genEnd(r: Rng): TxEnd {
  return r.weighted<TxEnd>([[70, 'none'], [22, 'error'], [8, 'promise']]);
}

/** A transaction of several operations (sometimes a nested one); `base` is the step's clock. */
export function genTx(r: Rng, m: Model, base: number): Op {
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
