/**
 * Reading a flat entity table column-wise: a TableView resolves each column once per (immutable)
 * table — ours (dictionary-coded role/status/type, many record batches) or a foreign one (plain
 * utf8, fields in any order, our extension columns missing: a missing column reads as null
 * everywhere) — and materialises only the records asked for. Nothing here copies a column.
 */
import { DataType, Precision, Type, type Data, type Table } from 'apache-arrow';
import { corrupt, show } from '../../errors.js';
import { ENTITIES, type EntityKind } from '../../schema/entities.js';
import { batchOf, ListCol, NumCol, StrCol } from './columns.js';
import type { KeyIndex } from './key-index.js';
import { ListChunk } from './list-chunk.js';
import { NumChunk } from './num-chunk.js';
import { batchReader, recordFactory, type BatchReader } from './records.js';
import { readValue } from './row-reader.js';
import { StrChunk } from './str-chunk.js';

/** Can a column of Arrow type `t` be read as `kind`? */
function holds(t: DataType, kind: 'str' | 'num' | 'list'): boolean {
  const isText = (x: DataType) => DataType.isUtf8(x) || (DataType.isDictionary(x) && DataType.isUtf8(x.dictionary));
  if (kind === 'str') return isText(t);
  if (kind === 'list') return DataType.isList(t) && (isText(t.children[0]!.type) || t.children[0]!.type.typeId === Type.Null);
  if (DataType.isInt(t) || DataType.isBool(t) || DataType.isTimestamp(t)) return true;
  return DataType.isFloat(t) && t.precision !== Precision.HALF;
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
  /** Columns made so far, by path (one map per kind of reader: no key string is built per call). */
  private readonly strs = new Map<string, StrCol>();
  private readonly nums = new Map<string, NumCol>();
  private readonly lists = new Map<string, ListCol>();
  private readonly batchReaders = new Map<EntityKind, (unknown[] | undefined)[]>();
  /** Generated record readers per entity kind and batch (see records.ts batchReader). */
  private readonly recordReaders = new Map<EntityKind, (BatchReader | undefined)[]>();

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
    if (!holds(d.type, kind)) throw corrupt(`column ${show(path)} has Arrow type ${String(d.type)}, which cannot hold ${kind === 'str' ? 'text' : kind === 'num' ? 'a number' : 'a list of text'}`);
    return [d, parent];
  }

  /** A string column (utf8 or dictionary). */
  str(path: string): StrCol {
    let c = this.strs.get(path);
    if (!c) this.strs.set(path, (c = new StrCol(this.lengths.map((n, b) => new StrChunk(...this.resolve(path, b, 'str'), n)), this.starts)));
    return c;
  }

  /** A numeric / int64 / timestamp / bool column (as numbers, NaN for null). */
  num(path: string): NumCol {
    let c = this.nums.get(path);
    if (!c) this.nums.set(path, (c = new NumCol(this.lengths.map((n, b) => new NumChunk(...this.resolve(path, b, 'num'), n)), this.starts)));
    return c;
  }

  /** A list<utf8> column. */
  list(path: string): ListCol {
    let c = this.lists.get(path);
    if (!c) this.lists.set(path, (c = new ListCol(this.lengths.map((n, b) => new ListChunk(...this.resolve(path, b, 'list'), n)), this.starts)));
    return c;
  }

  /** The batch holding global row g. */
  batchOf(g: number): number {
    return batchOf(this.starts, g);
  }

  /**
   * The record at global row g, in our record shape (the same values readRecord gives). `key`,
   * when given, is the value of the key column at g (a lookup's id: not decoded again).
   */
  record(kind: EntityKind, g: number, key: string | null = null): Record<string, unknown> {
    const b = batchOf(this.starts, g);
    return this.recordReader(kind, b)(g - this.starts[b]!, key);
  }

  /** The first record whose key column (ENTITIES[kind].key) holds `key`, or null. */
  lookup(kind: EntityKind, key: string): Record<string, unknown> | null {
    const g = this.str(ENTITIES[kind].key).first(key);
    return g < 0 ? null : this.record(kind, g, key);
  }

  /** Records of the given global rows, in the given order. */
  records(kind: EntityKind, rows: readonly number[]): Record<string, unknown>[] {
    if (rows.length === 0) return [];
    const out = new Array<Record<string, unknown>>(rows.length);
    let b = batchOf(this.starts, rows[0]!);
    let r = this.recordReader(kind, b);
    for (let k = 0; k < rows.length; k++) {
      const g = rows[k]!;
      // Rows usually come in table order: move forward; otherwise search.
      if (g < this.starts[b]! || g >= this.starts[b]! + this.lengths[b]!) {
        b = batchOf(this.starts, g);
        r = this.recordReader(kind, b);
      }
      out[k] = r(g - this.starts[b]!, null);
    }
    return out;
  }

  /** Every record of the table, in table order. */
  allRecords(kind: EntityKind): Record<string, unknown>[] {
    const out = new Array<Record<string, unknown>>(this.numRows);
    let k = 0;
    for (let b = 0; b < this.lengths.length; b++) {
      if (this.lengths[b] === 0) continue;
      const r = this.recordReader(kind, b);
      for (let i = 0; i < this.lengths[b]!; i++) out[k++] = r(i, null);
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
        const built = (p.kind === 'str' ? this.strs : p.kind === 'num' ? this.nums : this.lists).get(p.path);
        if (built) return built.chunks[b]!;
        if (p.kind === 'str') return new StrChunk(...this.resolve(p.path, b, 'str'), n);
        if (p.kind === 'num') return new NumChunk(...this.resolve(p.path, b, 'num'), n);
        return new ListChunk(...this.resolve(p.path, b, 'list'), n);
      });
    }
    return r;
  }

  /** The generated record reader of batch b for `kind` (made on first use, kept with the view). */
  private recordReader(kind: EntityKind, b: number): BatchReader {
    let perBatch = this.recordReaders.get(kind);
    if (!perBatch) this.recordReaders.set(kind, (perBatch = new Array(this.lengths.length)));
    return (perBatch[b] ??= batchReader(kind, this.readerAt(kind, b)));
  }
}

const views = new WeakMap<Table, TableView>();

/** The (cached) view of a flat table. Tables are immutable, so a view never goes stale. */
export function tableView(table: Table): TableView {
  let v = views.get(table);
  if (!v) views.set(table, (v = new TableView(table)));
  return v;
}

/** The (cached) key index of string column `path` of a table view. */
export function keyIndex(view: TableView, path: string): KeyIndex {
  return view.str(path).index();
}

/** The chunks (one per record batch) of column `name`, or null when the table lacks it. */
export function chunksOf(table: Table, name: string): Data[] | null {
  const k = table.schema.fields.findIndex((f) => f.name === name);
  if (k < 0) return null;
  return table.data.map((b) => b.children[k]!);
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
  return tableView(table).lookup(kind, id) ?? undefined;
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

