/**
 * Column access for the helpers: find rows by comparing raw UTF-8 bytes or dictionary codes,
 * read numbers straight from typed arrays, and materialise only the rows a helper returns.
 * Works on any Snapshot's tables: ours (dictionary-coded role/status/type, many record batches)
 * and foreign ones (plain utf8, fields in any order, our extension columns missing — a missing
 * column reads as null everywhere).
 *
 * Index conventions follow apache-arrow's: value buffers and offset buffers are indexed by the
 * row (a sliced Data has them sub-arrayed already), validity bitmaps and boolean bits by
 * `data.offset + row`. Every reader here only reads; nothing copies a column.
 */
import { DataType, Precision, TimeUnit, Type, type Data, type Table, type Vector } from 'apache-arrow';
import { StateError } from '../errors.js';
import { isValidAt } from '../arrow/column-writer.js';
import { parseJsonField, readValue, shortFloat32 } from '../arrow/row-reader.js';
import type { ColumnSpec, LeafSpec } from '../schema/columns.js';
import { ENTITIES, type EntityKind } from '../schema/entities.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ───────────────────────────── original helpers ─────────────────────────────

/** The chunks (one per record batch) of column `name`, or null when the table lacks it. */
export function chunksOf(table: Table, name: string): Data[] | null {
  const k = table.schema.fields.findIndex((f) => f.name === name);
  if (k < 0) return null;
  return table.data.map((b) => b.children[k]!);
}

/** Row positions (batch, row) where utf8 column `name` equals `value` byte for byte. */
export function rowsWhereEquals(table: Table, name: string, value: string, limit = Infinity): [number, number][] {
  const out: [number, number][] = [];
  const view = tableView(table);
  const col = view.str(name);
  const m = col.matcher(value);
  for (let b = 0; b < col.chunks.length && out.length < limit; b++) {
    const c = col.chunks[b]!;
    for (let i = 0; i < c.length && out.length < limit; i++) if (m.test(b, i)) out.push([b, i]);
  }
  return out;
}

/** The record at (batch, row) of an entity table, as a plain object in our record shape. */
export function readRecord(kind: EntityKind, table: Table, batch: number, row: number): Record<string, unknown> {
  const spec = ENTITIES[kind];
  const data = table.data[batch]!;
  const out: Record<string, unknown> = {};
  for (const c of spec.columns) {
    const k = table.schema.fields.findIndex((f) => f.name === c.name);
    out[c.name] = readValue(c, k < 0 ? undefined : data.children[k], row);
  }
  return out;
}

/** The first record whose key equals `id`, or undefined. */
export function findById(kind: EntityKind, table: Table, id: string): Record<string, unknown> | undefined {
  const view = tableView(table);
  const g = view.str(ENTITIES[kind].key).first(id);
  return g < 0 ? undefined : view.record(kind, g);
}

/** Counts of a string column's values (dictionary codes counted without decoding each row). */
export function countBy(table: Table, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of tableView(table).str(name).counts()) setKey(out, k, n);
  return out;
}

/** Sets `obj[key]` as an own data property, also for keys such as "__proto__". */
export function setKey<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

// ───────────────────────────── validity ─────────────────────────────

/** The validity bitmap of `d` if it has nulls, else null. */
function bitmapOf(d: Data | null | undefined): Uint8Array | null {
  if (!d) return null;
  if (d.nullCount <= 0) return null;
  const bm = d.nullBitmap;
  return bm && bm.length > 0 ? bm : null;
}

/**
 * Validity of a column chunk, combining its own bitmap with its parent struct's (a null
 * `resources` struct makes every child null, whatever the child's own bits say).
 */
class Validity {
  readonly a: Uint8Array | null;
  readonly ao: number;
  readonly b: Uint8Array | null;
  readonly bo: number;
  /** No nulls at all (the common case: checks can be skipped). */
  readonly none: boolean;
  /** Every row is null (a missing column). */
  readonly allNull: boolean;

  constructor(data: Data | null, parent: Data | null) {
    this.allNull = data === null;
    this.a = bitmapOf(data);
    this.ao = data?.offset ?? 0;
    this.b = bitmapOf(parent);
    this.bo = parent?.offset ?? 0;
    this.none = !this.allNull && this.a === null && this.b === null;
  }

  ok(i: number): boolean {
    if (this.none) return true;
    if (this.allNull) return false;
    const a = this.a;
    if (a !== null) {
      const x = this.ao + i;
      if (((a[x >> 3]! >> (x & 7)) & 1) === 0) return false;
    }
    const b = this.b;
    if (b !== null) {
      const x = this.bo + i;
      if (((b[x >> 3]! >> (x & 7)) & 1) === 0) return false;
    }
    return true;
  }
}

// ───────────────────────────── chunk readers ─────────────────────────────

type Codes = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

const dictCache = new WeakMap<object, { values: (string | null)[]; codes: Map<string, number> }>();

/** Decoded strings of a dictionary vector, cached per vector. */
function dictionaryOf(v: Vector): { values: (string | null)[]; codes: Map<string, number> } {
  let e = dictCache.get(v);
  if (!e) {
    const values: (string | null)[] = [];
    const codes = new Map<string, number>();
    for (const d of v.data) {
      const s = new StrChunk(d, null, d.length);
      for (let i = 0; i < d.length; i++) {
        const x = s.get(i);
        if (x !== null && !codes.has(x)) codes.set(x, values.length);
        values.push(x);
      }
    }
    e = { values, codes };
    dictCache.set(v, e);
  }
  return e;
}

/** Buffers over value bytes, for Node's fast native UTF-8 decoding. */
const bufferCache = new WeakMap<Uint8Array, Buffer>();
function bufferOf(bytes: Uint8Array): Buffer {
  let b = bufferCache.get(bytes);
  if (!b) {
    b = Buffer.from(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
    bufferCache.set(bytes, b);
  }
  return b;
}

/** Node's native UTF-8 slice (fast for short strings); TextDecoder where it is missing. */
const nativeSlice = (Buffer.prototype as Buffer & { utf8Slice?: (s: number, e: number) => string }).utf8Slice;

/** Decodes bytes [s, e) of `buf` as UTF-8. */
function utf8(buf: Buffer, s: number, e: number): string {
  if (s === e) return '';
  return nativeSlice ? nativeSlice.call(buf, s, e) : decoder.decode(buf.subarray(s, e));
}

/**
 * One chunk of a string column: plain utf8 (compared on raw bytes) or dictionary-coded
 * (compared on codes). A missing column is a chunk whose every row is null.
 */
export class StrChunk {
  readonly length: number;
  readonly valid: Validity;
  /** utf8: offsets and bytes. */
  readonly offsets: Int32Array | null = null;
  readonly bytes: Uint8Array | null = null;
  private readonly buf: Buffer | null = null;
  /** dictionary: codes and the decoded dictionary. */
  readonly codes: Codes | null = null;
  readonly dict: { values: (string | null)[]; codes: Map<string, number> } | null = null;

  /** The column's Data when this chunk is all of it (no parent struct): the key of per-batch caches. */
  private readonly source: Data | null = null;

  constructor(data: Data | null, parent: Data | null, length: number) {
    this.length = length;
    this.valid = new Validity(data, parent);
    if (!data) return;
    if (parent === null && data.length === length) this.source = data;
    if (data.dictionary) {
      this.codes = data.values as Codes;
      this.dict = dictionaryOf(data.dictionary);
    } else {
      this.offsets = data.valueOffsets as Int32Array;
      this.bytes = (data.values as Uint8Array | undefined) ?? new Uint8Array(0);
      this.buf = bufferOf(this.bytes);
    }
  }

  isNull(i: number): boolean {
    return !this.valid.ok(i);
  }

  /** The string at row i, or null. */
  get(i: number): string | null {
    if (!this.valid.ok(i)) return null;
    if (this.codes) return this.dict!.values[this.codes[i]!] ?? null;
    const o = this.offsets!;
    return utf8(this.buf!, o[i]!, o[i + 1]!);
  }

  /** True when row i holds exactly `target` (UTF-8 bytes); utf8 chunks only. */
  eqBytes(i: number, target: Uint8Array): boolean {
    const o = this.offsets!;
    const s = o[i]!;
    const len = target.length;
    if (o[i + 1]! - s !== len) return false;
    const bytes = this.bytes!;
    // Ids often share a prefix (node-0000…, bafybei…): the last byte rules most rows out first.
    if (len > 0 && bytes[s + len - 1] !== target[len - 1]) return false;
    for (let k = 0; k < len; k++) if (bytes[s + k] !== target[k]) return false;
    return this.valid.ok(i);
  }

  /** A test for rows equal to `value`, specialised to this chunk (codes or bytes). */
  equals(value: string, target: Uint8Array = encoder.encode(value)): (i: number) => boolean {
    if (this.valid.allNull) return () => false;
    if (this.codes) {
      const code = this.codeOf(value);
      if (code < 0) return () => false;
      const codes = this.codes;
      const valid = this.valid;
      return valid.none ? (i) => codes[i] === code : (i) => codes[i] === code && valid.ok(i);
    }
    return (i) => this.eqBytes(i, target);
  }

  /**
   * First row of this chunk equal to `value` (`target`: its UTF-8 bytes), or -1. A chunk whose
   * data is scanned a third time gets a hash index kept with that (immutable) data: record
   * batches a table change did not touch keep their index, so a lookup on each new revision of a
   * large table costs the changed batch, not the table.
   */
  firstOf(value: string, target: Uint8Array): number {
    if (this.valid.allNull) return -1;
    if (this.codes) {
      const code = this.codeOf(value);
      if (code < 0) return -1;
      for (let i = 0; i < this.length; i++) if (this.codes[i] === code && this.valid.ok(i)) return i;
      return -1;
    }
    if (this.source) {
      let e = chunkIndexes.get(this.source);
      if (!e) chunkIndexes.set(this.source, (e = { scans: 0, ix: null }));
      if (!e.ix && ++e.scans > 2) e.ix = new KeyIndex(new StrCol([this], [0]));
      if (e.ix) return e.ix.findBytes(target, 0, target.length);
    }
    for (let i = 0; i < this.length; i++) if (this.eqBytes(i, target)) return i;
    return -1;
  }

  /** Code of `value` in this chunk's dictionary (-1 when absent); dictionary chunks only. */
  codeOf(value: string): number {
    return this.dict!.codes.get(value) ?? -1;
  }
}

/** Per-batch hash indexes of key columns (see StrChunk.firstOf), kept with the batch's data. */
const chunkIndexes = new WeakMap<Data, { scans: number; ix: KeyIndex | null }>();

const shortCache = new Map<number, number>();
/**
 * The shortest decimal with the same float32 value (row-reader's rule for float32 columns:
 * cpu_load 73.3 reads as 73.3, not 73.30000305175781), cached: such columns hold few values.
 */
function short32(x: number): number {
  let y = shortCache.get(x);
  if (y === undefined) {
    if (shortCache.size >= 65536) shortCache.clear();
    shortCache.set(x, (y = shortFloat32(x)));
  }
  return y;
}

/**
 * One chunk of a numeric, int64, timestamp or boolean column. `get` gives NaN for null, and
 * for a float32 column the shortest decimal of the value (as the records show it).
 */
export class NumChunk {
  readonly length: number;
  readonly valid: Validity;
  private readonly f: ArrayLike<number> | null = null;
  private readonly w: Int32Array | null = null;
  private readonly bits: Uint8Array | null = null;
  private readonly bitOffset: number = 0;
  /** Factor to epoch ms for a timestamp in another unit (s, µs, ns); 1 otherwise. */
  private readonly scale: number = 1;
  /** A float32 column: values read as the shortest decimal of their float32 (as records show them). */
  private readonly f32: boolean = false;

  constructor(data: Data | null, parent: Data | null, length: number) {
    this.length = length;
    this.valid = new Validity(data, parent);
    if (!data) return;
    if (DataType.isFloat(data.type) && data.type.precision === Precision.SINGLE) this.f32 = true;
    if (DataType.isTimestamp(data.type)) {
      const u = data.type.unit;
      this.scale = u === TimeUnit.SECOND ? 1000 : u === TimeUnit.MICROSECOND ? 1e-3 : u === TimeUnit.NANOSECOND ? 1e-6 : 1;
    }
    const v = data.values as ArrayLike<number> | BigInt64Array | BigUint64Array | Uint8Array;
    if (DataType.isBool(data.type)) {
      this.bits = v as Uint8Array;
      this.bitOffset = data.offset;
    } else if (v instanceof BigInt64Array || v instanceof BigUint64Array) {
      // 64-bit values read as (hi, lo) int32 pairs: exact below 2^53, no BigInt per row.
      this.w = new Int32Array(v.buffer, v.byteOffset, v.length * 2);
    } else {
      this.f = v as ArrayLike<number>;
    }
  }

  /** Σ of the non-null values (booleans count 1 per true). */
  sum(): number {
    let t = 0;
    if (this.valid.allNull) return 0;
    if (this.f !== null && this.valid.none && !this.f32) {
      const f = this.f;
      for (let i = 0; i < this.length; i++) t += f[i]!;
      return t;
    }
    for (let i = 0; i < this.length; i++) {
      const v = this.get(i);
      if (v === v) t += v;
    }
    return t;
  }

  /** The number at row i (booleans as 0/1), or NaN when null. */
  get(i: number): number {
    if (!this.valid.ok(i)) return NaN;
    if (this.f !== null) return this.f32 ? short32(this.f[i]!) : this.f[i]!;
    if (this.w !== null) {
      const v = this.w[2 * i + 1]! * 4294967296 + (this.w[2 * i]! >>> 0);
      return this.scale === 1 ? v : Math.floor(v * this.scale);
    }
    if (this.bits !== null) {
      const x = this.bitOffset + i;
      return (this.bits[x >> 3]! >> (x & 7)) & 1;
    }
    return NaN;
  }
}

/** One chunk of a list<utf8> column (peers, capabilities, providers, input_cids, ...). */
export class ListChunk {
  readonly length: number;
  readonly valid: Validity;
  readonly offsets: Int32Array | null = null;
  readonly child: StrChunk | null = null;

  constructor(data: Data | null, parent: Data | null, length: number) {
    this.length = length;
    this.valid = new Validity(data, parent);
    if (!data) return;
    this.offsets = data.valueOffsets as Int32Array;
    const c = data.children[0]!;
    // list<null> (pyarrow's type for lists that only ever held nothing): items read as ''.
    this.child = new StrChunk(c.type.typeId === Type.Null ? null : c, null, c.length);
  }

  /** Start and end (exclusive) of row i's items in the child column; empty for null. */
  start(i: number): number {
    return this.valid.ok(i) ? this.offsets![i]! : 0;
  }

  end(i: number): number {
    return this.valid.ok(i) ? this.offsets![i + 1]! : 0;
  }

  /** The items of row i ([] for a null list; a null item reads as ''). */
  get(i: number): string[] {
    const out: string[] = [];
    if (!this.valid.ok(i)) return out;
    const o = this.offsets!;
    const c = this.child!;
    for (let k = o[i]!; k < o[i + 1]!; k++) out.push(c.get(k) ?? '');
    return out;
  }

  /** True when row i's list holds `target` (UTF-8 bytes) or, for a dictionary child, its string. */
  contains(i: number, target: Uint8Array, value: string): boolean {
    if (!this.valid.ok(i)) return false;
    const o = this.offsets!;
    const c = this.child!;
    if (c.codes) {
      const code = c.codeOf(value);
      for (let k = o[i]!; k < o[i + 1]!; k++) if (c.codes[k] === code && c.valid.ok(k)) return true;
      return false;
    }
    for (let k = o[i]!; k < o[i + 1]!; k++) if (c.eqBytes(k, target)) return true;
    return false;
  }
}

// ───────────────────────────── columns ─────────────────────────────

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
      this.ix = new KeyIndex(this);
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
    this.ix ??= new KeyIndex(this);
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

// ───────────────────────────── table views ─────────────────────────────

/** Reads one record from a batch's column readers (generated per entity, see recordFactory). */
type RecordFn = (r: readonly unknown[], i: number) => Record<string, unknown>;

const J = (s: string | null, name: string): unknown => (s === null ? null : parseJsonField(s, name));
const B = (v: number): boolean | null => (v !== v ? null : v === 1);
const N = (v: number): number | null => (v !== v ? null : v);

const factories = new Map<EntityKind, { fn: RecordFn; paths: { path: string; kind: 'str' | 'num' | 'list' }[] }>();

/**
 * The record builder of an entity: one generated function per entity kind (per process) that
 * builds the record as an object literal — one fixed shape, no per-field closures — from the
 * batch's column readers `r` (listed in `paths`, in the same order).
 */
function recordFactory(kind: EntityKind): { fn: RecordFn; paths: { path: string; kind: 'str' | 'num' | 'list' }[] } {
  let f = factories.get(kind);
  if (f) return f;
  const paths: { path: string; kind: 'str' | 'num' | 'list' }[] = [];
  const expr = (spec: ColumnSpec, parent: string): string => {
    const path = parent ? `${parent}.${spec.name}` : spec.name;
    const k = paths.length;
    switch (spec.kind) {
      case 'struct':
        return `{ ${spec.children.map((c: LeafSpec) => `${JSON.stringify(c.name)}: ${expr(c, spec.name)}`).join(', ')} }`;
      case 'utf8':
      case 'dict':
        paths.push({ path, kind: 'str' });
        return spec.json ? `J(r[${k}].get(i), ${JSON.stringify(path)})` : `r[${k}].get(i)`;
      case 'list':
        paths.push({ path, kind: 'list' });
        return `r[${k}].get(i)`;
      case 'bool':
        paths.push({ path, kind: 'num' });
        return `B(r[${k}].get(i))`;
      default:
        paths.push({ path, kind: 'num' });
        return `N(r[${k}].get(i))`;
    }
  };
  const body = `return { ${ENTITIES[kind].columns.map((c) => `${JSON.stringify(c.name)}: ${expr(c, '')}`).join(', ')} };`;
  let fn: RecordFn;
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    fn = new Function('J', 'B', 'N', `return function read${kind}(r, i) { ${body} };`)(J, B, N) as RecordFn;
  } catch {
    fn = closureRecord(kind); // code generation disallowed (--disallow-code-generation-from-strings)
  }
  f = { fn, paths };
  factories.set(kind, f);
  return f;
}

/** Can a column of Arrow type `t` be read as `kind`? */
function holds(t: DataType, kind: 'str' | 'num' | 'list'): boolean {
  const isText = (x: DataType) => DataType.isUtf8(x) || (DataType.isDictionary(x) && DataType.isUtf8(x.dictionary));
  if (kind === 'str') return isText(t);
  if (kind === 'list') return DataType.isList(t) && (isText(t.children[0]!.type) || t.children[0]!.type.typeId === Type.Null);
  if (DataType.isInt(t) || DataType.isBool(t) || DataType.isTimestamp(t)) return true;
  return DataType.isFloat(t) && t.precision !== Precision.HALF;
}

/** The record builder without code generation: the same fields, in the same order, read by closures. */
function closureRecord(kind: EntityKind): RecordFn {
  let k = 0;
  const make = (spec: ColumnSpec): ((r: readonly unknown[], i: number) => unknown) => {
    if (spec.kind === 'struct') {
      const kids = spec.children.map((c: LeafSpec) => [c.name, make(c)] as const);
      return (r, i) => {
        const o: Record<string, unknown> = {};
        for (const [name, read] of kids) o[name] = read(r, i);
        return o;
      };
    }
    const at = k++;
    const name = spec.name;
    const wrap = spec.kind === 'bool' ? B : spec.kind === 'list' ? (x: unknown) => x : spec.kind === 'utf8' || spec.kind === 'dict' ? (spec.json ? (x: string | null) => J(x, name) : (x: unknown) => x) : N;
    return (r, i) => (wrap as (x: unknown) => unknown)((r[at] as { get(i: number): unknown }).get(i));
  };
  const fields = ENTITIES[kind].columns.map((c) => [c.name, make(c)] as const);
  return (r, i) => {
    const o: Record<string, unknown> = {};
    for (const [name, read] of fields) o[name] = read(r, i);
    return o;
  };
}

/**
 * Column readers of one (immutable) flat table, resolved once and cached per table object, so
 * repeated queries on the same snapshot reuse them (and the decoded dictionaries).
 */
export class TableView {
  readonly numRows: number;
  /** Global row number of each batch's first row. */
  readonly starts: number[];
  readonly lengths: number[];
  private readonly cols = new Map<string, StrCol | NumCol | ListCol>();
  private readonly batchReaders = new Map<EntityKind, (unknown[] | undefined)[]>();

  constructor(readonly table: Table) {
    this.starts = [];
    this.lengths = [];
    let n = 0;
    for (const d of table.data) {
      this.starts.push(n);
      this.lengths.push(d.length);
      n += d.length;
    }
    this.numRows = n;
  }

  /**
   * Data of column `path` ("name" or "struct.child") in batch b, with its parent struct; null
   * for a column the table lacks or holds as Arrow's null type (all null). A column of a type
   * that cannot hold `kind` (a foreign file's `cpu_count` as text, say) is CORRUPT: reading it
   * as something else would give wrong answers silently.
   */
  private resolve(path: string, b: number, kind: 'str' | 'num' | 'list'): [Data | null, Data | null] {
    const dot = path.indexOf('.');
    const top = dot < 0 ? path : path.slice(0, dot);
    const k = this.table.schema.fields.findIndex((f) => f.name === top);
    if (k < 0) return [null, null];
    let d = this.table.data[b]!.children[k]!;
    let parent: Data | null = null;
    if (dot >= 0) {
      const childName = path.slice(dot + 1);
      const fields = (d.type as { children?: { name: string }[] }).children ?? [];
      const j = DataType.isStruct(d.type) ? fields.findIndex((f) => f.name === childName) : -1;
      if (j < 0) return [null, null];
      parent = d;
      d = d.children[j]!;
    }
    if (d.type.typeId === Type.Null) return [null, null];
    if (!holds(d.type, kind)) throw new StateError('CORRUPT', `column ${JSON.stringify(path)} has Arrow type ${String(d.type)}, which cannot hold ${kind === 'str' ? 'text' : kind === 'num' ? 'a number' : 'a list of text'}`);
    return [d, parent];
  }

  private column<T extends StrCol | NumCol | ListCol>(key: string, make: () => T): T {
    let c = this.cols.get(key);
    if (!c) this.cols.set(key, (c = make()));
    return c as T;
  }

  /** A string column (utf8 or dictionary). */
  str(path: string): StrCol {
    return this.column(`s:${path}`, () => new StrCol(this.lengths.map((n, b) => new StrChunk(...this.resolve(path, b, 'str'), n)), this.starts));
  }

  /** A numeric / int64 / timestamp / bool column (as numbers, NaN for null). */
  num(path: string): NumCol {
    return this.column(`n:${path}`, () => new NumCol(this.lengths.map((n, b) => new NumChunk(...this.resolve(path, b, 'num'), n)), this.starts));
  }

  /** A list<utf8> column. */
  list(path: string): ListCol {
    return this.column(`l:${path}`, () => new ListCol(this.lengths.map((n, b) => new ListChunk(...this.resolve(path, b, 'list'), n)), this.starts));
  }

  /** The batch holding global row g. */
  batchOf(g: number): number {
    return batchOf(this.starts, g);
  }

  /** The record at global row g, in our record shape (the same values readRecord gives). */
  record(kind: EntityKind, g: number): Record<string, unknown> {
    const b = batchOf(this.starts, g);
    return recordFactory(kind).fn(this.readerAt(kind, b), g - this.starts[b]!);
  }

  /** Records of the given global rows, in the given order. */
  records(kind: EntityKind, rows: readonly number[]): Record<string, unknown>[] {
    if (rows.length === 0) return [];
    const fn = recordFactory(kind).fn;
    const out = new Array<Record<string, unknown>>(rows.length);
    let b = batchOf(this.starts, rows[0]!);
    let r = this.readerAt(kind, b);
    for (let k = 0; k < rows.length; k++) {
      const g = rows[k]!;
      // Rows usually come in table order: move forward; otherwise search.
      if (g < this.starts[b]! || g >= this.starts[b]! + this.lengths[b]!) {
        b = batchOf(this.starts, g);
        r = this.readerAt(kind, b);
      }
      out[k] = fn(r, g - this.starts[b]!);
    }
    return out;
  }

  /** Every record of the table, in table order. */
  allRecords(kind: EntityKind): Record<string, unknown>[] {
    const fn = recordFactory(kind).fn;
    const out = new Array<Record<string, unknown>>(this.numRows);
    let k = 0;
    for (let b = 0; b < this.lengths.length; b++) {
      if (this.lengths[b] === 0) continue;
      const r = this.readerAt(kind, b);
      for (let i = 0; i < this.lengths[b]!; i++) out[k++] = fn(r, i);
    }
    return out;
  }

  /**
   * The column readers the record builder of `kind` takes for batch b, made on first use (a
   * lookup that returns one record builds the readers of one batch, not of all of them).
   */
  private readerAt(kind: EntityKind, b: number): unknown[] {
    let perBatch = this.batchReaders.get(kind);
    if (!perBatch) this.batchReaders.set(kind, (perBatch = new Array(this.lengths.length)));
    let r = perBatch[b];
    if (!r) {
      const n = this.lengths[b]!;
      r = perBatch[b] = recordFactory(kind).paths.map((p) => {
        const built = this.cols.get(`${p.kind === 'str' ? 's' : p.kind === 'num' ? 'n' : 'l'}:${p.path}`);
        if (built) return built.chunks[b]!;
        if (p.kind === 'str') return new StrChunk(...this.resolve(p.path, b, 'str'), n);
        if (p.kind === 'num') return new NumChunk(...this.resolve(p.path, b, 'num'), n);
        return new ListChunk(...this.resolve(p.path, b, 'list'), n);
      });
    }
    return r;
  }
}

const views = new WeakMap<Table, TableView>();

/** The (cached) view of a flat table. Tables are immutable, so a view never goes stale. */
export function tableView(table: Table): TableView {
  let v = views.get(table);
  if (!v) views.set(table, (v = new TableView(table)));
  return v;
}

// ───────────────────────────── byte-keyed index ─────────────────────────────

/** MurmurHash3 (x86, 32-bit) of bytes [s, e): four bytes per step. */
export function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h = e - s;
  let k = s;
  for (; k + 4 <= e; k += 4) {
    let w = b[k]! | (b[k + 1]! << 8) | (b[k + 2]! << 16) | (b[k + 3]! << 24);
    w = Math.imul(w, 0xcc9e2d51);
    w = (w << 15) | (w >>> 17);
    h ^= Math.imul(w, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let w = 0;
  const rest = e - k;
  if (rest === 3) w ^= b[k + 2]! << 16;
  if (rest >= 2) w ^= b[k + 1]! << 8;
  if (rest >= 1) {
    w ^= b[k]!;
    w = Math.imul(w, 0xcc9e2d51);
    w = (w << 15) | (w >>> 17);
    h ^= Math.imul(w, 0x1b873593);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * An index from the values of a utf8 key column (node ids, CIDs) to their first global row,
 * built and probed on raw UTF-8 bytes: no string is made for any key. Each slot keeps the
 * key's hash, batch and row, so a probe compares bytes in place.
 */
export class KeyIndex {
  private readonly mask: number;
  /** Per slot, interleaved (one cache line): global row + 1 (0 = empty), then the key's hash. */
  private readonly slots: Int32Array;
  private readonly starts: readonly number[];
  /** Dictionary-coded columns fall back to a string map. */
  private readonly map: Map<string, number> | null = null;

  constructor(private readonly col: StrCol) {
    this.starts = col.starts;
    const n = col.chunks.reduce((a, c) => a + c.length, 0);
    let cap = 16;
    while (cap < n * 2) cap *= 2;
    this.mask = cap - 1;
    const dict = col.chunks.some((c) => c.codes);
    this.slots = new Int32Array(dict ? 0 : cap * 2);
    if (dict) {
      this.map = new Map();
      for (let b = 0; b < col.chunks.length; b++) {
        const c = col.chunks[b]!;
        for (let i = 0; i < c.length; i++) {
          const v = c.get(i);
          if (v !== null && !this.map.has(v)) this.map.set(v, col.starts[b]! + i);
        }
      }
      return;
    }
    const slots = this.slots;
    for (let b = 0; b < col.chunks.length; b++) {
      const c = col.chunks[b]!;
      if (c.valid.allNull) continue;
      const o = c.offsets!;
      const bytes = c.bytes!;
      const base = col.starts[b]!;
      for (let i = 0; i < c.length; i++) {
        if (!c.valid.ok(i)) continue;
        const s = o[i]!;
        const e = o[i + 1]!;
        const h = hashBytes(bytes, s, e);
        let p = h & this.mask;
        for (;;) {
          const at = slots[2 * p]!;
          if (at === 0) {
            slots[2 * p] = base + i + 1;
            slots[2 * p + 1] = h;
            break;
          }
          if (slots[2 * p + 1] === h && this.sameAs(at - 1, bytes, s, e)) break; // duplicate key: the first wins
          p = (p + 1) & this.mask;
        }
      }
    }
  }

  /** Does the key at global row g equal bytes [s, e)? */
  private sameAs(g: number, bytes: Uint8Array, s: number, e: number): boolean {
    const b = batchOf(this.starts, g);
    const c = this.col.chunks[b]!;
    const i = g - this.starts[b]!;
    const o = c.offsets!;
    const cs = o[i]!;
    const len = e - s;
    if (o[i + 1]! - cs !== len) return false;
    const cb = c.bytes!;
    for (let k = 0; k < len; k++) if (cb[cs + k] !== bytes[s + k]) return false;
    return true;
  }

  /** First global row whose key is bytes [s, e) of `bytes`, or -1. */
  findBytes(bytes: Uint8Array, s: number, e: number): number {
    if (this.map) return this.map.get(decoder.decode(bytes.subarray(s, e))) ?? -1;
    const h = hashBytes(bytes, s, e);
    const slots = this.slots;
    let p = h & this.mask;
    for (;;) {
      const at = slots[2 * p]!;
      if (at === 0) return -1;
      if (slots[2 * p + 1] === h && this.sameAs(at - 1, bytes, s, e)) return at - 1;
      p = (p + 1) & this.mask;
    }
  }

  /** First global row whose key is `value`, or -1. */
  find(value: string): number {
    if (this.map) return this.map.get(value) ?? -1;
    const b = encoder.encode(value);
    return this.findBytes(b, 0, b.length);
  }

  /** First global row whose key equals row i of string chunk `c` (any column), or -1. */
  findFrom(c: StrChunk, i: number): number {
    if (!c.valid.ok(i)) return -1;
    if (c.codes || this.map) {
      const v = c.get(i);
      return v === null ? -1 : this.find(v);
    }
    const o = c.offsets!;
    return this.findBytes(c.bytes!, o[i]!, o[i + 1]!);
  }
}

/** The (cached) key index of string column `path` of a table view. */
export function keyIndex(view: TableView, path: string): KeyIndex {
  return view.str(path).index();
}

export { isValidAt };
