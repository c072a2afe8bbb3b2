/**
 * Encoding a run of consecutive revisions' changes as one change batch (the format:
 * codec-format.ts). Column-wise and in one pass over the rows: each column of each section is
 * built by one column writer (src/arrow/encode/column-writer.ts) fed the rows in order, then
 * every message is written straight into the one output buffer. Column writers and the schema
 * messages are made once per process and reused (the writers' scratch buffers are copied into
 * the output before the call returns).
 */
import { crc32 } from 'node:zlib';
import { Data, Int8, Int64, makeData, TimestampMillisecond } from 'apache-arrow';
import { columnWriter, type ColumnWriter } from '../arrow/encode/column-writer.js';
import { encodeRecordBatch, writeMessage, type EncodedMessage } from '../arrow/encode/ipc-message.js';
import type { StringDictionary } from '../arrow/encode/dictionary.js';
import { ENTITIES, ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import { show } from '../errors.js';
import type { RevisionChanges } from './change-set.js';
import { RowEncoder } from './codec-rows.js';
import {
  FORMAT_VERSION, H, HEADER_BYTES, MAGIC, MAX_REVISION, MAX_TIME_MS, SECTIONS, TABLE_CODES,
  sectionSchemaBytes, type SectionName,
} from './codec-format.js';

const noDictionaries = (): StringDictionary => {
  throw new Error('internal: the change batch has no dictionary columns');
};

/** The reusable column writers of every section. */
interface Writers {
  entity: Record<EntityKind, RowEncoder>;
  masterId: ColumnWriter;
  deleteId: ColumnWriter;
}

let pooled: Writers | null = null;
let busy = false;

function makeWriters(): Writers {
  const entity = {} as Record<EntityKind, RowEncoder>;
  for (const kind of ENTITY_KINDS) entity[kind] = new RowEncoder(kind);
  return {
    entity,
    masterId: columnWriter({ name: 'master_id', kind: 'utf8' }, noDictionaries),
    deleteId: columnWriter({ name: 'id', kind: 'utf8' }, noDictionaries),
  };
}

const internal = (why: string): Error => new Error(`internal: change batch: ${why}`);

/** Sets element i of an int64 column (as int32 pairs) to the whole number v (|v| < 2^53). */
function put64(w: Int32Array, i: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  w[2 * i] = v - hi * 4294967296;
  w[2 * i + 1] = hi;
}

/** A non-null int64 (or timestamp) column from its int32 pairs. */
function int64Data(pairs: Int32Array, n: number, timestamp = false): Data {
  return makeData({ type: timestamp ? new TimestampMillisecond() : new Int64(), length: n, nullCount: 0, data: new BigInt64Array(pairs.buffer, pairs.byteOffset, n) } as never);
}

function checkRevisions(revs: readonly RevisionChanges[]): void {
  if (!Array.isArray(revs) || revs.length === 0) throw internal('no revisions to encode');
  const first = revs[0]!.revision;
  if (!Number.isSafeInteger(first) || first < 1 || first + revs.length - 1 > MAX_REVISION) throw internal(`first revision ${show(first)} out of range`);
  for (let i = 0; i < revs.length; i++) {
    const r = revs[i]!;
    if (r.revision !== first + i) throw internal(`revisions are not consecutive: ${show(r.revision)} at position ${i} after ${first}`);
    // A fractional time (left by an earlier writer whose clock was not checked) is floored to whole ms.
    if (!Number.isFinite(r.updatedAt) || r.updatedAt < 0 || r.updatedAt > MAX_TIME_MS) throw internal(`revision ${r.revision}: updatedAt ${show(r.updatedAt)} is not epoch ms`);
    if (r.masterId !== null && typeof r.masterId !== 'string') throw internal(`revision ${r.revision}: masterId ${show(r.masterId)}`);
  }
}

/** Checks that each entity appears once per revision (a writer bug would otherwise poison the journal). */
function checkOnce(r: RevisionChanges, seen: Set<string>): void {
  for (const kind of ENTITY_KINDS) {
    const rows = r.upserts[kind] ?? [];
    const ids = r.deletes[kind] ?? [];
    if (rows.length + ids.length < 2) {
      if (rows.length === 1 && typeof (rows[0] as Record<string, unknown>)[ENTITIES[kind].key] !== 'string') throw internal(`revision ${r.revision}: a ${ENTITIES[kind].noun} upsert has no key`);
      if (ids.length === 1 && typeof ids[0] !== 'string') throw internal(`revision ${r.revision}: a ${ENTITIES[kind].noun} delete has no key`);
      continue;
    }
    seen.clear();
    const key = ENTITIES[kind].key;
    for (const row of rows) {
      const id = (row as Record<string, unknown>)[key];
      if (typeof id !== 'string') throw internal(`revision ${r.revision}: a ${ENTITIES[kind].noun} upsert has no key`);
      if (seen.has(id)) throw internal(`revision ${r.revision} changes ${ENTITIES[kind].noun} ${show(id)} twice`);
      seen.add(id);
    }
    for (const id of ids) {
      if (typeof id !== 'string') throw internal(`revision ${r.revision}: a ${ENTITIES[kind].noun} delete has no key`);
      if (seen.has(id)) throw internal(`revision ${r.revision} changes ${ENTITIES[kind].noun} ${show(id)} twice`);
      seen.add(id);
    }
  }
}

/** The record-batch message of one entity's upserts across all revisions. */
function upsertMessage(kind: EntityKind, revs: readonly RevisionChanges[], n: number, rows: RowEncoder): EncodedMessage {
  const revCol = new Int32Array(2 * n);
  let i = 0;
  rows.reset();
  for (const r of revs) {
    const list = r.upserts[kind];
    if (!list) continue;
    for (let k = 0; k < list.length; k++) {
      put64(revCol, i++, r.revision);
      rows.push(list[k]!);
    }
  }
  return encodeRecordBatch(n, [int64Data(revCol, n), ...rows.finish(n)]);
}

function revisionsMessage(revs: readonly RevisionChanges[], masterId: ColumnWriter): EncodedMessage {
  const n = revs.length;
  const rev = new Int32Array(2 * n);
  const at = new Int32Array(2 * n);
  masterId.reset();
  for (let i = 0; i < n; i++) {
    const r = revs[i]!;
    put64(rev, i, r.revision);
    put64(at, i, Math.floor(r.updatedAt));
    masterId.push(r.masterId);
  }
  return encodeRecordBatch(n, [int64Data(rev, n), int64Data(at, n, true), masterId.finish()]);
}

function deletesMessage(revs: readonly RevisionChanges[], n: number, idWriter: ColumnWriter): EncodedMessage {
  const rev = new Int32Array(2 * n);
  const codes = new Int8Array(n);
  idWriter.reset();
  let i = 0;
  for (const r of revs) {
    for (const kind of ENTITY_KINDS) {
      const ids = r.deletes[kind];
      if (!ids) continue;
      for (let k = 0; k < ids.length; k++) {
        put64(rev, i, r.revision);
        codes[i++] = TABLE_CODES[kind];
        idWriter.push(ids[k]);
      }
    }
  }
  const table = makeData({ type: new Int8(), length: n, nullCount: 0, data: codes });
  return encodeRecordBatch(n, [int64Data(rev, n), table, idWriter.finish()]);
}

/**
 * Encodes the changes of consecutive revisions (`revs[i].revision === revs[0].revision + i`) as
 * one change batch (format: codec-format.ts). The result is a fresh buffer owned by the caller
 * (8-aligned, nothing else refers to it); the rows are only read. Throws a plain internal Error —
 * never a StateError — for input the writer can never produce: no revisions, revisions not
 * consecutive or out of range, an entity listed twice in one revision, a row without its key.
 */
export function encodeChangeBatch(revs: readonly RevisionChanges[]): Uint8Array {
  checkRevisions(revs);
  const reentrant = busy;
  const writers = reentrant || !pooled ? makeWriters() : pooled;
  if (!reentrant) pooled = writers;
  busy = true;
  try {
    return encodeWith(revs, writers);
  } finally {
    if (!reentrant) busy = false;
  }
}

function encodeWith(revs: readonly RevisionChanges[], writers: Writers): Uint8Array {
  const counts: Record<EntityKind, number> = { nodes: 0, tasks: 0, content: 0 };
  let deletes = 0;
  const seen = new Set<string>();
  for (const r of revs) {
    checkOnce(r, seen);
    for (const kind of ENTITY_KINDS) {
      counts[kind] += r.upserts[kind]?.length ?? 0;
      deletes += r.deletes[kind]?.length ?? 0;
    }
  }
  const messages: (EncodedMessage | null)[] = SECTIONS.map((s: SectionName) => {
    if (s === 'revisions') return revisionsMessage(revs, writers.masterId);
    if (s === 'deletes') return deletes > 0 ? deletesMessage(revs, deletes, writers.deleteId) : null;
    return counts[s] > 0 ? upsertMessage(s, revs, counts[s], writers.entity[s]) : null;
  });
  const schemas = sectionSchemaBytes();
  const lengths = SECTIONS.map((s, i) => (messages[i] ? schemas[s].byteLength + messages[i]!.byteLength : 0));
  const total = HEADER_BYTES + lengths.reduce((a, b) => a + b, 0);
  if (total > 0xffffffff) throw internal(`${total} bytes do not fit one change batch (4 GiB at most)`);
  const out = new Uint8Array(total);
  let at = HEADER_BYTES;
  SECTIONS.forEach((s, i) => {
    const msg = messages[i];
    if (!msg) return;
    out.set(schemas[s], at);
    at += schemas[s].byteLength;
    writeMessage(msg, out.subarray(at, at + msg.byteLength));
    at += msg.byteLength;
  });
  const dv = new DataView(out.buffer, out.byteOffset, HEADER_BYTES);
  dv.setUint32(H.magic, MAGIC, true);
  dv.setUint16(H.version, FORMAT_VERSION, true);
  dv.setUint16(H.headerLength, HEADER_BYTES, true);
  dv.setUint32(H.totalLength, total, true);
  const first = revs[0]!.revision;
  const last = first + revs.length - 1;
  setUint64(dv, H.firstRevision, first);
  setUint64(dv, H.lastRevision, last);
  ENTITY_KINDS.forEach((k, i) => dv.setUint32(H.rows + 4 * i, counts[k], true));
  dv.setUint32(H.rows + 12, deletes, true);
  lengths.forEach((n, i) => dv.setUint32(H.sectionLengths + 4 * i, n, true));
  dv.setUint32(H.crc, crc32(out.subarray(H.firstRevision)), true);
  return out;
}

function setUint64(dv: DataView, at: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  dv.setUint32(at, v - hi * 4294967296, true);
  dv.setUint32(at + 4, hi, true);
}
