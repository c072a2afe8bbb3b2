/**
 * Tests of numbers (and booleans as 0/1, and list lengths): a number against a constant as one
 * closed range read straight from typed arrays, two numeric fields of one row, membership in a set.
 */
import { NumChunk } from '../arrow/decode/num-chunk.js';
import type { TableView } from '../arrow/decode/table-view.js';
import type { Field } from './fields.js';
import { Leaf, numReader, type Node, type NumReader } from './leaf.js';
import type { Cmp } from './plan.js';

/** `cmp(x, c)` on numbers; NaN (null) is false for every operator. */
function numTest(cmp: Cmp): (x: number, c: number) => boolean {
  switch (cmp) {
    case 'eq': return (x, c) => x === c;
    case 'lt': return (x, c) => x < c;
    case 'lte': return (x, c) => x <= c;
    case 'gt': return (x, c) => x > c;
    case 'gte': return (x, c) => x >= c;
  }
}

/** The largest double below x (x finite). */
function below(x: number): number {
  if (x === 0) return -Number.MIN_VALUE;
  scratch[0] = x;
  scratchBits[0]! += x > 0 ? -1n : 1n;
  return scratch[0]!;
}
/** The smallest double above x (x finite). */
function above(x: number): number {
  return -below(-x);
}
const scratch = new Float64Array(1);
const scratchBits = new BigInt64Array(scratch.buffer);

/**
 * A number against a constant, as one closed range lo ≤ x ≤ hi (x < c is x ≤ the double below c;
 * null is NaN, outside every range), read straight from the typed array where the column has no
 * nulls: int32/float64 values, or 64-bit values as two 32-bit halves.
 */
export class NumCmp implements Node {
  private readonly lo: number;
  private readonly hi: number;
  constructor(private readonly view: TableView, private readonly f: Field, cmp: Cmp, c: number) {
    this.lo = cmp === 'eq' || cmp === 'gte' ? c : cmp === 'gt' ? above(c) : -Infinity;
    this.hi = cmp === 'eq' || cmp === 'lte' ? c : cmp === 'lt' ? below(c) : Infinity;
  }
  run(b: number, rows: Int32Array | null, n: number, out: Int32Array): number {
    const r = numReader(this.view, this.f, b);
    const lo = this.lo;
    const hi = this.hi;
    let m = 0;
    if (r instanceof NumChunk && r.f !== null && !r.f32 && r.valid.none) {
      const f = r.f;
      if (rows === null) { for (let i = 0; i < n; i++) { const x = f[i]!; if (x >= lo && x <= hi) out[m++] = i; } } else for (let k = 0; k < n; k++) { const i = rows[k]!; const x = f[i]!; if (x >= lo && x <= hi) out[m++] = i; }
    } else if (r instanceof NumChunk && r.f !== null && !r.f32 && !r.valid.allNull) {
      // With nulls: the value first (cheap), then its validity bits.
      const f = r.f;
      const v = r.valid;
      if (rows === null) { for (let i = 0; i < n; i++) { const x = f[i]!; if (x >= lo && x <= hi && v.ok(i)) out[m++] = i; } } else for (let k = 0; k < n; k++) { const i = rows[k]!; const x = f[i]!; if (x >= lo && x <= hi && v.ok(i)) out[m++] = i; }
    } else if (r instanceof NumChunk && r.w !== null && r.scale === 1 && !r.valid.allNull) {
      const w = r.w;
      const v = r.valid;
      if (rows === null) { for (let i = 0; i < n; i++) { const x = w[2 * i + 1]! * 4294967296 + (w[2 * i]! >>> 0); if (x >= lo && x <= hi && v.ok(i)) out[m++] = i; } } else for (let k = 0; k < n; k++) { const i = rows[k]!; const x = w[2 * i + 1]! * 4294967296 + (w[2 * i]! >>> 0); if (x >= lo && x <= hi && v.ok(i)) out[m++] = i; }
    } else if (rows === null) {
      for (let i = 0; i < n; i++) { const x = r.get(i); if (x >= lo && x <= hi) out[m++] = i; }
    } else {
      for (let k = 0; k < n; k++) { const i = rows[k]!; const x = r.get(i); if (x >= lo && x <= hi) out[m++] = i; }
    }
    return m;
  }
}

/** Two numeric fields of one row. */
export class NumCmpField extends Leaf {
  private a!: NumReader;
  private b!: NumReader;
  private readonly t: (x: number, y: number) => boolean;
  constructor(private readonly view: TableView, private readonly f: Field, cmp: Cmp, private readonly g: Field) {
    super();
    this.t = numTest(cmp);
  }
  prepare(b: number): void {
    this.a = numReader(this.view, this.f, b);
    this.b = numReader(this.view, this.g, b);
  }
  test(i: number): boolean {
    return this.t(this.a.get(i), this.b.get(i));
  }
}

/** A number in a set (nulls when `nulls`). */
export class NumIn extends Leaf {
  private r!: NumReader;
  private readonly set: Set<number>;
  constructor(private readonly view: TableView, private readonly f: Field, values: number[], private readonly nulls: boolean) {
    super();
    this.set = new Set(values);
  }
  prepare(b: number): void {
    this.r = numReader(this.view, this.f, b);
  }
  test(i: number): boolean {
    const x = this.r.get(i);
    return x !== x ? this.nulls : this.set.has(x);
  }
}

