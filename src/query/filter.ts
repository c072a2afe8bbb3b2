/**
 * Running a plan's filter column-wise, one record batch at a time: each test narrows a selection
 * vector (the row numbers of the batch still in play) reading typed arrays, dictionary codes and
 * raw UTF-8 bytes in place — no record, and no string per row, is made for a row that does not
 * match. `and` narrows test by test, `or` merges, `not` takes the complement within its input.
 */
import type { TableView } from '../arrow/decode/table-view.js';
import type { ListChunk } from '../arrow/decode/list-chunk.js';
import { NumChunk } from '../arrow/decode/num-chunk.js';
import type { StrChunk } from '../arrow/decode/str-chunk.js';
import { compareCodePoints } from './compare.js';
import type { Field } from './fields.js';
import type { Cmp, Cond } from './plan.js';

const encoder = new TextEncoder();

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
interface Node {
  run(b: number, rows: Int32Array | null, n: number, out: Int32Array): number;
}

/** A test of single rows; `prepare` binds it to batch b. */
abstract class Leaf implements Node {
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

function sign(cmp: Cmp, d: number): boolean {
  switch (cmp) {
    case 'eq': return d === 0;
    case 'lt': return d < 0;
    case 'lte': return d <= 0;
    case 'gt': return d > 0;
    case 'gte': return d >= 0;
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
class NumCmp implements Node {
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
class NumCmpField extends Leaf {
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

/** Two text fields of one row (code point order); null is false. */
class StrCmpField extends Leaf {
  private a!: StrChunk;
  private b!: StrChunk;
  constructor(private readonly view: TableView, private readonly f: Field, private readonly cmp: Cmp, private readonly g: Field) {
    super();
  }
  prepare(b: number): void {
    this.a = strChunk(this.view, this.f, b);
    this.b = strChunk(this.view, this.g, b);
  }
  test(i: number): boolean {
    const x = this.a.get(i);
    const y = this.b.get(i);
    return x !== null && y !== null && sign(this.cmp, compareCodePoints(x, y));
  }
}

/** A number in a set (nulls when `nulls`). */
class NumIn extends Leaf {
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

/** Byte-wise comparison of row i's UTF-8 with `t` (UTF-8 order is code point order). */
function cmpBytes(c: StrChunk, i: number, t: Uint8Array): number {
  const o = c.offsets!;
  const bytes = c.bytes!;
  const s = o[i]!;
  const len = o[i + 1]! - s;
  const n = Math.min(len, t.length);
  for (let k = 0; k < n; k++) {
    const d = bytes[s + k]! - t[k]!;
    if (d !== 0) return d;
  }
  return len - t.length;
}

/**
 * A text test of one value per row against constants: dictionary chunks test a table over their
 * codes (one decision per dictionary entry), plain chunks compare raw UTF-8 bytes.
 */
abstract class StrLeaf extends Leaf {
  private c!: StrChunk;
  private table: Uint8Array | null = null;
  private readonly tables = new WeakMap<object, Uint8Array>();
  constructor(private readonly view: TableView, private readonly f: Field, private readonly nulls: boolean) {
    super();
  }
  /** Does the (non-null) string s pass? */
  abstract decide(s: string): boolean;
  /** Does row i of plain chunk c (not null) pass? */
  abstract bytes(c: StrChunk, i: number): boolean;
  prepare(b: number): void {
    const c = (this.c = strChunk(this.view, this.f, b));
    this.table = null;
    if (c.codes) {
      const dict = c.dict!;
      let t = this.tables.get(dict);
      if (!t) {
        t = new Uint8Array(dict.values.length);
        for (let k = 0; k < t.length; k++) {
          const v = dict.values[k];
          t[k] = v === null || v === undefined ? (this.nulls ? 1 : 0) : this.decide(v) ? 1 : 0;
        }
        this.tables.set(dict, t);
      }
      this.table = t;
    }
  }
  override run(b: number, rows: Int32Array | null, n: number, out: Int32Array): number {
    this.prepare(b);
    const t = this.table;
    const c = this.c;
    if (t === null || !c.valid.none) return super.run(b, rows, n, out);
    // Dictionary codes without nulls: one table lookup per row, inlined.
    const codes = c.codes!;
    let m = 0;
    if (rows === null) {
      for (let i = 0; i < n; i++) if (t[codes[i]!] === 1) out[m++] = i;
    } else {
      for (let k = 0; k < n; k++) {
        const i = rows[k]!;
        if (t[codes[i]!] === 1) out[m++] = i;
      }
    }
    return m;
  }
  test(i: number): boolean {
    const c = this.c;
    if (!c.valid.ok(i)) return this.nulls;
    const t = this.table;
    if (t !== null) return t[c.codes![i]!] === 1;
    return this.bytes(c, i);
  }
}

class StrIn extends StrLeaf {
  private readonly set: Set<string>;
  private readonly targets: Uint8Array[];
  constructor(view: TableView, f: Field, values: string[], nulls: boolean) {
    super(view, f, nulls);
    this.set = new Set(values);
    this.targets = [...this.set].map((v) => encoder.encode(v));
  }
  decide(s: string): boolean {
    return this.set.has(s);
  }
  bytes(c: StrChunk, i: number): boolean {
    const t = this.targets;
    if (t.length > 8) return this.set.has(c.get(i)!);
    for (let k = 0; k < t.length; k++) if (c.eqBytes(i, t[k]!)) return true;
    return false;
  }
}

class StrCmp extends StrLeaf {
  private readonly target: Uint8Array;
  constructor(view: TableView, f: Field, private readonly cmp: Cmp, private readonly value: string) {
    super(view, f, false);
    this.target = encoder.encode(value);
  }
  decide(s: string): boolean {
    return sign(this.cmp, compareCodePoints(s, this.value));
  }
  bytes(c: StrChunk, i: number): boolean {
    return this.cmp === 'eq' ? c.eqBytes(i, this.target) : sign(this.cmp, cmpBytes(c, i, this.target));
  }
}

class StrPrefix extends StrLeaf {
  private readonly target: Uint8Array;
  constructor(view: TableView, f: Field, private readonly value: string) {
    super(view, f, false);
    this.target = encoder.encode(value);
  }
  decide(s: string): boolean {
    return s.startsWith(this.value);
  }
  bytes(c: StrChunk, i: number): boolean {
    const o = c.offsets!;
    const s = o[i]!;
    const t = this.target;
    if (o[i + 1]! - s < t.length) return false;
    const bytes = c.bytes!;
    for (let k = 0; k < t.length; k++) if (bytes[s + k] !== t[k]) return false;
    return true;
  }
}

/** Null test of any field with a validity (text, number, boolean, JSON). */
class IsNull extends Leaf {
  private v!: { ok(i: number): boolean };
  constructor(private readonly view: TableView, private readonly f: Field) {
    super();
  }
  prepare(b: number): void {
    const f = this.f;
    this.v = (f.type === 'str' || f.type === 'json' ? this.view.str(f.column) : this.view.num(f.column)).chunks[b]!.valid;
  }
  test(i: number): boolean {
    return !this.v.ok(i);
  }
}

/** A list holding any of the items. */
class Has extends Leaf {
  private c!: ListChunk;
  private readonly targets: Uint8Array[];
  constructor(private readonly view: TableView, private readonly f: Field, private readonly values: string[]) {
    super();
    this.targets = values.map((v) => encoder.encode(v));
  }
  prepare(b: number): void {
    this.c = this.view.list(this.f.column).chunks[b]!;
  }
  test(i: number): boolean {
    for (let k = 0; k < this.targets.length; k++) if (this.c.contains(i, this.targets[k]!, this.values[k]!)) return true;
    return false;
  }
}

let rowNumbers = new Int32Array(0);
/** 0, 1, …, n-1 (shared, read-only). */
function identity(n: number): Int32Array {
  if (rowNumbers.length < n) rowNumbers = Int32Array.from({ length: Math.max(n, 4096) }, (_, i) => i);
  return rowNumbers.subarray(0, n);
}

class Const implements Node {
  constructor(private readonly pass: boolean) {}
  run(_b: number, rows: Int32Array | null, n: number, out: Int32Array): number {
    if (!this.pass) return 0;
    if (rows === null) out.set(identity(n));
    else if (rows !== out) out.set(rows.subarray(0, n));
    return n;
  }
}

class And implements Node {
  constructor(private readonly kids: Node[]) {}
  run(b: number, rows: Int32Array | null, n: number, out: Int32Array): number {
    let m = this.kids[0]!.run(b, rows, n, out);
    for (let k = 1; k < this.kids.length && m > 0; k++) m = this.kids[k]!.run(b, out, m, out); // in place: writes never pass reads
    return m;
  }
}

class Or implements Node {
  private a = new Int32Array(0);
  private c = new Int32Array(0);
  private input = new Int32Array(0);
  constructor(private readonly kids: Node[]) {}
  run(b: number, rows: Int32Array | null, n: number, out: Int32Array): number {
    if (this.a.length < out.length) {
      this.a = new Int32Array(out.length);
      this.c = new Int32Array(out.length);
      this.input = new Int32Array(out.length);
    }
    if (rows !== null && rows === out) {
      // Every child reads the input, and the merge writes out: keep the input apart.
      this.input.set(rows.subarray(0, n));
      rows = this.input;
    }
    let m = this.kids[0]!.run(b, rows, n, this.a);
    for (let k = 1; k < this.kids.length; k++) {
      const x = this.kids[k]!.run(b, rows, n, this.c);
      // Merge two ascending lists into out, then keep the union as the accumulator.
      let i = 0;
      let j = 0;
      let w = 0;
      const a = this.a;
      const c = this.c;
      while (i < m && j < x) {
        const p = a[i]!;
        const q = c[j]!;
        if (p === q) { out[w++] = p; i++; j++; } else if (p < q) { out[w++] = p; i++; } else { out[w++] = q; j++; }
      }
      while (i < m) out[w++] = a[i++]!;
      while (j < x) out[w++] = c[j++]!;
      this.a.set(out.subarray(0, w));
      m = w;
    }
    if (out !== this.a) out.set(this.a.subarray(0, m));
    return m;
  }
}

class Not implements Node {
  private s = new Int32Array(0);
  constructor(private readonly kid: Node) {}
  run(b: number, rows: Int32Array | null, n: number, out: Int32Array): number {
    if (this.s.length < out.length) this.s = new Int32Array(out.length);
    const x = this.kid.run(b, rows, n, this.s);
    const s = this.s;
    let j = 0;
    let m = 0;
    for (let k = 0; k < n; k++) {
      const i = rows === null ? k : rows[k]!;
      if (j < x && s[j] === i) j++;
      else out[m++] = i;
    }
    return m;
  }
}

function compile(view: TableView, c: Cond): Node {
  switch (c.op) {
    case 'all': return new Const(true);
    case 'none': return new Const(false);
    case 'and': return new And(c.kids.map((k) => compile(view, k)));
    case 'or': return new Or(c.kids.map((k) => compile(view, k)));
    case 'not': return new Not(compile(view, c.kid));
    case 'null': return new IsNull(view, c.field);
    case 'has': return new Has(view, c.field, c.values);
    case 'prefix': return new StrPrefix(view, c.field, c.value);
    case 'in':
      return c.field.type === 'str'
        ? new StrIn(view, c.field, c.values as string[], c.nulls)
        : new NumIn(view, c.field, c.values as number[], c.nulls);
    case 'cmp':
      return c.field.type === 'str' ? new StrCmp(view, c.field, c.cmp, c.value as string) : new NumCmp(view, c.field, c.cmp, c.value as number);
    case 'cmpField':
      return c.field.type === 'str' ? new StrCmpField(view, c.field, c.cmp, c.other) : new NumCmpField(view, c.field, c.cmp, c.other);
  }
}

let spare: Int32Array | null = null;

/** The rows of one batch that pass a filter: `rows[0..n)`, ascending. */
export interface BatchMatches {
  batch: number;
  rows: Int32Array;
  n: number;
}

/**
 * Runs filter `where` over every batch of `view`, calling `each` with the matching rows of each
 * batch that has any (the array is reused: copy what you keep). Returns how many rows matched. The rows array is read-only.
 */
export function scan(view: TableView, where: Cond, each: ((m: BatchMatches) => void) | null): number {
  const node = compile(view, where);
  let max = 0;
  for (const n of view.lengths) if (n > max) max = n;
  // One selection buffer, reused by every scan that does not run inside another's callback.
  const out = spare !== null && spare.length >= max ? spare : new Int32Array(Math.max(max, 4096));
  spare = null;
  let total = 0;
  for (let b = 0; b < view.lengths.length; b++) {
    const n = view.lengths[b]!;
    if (n === 0) continue;
    if (where.op === 'all') {
      total += n;
      if (each) each({ batch: b, rows: identity(n), n });
      continue;
    }
    const m = node.run(b, null, n, out);
    total += m;
    if (m > 0 && each) each({ batch: b, rows: out, n: m });
  }
  spare = out;
  return total;
}
