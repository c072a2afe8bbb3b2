/**
 * One entity table held columnar by the writer: record batches of up to `batchRows` rows whose
 * bytes live in the shared arena, an id → (batch, row) index, and a small overlay of rows changed
 * since the batch was last encoded. No JS object or string is kept per encoded row (2M records
 * cost ~1 s full GCs at the large scale): the index of encoded rows is a typed-array hash table
 * whose keys are read from the batches' own key column bytes (id-index.ts); only rows appended
 * since the last encode are indexed by their id string, in a small map.
 *
 * Changes are O(1) on the overlay. `materialize()` re-encodes only the batches that changed:
 * untouched columns of a batch are reused byte for byte, changed columns are rebuilt by copying
 * runs of old rows and encoding only the new values, and rows are compacted after deletes. The
 * new batch is written to a fresh extent (copy-on-write); the superseded extent is returned to
 * the caller to be retired once no reader can still see it.
 */
import { RecordBatch, Schema, Table, type Data, type Struct, type Vector } from 'apache-arrow';
import { columnWriter } from '../arrow/encode/column-writer.js';
import type { StringDictionary } from '../arrow/encode/dictionary.js';
import { readValue, readUtf8 } from '../arrow/decode/row-reader.js';
import { batchRecord } from '../arrow/decode/batch-records.js';
import { isValidAt } from '../arrow/decode/validity.js';
import { crc32 } from '../arena/crc.js';
import type { EntitySpec } from '../schema/entities.js';
import { flatSchema } from '../schema/state-schema.js';
import type { Arena, Extent } from '../shm/arena.js';
import { BatchEncoder, type Batch, type Row } from './batch-encoding.js';
import { MasterPool } from './master-pool.js';
import { IdIndex, Utf8Scratch } from './id-index.js';

export type { Row };


/** One encoded batch: its decoded data, its heap message, and its shared-memory extent (null: not shared yet). */
export interface EncodedBatch {
  data: Data<Struct>;
  master: Uint8Array;
  extent: Extent | null;
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
/** The spare-buffer pool of a table holds about this many batches of rows of this many bytes. */
const POOL_BATCHES = 8;
const POOL_ROW_BYTES = 512;

export class EntityTable {
  readonly spec: EntitySpec;
  readonly schema: Schema;
  private readonly encoder: BatchEncoder;
  private readonly batches = new Map<number, Batch>();
  /** Batches in table order. */
  private order: Batch[] = [];
  /** Location (batch uid * 65536 + slot) of every encoded live row, keyed by its key column bytes. */
  private readonly index: IdIndex;
  /** Location of every live row appended since its batch was last encoded (its key is in the overlay only). */
  private readonly appended = new Map<string, number>();
  /** Adopted batches whose ids are not in the index yet, and their rows with an id (see adopt). */
  private readonly unindexed: Batch[] = [];
  private unindexedRows = 0;
  /** The UTF-8 bytes of the id being looked up. */
  private readonly scratch = new Utf8Scratch();
  private nextUid = 1;
  private pending = new Set<Batch>();
  /** Batches encoded on the heap whose bytes are not in shared memory yet (see share()). */
  private readonly unshared = new Set<Batch>();
  private readonly keyColumn: number;
  /** Spare message buffers (see MasterPool): at most 8 batches' worth. */
  private readonly pool: MasterPool;
  /** Undo log of the open transaction (null when none is open). */
  undo: Undo[] | null = null;
  /** The last table() and the batch data it was built from (reused while they are the same). */
  private tableCache: { data: Data<Struct>[]; table: Table } | null = null;
  /** RecordBatch per encoded batch data (a batch's data is immutable: a change makes new data). */
  private readonly batchCache = new WeakMap<Data<Struct>, RecordBatch>();

  constructor(spec: EntitySpec, private readonly ctx: TableContext) {
    this.spec = spec;
    this.schema = flatSchema(spec.kind);
    const writers = spec.columns.map((c) => columnWriter(c, (id) => ctx.dictionary(id)));
    this.encoder = new BatchEncoder(spec, this.schema, writers, (id) => ctx.dictionary(id), () => this.dictionaryVectors());
    this.keyColumn = spec.columns.findIndex((c) => c.name === spec.key);
    this.pool = new MasterPool(POOL_BATCHES * spec.batchRows * POOL_ROW_BYTES);
    this.index = new IdIndex((loc, key, s, e) => this.encodedKeyIs(loc, key, s, e));
  }

  /** Number of live rows (including pending changes). */
  get size(): number {
    return this.index.size + this.appended.size + this.unindexedRows;
  }

  /** True when there are changes not yet encoded, or encoded batches not yet in shared memory. */
  get dirty(): boolean {
    return this.pending.size > 0 || this.unshared.size > 0;
  }

  has(id: string): boolean {
    return this.locate(id) >= 0;
  }

  /** Ids in table order (a copy; O(n): the strings are made from the key column here). */
  ids(): string[] {
    const out: string[] = [];
    const key = this.spec.key;
    for (const b of this.order) {
      const committed = b.data ? b.data.length : 0;
      const col = b.data?.children[this.keyColumn];
      for (let s = 0; s < b.length; s++) {
        if (b.dead?.has(s)) continue;
        const id = s < committed ? readUtf8(col!, s) : (b.overlay!.get(s)![key] as string);
        if (id !== null) out.push(id);
      }
    }
    return out;
  }

  /** The row with this id as a fresh object, or undefined. */
  get(id: string): Row | undefined {
    const loc = this.locate(id);
    if (loc < 0) return undefined;
    const batch = this.batches.get(Math.floor(loc / LOC_BITS))!;
    const slot = loc % LOC_BITS;
    const o = batch.overlay?.get(slot);
    if (o) return cloneRow(o);
    return this.decodeRow(batch.data!, slot);
  }

  /**
   * The row with this id as the table holds it — for a row changed since the last encode, the
   * table's own object, shared, not a copy: callers must only read it (change sets keep it) — or
   * undefined.
   */
  peek(id: string): Readonly<Row> | undefined {
    const loc = this.locate(id);
    if (loc < 0) return undefined;
    const batch = this.batches.get(Math.floor(loc / LOC_BITS))!;
    const slot = loc % LOC_BITS;
    return batch.overlay?.get(slot) ?? this.decodeRow(batch.data!, slot);
  }

  /** One column of the row with this id (cheaper than get() for validation). */
  field(id: string, column: string): unknown {
    const loc = this.locate(id);
    if (loc < 0) return undefined;
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
    if (!batch || batch.length >= this.spec.batchRows) batch = this.newBatch();
    const slot = batch.length++;
    batch.live++;
    (batch.overlay ??= new Map()).set(slot, row);
    const wasStructural = batch.structural;
    batch.structural = true;
    this.appended.set(id, batch.uid * LOC_BITS + slot);
    this.pending.add(batch);
    this.undo?.push(() => {
      batch.length--;
      batch.live--;
      batch.overlay!.delete(slot);
      batch.structural = wasStructural;
      this.appended.delete(id);
      if (batch.length === 0 && !batch.data) this.dropBatch(batch);
    });
  }

  /**
   * Replaces the row with this id by `row` (same id; the caller merged the fields). The table
   * keeps its own copy. `current`, when given, is the row as get() returned it in this mutation
   * (unchanged since): it spares decoding the row again to find the changed columns.
   */
  update(id: string, row: Row, current?: Readonly<Row>): void {
    row = cloneRow(row);
    const loc = this.locate(id);
    if (loc < 0) throw new Error(`internal: update of a missing ${this.spec.kind} row`);
    const batch = this.batches.get(Math.floor(loc / LOC_BITS))!;
    const slot = loc % LOC_BITS;
    const before = batch.overlay?.get(slot);
    const old = before ?? current ?? (batch.data && slot < batch.data.length ? this.decodeRow(batch.data, slot) : undefined);
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
    const loc = this.locate(id);
    if (loc < 0) throw new Error(`internal: removal of a missing ${this.spec.kind} row`);
    const batch = this.batches.get(Math.floor(loc / LOC_BITS))!;
    const slot = loc % LOC_BITS;
    const before = batch.overlay?.get(slot);
    const wasStructural = batch.structural;
    (batch.dead ??= new Set()).add(slot);
    batch.live--;
    batch.overlay?.delete(slot);
    batch.structural = true;
    // An encoded row leaves the hash index (found by its hash and location); an appended one the map.
    const h = this.appended.delete(id) ? null : this.index.hashOf(this.scratch.bytes, 0, this.scratch.encode(id));
    if (h !== null && !this.index.deleteAt(h, loc)) throw new Error('internal: id index lost a row');
    this.pending.add(batch);
    this.undo?.push(() => {
      batch.dead!.delete(slot);
      if (batch.dead!.size === 0) batch.dead = null;
      batch.live++;
      if (before) (batch.overlay ??= new Map()).set(slot, before);
      batch.structural = wasStructural;
      if (h === null) this.appended.set(id, loc);
      else this.index.add(h, loc);
    });
  }

  /**
   * Encodes every changed batch (the writer's heap copy) and, when `share` (the default), copies
   * every batch encoded since the last share into a fresh arena extent; superseded extents go to
   * `retire`. A snapshot on the writer encodes without sharing: a batch changed many times
   * between two publishes is copied to shared memory once. Must not be called while a
   * transaction is open.
   */
  materialize(arena: Arena | null, retire: RetireFn, share = arena !== null): number {
    // Only a publish may write unexported messages in place and recycle superseded ones: the
    // writer's own tables (share = false) are handed out right after, and the checkpoint content
    // of the last publish is replaced by the publish that follows this.
    const reuse = share ? this.pool : null;
    if (this.undo) throw new Error('internal: materialize inside a transaction');
    let count = 0;
    for (const batch of this.pending) {
      if (batch.live === 0) {
        // Every row was removed: none is in the index any more.
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
      this.encodeBatch(batch, reuse);
      count++;
    }
    this.pending.clear();
    if (share && arena) this.share(arena, retire);
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

  /**
   * Marks every current batch as exported: its bytes must stay as they are (the content of a
   * checkpoint being written holds them); the next change to a batch copies it.
   */
  exportAll(): void {
    for (const b of this.order) b.exported = true;
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
    for (const b of this.order) b.exported = true; // handed out: never written in place again
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
   * batch at the given extent. Their ids are indexed (from the key column's bytes) when an id is
   * first looked up or the table first changes.
   */
  adopt(items: EncodedBatch[]): void {
    for (const it of items) {
      const b = this.newBatch();
      b.data = it.data;
      b.master = it.master;
      b.extent = it.extent;
      if (!it.extent) this.unshared.add(b);
      b.version = it.version;
      b.crc = it.crc ?? crc32(it.master);
      b.exported = true; // the bytes came from elsewhere (a file reader may cache them): never written in place
      b.length = it.data.length;
      b.live = it.data.length;
      // Indexed when an id is first looked up (a cold reader that only scans never pays for it).
      this.unindexed.push(b);
      this.unindexedRows += it.data.length - it.data.children[this.keyColumn]!.nullCount;
    }
  }

  /** Indexes the ids of the adopted batches not indexed yet (see adopt). */
  private indexAdopted(): void {
    this.index.reserve(this.index.size + this.unindexedRows);
    for (const b of this.unindexed.splice(0)) {
      if (!this.batches.has(b.uid)) continue;
      const key = b.data!.children[this.keyColumn]!;
      const vo = key.valueOffsets as Int32Array;
      const bytes = key.values as Uint8Array;
      for (let i = 0; i < b.data!.length; i++) {
        if (!isValidAt(key, i)) continue; // no id: nothing can address the row (as before: not indexed)
        const s = vo[key.offset + i]!;
        const e = vo[key.offset + i + 1]!;
        // Keys are unique in a table; should a file repeat one, the later row wins, as a map's set would.
        const h = this.index.hashOf(bytes, s, e);
        const was = this.index.getHashed(h, bytes, s, e);
        if (was >= 0) this.index.move(h, was, b.uid * LOC_BITS + i);
        else this.index.add(h, b.uid * LOC_BITS + i);
      }
    }
    this.unindexedRows = 0;
  }

  private newBatch(): Batch {
    const b: Batch = { uid: this.nextUid++, data: null, master: null, extent: null, version: 0, crc: 0, length: 0, dead: null, live: 0, overlay: null, dirty: null, structural: false, exported: false };
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

  /** The location of the row with this id, or -1. */
  private locate(id: string): number {
    if (this.unindexed.length) this.indexAdopted();
    const loc = this.appended.get(id);
    if (loc !== undefined) return loc;
    if (this.index.size === 0) return -1;
    return this.index.get(this.scratch.bytes, 0, this.scratch.encode(id));
  }

  /** Is the key of the encoded row at `loc` bytes [a, z) of `key`? */
  private encodedKeyIs(loc: number, key: Uint8Array, a: number, z: number): boolean {
    const batch = this.batches.get(Math.floor(loc / LOC_BITS));
    const col = batch?.data?.children[this.keyColumn];
    if (!col) throw new Error('internal: id index points at a batch with no data');
    const i = col.offset + (loc % LOC_BITS);
    const vo = col.valueOffsets as Int32Array;
    const s = vo[i]!;
    const len = z - a;
    if (vo[i + 1]! - s !== len) return false;
    const bytes = col.values as Uint8Array;
    for (let k = 0; k < len; k++) if (bytes[s + k] !== key[a + k]) return false;
    return true;
  }

  private decodeRow(data: Data<Struct>, slot: number): Row {
    return batchRecord(this.spec.kind, data, slot);
  }

  private encodeBatch(batch: Batch, reuse: MasterPool | null): void {
    // Compaction moves index entries: every row must be indexed first (a delete looked its id up, so it is).
    if (batch.structural && this.unindexed.length) this.indexAdopted();
    const committed = batch.data ? batch.data.length : 0;
    const old = batch.master;
    const wasExported = batch.exported;
    const e = this.encoder.encode(batch, reuse);
    this.install(batch, e.data, e.master, e.crc);
    // Compact slots after deletes and re-index the rows that moved (found by hash and old
    // location, hashed from the new key column: no string is made), and move the appended rows
    // from the map of appended ids into the index.
    if (batch.structural) {
      const col = e.data.children[this.keyColumn]!;
      const vo = col.valueOffsets as Int32Array;
      const bytes = col.values as Uint8Array;
      const base = batch.uid * LOC_BITS;
      let to = 0;
      for (let s = 0; s < batch.length; s++) {
        if (batch.dead?.has(s)) continue;
        const a = vo[col.offset + to]!;
        const z = vo[col.offset + to + 1]!;
        if (s >= committed) {
          this.appended.delete(batch.overlay!.get(s)![this.spec.key] as string);
          this.index.add(this.index.hashOf(bytes, a, z), base + to);
        } else if (s !== to && !this.index.move(this.index.hashOf(bytes, a, z), base + s, base + to)) {
          throw new Error('internal: id index lost a row');
        }
        to++;
      }
      if (to !== e.data.length) throw new Error(`internal: ${to} live rows, ${e.data.length} encoded`);
      batch.length = to;
      batch.dead = null;
    }
    batch.overlay = null;
    batch.dirty = null;
    batch.structural = false;
    // The superseded message: nothing refers to it any more unless it was exported.
    if (reuse && old && old !== e.master && !wasExported) reuse.give(old);
  }

  /**
   * Makes `master` (decoded as `data`, CRC32 `crc`) the batch's bytes on the heap under a new
   * version; share() copies it to a fresh extent (retiring the old one) at the next publish.
   */
  private install(batch: Batch, data: Data<Struct>, master: Uint8Array, crc: number): void {
    if (master !== batch.master) batch.exported = false;
    batch.data = data;
    batch.master = master;
    batch.version = this.ctx.nextVersion();
    batch.crc = crc;
    this.unshared.add(batch);
  }
}

/** Do two JSON-like values hold the same data (as their JSON texts would be equal: key order counts)? */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameItem(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  let na = 0;
  let nb = 0;
  for (const k of ka) if ((a as Record<string, unknown>)[k] !== undefined) na++;
  for (const k of kb) if ((b as Record<string, unknown>)[k] !== undefined) nb++;
  if (na !== nb) return false;
  // JSON drops undefined properties and keeps the others in key order.
  let j = 0;
  for (const k of ka) {
    const x = (a as Record<string, unknown>)[k];
    if (x === undefined) continue;
    while (j < kb.length && (b as Record<string, unknown>)[kb[j]!] === undefined) j++;
    if (kb[j] !== k || !sameValue(x, (b as Record<string, unknown>)[k])) return false;
    j++;
  }
  return true;
}

/** An array item as JSON compares it: undefined, functions and symbols are null there. */
function sameItem(a: unknown, b: unknown): boolean {
  const na = a === undefined || typeof a === 'function' || typeof a === 'symbol' ? null : a;
  const nb = b === undefined || typeof b === 'function' || typeof b === 'symbol' ? null : b;
  return sameValue(na, nb);
}

/** A deep copy of a JSON-like value, as a JSON round trip makes it (undefined properties dropped, undefined array items null), without the text. */
function cloneValue<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = v[i] === undefined ? null : cloneValue(v[i]);
    return out as T;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = cloneValue(x);
  }
  return out as T;
}

function cloneRow(r: Row): Row {
  return cloneValue(r);
}
