/**
 * Bulk import: a whole table of one entity kind turned into encoded record batches column by
 * column — no row objects, no overlay, no per-record mutation. For each batch of `batchRows`
 * rows, each column is built by one column writer (arrow/encode/column-writer.ts) from the
 * source's column chunks:
 *
 * - where the source column already has our type and its values pass the checks of a vectorised
 *   scan (ASCII ids within the id rules, numbers within their ranges, times within the Date
 *   range, id lists without duplicates), its buffers are copied as they are (memcpy of values,
 *   offsets shifted);
 * - otherwise each value is read (row-reader.ts: other integer widths, s/µs/ns timestamps,
 *   plain or dictionary strings, JSON text), checked with the same rule as checkRecord's
 *   (validate/stored-record.ts) and pushed.
 *
 * Either way a batch holds exactly what importing its rows one by one would hold. A refused value
 * stops the import: the error is worded by import-rows.ts (`firstRefusal`), so it names the same
 * row, column and value as the row-by-row reading did.
 */
import { makeData, Type, type Data, type Field, type Schema, type Struct, type Table, type Vector } from 'apache-arrow';
import { columnWriter, type ColumnWriter } from '../arrow/encode/column-writer.js';
import type { StringDictionary } from '../arrow/encode/dictionary.js';
import { decodeRecordBatch } from '../arrow/decode/ipc-message.js';
import { encodeRecordBatch, writeMessage } from '../arrow/encode/ipc-message.js';
import { readUtf8 } from '../arrow/decode/row-reader.js';
import { isValidAt } from '../arrow/decode/validity.js';
import { crc32 } from '../arena/crc.js';
import { show, type ErrorCode } from '../errors.js';
import { columnField, type ColumnSpec, type LeafSpec } from '../schema/columns.js';
import { ENTITIES, type EntityKind, type EntitySpec } from '../schema/entities.js';
import { flatSchema } from '../schema/state-schema.js';
import { RECORD_FIELDS, type FieldCheck } from '../validate/stored-record.js';
import { MAX_ID_LENGTH, MAX_JSON_LENGTH, MAX_TEXT_LENGTH, MAX_TIME_MS } from '../validate/values.js';
import { toColumnValue } from './batch-encoding.js';
import type { EncodedBatch } from './entity-table.js';
import { DEFAULTS, firstRefusal, readImported, recordNoun, refused } from './import-rows.js';

/** What encoding needs from the writer: its dictionaries and extent versions. */
export interface BulkContext {
  dictionary(id: number): StringDictionary;
  nextVersion(): number;
}

/** A refused value met by the column-wise pass (worded by firstRefusal before it leaves this file). */
class Refusal extends Error {}

/** One stretch of a source column: rows [from, to) of chunk `data` (undefined: the column is absent). */
interface Segment {
  data: Data | undefined;
  from: number;
  to: number;
}

/**
 * The rows of `table` (a flat table of `kind`, in any of the layouts the import reads) as encoded
 * batches of `batchRows` rows, in table order, on the JS heap (not in shared memory: `extent`
 * null, versions from `ctx`). The dictionaries of `ctx` may gain values (task types). Throws a
 * StateError of `code` naming the row, the column and the value of the first refused row (see
 * firstRefusal) or a duplicate key; the batches are then discarded.
 */
export function encodeTable(kind: EntityKind, table: Table, ctx: BulkContext, what: string, code: ErrorCode = 'CORRUPT'): EncodedBatch[] {
  try {
    return new TableEncoder(ENTITIES[kind], ctx).encode(table);
  } catch (e) {
    if (!(e instanceof Refusal) && !(e instanceof Error && e.name === 'StateError')) throw e;
    throw firstRefusal(kind, table, what, code) ?? refused(e, `${what}: ${kind}`, code);
  }
}

/** Encodes one kind's table batch by batch, column by column. */
class TableEncoder {
  private readonly schema: Schema;
  private readonly writers: ColumnWriter[][];
  private readonly noun: string;
  private readonly seen = new Set<string>();
  /** The keys of the batch being built (the key column is built first). */
  private ids: string[] = [];

  constructor(private readonly spec: EntitySpec, private readonly ctx: BulkContext) {
    this.schema = flatSchema(spec.kind);
    this.noun = recordNoun(spec.kind);
    // A struct column is built leaf by leaf (one writer per child), a leaf by one writer.
    this.writers = spec.columns.map((c) => (c.kind === 'struct' ? c.children.map((l) => columnWriter(l, (id) => ctx.dictionary(id))) : [columnWriter(c, (id) => ctx.dictionary(id))]));
  }

  encode(table: Table): EncodedBatch[] {
    const names = table.schema.fields.map((f) => f.name);
    const chunks = table.data;
    const out: EncodedBatch[] = [];
    const keyIndex = this.spec.columns.findIndex((c) => c.name === this.spec.key);
    const order = [keyIndex, ...this.spec.columns.map((_, k) => k).filter((k) => k !== keyIndex)];
    let chunk = 0;
    let inChunk = 0;
    for (let start = 0; start < table.numRows; start += this.spec.batchRows) {
      const rows = Math.min(this.spec.batchRows, table.numRows - start);
      // The chunk stretches covering rows [start, start + rows).
      const stretches: { data: Data<Struct>; from: number; to: number }[] = [];
      for (let need = rows; need > 0;) {
        while (chunks[chunk]!.length === inChunk) {
          chunk++;
          inChunk = 0;
        }
        const n = Math.min(need, chunks[chunk]!.length - inChunk);
        stretches.push({ data: chunks[chunk]!, from: inChunk, to: inChunk + n });
        inChunk += n;
        need -= n;
      }
      this.ids = [];
      const children: Data[] = new Array(this.spec.columns.length);
      for (const k of order) {
        const c = this.spec.columns[k]!;
        const src = names.indexOf(c.name);
        const segs = stretches.map((s) => ({ data: src < 0 ? undefined : s.data.children[src], from: s.from, to: s.to }));
        children[k] = this.column(k, c, segs, rows);
      }
      out.push(this.batch(rows, children));
    }
    return out;
  }

  /** Encodes one batch's columns as an IPC message on the heap, decoded as the table holds batches. */
  private batch(rows: number, children: Data[]): EncodedBatch {
    const msg = encodeRecordBatch(rows, children);
    const master = new Uint8Array(msg.byteLength);
    writeMessage(msg, master);
    const vectors = new Map<number, Vector>();
    for (const c of this.spec.columns) if (c.kind === 'dict') vectors.set(c.dictId!, this.ctx.dictionary(c.dictId!).vector());
    const data = decodeRecordBatch(master, this.schema.fields, vectors, `${this.spec.kind} batch`, { trusted: true });
    return { data, master, extent: null, version: this.ctx.nextVersion(), crc: crc32(master) };
  }

  /** Column `k` of one batch. */
  private column(k: number, c: ColumnSpec, segs: Segment[], rows: number): Data {
    const writers = this.writers[k]!;
    for (const w of writers) w.reset();
    if (c.kind === 'struct') {
      for (const s of segs) this.structSegment(c.name, c.children, writers, s);
      const field = columnField(c, false);
      return makeData({ type: field.type as Struct, length: rows, nullCount: 0, children: writers.map((w) => w.finish()) });
    }
    const w = writers[0]!;
    const check = RECORD_FIELDS[this.spec.kind][c.name]!;
    const what = `${this.noun}.${c.name}`;
    const def = DEFAULTS[this.spec.kind][c.name];
    const isKey = c.name === this.spec.key;
    const own = this.spec.kind === 'nodes' && c.name === 'peers' ? this.ids : null;
    let at = 0; // the batch row of each stretch's first row
    for (const s of segs) {
      if (!fastLeaf(c, def, s, w, isKey ? this.ids : null, own, at)) this.slowLeaf(c, check, what, def, s, w, isKey, own, at);
      at += s.to - s.from;
    }
    if (isKey) {
      for (const id of this.ids) {
        if (this.seen.has(id)) throw new Refusal(`duplicate ${this.spec.key} ${show(id)}`);
        this.seen.add(id);
      }
    }
    return w.finish();
  }

  /** Reads, checks and pushes each value of a stretch (any source type). */
  private slowLeaf(c: LeafSpec, check: FieldCheck, what: string, def: unknown, s: Segment, w: ColumnWriter, isKey: boolean, own: string[] | null, at: number): void {
    for (let i = s.from; i < s.to; i++) {
      let v = readImported(c, s.data, i);
      if ((v === null || v === undefined) && def !== undefined) v = Array.isArray(def) ? [] : def;
      v = check(v, what);
      if (isKey) this.ids.push(v as string);
      if (own && (v as string[]).includes(own[at + i - s.from]!)) throw new Refusal(`${what}: a node is not its own peer`);
      w.push(toColumnValue(c, v));
    }
  }

  /** A struct column (resources): its leaves copied when the struct has no nulls and each leaf passes, else read as objects. */
  private structSegment(name: string, leaves: readonly LeafSpec[], writers: ColumnWriter[], s: Segment): void {
    const d = s.data;
    if (d && d.type.typeId === Type.Struct && d.nullCount === 0) {
      const fields = (d.type as Struct).children as Field[];
      const srcs = leaves.map((l) => fields.findIndex((f) => f.name === l.name));
      const ok = leaves.every((l, j) => srcs[j]! >= 0 && leafFits(l, RESOURCE_RULES[name]![l.name]!, d.children[srcs[j]!]!, s.from, s.to));
      if (ok) {
        leaves.forEach((_, j) => writers[j]!.copy(d.children[srcs[j]!]!, s.from, s.to));
        return;
      }
    }
    const spec: ColumnSpec = { name, kind: 'struct', children: leaves };
    const check = RECORD_FIELDS[this.spec.kind][name]!;
    const what = `${this.noun}.${name}`;
    for (let i = s.from; i < s.to; i++) {
      const v = check(readImported(spec, d, i), what) as Record<string, unknown>;
      for (let j = 0; j < leaves.length; j++) writers[j]!.push(v[leaves[j]!.name] ?? null);
    }
  }
}

// ─────────────────────────── the vectorised checks ───────────────────────────

/** Value rules of a fixed-width leaf: [min, max] of its valid values, and whether null is accepted. */
interface NumRule {
  min: number;
  max: number;
  nullable: boolean;
}

const INT32_MAX = 2 ** 31 - 1;
const count: NumRule = { min: 0, max: INT32_MAX, nullable: true };
const size: NumRule = { min: 0, max: Number.MAX_SAFE_INTEGER, nullable: true };

/** The rules of the resources' leaves (as nodeResourcesPatch and taskResources check them). */
const RESOURCE_RULES: Record<string, Record<string, NumRule>> = {
  resources: {
    cpu_count: count, cpu_load: { min: 0, max: 100, nullable: true }, gpu_count: count, gpu_available: { min: 0, max: 1, nullable: true },
    memory_total: size, memory_available: size, disk_total: size, disk_available: size,
    cpu_cores: count, gpu_cores: count, memory_mb: count,
  },
};

/** The rules of fixed-width top-level columns (a column with a default is nullable only through it: see fastLeaf). */
const LEAF_RULES: Record<string, NumRule> = {
  last_seen: { min: 0, max: MAX_TIME_MS, nullable: true },
  created_at: { min: 0, max: MAX_TIME_MS, nullable: true },
  updated_at: { min: 0, max: MAX_TIME_MS, nullable: true },
  pinned_at: { min: 0, max: MAX_TIME_MS, nullable: true },
  priority: { min: -(2 ** 31), max: INT32_MAX, nullable: false },
  attempts: { min: 0, max: INT32_MAX, nullable: false },
  replication: { min: 0, max: INT32_MAX, nullable: false },
  size,
  started_at: { min: 0, max: MAX_TIME_MS / 1000, nullable: true },
  completed_at: { min: 0, max: MAX_TIME_MS / 1000, nullable: true },
  pinned: { min: 0, max: 1, nullable: false },
};

/** Arrow type ids and widths of our leaf kinds, to recognise a source column that has exactly our type. */
function sameType(spec: LeafSpec, d: Data): boolean {
  const t = d.type as { typeId: Type; bitWidth?: number; isSigned?: boolean; precision?: number; unit?: number; timezone?: string | null };
  switch (spec.kind) {
    case 'int32': return t.typeId === Type.Int && t.bitWidth === 32 && t.isSigned === true;
    case 'int64': return t.typeId === Type.Int && t.bitWidth === 64 && t.isSigned === true;
    case 'float32': return t.typeId === Type.Float && t.precision === 1;
    case 'float64': return t.typeId === Type.Float && t.precision === 2;
    case 'bool': return t.typeId === Type.Bool;
    case 'timestamp': return t.typeId === Type.Timestamp && t.unit === 1 && !t.timezone; // TimeUnit.MILLISECOND
    case 'utf8': return t.typeId === Type.Utf8;
    case 'list': return t.typeId === Type.List && d.children[0]?.type.typeId === Type.Utf8;
    default: return false;
  }
}

/** True when rows [from, to) of the fixed-width column `d` (our type) all pass `rule`. */
function leafFits(spec: LeafSpec, rule: NumRule, d: Data, from: number, to: number): boolean {
  if (!sameType(spec, d)) return false;
  const hasNulls = d.nullCount > 0 && !!d.nullBitmap && d.nullBitmap.length > 0;
  if (hasNulls && !rule.nullable) {
    for (let i = from; i < to; i++) if (!isValidAt(d, i)) return false;
  }
  if (spec.kind === 'bool') return true;
  const o = d.offset;
  if (spec.kind === 'int64' || spec.kind === 'timestamp') {
    const v = d.values as BigInt64Array;
    const lo = BigInt(rule.min);
    const hi = BigInt(rule.max);
    for (let i = from; i < to; i++) {
      const x = v[o + i]!;
      if ((x < lo || x > hi) && (!hasNulls || isValidAt(d, i))) return false;
    }
    return true;
  }
  const v = d.values as Int32Array | Float32Array | Float64Array;
  for (let i = from; i < to; i++) {
    const x = v[o + i]!;
    if (!(x >= rule.min && x <= rule.max) && (!hasNulls || isValidAt(d, i))) return false;
  }
  return true;
}

/** The kinds of string a utf8 leaf holds: an id (checkId), a reference ('' allowed, null allowed), free text. */
type StrRule = 'id' | 'ref' | 'text';

const STR_RULES: Record<string, StrRule> = {
  id: 'id', cid: 'id', assigned_to: 'ref', input_cid: 'ref', output_cid: 'ref', address: 'text', error: 'text',
};

/**
 * True when every string in rows [from, to) of the utf8 column `d` is ASCII and passes `rule`
 * (ids: 1 to MAX_ID_LENGTH printable characters, no space at either end; text: any ASCII within
 * MAX_TEXT_LENGTH). ASCII text is valid Unicode and decodes to itself, so such a column is copied.
 */
function stringsFit(rule: StrRule, d: Data, from: number, to: number): boolean {
  const vo = d.valueOffsets as Int32Array;
  const bytes = d.values as Uint8Array;
  const o = d.offset;
  for (let i = from; i < to; i++) {
    if (!isValidAt(d, i)) {
      if (rule === 'id') return false;
      continue;
    }
    const a = vo[o + i]!;
    const b = vo[o + i + 1]!;
    if (rule === 'text') {
      if (b - a > MAX_TEXT_LENGTH) return false;
      for (let j = a; j < b; j++) if (bytes[j]! >= 0x80) return false;
      continue;
    }
    if (b === a) {
      if (rule === 'id') return false;
      continue;
    }
    if (b - a > MAX_ID_LENGTH || bytes[a] === 0x20 || bytes[b - 1] === 0x20) return false;
    for (let j = a; j < b; j++) {
      const x = bytes[j]!;
      if (x < 0x20 || x > 0x7e) return false;
    }
  }
  return true;
}

/** ASCII bytes [a, b) equal to string `s`. */
function bytesEqual(bytes: Uint8Array, a: number, b: number, s: string): boolean {
  if (b - a !== s.length) return false;
  for (let j = a; j < b; j++) if (bytes[j] !== s.charCodeAt(j - a)) return false;
  return true;
}

/** ASCII bytes [a, b) and [c, e) equal. */
function rangesEqual(bytes: Uint8Array, a: number, b: number, c: number, e: number): boolean {
  if (b - a !== e - c) return false;
  for (let j = 0; j < b - a; j++) if (bytes[a + j] !== bytes[c + j]) return false;
  return true;
}

/**
 * True when rows [from, to) of the list<utf8> column `d` hold lists of valid ASCII ids without
 * duplicates (and, with `own`, without the row's own id: a node is not its own peer). Lists of
 * more than 32 ids are left to the slow path.
 */
function idListsFit(d: Data, from: number, to: number, own: string[] | null, ownBase: number): boolean {
  if (d.nullCount > 0 && d.nullBitmap && d.nullBitmap.length > 0) return false;
  const child = d.children[0]!;
  if (child.nullCount > 0) return false;
  const lo = d.valueOffsets as Int32Array;
  const o = d.offset;
  const c0 = lo[o + from]!;
  const c1 = lo[o + to]!;
  if (c1 > c0 && !stringsFit('id', child, c0, c1)) return false;
  const vo = child.valueOffsets as Int32Array;
  const bytes = child.values as Uint8Array;
  const co = child.offset;
  for (let i = from; i < to; i++) {
    const a = lo[o + i]!;
    const b = lo[o + i + 1]!;
    if (b - a > 32) return false;
    for (let x = a; x < b; x++) {
      const xa = vo[co + x]!;
      const xb = vo[co + x + 1]!;
      if (own && bytesEqual(bytes, xa, xb, own[ownBase + i - from]!)) return false;
      for (let y = a; y < x; y++) if (rangesEqual(bytes, vo[co + y]!, vo[co + y + 1]!, xa, xb)) return false;
    }
  }
  return true;
}

const decoder = new TextDecoder();

/**
 * The fast path of one stretch of a leaf column: validated in bulk and copied (returns true), or
 * not applicable (false: nothing was written, the caller reads value by value). `ids`: the key
 * column's decoded ids are appended there; `own`: the batch's ids, for the peers rule.
 */
function fastLeaf(c: LeafSpec, def: unknown, s: Segment, w: ColumnWriter, ids: string[] | null, own: string[] | null, at: number): boolean {
  const d = s.data;
  if (!d || !sameType(c, d) && !(c.kind === 'dict' && d.type.typeId === Type.Dictionary)) return false;
  if (c.kind === 'utf8') {
    if (c.json) return jsonColumn(c, s, w);
    const rule = STR_RULES[c.name];
    if (!rule || !stringsFit(rule, d, s.from, s.to)) return false;
    w.copy(d, s.from, s.to);
    if (ids) {
      const vo = d.valueOffsets as Int32Array;
      const bytes = d.values as Uint8Array;
      for (let i = s.from; i < s.to; i++) ids.push(decoder.decode(bytes.subarray(vo[d.offset + i]!, vo[d.offset + i + 1]!)));
    }
    return true;
  }
  if (c.kind === 'list') {
    if (!idListsFit(d, s.from, s.to, own, at)) return false;
    w.copy(d, s.from, s.to);
    return true;
  }
  if (c.kind === 'dict') return dictColumn(c, s, w);
  const rule = LEAF_RULES[c.name];
  if (!rule) return false;
  // A column with a default takes it for null: that is the slow path's business.
  if (!rule.nullable && def === undefined && d.nullCount > 0) return false;
  if (!leafFits(c, rule, d, s.from, s.to)) return false;
  w.copy(d, s.from, s.to);
  return true;
}

/**
 * A dictionary-coded source column (e.g. our own tables): each distinct dictionary value is
 * checked once, then codes are translated. Null codes and values the rule refuses fall back.
 */
function dictColumn(c: LeafSpec, s: Segment, w: ColumnWriter): boolean {
  const d = s.data!;
  const dict = d.dictionary;
  if (!dict || dict.type.typeId !== Type.Utf8) return false;
  if (d.nullCount > 0) return false;
  // Closed sets (role, status: 8-bit codes) must hold one of their values; task types are ids.
  const check = c.indexBits === 32 ? stringsFitOne : (v: string) => c.values!.includes(v);
  const codes = d.values as Int8Array | Int32Array;
  const values = new Map<number, string | null>();
  for (let i = s.from; i < s.to; i++) {
    const code = codes[d.offset + i]!;
    let v = values.get(code);
    if (v === undefined) {
      const x = dict.get(code) as string | null;
      v = typeof x === 'string' && check(x) ? x : null;
      values.set(code, v);
    }
    if (v === null) return false;
  }
  for (let i = s.from; i < s.to; i++) w.push(values.get(codes[d.offset + i]!)!);
  return true;
}

/** One string against the id rules, as stringsFit checks bytes (printable ASCII, no edge spaces). */
function stringsFitOne(v: string): boolean {
  if (v.length === 0 || v.length > MAX_ID_LENGTH || v.charCodeAt(0) === 0x20 || v.charCodeAt(v.length - 1) === 0x20) return false;
  for (let j = 0; j < v.length; j++) {
    const x = v.charCodeAt(j);
    if (x < 0x20 || x > 0x7e) return false;
  }
  return true;
}

/**
 * A JSON text column: each text parsed (it must be JSON; metadata must be an object), its value
 * checked (finite numbers, at most 64 levels deep) and stored as its normalised JSON text within
 * MAX_JSON_LENGTH — as a mutation would store the parsed value. Anything else falls back.
 */
function jsonColumn(c: LeafSpec, s: Segment, w: ColumnWriter): boolean {
  const d = s.data!;
  const texts: (string | null)[] = [];
  for (let i = s.from; i < s.to; i++) {
    const t = readUtf8(d, i);
    if (t === null) {
      texts.push(null);
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      return false;
    }
    if (c.name === 'metadata' && (v === null || typeof v !== 'object' || Array.isArray(v))) return false;
    if (!plainJson(v, 0)) return false;
    const text = JSON.stringify(v);
    if (text.length > MAX_JSON_LENGTH) return false;
    texts.push(text);
  }
  for (const t of texts) w.push(t);
  return true;
}

/** A parsed JSON value within checkJson's rules: finite numbers, at most 64 levels, no lone surrogates in strings. */
function plainJson(v: unknown, depth: number): boolean {
  if (v === null || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (typeof v === 'string') return true;
  if (depth >= 64) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (!plainJson(x, depth + 1)) return false;
    return true;
  }
  for (const k in v as object) if (!plainJson((v as Record<string, unknown>)[k], depth + 1)) return false;
  return true;
}
