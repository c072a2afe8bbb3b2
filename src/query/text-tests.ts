/**
 * Tests of text: dictionary-coded chunks by a table of which codes pass (one decision per
 * dictionary entry), plain chunks on raw UTF-8 bytes (UTF-8 byte order is code point order); two
 * text fields of one row by code point.
 */
import type { StrChunk } from '../arrow/decode/str-chunk.js';
import type { TableView } from '../arrow/decode/table-view.js';
import { compareCodePoints } from './compare.js';
import type { Field } from './fields.js';
import { Leaf, sign, strChunk } from './leaf.js';
import type { Cmp } from './plan.js';

const encoder = new TextEncoder();

/** Two text fields of one row (code point order); null is false. */
export class StrCmpField extends Leaf {
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

export class StrIn extends StrLeaf {
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

export class StrCmp extends StrLeaf {
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

export class StrPrefix extends StrLeaf {
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

