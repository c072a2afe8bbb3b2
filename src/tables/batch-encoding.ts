/**
 * Re-encoding one record batch of an entity table after a change (entity-table.ts holds the
 * batches and the overlay of changed rows). The fixed-width fast path copies the batch's message
 * and overwrites the changed values in place (its CRC32 updated from the changed bytes); every
 * other change rebuilds only the changed columns, copying runs of old rows and encoding only the
 * new values. The result is a new immutable message on the heap: the caller installs it.
 */
import { Data, makeData, type Schema, type Struct } from 'apache-arrow';
import type { ColumnWriter } from '../arrow/encode/column-writer.js';
import type { StringDictionary } from '../arrow/encode/dictionary.js';
import { decodeRecordBatch } from '../arrow/decode/ipc-message.js';
import { carryMessageCrcs, encodeRecordBatch, messageCrc, seedMessageCrcs, writeMessage } from '../arrow/encode/ipc-message.js';
import { readValue } from '../arrow/decode/row-reader.js';
import { crc32, crc32Patched, forgetCrc } from '../arena/crc.js';
import type { ColumnSpec, LeafSpec } from '../schema/columns.js';
import type { EntitySpec } from '../schema/entities.js';
import type { Extent } from '../shm/arena.js';
import type { MasterPool } from './master-pool.js';

/** A row as the store holds it in the overlay: the public record shape (JSON fields as values). */
export type Row = Record<string, unknown>;

/** One record batch of an entity table, with the changes not encoded yet. */
export interface Batch {
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
  /** Slots in use: the encoded rows (`data.length`) first, then appended ones (in `overlay`). */
  length: number;
  /** Deleted slots (null when none); their rows are dropped at the next encode. */
  dead: Set<number> | null;
  /** Live rows: `length` minus the deleted slots. */
  live: number;
  /** Slot → new row, for updated and appended rows. */
  overlay: Map<number, Row> | null;
  /** Columns changed by in-place updates (when not structural). */
  dirty: Set<number> | null;
  /** Rows were appended or deleted: every column must be rebuilt. */
  structural: boolean;
  /**
   * `master` (and `data`, its views) left the table — in a Table handed out by table(), or in
   * the content of a checkpoint — so it must never change: the next change copies it. Until
   * then, fixed-width changes are written into it in place (see BatchEncoder.encode).
   */
  exported: boolean;
}

/** A batch's new bytes: its message on the heap, decoded, and the message's CRC32. */
export interface Encoded {
  data: Data<Struct>;
  master: Uint8Array;
  crc: number;
}

/** Up to this many changed runs, a patched batch's CRC is updated (µs each); beyond, recomputed. */
const PATCH_CRC_RUNS = 256;

/** Encodes the batches of one entity table. */
export class BatchEncoder {
  constructor(
    private readonly spec: EntitySpec,
    private readonly schema: Schema,
    private readonly writers: ColumnWriter[],
    private readonly dictionary: (id: number) => StringDictionary,
    private readonly dictionaryVectors: () => Map<number, import('apache-arrow').Vector>,
  ) {}

  /**
   * The new bytes of `batch` with its overlay applied (rows still in slot order; deleted slots
   * dropped). With `reuse` (the caller may recycle what it drops: a publish), fixed-width changes
   * to a batch whose master was not exported are written into its master in place (the result is
   * the same master and data, with a new CRC): no copy at all; other new messages are written
   * into recycled buffers.
   */
  encode(batch: Batch, reuse: MasterPool | null): Encoded {
    const patched = this.patch(batch, reuse !== null && !batch.exported);
    if (patched) return patched;
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
    const master = reuse ? reuse.take(msg.byteLength) : new Uint8Array(msg.byteLength);
    writeMessage(msg, master);
    const partCrcs: number[] = [];
    const crc = messageCrc(msg, master, partCrcs);
    const data = decodeRecordBatch(master, this.schema.fields, this.dictionaryVectors(), `${this.spec.kind} batch`, { trusted: true });
    seedMessageCrcs(msg, partCrcs, data.children);
    return { data, master, crc };
  }

  /**
   * The fixed-width fast path: when the only changes are fixed-width values (numbers, times,
   * booleans, dictionary codes) going from non-null to non-null, the batch's message keeps its
   * layout — copy it and overwrite those values in place (the "patch" path). Returns
   * null (nothing done) when any change needs re-encoding.
   */
  private patch(batch: Batch, inPlace: boolean): Encoded | null {
    const old = batch.data;
    if (batch.structural || !old || !batch.master || !batch.dirty?.size || !batch.overlay?.size) return null;
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
          if (!FIXED_KINDS.has(leaf.kind) || v === null || v === undefined || was === null) return null;
          if (leaf.kind === 'dict' && !this.dictionary(leaf.dictId!).canCode(v as string)) return null;
          edits.push({ path, spec: leaf, slot, value: v });
        }
      }
    }
    const master = inPlace ? batch.master : batch.master.slice();
    const data = inPlace ? old : (rebase(old, batch.master, master) as Data<Struct>);
    if (!inPlace) carryMessageCrcs(old.children, data.children); // the copy's buffers: the same bytes (the edited ones are forgotten below)
    // Bytes overwritten (position → width): the new CRC follows from the old one and these.
    const touched = new Map<number, number>();
    for (const e of edits) {
      const d = dataAt(data, e.path);
      const i = d.offset + e.slot;
      const values = d.values as Uint8Array;
      const base = values.byteOffset - master.byteOffset;
      if (e.spec.kind === 'bool') touched.set(base + (i >> 3), 1);
      else touched.set(base + i * values.BYTES_PER_ELEMENT, values.BYTES_PER_ELEMENT);
    }
    // The bytes before the change (in place, they are about to be overwritten).
    const useRuns = touched.size <= PATCH_CRC_RUNS;
    const runs = useRuns ? [...touched].map(([at, n]) => ({ at, before: batch.master!.slice(at, at + n), after: master.subarray(at, at + n) })) : null;
    for (const e of edits) forgetCrc(dataAt(data, e.path).values as ArrayBufferView); // its cached CRC is about to go stale
    for (const e of edits) {
      const d = dataAt(data, e.path);
      const i = d.offset + e.slot;
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
          (d.values as Int8Array | Int32Array)[i] = this.dictionary(e.spec.dictId!).code(e.value as string);
          break;
        default:
          (d.values as Float64Array)[i] = e.value as number;
      }
    }
    const crc = runs ? crc32Patched(batch.crc, master.byteLength, runs) : crc32(master);
    return { data, master, crc };
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
      if (!batch.dead?.has(s)) w.push(toColumnValue(spec, overlay!.get(s)![spec.name]));
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
  // A deleted slot makes the batch structural (every column rebuilt), so each one is in the plan.
  if (batch.dead) for (const s of batch.dead) slots.push(s);
  slots.sort((a, b) => a - b);
  // Slots at or past the committed length are never copied; the plan covers them explicitly.
  for (const s of slots) if (s >= committed && !batch.dead?.has(s) && !batch.overlay?.has(s)) throw new Error(`internal: slot ${s} has no data`);
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

