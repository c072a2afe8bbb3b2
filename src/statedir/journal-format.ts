/**
 * The journal file, `state_<cluster_id>.journal`: change batches (src/changes/) appended in
 * revision order, each framed with its revision range and a CRC32. A flush appends and
 * fdatasyncs; the journal is what makes a revision durable. The arena file is the checkpoint the
 * journal follows.
 *
 * ```
 *  0     header (64 bytes)   magic "ACSJ" u32 · format u32 · base revision f64 · created_at f64
 *                            · cluster id length u32 · 0 u32 · writer f64 · recovered revision f64
 *                            · reserved · CRC32 of bytes 0..59 and the id u32
 *  64    durable mark (16)   magic "ACSK" u32 · CRC32 of the revision u32 · revision f64
 *  128   cluster id (UTF-8, up to 2 KiB)
 *  4096  records ...         [magic "ACSR" u32 · payload length u32 · first revision f64
 *                             · last revision f64 · CRC32 of bytes 4..24 and the payload u32 · 0 u32]
 *                            [payload, zero-padded to 8 bytes] ...
 * ```
 * The base revision is the revision the first record follows (records are contiguous:
 * base + 1, ...). `writer` names the writer session that made the file (a random id from its
 * open to its close; its cuts keep it), `recovered` the revision that writer's recovery ended at:
 * a reader that holds a newer revision than a new writer recovered must reload. The durable mark is written (not synced on its own) after each acknowledged
 * append: after a crash it may be older, never newer, than what the file holds. A record that
 * starts at or below the mark must be whole; a damaged record after it is a torn tail.
 */
import { crc32 } from 'node:zlib';

export const JOURNAL_MAGIC = 0x4a534341; // "ACSJ"
export const JOURNAL_FORMAT = 1;
export const MARK_MAGIC = 0x4b534341; // "ACSK"
export const RECORD_MAGIC = 0x52534341; // "ACSR"
export const JOURNAL_HEADER_BYTES = 64;
export const JOURNAL_MARK_OFFSET = 64;
export const JOURNAL_MARK_BYTES = 16;
export const JOURNAL_ID_OFFSET = 128;
export const MAX_CLUSTER_ID_BYTES = 2048;
/** Where records start. */
export const JOURNAL_DATA_START = 4096;
export const RECORD_HEADER_BYTES = 32;
/** A record's payload is at most this long (a sanity bound checked before any allocation). */
export const MAX_RECORD_PAYLOAD = 1 << 30;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The journal's fixed header. */
export interface JournalHeader {
  baseRevision: number;
  createdAt: number;
  clusterId: string;
  /** The writer session that made the file (a random id; its cuts keep it). */
  writer: number;
  /** The revision that writer's recovery ended at (its own commits follow it). */
  recovered: number;
}

/** The first JOURNAL_DATA_START bytes of a new journal (no mark yet). */
export function encodeJournalHeader(h: JournalHeader): Uint8Array {
  const id = encoder.encode(h.clusterId);
  if (id.byteLength > MAX_CLUSTER_ID_BYTES) throw new Error(`internal: cluster id of ${id.byteLength} bytes`);
  const b = new Uint8Array(JOURNAL_DATA_START);
  const v = new DataView(b.buffer);
  v.setUint32(0, JOURNAL_MAGIC, true);
  v.setUint32(4, JOURNAL_FORMAT, true);
  v.setFloat64(8, h.baseRevision, true);
  v.setFloat64(16, h.createdAt, true);
  v.setUint32(24, id.byteLength, true);
  v.setFloat64(32, h.writer, true);
  v.setFloat64(40, h.recovered, true);
  b.set(id, JOURNAL_ID_OFFSET);
  v.setUint32(60, headerCrc(b, id.byteLength), true);
  return b;
}

function headerCrc(b: Uint8Array, idLength: number): number {
  return crc32(b.subarray(JOURNAL_ID_OFFSET, JOURNAL_ID_OFFSET + idLength), crc32(b.subarray(0, 60)));
}

const isWhole = (x: number) => Number.isSafeInteger(x) && x >= 0;

/** Decodes a journal header; null when it is not a valid one (bad magic, format, checksum or values). */
export function decodeJournalHeader(b: Uint8Array): JournalHeader | null {
  if (b.byteLength < JOURNAL_ID_OFFSET) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint32(0, true) !== JOURNAL_MAGIC || v.getUint32(4, true) !== JOURNAL_FORMAT) return null;
  const idLength = v.getUint32(24, true);
  if (idLength > MAX_CLUSTER_ID_BYTES || b.byteLength < JOURNAL_ID_OFFSET + idLength) return null;
  if (headerCrc(b, idLength) !== v.getUint32(60, true)) return null;
  const h: JournalHeader = {
    baseRevision: v.getFloat64(8, true), createdAt: v.getFloat64(16, true), clusterId: decoder.decode(b.subarray(JOURNAL_ID_OFFSET, JOURNAL_ID_OFFSET + idLength)),
    writer: v.getFloat64(32, true), recovered: v.getFloat64(40, true),
  };
  return isWhole(h.baseRevision) && Number.isFinite(h.createdAt) && isWhole(h.writer) && isWhole(h.recovered) ? h : null;
}

/** The 16 bytes of the durable mark. */
export function encodeJournalMark(revision: number): Uint8Array {
  const b = new Uint8Array(JOURNAL_MARK_BYTES);
  const v = new DataView(b.buffer);
  v.setUint32(0, MARK_MAGIC, true);
  v.setFloat64(8, revision, true);
  v.setUint32(4, crc32(b.subarray(8, 16)), true);
  return b;
}

/** The durable mark: its revision, 'empty' (never written) or 'bad'. */
export function decodeJournalMark(b: Uint8Array): number | 'empty' | 'bad' {
  if (b.byteLength < JOURNAL_MARK_BYTES) return 'bad';
  if (b.subarray(0, JOURNAL_MARK_BYTES).every((x) => x === 0)) return 'empty';
  const v = new DataView(b.buffer, b.byteOffset, JOURNAL_MARK_BYTES);
  if (v.getUint32(0, true) !== MARK_MAGIC || crc32(b.subarray(8, 16)) !== v.getUint32(4, true)) return 'bad';
  const r = v.getFloat64(8, true);
  return isWhole(r) ? r : 'bad';
}

/** One framed record: its revision range and payload (a change batch). */
export interface JournalRecord {
  first: number;
  last: number;
  payload: Uint8Array;
  /** The record's checksum when known (read and verified from a file): carried records are not checksummed again. */
  crc?: number;
}

/** Bytes a record occupies in the file. */
export function recordSize(payloadLength: number): number {
  return RECORD_HEADER_BYTES + ((payloadLength + 7) & ~7);
}

/** Frames `records` into one buffer (to append with one write). */
export function encodeRecords(records: readonly JournalRecord[]): Uint8Array {
  const out = new Uint8Array(records.reduce((n, r) => n + recordSize(r.payload.byteLength), 0));
  const v = new DataView(out.buffer);
  let at = 0;
  for (const r of records) {
    v.setUint32(at, RECORD_MAGIC, true);
    v.setUint32(at + 4, r.payload.byteLength, true);
    v.setFloat64(at + 8, r.first, true);
    v.setFloat64(at + 16, r.last, true);
    out.set(r.payload, at + RECORD_HEADER_BYTES);
    v.setUint32(at + 24, r.crc ?? crc32(r.payload, crc32(out.subarray(at + 4, at + 24))), true);
    at += recordSize(r.payload.byteLength);
  }
  return out;
}

/** A record header as read: its fields, or why it is not one. */
export type RecordHeader = { length: number; first: number; last: number; crc: number } | { bad: string };

/** Decodes the 32-byte header of a record (the payload's CRC is checked by `recordCrcOk`). */
export function decodeRecordHeader(b: Uint8Array): RecordHeader {
  if (b.byteLength < RECORD_HEADER_BYTES) return { bad: 'a header cut short' };
  const v = new DataView(b.buffer, b.byteOffset, RECORD_HEADER_BYTES);
  if (v.getUint32(0, true) !== RECORD_MAGIC) return { bad: 'no record magic' };
  const length = v.getUint32(4, true);
  const first = v.getFloat64(8, true);
  const last = v.getFloat64(16, true);
  if (length > MAX_RECORD_PAYLOAD) return { bad: `a payload length of ${length} bytes` };
  if (!isWhole(first) || !isWhole(last) || last < first) return { bad: `revisions ${first}..${last}` };
  return { length, first, last, crc: v.getUint32(24, true) };
}

/** True when the record whose 32-byte header is `head` carries `payload` intact. */
export function recordCrcOk(head: Uint8Array, payload: Uint8Array): boolean {
  return crc32(payload, crc32(head.subarray(4, 24))) === new DataView(head.buffer, head.byteOffset, 32).getUint32(24, true);
}
