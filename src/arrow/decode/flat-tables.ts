/**
 * From the seed's single-row layout (an Arrow Table with `cluster_id`, `master_id`, `updated_at`
 * and `nodes`/`tasks`/`content` as list<struct>) to three flat tables WITHOUT copying the
 * columns: each entity table is the list's child struct array re-based to the list offsets of the
 * row, so its columns are views on the original buffers. Only validity bitmaps that start
 * mid-byte are copied (a few bytes), and 64-bit list/string offsets (large_utf8, large_list, from
 * some foreign writers) are narrowed to 32-bit.
 *
 * Works for tables written by us and by other tools (pyarrow's list children are named
 * `element`, struct fields may come in any order, role/status/type are plain utf8, our extension
 * fields may be missing — they read as null, an empty list may be list<null>). One conversion
 * for the writer's import (persist/open.ts) and the helpers' table and Parquet sources.
 */
import {
  Data, DataType, Field, List, makeData, RecordBatch, Schema, Struct, Table, TimeUnit, Type, Utf8, Binary,
} from 'apache-arrow';
import { type ErrorCode, corrupt, withCode, show } from '../../errors.js';
import { ENTITY_KINDS, type EntityKind } from '../../schema/entities.js';
import { NumChunk } from './num-chunk.js';
import { StrChunk } from './str-chunk.js';
import { isValidAt } from './validity.js';

/** The cluster fields and one flat table per entity (views on the source table). */
export interface FlatTables {
  clusterId: string;
  masterId: string | null;
  /** Epoch ms (NaN when the table has no `updated_at`). */
  updatedAt: number;
  nodes: Table;
  tasks: Table;
  content: Table;
}

/** A timestamp column's value in epoch ms (s, µs and ns converted; floored), other numbers as they are. */
export function epochMs(d: Data, v: number): number {
  if (!DataType.isTimestamp(d.type)) return v;
  const unit = (d.type as { unit: TimeUnit }).unit;
  return unit === TimeUnit.SECOND ? v * 1000 : unit === TimeUnit.MICROSECOND ? Math.floor(v / 1000) : unit === TimeUnit.NANOSECOND ? Math.floor(v / 1e6) : v;
}


/** Bits [start, start + len) of a bitmap as a bitmap starting at bit 0 (a view when byte-aligned). */
function sliceBits(bits: Uint8Array, start: number, len: number): Uint8Array {
  const bytes = (len + 7) >> 3;
  if ((start & 7) === 0) return bits.subarray(start >> 3, (start >> 3) + bytes);
  const out = new Uint8Array(bytes);
  for (let k = 0; k < len; k++) {
    const x = start + k;
    if ((bits[x >> 3]! >> (x & 7)) & 1) out[k >> 3]! |= 1 << (k & 7);
  }
  return out;
}

/** 64-bit offsets [start, start + len] as 32-bit (they must fit). */
function narrowOffsets(o: BigInt64Array, start: number, len: number, what: string): Int32Array {
  const out = new Int32Array(len + 1);
  for (let k = 0; k <= len; k++) {
    const v = o[start + k]!;
    if (v > 2147483647n || v < 0n) throw corrupt(`${what}: offset ${v} does not fit 32 bits`);
    out[k] = Number(v);
  }
  return out;
}

/**
 * Rows [start, start + len) of `d` as Data with offset 0 whose buffers are views on `d`'s
 * (children re-based recursively, list and string values shared as they are).
 */
function rebase(d: Data, start: number, len: number, what: string): Data {
  const t = d.type as DataType;
  const bm = d.nullCount > 0 && d.nullBitmap && d.nullBitmap.length > 0 ? sliceBits(d.nullBitmap, d.offset + start, len) : undefined;
  const nullCount = bm ? -1 : 0;
  switch (t.typeId) {
    case Type.Struct: {
      const fields = (t as Struct).children;
      const children = d.children.map((c, k) => rebase(c, start, len, `${what}.${fields[k]!.name}`));
      const type = new Struct(fields.map((f, k) => new Field(f.name, children[k]!.type, true, f.metadata)));
      return makeData({ type, length: len, nullCount, nullBitmap: bm, children });
    }
    case Type.List:
    case Type.LargeList: {
      const large = t.typeId === Type.LargeList;
      const childField = (t as List).children[0]!;
      const c = d.children[0]!;
      const child = rebase(c, 0, c.length, `${what}[]`);
      const valueOffsets = large
        ? narrowOffsets(d.valueOffsets as unknown as BigInt64Array, start, len, what)
        : (d.valueOffsets as Int32Array).subarray(start, start + len + 1);
      const type = new List(new Field(childField.name, child.type, true, childField.metadata));
      return makeData({ type, length: len, nullCount, nullBitmap: bm, valueOffsets, child });
    }
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Binary:
    case Type.LargeBinary: {
      const large = t.typeId === Type.LargeUtf8 || t.typeId === Type.LargeBinary;
      const valueOffsets = large
        ? narrowOffsets(d.valueOffsets as unknown as BigInt64Array, start, len, what)
        : (d.valueOffsets as Int32Array).subarray(start, start + len + 1);
      const type = t.typeId === Type.Utf8 || t.typeId === Type.LargeUtf8 ? new Utf8() : new Binary();
      return makeData({ type, length: len, nullCount, nullBitmap: bm, valueOffsets, data: d.values ?? new Uint8Array(0) } as never);
    }
    case Type.Bool: {
      const values = sliceBits(d.values as Uint8Array, d.offset + start, len);
      return makeData({ type: t, length: len, nullCount, nullBitmap: bm, data: values } as never);
    }
    case Type.Dictionary: {
      const codes = d.values as Int32Array;
      return makeData({ type: t, length: len, nullCount, nullBitmap: bm, data: codes.subarray(start, start + len), dictionary: d.dictionary } as never);
    }
    case Type.Null:
      return makeData({ type: t, length: len } as never);
    case Type.Int:
    case Type.Float:
    case Type.Timestamp:
    case Type.Date:
    case Type.Time:
    case Type.Duration:
    case Type.Decimal:
    case Type.FixedSizeBinary: {
      const stride = d.stride;
      const values = d.values as Int32Array;
      return makeData({ type: t, length: len, nullCount, nullBitmap: bm, data: values.subarray(start * stride, (start + len) * stride) } as never);
    }
    default:
      throw corrupt(`${what}: unsupported Arrow type ${String(t)}`);
  }
}

/** The flat table of one entity: rows [start, start+len) of the list's child struct. */
function entityTable(list: Data, row: number, what: string): Table {
  const listType = list.type as DataType;
  if (listType.typeId !== Type.List && listType.typeId !== Type.LargeList) {
    throw corrupt(`${what}: expected a list of structs, got ${String(listType)}`);
  }
  const child = list.children[0]!;
  const valid = isValidAt(list, row);
  const vo = list.valueOffsets as unknown as ArrayLike<number | bigint>;
  const start = valid ? Number(vo[row]!) : 0;
  const len = valid ? Number(vo[row + 1]!) - start : 0;
  if (child.type.typeId !== Type.Struct) {
    // An empty list of some other type (pyarrow infers list<null> for []): an empty entity table.
    if (len === 0) return new Table(new Schema([]), [new RecordBatch(new Schema([]), makeData({ type: new Struct([]), length: 0, children: [] }))]);
    throw corrupt(`${what}: expected a list of structs, got ${String(listType)}`);
  }
  if (start < 0 || len < 0 || start + len > child.length) throw corrupt(`${what}: list offsets ${start}..${start + len} out of range`);
  const data = rebase(child, start, len, what) as Data<Struct>;
  const schema = new Schema(data.type.children);
  return new Table(schema, [new RecordBatch(schema, data)]);
}

/**
 * The flat tables inside a single-row state table (zero-copy; see the file comment). A 0-row
 * table is the empty state. A table that is not in the layout is a `code` error naming `what`
 * (CORRUPT for files, INVALID_ARGUMENT for arguments).
 */
export function flatFromSingleRow(table: Table, what = 'the state table', code: ErrorCode = 'CORRUPT'): FlatTables {
  const names = table.schema.fields.map((f) => f.name);
  for (const c of ENTITY_KINDS) {
    if (!names.includes(c)) throw withCode(code, `${what} is not a cluster state: it has no ${show(c)} column (columns: ${names.join(', ') || 'none'})`);
  }
  if (table.numRows > 1) throw withCode(code, `${what} is not in the single-row state layout: it has ${table.numRows} rows`);
  const batch = table.data.find((d) => d.length > 0);
  const col = (name: string) => (batch ? batch.children[names.indexOf(name)] ?? null : null);
  const typed = (name: string, ok: (t: DataType) => boolean, what: string): Data | null => {
    const d = names.includes(name) ? col(name) : null;
    if (!d || d.type.typeId === Type.Null) return null;
    if (!ok(d.type)) throw withCode(code, `${what}: column ${name} has Arrow type ${String(d.type)}, expected ${what}`);
    return d;
  };
  const str = (name: string): string | null => {
    const d = typed(name, (t) => DataType.isUtf8(t) || (DataType.isDictionary(t) && DataType.isUtf8(t.dictionary)), 'utf8');
    return d ? new StrChunk(d, null, 1).get(0) : null;
  };
  const num = (name: string): number => {
    const d = typed(name, (t) => DataType.isTimestamp(t) || DataType.isInt(t) || DataType.isFloat(t), 'a timestamp or number');
    if (!d) return NaN;
    return new NumChunk(d, null, 1).get(0); // a timestamp in s, µs or ns is converted to ms
  };
  const empty = (): Table => new Table(new Schema([]), [new RecordBatch(new Schema([]), makeData({ type: new Struct([]), length: 0, children: [] }))]);
  const tables = {} as Record<EntityKind, Table>;
  for (const c of ENTITY_KINDS) {
    const d = col(c);
    tables[c] = d ? entityTable(d, 0, `${what}: column ${c}`) : empty();
  }
  return {
    clusterId: str('cluster_id') ?? '',
    masterId: str('master_id'),
    updatedAt: num('updated_at'),
    ...tables,
  };
}
