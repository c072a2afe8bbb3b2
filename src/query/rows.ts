/**
 * Row queries: the matching rows in order (a sort of the matches, or a bounded heap when a limit
 * keeps few of many), the page after a cursor, and the records — or the selected fields — of only
 * the rows returned.
 */
import type { TableView } from '../arrow/decode/table-view.js';
import type { EntityKind } from '../schema/entities.js';
import type { StrChunk } from '../arrow/decode/str-chunk.js';
import { compareCodePoints, compareUnits, withoutSurrogates } from './compare.js';
import { scan } from './filter.js';
import { numReader, type NumReader } from './leaf.js';
import type { Field } from './fields.js';
import { encodeCursor, type Plan } from './plan.js';
import { shownAt } from './values.js';

/** The rows a row query returns, its match count and the next page's cursor. */
export function selectRows(view: TableView, plan: Plan): { rows: Record<string, unknown>[]; total: number; cursor: string | null } {
  if (plan.limit === 0) return { rows: [], total: scan(view, plan.where, null), cursor: null };
  // The matching rows, as global row numbers in table order.
  let matches = new Int32Array(1024);
  let count = 0;
  const total = scan(view, plan.where, ({ batch, rows, n }) => {
    if (count + n > matches.length) {
      const grown = new Int32Array(Math.max(matches.length * 2, count + n));
      grown.set(matches.subarray(0, count));
      matches = grown;
    }
    const base = view.starts[batch]!;
    for (let k = 0; k < n; k++) matches[count++] = base + rows[k]!;
  });
  if (plan.order.length === 0) return { rows: materialise(view, plan.kind, plan.select, matches.subarray(0, count)), total, cursor: null };

  const keys = plan.order.map((o) => orderKey(view, o.field!, matches, count));
  const desc = plan.order.map((o) => o.desc);
  const cmp = (p: number, q: number): number => {
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      const np = key.isNull(p);
      const nq = key.isNull(q);
      if (np || nq) {
        if (np && nq) continue;
        return np ? 1 : -1; // nulls last, whatever the direction
      }
      const d = key.cmp(p, q);
      if (d !== 0) return desc[k] ? -d : d;
    }
    return 0;
  };
  // Candidates: positions in `matches` after the cursor.
  let cand: Int32Array;
  let nc = 0;
  if (plan.after) {
    const after = plan.after;
    cand = new Int32Array(count);
    for (let p = 0; p < count; p++) {
      let d = 0;
      for (let k = 0; k < keys.length && d === 0; k++) {
        const key = keys[k]!;
        const v = after[k];
        const np = key.isNull(p);
        if (np || v === null) d = np && v === null ? 0 : np ? 1 : -1;
        else d = desc[k] ? -key.cmpValue(p, v) : key.cmpValue(p, v);
      }
      if (d > 0) cand[nc++] = p;
    }
  } else {
    cand = new Int32Array(count);
    for (let p = 0; p < count; p++) cand[p] = p;
    nc = count;
  }
  const limit = plan.limit ?? Infinity;
  const page = limit < nc && limit * 4 < nc ? smallest(cand.subarray(0, nc), limit, cmp) : Array.from(cand.subarray(0, nc)).sort(cmp).slice(0, limit);
  const more = nc > page.length;
  const last = page[page.length - 1];
  const cursor = more && last !== undefined ? encodeCursor(plan.fingerprint(), keys.map((k) => k.value(last))) : null;
  const rows = Int32Array.from(page, (p) => matches[p]!);
  return { rows: materialise(view, plan.kind, plan.select, rows), total, cursor };
}

/** One order key over the matches (by position p in `matches`): compared without making strings where it can. */
interface OrderKeyValues {
  isNull(p: number): boolean;
  /** Ascending comparison of two non-null values. */
  cmp(p: number, q: number): number;
  /** Ascending comparison with a (non-null) cursor value. */
  cmpValue(p: number, v: unknown): number;
  /** The value, as a cursor holds it. */
  value(p: number): string | number | null;
}

/** Numbers (and booleans, lengths, times): one Float64Array, NaN for null. */
class NumKey implements OrderKeyValues {
  constructor(private readonly v: Float64Array) {}
  isNull(p: number): boolean { return this.v[p] !== this.v[p]; }
  cmp(p: number, q: number): number { return this.v[p]! - this.v[q]!; }
  cmpValue(p: number, v: unknown): number { return this.v[p]! - (v as number); }
  value(p: number): number | null { return this.isNull(p) ? null : this.v[p]!; }
}

/** Text held as plain UTF-8: compared on bytes (UTF-8 order is code point order); a string is made only for a cursor. */
class BytesKey implements OrderKeyValues {
  constructor(private readonly chunks: StrChunk[], private readonly batch: Int32Array, private readonly row: Int32Array) {}
  isNull(p: number): boolean { return !this.chunks[this.batch[p]!]!.valid.ok(this.row[p]!); }
  cmp(p: number, q: number): number {
    const a = this.chunks[this.batch[p]!]!;
    const b = this.chunks[this.batch[q]!]!;
    const i = this.row[p]!;
    const j = this.row[q]!;
    const ab = a.bytes!;
    const bb = b.bytes!;
    let s = a.offsets![i]!;
    const se = a.offsets![i + 1]!;
    let t = b.offsets![j]!;
    const te = b.offsets![j + 1]!;
    for (; s < se && t < te; s++, t++) {
      const d = ab[s]! - bb[t]!;
      if (d !== 0) return d;
    }
    return se - s - (te - t);
  }
  cmpValue(p: number, v: unknown): number {
    const c = this.chunks[this.batch[p]!]!;
    const x = c.get(this.row[p]!)!;
    return compareCodePoints(x, v as string);
  }
  value(p: number): string | null { return this.chunks[this.batch[p]!]!.get(this.row[p]!); }
}

/** Text of any other shape (dictionary-coded): the strings (a dictionary's are decoded once). */
class TextKey implements OrderKeyValues {
  /** No value holds a surrogate: JavaScript's `<` is code point order. */
  private readonly units: boolean;
  constructor(private readonly v: (string | null)[]) {
    this.units = withoutSurrogates(v);
  }
  isNull(p: number): boolean { return this.v[p] === null; }
  cmp(p: number, q: number): number { return this.units ? compareUnits(this.v[p]!, this.v[q]!) : compareCodePoints(this.v[p]!, this.v[q]!); }
  cmpValue(p: number, v: unknown): number { return compareCodePoints(this.v[p]!, v as string); }
  value(p: number): string | null { return this.v[p]!; }
}

/** The order key of field f over the matches. */
function orderKey(view: TableView, f: Field, matches: Int32Array, count: number): OrderKeyValues {
  const batch = new Int32Array(count);
  const row = new Int32Array(count);
  let b = -1;
  let end = 0;
  for (let p = 0; p < count; p++) {
    const g = matches[p]!;
    if (g >= end) {
      b = view.batchOf(g);
      end = view.starts[b]! + view.lengths[b]!;
    }
    batch[p] = b;
    row[p] = g - view.starts[b]!;
  }
  if (f.type === 'str') {
    const chunks = view.str(f.column).chunks;
    if (chunks.every((c) => !c.codes)) return new BytesKey(chunks, batch, row);
    const v = new Array<string | null>(count);
    for (let p = 0; p < count; p++) v[p] = chunks[batch[p]!]!.get(row[p]!);
    return new TextKey(v);
  }
  const v = new Float64Array(count);
  let rb = -1;
  let r: NumReader | null = null;
  for (let p = 0; p < count; p++) {
    if (batch[p] !== rb) r = numReader(view, f, (rb = batch[p]!));
    v[p] = r!.get(row[p]!);
  }
  return new NumKey(v);
}

/** The `k` smallest of `items` by `cmp`, in order: a bounded max-heap, O(n log k). */
function smallest(items: Int32Array, k: number, cmp: (a: number, b: number) => number): number[] {
  const heap: number[] = [];
  const up = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (cmp(heap[i]!, heap[p]!) <= 0) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && cmp(heap[l]!, heap[m]!) > 0) m = l;
      if (r < heap.length && cmp(heap[r]!, heap[m]!) > 0) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (const x of items) {
    if (heap.length < k) {
      heap.push(x);
      up(heap.length - 1);
    } else if (k > 0 && cmp(x, heap[0]!) < 0) {
      heap[0] = x;
      down(0);
    }
  }
  return heap.sort(cmp);
}

/** The records (or selected fields) of global rows `rows`, in that order. */
function materialise(view: TableView, kind: EntityKind, select: Field[] | null, rows: Int32Array): Record<string, unknown>[] {
  if (select === null) return view.records(kind, Array.from(rows));
  const out = new Array<Record<string, unknown>>(rows.length);
  let b = -1;
  let readers: ((i: number) => unknown)[] = [];
  // Where each selected field goes, once: a struct's child under its struct (unless the struct is
  // selected whole, which wins), every other field (and length(x)) under its own name; duplicates once.
  const whole = new Set(select.filter((f) => f.type === 'struct').map((f) => f.path));
  const parentOf = (f: Field): string | null => (f.length || !f.column.includes('.') ? null : f.column.slice(0, f.column.indexOf('.')));
  const fields = select.filter((f, i) => select.findIndex((g) => g.path === f.path) === i && !whole.has(parentOf(f) ?? ''));
  const parents = fields.map(parentOf);
  const names = fields.map((f, j) => (parents[j] === null ? f.path : f.column.slice(parents[j]!.length + 1)));
  for (let k = 0; k < rows.length; k++) {
    const g = rows[k]!;
    if (b < 0 || g < view.starts[b]! || g >= view.starts[b]! + view.lengths[b]!) {
      b = view.batchOf(g);
      readers = fields.map((f) => shownAt(view, f, b));
    }
    const i = g - view.starts[b]!;
    const o: Record<string, unknown> = {};
    for (let j = 0; j < fields.length; j++) {
      const parent = parents[j];
      if (parent === null) o[names[j]!] = readers[j]!(i);
      else ((o[parent] ??= {}) as Record<string, unknown>)[names[j]!] = readers[j]!(i);
    }
    out[k] = o;
  }
  return out;
}
