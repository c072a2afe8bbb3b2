/**
 * Column-wise construction of Arrow data. A writer builds one column of a record batch from
 * runs of rows copied out of an existing column (memcpy of values, offsets shifted) and single
 * new values. That is how a batch is re-encoded after a change: clean runs are copied in bulk,
 * only changed rows are encoded. Writers keep growable scratch buffers that are reused from one
 * batch to the next (fresh multi-MB buffers per publish trigger full GCs), so the Data a writer returns is only valid until its next `reset()`: encode it
 * into a message before building the next batch.
 */
import { Data, makeData, type DataType, type Field } from 'apache-arrow';
import type { ColumnSpec, LeafSpec } from '../../schema/columns.js';
import { columnField } from '../../schema/columns.js';
import type { StringDictionary } from './dictionary.js';

type Typed = Int8Array | Int32Array | Float32Array | Float64Array | BigInt64Array | Uint8Array;
type TypedCtor<T extends Typed> = { new (n: number): T };

const encoder = new TextEncoder();

/** A typed array that grows by doubling; `len` elements are in use. */
class Growable<T extends Typed> {
  arr: T;
  len = 0;
  constructor(private readonly ctor: TypedCtor<T>, initial = 1024) {
    this.arr = new ctor(initial);
  }
  ensure(extra: number): T {
    const need = this.len + extra;
    if (need > this.arr.length) {
      let cap = this.arr.length * 2;
      while (cap < need) cap *= 2;
      const next = new this.ctor(cap);
      (next as Uint8Array).set(this.arr.subarray(0, this.len) as Uint8Array);
      this.arr = next;
    }
    return this.arr;
  }
  view(): T {
    return this.arr.subarray(0, this.len) as T;
  }
}

/** Validity bitmap under construction. */
class BitWriter {
  private bytes = new Growable(Uint8Array, 512);
  length = 0;
  nullCount = 0;
  reset(): void {
    this.length = 0;
    this.nullCount = 0;
    this.bytes.len = 0;
  }
  push(valid: boolean): void {
    const i = this.length++;
    if ((i & 7) === 0) {
      this.bytes.ensure(1)[this.bytes.len++] = 0;
    }
    if (valid) this.bytes.arr[i >> 3]! |= 1 << (i & 7);
    else this.nullCount++;
  }
  /** Copies `count` validity bits starting at bit `from` of `src` (undefined = all valid). */
  copy(src: Uint8Array | undefined | null, from: number, count: number): void {
    for (let k = 0; k < count; k++) {
      const b = from + k;
      this.push(!src || src.length === 0 ? true : ((src[b >> 3]! >> (b & 7)) & 1) === 1);
    }
  }
  bitmap(): Uint8Array | undefined {
    return this.nullCount > 0 ? this.bytes.view() : undefined;
  }
}

/** Builds one column. `copy` takes rows [start, end) of a source column of the same type. */
export interface ColumnWriter {
  readonly field: Field;
  reset(): void;
  copy(src: Data, start: number, end: number): void;
  push(value: unknown): void;
  finish(): Data;
}

abstract class LeafWriterBase implements ColumnWriter {
  protected readonly valid = new BitWriter();
  constructor(readonly field: Field) {}
  reset(): void {
    this.valid.reset();
    this.resetValues();
  }
  protected abstract resetValues(): void;
  abstract copy(src: Data, start: number, end: number): void;
  abstract push(value: unknown): void;
  abstract finish(): Data;
  protected get type(): DataType {
    return this.field.type;
  }
}

/** Int8/Int32/Float32/Float64/Int64/Timestamp/dictionary codes: fixed-width values. */
class FixedWriter<T extends Typed> extends LeafWriterBase {
  private readonly values: Growable<T>;
  private readonly zero: number | bigint;
  constructor(field: Field, ctor: TypedCtor<T>, private readonly toStored: (v: unknown) => number | bigint) {
    super(field);
    this.values = new Growable(ctor);
    this.zero = (ctor as unknown) === BigInt64Array ? 0n : 0;
  }
  protected resetValues(): void {
    this.values.len = 0;
  }
  copy(src: Data, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    const arr = this.values.ensure(n);
    const from = src.offset + start;
    (arr as Uint8Array).set((src.values as Uint8Array).subarray(from, from + n), this.values.len);
    this.values.len += n;
    this.valid.copy(src.nullBitmap, from, n);
  }
  push(value: unknown): void {
    const arr = this.values.ensure(1);
    if (value === null || value === undefined) {
      (arr as unknown as Array<number | bigint>)[this.values.len++] = this.zero;
      this.valid.push(false);
    } else {
      (arr as unknown as Array<number | bigint>)[this.values.len++] = this.toStored(value);
      this.valid.push(true);
    }
  }
  finish(): Data {
    return makeData({
      type: this.type as never,
      length: this.values.len,
      nullCount: this.valid.nullCount,
      nullBitmap: this.valid.bitmap(),
      data: this.values.view(),
      ...(this.dictionary ? { dictionary: this.dictionary.vector() } : {}),
    } as never);
  }
  dictionary: StringDictionary | null = null;
}

/** Booleans, bit-packed. */
class BoolWriter extends LeafWriterBase {
  private readonly bits = new BitWriter();
  protected resetValues(): void {
    this.bits.reset();
  }
  copy(src: Data, start: number, end: number): void {
    const n = end - start;
    const from = src.offset + start;
    const vals = src.values as Uint8Array;
    for (let k = 0; k < n; k++) {
      const b = from + k;
      this.bits.push(((vals[b >> 3]! >> (b & 7)) & 1) === 1);
    }
    this.valid.copy(src.nullBitmap, from, n);
  }
  push(value: unknown): void {
    this.bits.push(value === true);
    this.valid.push(value !== null && value !== undefined);
  }
  finish(): Data {
    const data = this.bits.length === 0 ? new Uint8Array(0) : (this.bits as unknown as { bytes: Growable<Uint8Array> }).bytes.view();
    return makeData({
      type: this.type as never,
      length: this.bits.length,
      nullCount: this.valid.nullCount,
      nullBitmap: this.valid.bitmap(),
      data,
    } as never);
  }
}

/** Variable-width strings: Int32 offsets plus UTF-8 bytes. */
class Utf8Writer extends LeafWriterBase {
  private readonly offsets = new Growable(Int32Array, 1025);
  private readonly bytes = new Growable(Uint8Array, 16384);
  private count = 0;
  protected resetValues(): void {
    this.offsets.len = 1;
    this.offsets.arr[0] = 0;
    this.bytes.len = 0;
    this.count = 0;
  }
  constructor(field: Field, private readonly nullable = true) {
    super(field);
    this.resetValues();
  }
  copy(src: Data, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    const from = src.offset + start;
    const vo = src.valueOffsets as Int32Array;
    const b0 = vo[from]!;
    const b1 = vo[from + n]!;
    const bytes = this.bytes.ensure(b1 - b0);
    bytes.set((src.values as Uint8Array).subarray(b0, b1), this.bytes.len);
    const offs = this.offsets.ensure(n);
    const shift = this.bytes.len - b0;
    for (let k = 1; k <= n; k++) offs[this.offsets.len++] = vo[from + k]! + shift;
    this.bytes.len += b1 - b0;
    this.count += n;
    if (this.nullable) this.valid.copy(src.nullBitmap, from, n);
  }
  push(value: unknown): void {
    if (typeof value === 'string' && value.length > 0) {
      const bytes = this.bytes.ensure(value.length * 3);
      const { written } = encoder.encodeInto(value, bytes.subarray(this.bytes.len));
      this.bytes.len += written;
    }
    this.offsets.ensure(1)[this.offsets.len++] = this.bytes.len;
    this.count++;
    if (this.nullable) this.valid.push(value !== null && value !== undefined);
  }
  finish(): Data {
    return makeData({
      type: this.type as never,
      length: this.count,
      nullCount: this.nullable ? this.valid.nullCount : 0,
      nullBitmap: this.nullable ? this.valid.bitmap() : undefined,
      valueOffsets: this.offsets.view(),
      data: this.bytes.view(),
    } as never);
  }
}

/** list<utf8>: list offsets plus a child string column. Null lists are written as empty lists. */
class ListWriter extends LeafWriterBase {
  private readonly offsets = new Growable(Int32Array, 1025);
  private readonly child: Utf8Writer;
  private count = 0;
  private childCount = 0;
  constructor(field: Field) {
    super(field);
    this.child = new Utf8Writer((field.type as { children: Field[] }).children[0]!, false);
    this.resetValues();
  }
  protected resetValues(): void {
    this.offsets.len = 1;
    this.offsets.arr[0] = 0;
    this.child?.reset();
    this.count = 0;
    this.childCount = 0;
  }
  copy(src: Data, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    const from = src.offset + start;
    const vo = src.valueOffsets as Int32Array;
    const c0 = vo[from]!;
    const c1 = vo[from + n]!;
    const base = this.childCount;
    this.child.copy(src.children[0]!, c0, c1);
    this.childCount += c1 - c0;
    const offs = this.offsets.ensure(n);
    for (let k = 1; k <= n; k++) offs[this.offsets.len++] = vo[from + k]! - c0 + base;
    this.count += n;
    this.valid.copy(src.nullBitmap, from, n);
  }
  push(value: unknown): void {
    const list = (value ?? []) as readonly string[];
    for (const s of list) this.child.push(s);
    this.childCount += list.length;
    this.offsets.ensure(1)[this.offsets.len++] = this.childCount;
    this.count++;
    this.valid.push(true);
  }
  finish(): Data {
    return makeData({
      type: this.type as never,
      length: this.count,
      nullCount: 0,
      valueOffsets: this.offsets.view(),
      child: this.child.finish(),
    } as never);
  }
}

/** A struct of leaf columns (e.g. `resources`). The struct itself is never null. */
class StructWriter implements ColumnWriter {
  readonly children: ColumnWriter[];
  private count = 0;
  constructor(readonly field: Field, specs: readonly LeafSpec[], dicts: DictionaryLookup) {
    const fields = (field.type as { children: Field[] }).children;
    this.children = specs.map((s, i) => leafWriter(s, fields[i]!, dicts));
  }
  reset(): void {
    this.count = 0;
    for (const c of this.children) c.reset();
  }
  copy(src: Data, start: number, end: number): void {
    // arrow-js slices struct children together with the struct: row i of the struct is row i
    // of each child (each child applies its own offset).
    for (let k = 0; k < this.children.length; k++) this.children[k]!.copy(src.children[k]!, start, end);
    this.count += end - start;
  }
  push(value: unknown): void {
    const obj = (value ?? {}) as Record<string, unknown>;
    for (const c of this.children) c.push(obj[c.field.name] ?? null);
    this.count++;
  }
  finish(): Data {
    return makeData({
      type: this.field.type as never,
      length: this.count,
      nullCount: 0,
      children: this.children.map((c) => c.finish()),
    } as never);
  }
}

/** Finds the dictionary of a `dict` column by its id. */
export type DictionaryLookup = (dictId: number) => StringDictionary;

function leafWriter(spec: LeafSpec, field: Field, dicts: DictionaryLookup): ColumnWriter {
  switch (spec.kind) {
    case 'utf8': return new Utf8Writer(field);
    case 'list': return new ListWriter(field);
    case 'bool': return new BoolWriter(field);
    case 'int32': return new FixedWriter(field, Int32Array, (v) => v as number);
    case 'float32': return new FixedWriter(field, Float32Array, (v) => v as number);
    case 'float64': return new FixedWriter(field, Float64Array, (v) => v as number);
    case 'int64':
    case 'timestamp': return new FixedWriter(field, BigInt64Array, (v) => BigInt(v as number));
    case 'dict': {
      const dict = dicts(spec.dictId ?? 0);
      const w = spec.indexBits === 32
        ? new FixedWriter(field, Int32Array, (v) => dict.code(v as string))
        : new FixedWriter(field, Int8Array, (v) => dict.code(v as string));
      w.dictionary = dict;
      return w;
    }
  }
}

/** A writer for one column of an entity table (internal, dictionary-coded types). */
export function columnWriter(spec: ColumnSpec, dicts: DictionaryLookup): ColumnWriter {
  const field = columnField(spec, false);
  return spec.kind === 'struct' ? new StructWriter(field, spec.children, dicts) : leafWriter(spec, field, dicts);
}
