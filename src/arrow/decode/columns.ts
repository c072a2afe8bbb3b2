/**
 * Columns across all record batches of a table: string (StrCol), numeric (NumCol) and
 * list<utf8> (ListCol) — matchers, classifiers, counts and lookups that compare raw bytes or
 * dictionary codes and make strings only for the rows they return.
 */
import { KeyIndex } from './key-index.js';
import type { ListChunk } from './list-chunk.js';
import type { NumChunk } from './num-chunk.js';
import type { StrChunk } from './str-chunk.js';

const encoder = new TextEncoder();

/** Which of a fixed list of values a row holds (-1: none, or null). */
export interface Classifier {
  at(batch: number, row: number): number;
}

/** Tests one row of a string column against a fixed value. */
export interface Matcher {
  test(batch: number, row: number): boolean;
}

/** The batch holding global row g (binary search over the batch starts). */
export function batchOf(starts: readonly number[], g: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= g) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A string column across all record batches of a table. */
export class StrCol {
  private lookups = 0;
  private ix: KeyIndex | null = null;

  constructor(readonly chunks: StrChunk[], readonly starts: readonly number[]) {}

  /** A matcher for rows equal to `value` (codes per dictionary, bytes otherwise). */
  matcher(value: string): Matcher {
    const target = encoder.encode(value);
    const tests = this.chunks.map((c) => c.equals(value, target));
    return { test: (b, i) => tests[b]!(i) };
  }

  /**
   * A classifier of rows into `values`: `at(b, i)` is the index in `values` of row i of batch
   * b's value, or -1 (null or another value). Dictionary chunks map codes through a table.
   */
  classifier(values: readonly string[]): Classifier {
    const targets = values.map((v) => encoder.encode(v));
    const tables = this.chunks.map((c) => {
      if (!c.codes) return null;
      const t = new Int16Array(c.dict!.values.length).fill(-1);
      values.forEach((v, k) => {
        const code = c.codeOf(v);
        if (code >= 0) t[code] = k;
      });
      return t;
    });
    const chunks = this.chunks;
    return {
      at(b: number, i: number): number {
        const c = chunks[b]!;
        const t = tables[b];
        if (t) return c.valid.ok(i) ? t[c.codes![i]!]! : -1;
        if (c.offsets === null) return -1;
        for (let k = 0; k < targets.length; k++) if (c.eqBytes(i, targets[k]!)) return k;
        return -1;
      },
    };
  }

  /** How many rows hold each of `values` (dictionary chunks: one pass over the codes). */
  countOf(values: readonly string[]): number[] {
    const out = values.map(() => 0);
    const targets = values.map((v) => encoder.encode(v));
    for (const c of this.chunks) {
      if (c.valid.allNull) continue;
      if (c.codes) {
        const codes = c.codes;
        const n = new Float64Array(c.dict!.values.length);
        if (c.valid.none) for (let i = 0; i < c.length; i++) n[codes[i]!]!++;
        else for (let i = 0; i < c.length; i++) if (c.valid.ok(i)) n[codes[i]!]!++;
        values.forEach((v, k) => {
          const code = c.codeOf(v);
          if (code >= 0) out[k]! += n[code]!;
        });
      } else {
        for (let i = 0; i < c.length; i++) {
          for (let k = 0; k < targets.length; k++) {
            if (c.eqBytes(i, targets[k]!)) {
              out[k]!++;
              break;
            }
          }
        }
      }
    }
    return out;
  }

  /** Global row numbers whose value equals `value`, in table order. */
  where(value: string, limit = Infinity): number[] {
    const out: number[] = [];
    const target = encoder.encode(value);
    for (let b = 0; b < this.chunks.length && out.length < limit; b++) {
      const c = this.chunks[b]!;
      const base = this.starts[b]!;
      if (c.valid.allNull) continue;
      if (c.codes) {
        const code = c.codeOf(value);
        if (code < 0) continue;
        const codes = c.codes;
        for (let i = 0; i < c.length && out.length < limit; i++) if (codes[i] === code && c.valid.ok(i)) out.push(base + i);
      } else {
        for (let i = 0; i < c.length && out.length < limit; i++) if (c.eqBytes(i, target)) out.push(base + i);
      }
    }
    return out;
  }

  /**
   * First global row equal to `value`, or -1. The first lookups scan; from the third lookup on
   * the same (immutable) column a hash index is built and used, so repeated id lookups on an
   * unchanged snapshot are O(1) while a snapshot asked once costs only a scan — of the batches
   * that changed since earlier revisions were asked (StrChunk.firstOf keeps per-batch indexes).
   */
  first(value: string): number {
    if (this.ix) return this.ix.find(value);
    if (++this.lookups > 2) {
      this.ix = new KeyIndex(this.chunks, this.starts);
      return this.ix.find(value);
    }
    const target = encoder.encode(value);
    for (let b = 0; b < this.chunks.length; b++) {
      const i = this.chunks[b]!.firstOf(value, target);
      if (i >= 0) return this.starts[b]! + i;
    }
    return -1;
  }

  /** The hash index of this column (built on first use). */
  index(): KeyIndex {
    this.ix ??= new KeyIndex(this.chunks, this.starts);
    return this.ix;
  }

  /**
   * Counts of each value in order of first appearance; nulls are counted under `nullAs` when
   * given, else skipped.
   */
  counts(nullAs?: string): Map<string, number> {
    const acc = new Map<string, { n: number; first: number }>();
    const add = (v: string, n: number, first: number) => {
      const e = acc.get(v);
      if (e) {
        e.n += n;
        if (first < e.first) e.first = first;
      } else acc.set(v, { n, first });
    };
    for (let b = 0; b < this.chunks.length; b++) {
      const c = this.chunks[b]!;
      const base = this.starts[b]!;
      if (c.valid.allNull) {
        if (nullAs !== undefined && c.length > 0) add(nullAs, c.length, base);
        continue;
      }
      if (c.codes) {
        const codes = c.codes;
        const size = c.dict!.values.length;
        const n = new Float64Array(size);
        const first = new Float64Array(size);
        let nulls = 0;
        let firstNull = -1;
        for (let i = 0; i < c.length; i++) {
          if (!c.valid.ok(i)) {
            if (nulls++ === 0) firstNull = i;
            continue;
          }
          const k = codes[i]!;
          if (n[k]!++ === 0) first[k] = i;
        }
        for (let k = 0; k < size; k++) {
          if (n[k] === 0) continue;
          const v = c.dict!.values[k] ?? nullAs;
          if (v !== undefined) add(v, n[k]!, base + first[k]!);
        }
        if (nulls && nullAs !== undefined) add(nullAs, nulls, base + firstNull);
      } else {
        for (let i = 0; i < c.length; i++) {
          const v = c.get(i) ?? nullAs;
          if (v !== undefined) add(v, 1, base + i);
        }
      }
    }
    const out = new Map<string, number>();
    for (const [v, e] of [...acc].sort((x, y) => x[1].first - y[1].first)) out.set(v, e.n);
    return out;
  }

  /** The value at global row g. */
  at(g: number): string | null {
    const b = batchOf(this.starts, g);
    return this.chunks[b]!.get(g - this.starts[b]!);
  }
}

/** A numeric column across batches. */
export class NumCol {
  constructor(readonly chunks: NumChunk[], private readonly starts: readonly number[]) {}

  /** The value at global row g (NaN for null). */
  at(g: number): number {
    const b = batchOf(this.starts, g);
    return this.chunks[b]!.get(g - this.starts[b]!);
  }

  /** Σ of the non-null values. */
  sum(): number {
    let t = 0;
    for (const c of this.chunks) t += c.sum();
    return t;
  }
}

/** A list<utf8> column across batches. */
export class ListCol {
  constructor(readonly chunks: ListChunk[], private readonly starts: readonly number[]) {}

  at(g: number): string[] {
    const b = batchOf(this.starts, g);
    return this.chunks[b]!.get(g - this.starts[b]!);
  }

  /** Global rows whose list contains `value`, in table order. */
  whereContains(value: string): number[] {
    const out: number[] = [];
    const target = encoder.encode(value);
    for (let b = 0; b < this.chunks.length; b++) {
      const c = this.chunks[b]!;
      if (c.valid.allNull) continue;
      const base = this.starts[b]!;
      for (let i = 0; i < c.length; i++) if (c.contains(i, target, value)) out.push(base + i);
    }
    return out;
  }
}

