/**
 * Running a plan's filter column-wise, one record batch at a time: each test narrows a selection
 * vector (the row numbers of the batch still in play) reading typed arrays, dictionary codes and
 * raw UTF-8 bytes in place — no record, and no string per row, is made for a row that does not
 * match. `and` narrows test by test, `or` merges, `not` takes the complement within its input.
 */
import type { ListChunk } from '../arrow/decode/list-chunk.js';
import type { TableView } from '../arrow/decode/table-view.js';
import type { Field } from './fields.js';
import { Leaf, type Node } from './leaf.js';
import { NumCmp, NumCmpField, NumIn } from './number-tests.js';
import type { Cond } from './plan.js';
import { StrCmp, StrCmpField, StrIn, StrPrefix } from './text-tests.js';


const encoder = new TextEncoder();

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
