/**
 * One entity table held columnar by the writer: record batches of up to `batchRows` rows whose
 * bytes live in the shared arena, an id → (batch, row) index, and a small overlay of rows changed
 * since the batch was last encoded. No JS record object is kept per row (2M records cost ~1 s
 * full GCs at the large scale); only the ids are JS strings (the index keys).
 *
 * Changes are O(1) on the overlay. `materialize()` re-encodes only the batches that changed:
 * untouched columns of a batch are reused byte for byte, changed columns are rebuilt by copying
 * runs of old rows and encoding only the new values, and rows are compacted after deletes. The
 * new batch is written to a fresh extent (copy-on-write); the superseded extent is returned to
 * the caller to be retired once no reader can still see it.
 */
import { Data, makeData, RecordBatch, Schema, Struct, Table, type Vector } from 'apache-arrow';
import { columnWriter, type ColumnWriter } from '../arrow/encode/column-writer.js';
import { StringDictionary } from '../arrow/encode/dictionary.js';
import { decodeRecordBatch } from '../arrow/decode/ipc-message.js';
import { encodeRecordBatch, writeMessage } from '../arrow/encode/ipc-message.js';
import { readValue, readUtf8 } from '../arrow/decode/row-reader.js';
import type { ColumnSpec, LeafSpec } from '../schema/columns.js';
import type { EntitySpec } from '../schema/entities.js';
import { flatSchema } from '../schema/state-schema.js';
import type { Arena, Extent } from '../shm/arena.js';
import { crc32, crc32Patched } from '../arena/crc.js';

/** A row as the store holds it in the overlay: the public record shape (JSON fields as values). */
export type Row = Record<string, unknown>;

interface Batch {
  /** Stable id of the batch (index locations refer to it). */
  readonly uid: number;
  /** Encoded rows (views on `master`); null before the first encode. */
  data: Data<Struct> | null;
  /** The batch's IPC message on the JS heap (immutable: a change makes a new one). */
  master: Uint8Array | null;
  extent: Extent | null;
  /** Never-reused version of `extent`'s bytes. */
  version: number;
  /** CRC32 of `master` (the bytes of `extent`). */
  crc: number;
  /** Id per slot: committed rows first, then appended ones; null = deleted. */
  ids: (string | null)[];
  live: number;
  /** Slot → new row, for updated and appended rows. */
  overlay: Map<number, Row> | null;
  /** Columns changed by in-place updates (when not structural). */
  dirty: Set<number> | null;
  /** Rows were appended or deleted: every column must be rebuilt. */
  structural: boolean;
}

/** One encoded batch: its decoded data, its heap message, and its shared-memory extent. */
export interface EncodedBatch {
  data: Data<Struct>;
  master: Uint8Array;
  extent: Extent;
  version: number;
  /** CRC32 of `master` (computed from it when not given). */
  crc?: number;
}

/** An encoded batch as the table holds it: its CRC32 is always known. */
export type CheckedBatch = EncodedBatch & { crc: number };

/** Called with each superseded extent after `materialize`. */
export type RetireFn = (e: Extent) => void;

/** Things a table needs from its owner: shared dictionaries and extent versions. */
export interface TableContext {
  dictionary(id: number): StringDictionary;
  nextVersion(): number;
}

/** An undo step recorded while a transaction is open. */
export type Undo = () => void;

const LOC_BITS = 2 ** 16; // rows per batch < 65536
/** Up to this many changed runs, a patched batch's CRC is updated (µs each); beyond, recomputed. */
const PATCH_CRC_RUNS = 32;

export class EntityTable {
  readonly spec: EntitySpec;
  readonly schema: Schema;
  private readonly writers: ColumnWriter[];
  private readonly batches = new Map<number, Batch>();
  /** Batches in table order. */
  private order: Batch[] = [];
  private readonly index = new Map<string, number>();
  private nextUid = 1;
  private pending = new Set<Batch>();
  /** Batches encoded on the heap whose bytes are not in shared memory yet (see share()). */
  private readonly unshared = new Set<Batch>();
  private readonly keyColumn: number;
  /** Undo log of the open transaction (null when none is open). */
  undo: Undo[] | null = null;
  /** The last table() and the batch data it was built from (reused while they are the same). */
  private tableCache: { data: Data<Struct>[]; table: Table } | null = null;
  /** RecordBatch per encoded batch data (a batch's data is immutable: a change makes new data). */
  private readonly batchCache = new WeakMap<Data<Struct>, RecordBatch>();

  constructor(spec: EntitySpec, private readonly ctx: TableContext) {
    this.spec = spec;
    this.schema = flatSchema(spec.kind);
    this.writers = spec.columns.map((c) => columnWriter(c, (id) => ctx.dictionary(id)));
    this.keyColumn = spec.columns.findIndex((c) => c.name === spec.key);
  }

  /** Number of live rows (including pending changes). */
  get size(): number {
    return this.index.size;
  }

  /** True when there are changes not yet encoded, or encoded batches not yet in shared memory. */
  get dirty(): boolean {
    return this.pending.size > 0 || this.unshared.size > 0;
  }

  has(id: string): boolean {
    return this.index.has(id);
  }

  /** Ids in table order (a copy; O(n)). */
  ids(): string[] {
    const out: string[] = [];
    for (const b of this.order) for (const id of b.ids) if (id !== null) out.push(id);
    return out;
  }

  /** The row with this id as a fresh object, or undefined. */
  get(id: string): Row | undefined {
    const loc = this.index.get(id);
    if (loc === undefined) return undefined;
    const batch = this.batches.get(Math.floor(loc / LOC_BITS))!;
    const slot = loc % LOC_BITS;
    const o = batch.overlay?.get(slot);
    if (o) return cloneRow(o);
    return this.decodeRow(batch.data!, slot);
  }

  /** One column of the row with this id (cheaper than get() for validation). */
  field(id: string, column: string): unknown {
    const loc = this.index.get(id);
    if (loc === undefined) return undefined;
    const batch = this.batches.get(Math.floor(loc / LOC_BITS))!;
    const slot = loc % LOC_BITS;
    const o = batch.overlay?.get(slot);
    if (o) return cloneValue(o[column]);
    const k = this.spec.columns.findIndex((c) => c.name === column);
    return readValue(this.spec.columns[k]!, batch.data!.children[k], slot);
  }

  /** Appends a new row (the caller has checked the id is new). The table keeps its own copy. */
  insert(row: Row): void {
    row = cloneRow(row);
    const id = row[this.spec.key] as string;
    let batch = this.order[this.order.length - 1];
    if (!batch || batch.ids.length >= this.spec.batchRows) batch = this.newBatch();
    const slot = batch.ids.length;
    batch.ids.push(id);
    batch.live++;
    (batch.overlay ??= new Map()).set(slot, row);
    const wasStructural = batch.structural;
    batch.structural = true;
    this.index.set(id, batch.uid * LOC_BITS + slot);
    this.pending.add(batch);
    this.undo?.push(() => {
      batch.ids.pop();
      batch.live--;
      batch.overlay!.delete(slot);
      batch.structural = wasStructural;
      this.index.delete(id);
      if (batch.ids.length === 0 && !batch.data) this.dropBatch(batch);
    });
  }

  /** Replaces the row with this id by `row` (same id; the caller merged the fields). The table keeps its own copy. */
  update(id: string, row: Row): void {
    row = cloneRow(row);
    const loc = this.index.get(id)!;
    const batch = this.batches.get(Math.floor(loc / LOC_BITS))!;
    const slot = loc % LOC_BITS;
    const before = batch.overlay?.get(slot);
    const old = before ?? (batch.data && slot < batch.data.length ? this.decodeRow(batch.data, slot) : undefined);
    const prevDirty = batch.dirty ? new Set(batch.dirty) : null;
    if (!batch.structural) {
      const dirty = (batch.dirty ??= new Set());
      this.spec.columns.forEach((c, k) => {
        if (!old || !sameValue(old[c.name], row[c.name])) dirty.add(k);
      });
    }
    (batch.overlay ??= new Map()).set(slot, row);
    this.pending.add(batch);
    this.undo?.push(() => {
      if (before) batch.overlay!.set(slot, before);
      else batch.overlay!.delete(slot);
      batch.dirty = prevDirty;
    });
  }

  /** Deletes the row with this id. */
  remove(id: string): void {
    const loc = this.index.get(id)!;
    const batch = this.batches.get(Math.floor(loc / LOC_BITS))!;
    const slot = loc % LOC_BITS;
    const before = batch.overlay?.get(slot);
    const wasStructural = batch.structural;
    batch.ids[slot] = null;
    batch.live--;
    batch.overlay?.delete(slot);
    batch.structural = true;
    this.index.delete(id);
    this.pending.add(batch);
    this.undo?.push(() => {
      batch.ids[slot] = id;
      batch.live++;
      if (before) (batch.overlay ??= new Map()).set(slot, before);
      batch.structural = wasStructural;
      this.index.set(id, loc);
    });
  }

  /**
   * Encodes every changed batch (the writer's heap copy) and, when `share` (the default), copies
   * every batch encoded since the last share into a fresh arena extent; superseded extents go to
   * `retire`. A snapshot on the writer encodes without sharing: a batch changed many times
   * between two publishes is copied to shared memory once. Must not be called while a
   * transaction is open.
   */
  materialize(arena: Arena, retire: RetireFn, share = true): number {
    if (this.undo) throw new Error('internal: materialize inside a transaction');
    let count = 0;
    for (const batch of this.pending) {
      if (batch.live === 0) {
        for (const id of batch.ids) if (id !== null) this.index.delete(id);
        if (batch.extent) retire(batch.extent);
        this.unshared.delete(batch);
        this.dropBatch(batch);
        continue;
      }
      // A rolled-back change, or updates that changed no value, leave nothing to encode.
      if (batch.data && !batch.structural && (!batch.overlay?.size || !batch.dirty?.size)) {
        batch.overlay = null;
        batch.dirty = null;
        continue;
      }
      this.encodeBatch(batch, arena, retire);
      count++;
    }
    this.pending.clear();
    if (share) this.share(arena, retire);
    return count;
  }

  /** Copies each batch encoded since the last call into a fresh arena extent; the superseded extent goes to `retire`. */
  private share(arena: Arena, retire: RetireFn): void {
    for (const batch of [...this.unshared]) {
      const master = batch.master!;
      const extent = arena.alloc(master.byteLength); // IO when shared memory is full: the rest stay unshared
      arena.bytes(extent, master.byteLength).set(master);
      if (batch.extent) retire(batch.extent);
      batch.extent = extent;
      this.unshared.delete(batch);
    }
  }

  /** The encoded batches in order (call after materialize()). */
  batchData(): CheckedBatch[] {
    return this.order.map((b) => ({ data: b.data!, master: b.master!, extent: b.extent!, version: b.version, crc: b.crc }));
  }

  /**
   * Copies the batch whose shared extent has version `version` to a fresh extent under a new
   * version (same bytes, from the heap master): repairs an extent a reader damaged. The damaged
   * extent is retired. Returns false when no batch has that version any more.
   */
  relocate(version: number, arena: Arena, retire: RetireFn): boolean {
    const b = this.order.find((x) => x.version === version && x.master !== null && x.data !== null);
    if (!b) return false;
    this.install(b, b.data!, b.master!, b.crc);
    this.share(arena, retire);
    return true;
  }

  /**
   * The table as Arrow (the encoded batches; call after materialize()). The same Table object is
   * returned while no batch changed, and a RecordBatch is reused for every batch whose data did
   * not change, so a table after one mutation costs the changed batch, not the whole table.
   */
  table(): Table {
    const c = this.tableCache;
    if (c && c.data.length === this.order.length && this.order.every((b, i) => b.data === c.data[i])) return c.table;
    const data = this.order.map((b) => b.data!);
    const batches = data.map((d) => {
      let rb = this.batchCache.get(d);
      if (!rb) {
        rb = new RecordBatch(this.schema, d);
        (rb as { schema: Schema }).schema = this.schema; // avoid per-batch schema compare (pitfall 1)
        this.batchCache.set(d, rb);
      }
      return rb;
    });
    const table = batches.length ? new Table(this.schema, batches) : new Table(this.schema);
    this.tableCache = { data, table };
    return table;
  }

  /** Current dictionary vectors by id (for decoding). */
  dictionaryVectors(): Map<number, Vector> {
    const m = new Map<number, Vector>();
    for (const c of this.spec.columns) if (c.kind === 'dict') m.set(c.dictId!, this.ctx.dictionary(c.dictId!).vector());
    return m;
  }

  /**
   * Adopts already-encoded batches (recovery from a file, or import): each Data becomes one
   * batch at the given extent. Builds the id index by reading the key column.
   */
  adopt(items: EncodedBatch[]): void {
    for (const it of items) {
      const b = this.newBatch();
      b.data = it.data;
      b.master = it.master;
      b.extent = it.extent;
      b.version = it.version;
      b.crc = it.crc ?? crc32(it.master);
      const key = it.data.children[this.keyColumn]!;
      for (let i = 0; i < it.data.length; i++) {
        const id = readUtf8(key, i)!;
        b.ids.push(id);
        this.index.set(id, b.uid * LOC_BITS + i);
      }
      b.live = it.data.length;
    }
  }

  private newBatch(): Batch {
    const b: Batch = { uid: this.nextUid++, data: null, master: null, extent: null, version: 0, crc: 0, ids: [], live: 0, overlay: null, dirty: null, structural: false };
    this.batches.set(b.uid, b);
    this.order.push(b);
    return b;
  }

  private dropBatch(b: Batch): void {
    this.unshared.delete(b);
    this.batches.delete(b.uid);
    this.order = this.order.filter((x) => x !== b);
    this.pending.delete(b);
  }

  private decodeRow(data: Data<Struct>, slot: number): Row {
    const row: Row = {};
    this.spec.columns.forEach((c, k) => {
      row[c.name] = readValue(c, data.children[k], slot);
    });
    return row;
  }

  private encodeBatch(batch: Batch, arena: Arena, retire: RetireFn): void {
    if (this.patchBatch(batch, arena, retire)) return;
    const cols = this.spec.columns;
    const old = batch.data;
    const plan = changePlan(batch, old ? old.length : 0);
    let children: Data[];
    if (!batch.structural && old) {
      children = old.children.slice();
      for (const k of batch.dirty ?? []) children[k] = this.rebuildColumn(k, cols[k]!, batch, old, plan);
    } else {
      children = cols.map((c, k) => this.rebuildColumn(k, c, batch, old, plan));
    }
    const msg = encodeRecordBatch(batch.live, children);
    // The writer's master copy lives on the JS heap: tables it hands out stay valid like any JS
    // value, whatever happens to shared memory. Readers get a copy in a fresh arena extent.
    const master = new Uint8Array(msg.byteLength);
    writeMessage(msg, master);
    const data = decodeRecordBatch(master, this.schema.fields, this.dictionaryVectors(), `${this.spec.kind} batch`, { trusted: true });
    this.install(batch, data, master, crc32(master));
    // Compact slots after deletes and re-index the rows that moved.
    if (batch.structural) {
      const ids: string[] = [];
      for (const id of batch.ids) if (id !== null) ids.push(id);
      batch.ids = ids;
      for (let i = 0; i < ids.length; i++) this.index.set(ids[i]!, batch.uid * LOC_BITS + i);
    }
    batch.overlay = null;
    batch.dirty = null;
    batch.structural = false;
  }

  /**
   * The fixed-width fast path: when the only changes are fixed-width values (numbers, times,
   * booleans, dictionary codes) going from non-null to non-null, the batch's message keeps its
   * layout — copy it and overwrite those values in place (the "patch" path). Returns
   * false (nothing done) when any change needs re-encoding.
   */
  private patchBatch(batch: Batch, arena: Arena, retire: RetireFn): boolean {
    const old = batch.data;
    if (batch.structural || !old || !batch.master || !batch.dirty?.size || !batch.overlay?.size) return false;
    const edits: { path: number[]; spec: LeafSpec; slot: number; value: unknown }[] = [];
    for (const k of batch.dirty) {
      const c = this.spec.columns[k]!;
      const leaves: [number[], LeafSpec][] = c.kind === 'struct' ? c.children.map((ch, j) => [[k, j], ch]) : [[[k], c]];
      for (const [path, leaf] of leaves) {
        const oldLeaf = dataAt(old, path);
        for (const [slot, row] of batch.overlay) {
          const v = path.length === 2 ? (row[c.name] as Record<string, unknown> | null)?.[leaf.name] : row[c.name];
          const was = readValue(leaf, oldLeaf, slot);
          if (v === was || (v == null && was == null)) continue; // this leaf did not change in this row
          if (!FIXED_KINDS.has(leaf.kind) || v === null || v === undefined || was === null) return false;
          if (leaf.kind === 'dict' && !this.ctx.dictionary(leaf.dictId!).canCode(v as string)) return false;
          edits.push({ path, spec: leaf, slot, value: v });
        }
      }
    }
    const master = batch.master.slice();
    const data = rebase(old, batch.master, master) as Data<Struct>;
    // Bytes overwritten (position → width): the new CRC follows from the old one and these.
    const touched = new Map<number, number>();
    for (const e of edits) {
      const d = dataAt(data, e.path);
      const i = d.offset + e.slot;
      const values = d.values as Uint8Array;
      const base = values.byteOffset - master.byteOffset;
      if (e.spec.kind === 'bool') touched.set(base + (i >> 3), 1);
      else touched.set(base + i * values.BYTES_PER_ELEMENT, values.BYTES_PER_ELEMENT);
      switch (e.spec.kind) {
        case 'bool': {
          const bits = d.values as Uint8Array;
          if (e.value) bits[i >> 3]! |= 1 << (i & 7);
          else bits[i >> 3]! &= ~(1 << (i & 7));
          break;
        }
        case 'int64':
        case 'timestamp':
          (d.values as BigInt64Array)[i] = BigInt(e.value as number);
          break;
        case 'dict':
          (d.values as Int8Array | Int32Array)[i] = this.ctx.dictionary(e.spec.dictId!).code(e.value as string);
          break;
        default:
          (d.values as Float64Array)[i] = e.value as number;
      }
    }
    const before = batch.master;
    const crc = touched.size <= PATCH_CRC_RUNS
      ? crc32Patched(batch.crc, master.byteLength, [...touched].map(([at, n]) => ({ at, before: before.subarray(at, at + n), after: master.subarray(at, at + n) })))
      : crc32(master);
    this.install(batch, data, master, crc);
    batch.overlay = null;
    batch.dirty = null;
    return true;
  }

  /**
   * Makes `master` (decoded as `data`, CRC32 `crc`) the batch's bytes on the heap under a new
   * version; share() copies it to a fresh extent (retiring the old one) at the next publish.
   */
  private install(batch: Batch, data: Data<Struct>, master: Uint8Array, crc: number): void {
    batch.data = data;
    batch.master = master;
    batch.version = this.ctx.nextVersion();
    batch.crc = crc;
    this.unshared.add(batch);
  }

  /** Column k of `batch`: runs of old rows copied, changed rows encoded, deleted slots skipped. */
  private rebuildColumn(k: number, spec: ColumnSpec, batch: Batch, old: Data<Struct> | null, plan: ChangePlan): Data {
    const w = this.writers[k]!;
    w.reset();
    const src = old?.children[k];
    const overlay = batch.overlay;
    let at = 0;
    for (let e = 0; e < plan.slots.length; e++) {
      const s = plan.slots[e]!;
      if (s > at) w.copy(src!, at, s);
      if (batch.ids[s] !== null) w.push(toColumnValue(spec, overlay!.get(s)![spec.name]));
      at = s + 1;
    }
    if (plan.committed > at) w.copy(src!, at, plan.committed);
    return w.finish();
  }
}

const FIXED_KINDS = new Set(['int32', 'int64', 'float32', 'float64', 'timestamp', 'bool', 'dict']);

/** The child Data at `path` (column index, then struct child index). */
function dataAt(d: Data, path: number[]): Data {
  let x = d;
  for (const i of path) x = x.children[i]!;
  return x;
}

/** `d` with every buffer re-pointed from `from` to the same offsets in `to` (a copy of it). */
function rebase(d: Data, from: Uint8Array, to: Uint8Array): Data {
  const move = <T extends ArrayBufferView | undefined>(b: T): T => {
    if (!b || b.buffer !== from.buffer) return b;
    const C = b.constructor as new (buf: ArrayBufferLike, off: number, len: number) => T;
    const per = (b as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    return new C(to.buffer, to.byteOffset + (b.byteOffset - from.byteOffset), b.byteLength / per);
  };
  return makeData({
    type: d.type,
    offset: d.offset,
    length: d.length,
    nullCount: d.nullCount,
    nullBitmap: move(d.nullBitmap),
    valueOffsets: move(d.valueOffsets),
    data: move(d.values),
    children: d.children.map((c) => rebase(c, from, to)),
    child: d.children[0] ? rebase(d.children[0], from, to) : undefined,
    dictionary: d.dictionary,
  } as never);
}

/** The slots of a batch that are not plain copies (changed, appended or deleted), in order. */
interface ChangePlan {
  slots: number[];
  committed: number;
}

function changePlan(batch: Batch, committed: number): ChangePlan {
  const slots: number[] = batch.overlay ? [...batch.overlay.keys()] : [];
  if (batch.structural) for (let s = 0; s < committed; s++) if (batch.ids[s] === null) slots.push(s);
  for (let s = committed; s < batch.ids.length; s++) if (batch.ids[s] === null) slots.push(s);
  slots.sort((a, b) => a - b);
  // Slots at or past the committed length are never copied; the plan covers them explicitly.
  for (const s of slots) if (s >= committed && batch.ids[s] !== null && !batch.overlay?.has(s)) throw new Error(`internal: slot ${s} has no data`);
  return { slots: dedupe(slots), committed };
}

function dedupe(a: number[]): number[] {
  let j = 0;
  for (let i = 0; i < a.length; i++) if (i === 0 || a[i] !== a[i - 1]) a[j++] = a[i]!;
  a.length = j;
  return a;
}

/** A record value as its column stores it (JSON fields become their text). */
export function toColumnValue(spec: ColumnSpec, value: unknown): unknown {
  if (spec.kind === 'utf8' && spec.json) return value === null || value === undefined ? null : JSON.stringify(value);
  return value;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function cloneValue<T>(v: T): T {
  return v === null || typeof v !== 'object' ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function cloneRow(r: Row): Row {
  return JSON.parse(JSON.stringify(r)) as Row;
}
