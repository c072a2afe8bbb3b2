// The model test's runner: the same random operations on ClusterState and on the reference model,
// compared after every step (outcome, returned record, state) and, now and then, through the
// Arrow tables and the single-row state; with statistics proving the run exercised every path.
import { inspect } from 'node:util';
import type { ExecutionContext } from 'ava';
import { Vector, type Table } from 'apache-arrow';
import { ClusterState } from '../../../src/index.js';
import { shortFloat32 } from '../../../src/arrow/decode/row-reader.js';
import { genSingle, genTx } from './generator.js';
import { Abort, type Op, type SingleOp, type Sub, type TxEnd } from './ops.js';
import { Model, outcomeOf } from './reference.js';
import { Rng } from '../../fixtures/rng.js';
import { CID_POOL, NODE_POOL, TASK_POOL, TSTATUSES } from './values.js';

export function exec(s: ClusterState, op: SingleOp): unknown {
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

export function execTx(s: ClusterState, subs: Sub[], end: TxEnd, setNow: (t: number) => void, log: string[]): unknown {
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


// ─────────────────────────── comparing ───────────────────────────

/** Key-sorted deep copy, so that comparisons ignore property order. */
export function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])]));
  }
  return v;
}

export function plain(v: unknown): unknown {
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

export const parseJsonCol = (v: unknown) => (v === null ? null : JSON.parse(v as string));
export function decodeNode(row: unknown): unknown {
  const o = plain(row) as Record<string, unknown>;
  // cpu_load is float32 in Arrow: it reads back as the shortest decimal with the same float32.
  const res = o.resources as Record<string, unknown>;
  const resources = res && typeof res.cpu_load === 'number' ? { ...res, cpu_load: shortFloat32(res.cpu_load) } : res;
  return { ...o, resources, metadata: parseJsonCol(o.metadata) };
}
export function decodeTask(row: unknown): unknown {
  const o = plain(row) as Record<string, unknown>;
  return { ...o, payload: parseJsonCol(o.payload), result: parseJsonCol(o.result) };
}
export function decodeContent(row: unknown): unknown {
  return plain(row);
}
export function decodeRows(t: Table, f: (row: unknown) => unknown): unknown[] {
  return t.toArray().map(f);
}

export function liveView(s: ClusterState) {
  return canon({
    revision: s.revision, masterId: s.masterId, updatedAt: s.updatedAt, counts: s.counts,
    nodes: NODE_POOL.map((id) => s.getNode(id) ?? null),
    tasks: TASK_POOL.map((id) => s.getTask(id) ?? null),
    content: CID_POOL.map((id) => s.getContent(id) ?? null),
  });
}
export function modelView(m: Model) {
  return canon({
    revision: m.revision, masterId: m.w.masterId, updatedAt: m.updatedAt,
    counts: { nodes: m.w.nodes.size, tasks: m.w.tasks.size, content: m.w.content.size },
    nodes: NODE_POOL.map((id) => m.w.nodes.get(id) ?? null),
    tasks: TASK_POOL.map((id) => m.w.tasks.get(id) ?? null),
    content: CID_POOL.map((id) => m.w.content.get(id) ?? null),
  });
}

export function arrowView(s: ClusterState) {
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
export function modelArrowView(m: Model, clusterId: string) {
  const nodes = [...m.w.nodes.values()];
  const tasks = [...m.w.tasks.values()];
  const content = [...m.w.content.values()];
  return canon({
    tables: { nodes, tasks, content },
    single: { cluster_id: clusterId, master_id: m.w.masterId, updated_at: m.updatedAt, nodes, tasks, content },
  });
}

export function describe(op: Op): string {
  return inspect(op, { depth: 6, breakLength: 160, maxStringLength: 80 });
}

// ─────────────────────────── the driver ───────────────────────────

export interface Stats {
  outcomes: Record<string, number>;
  perKind: Record<string, Record<string, number>>;
  statusesSeen: Set<string>;
  txCommitted: number;
  txRolledBack: number;
  requeues: number;
  masters: Set<string | null>;
}

export function runModel(t: ExecutionContext, seed: number, steps: number, nodeId: string | undefined): Stats | null {
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

export function checkCoverage(t: ExecutionContext, stats: Stats, steps: number): void {
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
