/**
 * The shape of a compiled filter: nodes that narrow a selection vector of one record batch, and
 * the readers of a field's column in one batch. Tests of single rows extend Leaf.
 */
import type { ListChunk } from '../arrow/decode/list-chunk.js';
import type { StrChunk } from '../arrow/decode/str-chunk.js';
import type { TableView } from '../arrow/decode/table-view.js';
import type { Field } from './fields.js';
import type { Cmp } from './plan.js';

/** A numeric reader of one batch: a column chunk, or the lengths of a list chunk. */
export interface NumReader {
  get(i: number): number;
}

/** `length(x)` of one batch: items per row (0 for a null list). */
class LengthReader implements NumReader {
  constructor(private readonly c: ListChunk) {}
  get(i: number): number {
    return this.c.end(i) - this.c.start(i);
  }
}

/** The numeric reader of field f (a number, a boolean as 0/1, or a list's length) in batch b. */
export function numReader(view: TableView, f: Field, b: number): NumReader {
  return f.length ? new LengthReader(view.list(f.column).chunks[b]!) : view.num(f.column).chunks[b]!;
}

/** The text chunk of field f in batch b. */
export function strChunk(view: TableView, f: Field, b: number): StrChunk {
  return view.str(f.column).chunks[b]!;
}

/** A compiled filter node. `run` writes the rows of `rows` (all rows 0..n-1 when null) that pass into `out`, returning how many. */
export interface Node {
  run(b: number, rows: Int32Array | null, n: number, out: Int32Array): number;
}

/** A test of single rows; `prepare` binds it to batch b. */
export abstract class Leaf implements Node {
  abstract prepare(b: number): void;
  abstract test(i: number): boolean;
  run(b: number, rows: Int32Array | null, n: number, out: Int32Array): number {
    this.prepare(b);
    let m = 0;
    if (rows === null) {
      for (let i = 0; i < n; i++) if (this.test(i)) out[m++] = i;
    } else {
      for (let k = 0; k < n; k++) {
        const i = rows[k]!;
        if (this.test(i)) out[m++] = i;
      }
    }
    return m;
  }
}

/** Does a comparison's sign `d` (a − b) satisfy `cmp`? */
export function sign(cmp: Cmp, d: number): boolean {
  switch (cmp) {
    case 'eq': return d === 0;
    case 'lt': return d < 0;
    case 'lte': return d <= 0;
    case 'gt': return d > 0;
    case 'gte': return d >= 0;
  }
}
