/**
 * Counting straight from Arrow columns: string labels of a (dictionary-coded or plain utf8)
 * column, counts by one or two columns, and the difference between two revisions by id
 * (added, removed, status changes). Used by `watch`, `metrics` and the demo's live view.
 */
import type { Table } from 'apache-arrow';
import type { Snapshot } from '../snapshot.js';

interface DictData {
  length: number;
  nullCount: number;
  values: ArrayLike<number>;
  dictionary?: { toArray(): ArrayLike<unknown> };
  getValid(i: number): boolean;
}

/** The column `name` of `table` as one string (or null) per row. Empty when there is no such column. */
export function labels(table: Table, name: string): (string | null)[] {
  const col = table.getChild(name);
  const out: (string | null)[] = new Array(table.numRows);
  if (!col) return out.fill(null);
  let k = 0;
  for (const d of col.data as unknown as DictData[]) {
    if (d.dictionary) {
      const dict = Array.from(d.dictionary.toArray(), (x) => (x === null || x === undefined ? null : String(x)));
      const codes = d.values;
      const nulls = d.nullCount > 0;
      for (let i = 0; i < d.length; i++) out[k++] = nulls && !d.getValid(i) ? null : dict[codes[i]!] ?? null;
    } else {
      // A plain string column (e.g. read from Parquet): convert chunk by chunk.
      for (let i = 0; i < d.length; i++, k++) {
        const v = col.get(k);
        out[k] = v === null || v === undefined ? null : String(v);
      }
    }
  }
  return out;
}

/** Counts of each label of column `name` (null counted as "unknown"). */
export function countBy(table: Table, name: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of labels(table, name)) {
    const key = v ?? 'unknown';
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return m;
}

/** Counts of each (a, b) label pair: outer map by `a`, inner by `b`. */
export function countPairs(table: Table, a: string, b: string): Map<string, Map<string, number>> {
  const la = labels(table, a);
  const lb = labels(table, b);
  const m = new Map<string, Map<string, number>>();
  for (let i = 0; i < la.length; i++) {
    const x = la[i] ?? 'unknown';
    const y = lb[i] ?? 'unknown';
    let inner = m.get(x);
    if (!inner) m.set(x, (inner = new Map()));
    inner.set(y, (inner.get(y) ?? 0) + 1);
  }
  return m;
}

/** A map as a plain object with `keys` first (zeros included) then any others in sorted order. */
export function ordered(m: Map<string, number> | undefined, keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = m?.get(k) ?? 0;
  if (m) for (const k of [...m.keys()].sort()) if (!(k in out)) out[k] = m.get(k)!;
  return out;
}

/** Number of true values of a boolean column. */
export function countTrue(table: Table, name: string): number {
  const col = table.getChild(name);
  if (!col) return 0;
  let n = 0;
  for (const v of col) if (v === true) n++;
  return n;
}

// ───────────────────────────── revisions and their differences ─────────────────────────────

/** What `watch` remembers of a revision: status per node and task id, and the set of CIDs. */
export interface IdState {
  nodes: Map<string, string | null>;
  tasks: Map<string, string | null>;
  content: Set<string>;
}

export function idState(s: Snapshot): IdState {
  const pairs = (t: Table, id: string, status: string) => {
    const ids = labels(t, id);
    const st = labels(t, status);
    const m = new Map<string, string | null>();
    for (let i = 0; i < ids.length; i++) if (ids[i] !== null) m.set(ids[i]!, st[i]!);
    return m;
  };
  const content = new Set<string>();
  for (const c of labels(s.content, 'cid')) if (c !== null) content.add(c);
  return { nodes: pairs(s.nodes, 'id', 'status'), tasks: pairs(s.tasks, 'id', 'status'), content };
}

export interface EntityChange {
  added: string[];
  removed: string[];
  /** Status changes by "from->to" (nodes and tasks only). */
  status?: Record<string, number>;
}

export interface Changes {
  nodes: EntityChange;
  tasks: EntityChange;
  content: EntityChange;
}

function diffStatus(prev: Map<string, string | null>, next: Map<string, string | null>): Required<EntityChange> {
  const added: string[] = [];
  const removed: string[] = [];
  const status: Record<string, number> = {};
  for (const [id, st] of next) {
    if (!prev.has(id)) {
      added.push(id);
      continue;
    }
    const old = prev.get(id);
    if (old !== st) {
      const key = `${old ?? 'unknown'}->${st ?? 'unknown'}`;
      status[key] = (status[key] ?? 0) + 1;
    }
  }
  for (const id of prev.keys()) if (!next.has(id)) removed.push(id);
  return { added, removed, status };
}

/** What changed from `prev` to `next`: ids added and removed, status changes by kind. */
export function diffIds(prev: IdState, next: IdState): Changes {
  const added: string[] = [];
  const removed: string[] = [];
  for (const c of next.content) if (!prev.content.has(c)) added.push(c);
  for (const c of prev.content) if (!next.content.has(c)) removed.push(c);
  return { nodes: diffStatus(prev.nodes, next.nodes), tasks: diffStatus(prev.tasks, next.tasks), content: { added, removed } };
}
