// Shared by the bad-input cases: the populated writer every case starts from, the fingerprint a
// failed call must leave unchanged, the probe that re-encodes every table, and input builders.
import { Vector, type Table } from 'apache-arrow';
import { ClusterState } from '../../../src/index.js';

export type Code = 'NOT_FOUND' | 'ALREADY_EXISTS' | 'INVALID_ARGUMENT' | 'INVALID_TRANSITION';

export interface Case {
  name: string;
  op: (s: ClusterState) => unknown;
  code: Code;
  /** Substrings the message must contain (the offending value, rendered as the library shows it). */
  msg: string | string[];
}

export const T0 = 1_700_000_000_000;

// ─────────────────────────── fixture ───────────────────────────

export interface Fixture {
  s: ClusterState;
  tick: () => void;
}

/**
 * A master, two online workers, an offline worker (still holding an assigned task), a degraded
 * worker, a leecher; tasks in every status; content with providers.
 */
export function populated(): Fixture {
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
export const NODE_IDS = ['m1', 'w1', 'w2', 'w3', 'w4', 'l1', 'n-new', 'ghost'];
export const TASK_IDS = ['t-pending', 't-assigned', 't-running', 't-completed', 't-failed', 't-cancelled', 't-stranded', 't-new', 'ghost'];
export const CIDS = ['c1', 'c2', 'c3', 'c-new', 'ghost'];

// ─────────────────────────── fingerprints ───────────────────────────

export function plain(v: unknown): unknown {
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

export function tableRows(t: Table): unknown[] {
  return t.toArray().map((r) => plain(r));
}

/** What a case must not change: revision, master, counts, every record, the Arrow views. */
export function fingerprint(s: ClusterState): string {
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
export function probe(f: Fixture): void {
  f.tick();
  f.s.transaction((s) => {
    s.heartbeat('m1');
    s.updateTask('t-pending', { priority: 9 });
    s.updateContent('c3', { replication: 4 });
  });
}

// ─────────────────────────── input builders for the cases ───────────────────────────

export const q = (v: unknown) => JSON.stringify(v);
export const LONG_ID = 'a'.repeat(513);

export class Widget {
  constructor(readonly size = 1) {}
}
export function cyclic(): Record<string, unknown> {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
}
export function deep(n: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < n; i++) v = [v];
  return v;
}
export function namedFn() {
  return 1;
}
export const node = (extra: Record<string, unknown>) => ({ id: 'n-new', role: 'worker', ...extra }) as never;
export const task = (extra: Record<string, unknown>) => ({ id: 't-new', type: 'process', ...extra }) as never;
export const content = (extra: Record<string, unknown>) => ({ cid: 'c-new', size: '1MB', ...extra }) as never;
export const res = (resources: Record<string, unknown>) => node({ resources });
export const tres = (resources: Record<string, unknown>) => task({ resources });
// Cast helper: deliberately wrong inputs.
export const any = <T>(v: unknown) => v as T;
/** A revoked Proxy: every operation on it throws a TypeError. */
export const revoked = <T = never>(): T => {
  const p = Proxy.revocable({}, {});
  p.revoke();
  return p.proxy as T;
};
