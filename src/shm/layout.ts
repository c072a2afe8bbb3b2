/**
 * The shared-memory layout: one growable SharedArrayBuffer, a header of named slots, then the
 * arena of extents (Arrow IPC messages and per-revision directories, all 64-byte aligned).
 *
 * ```
 *  byte 0      ┌──────────────────────────── header (HEADER_BYTES = 16 KiB) ───────────────┐
 *              │ Int32 slots  MAGIC VERSION OWNER_PID CLOSED TOKEN READER_SLOTS NOTIFY      │
 *  byte 32     │ Int64 slots  GEN (published revision + 1)  PUBS (publications so far)      │
 *  byte 64     │ publication record 0 ┐ each: PUB GEN DIR_OFFSET DIR_LENGTH DIR_CRC         │
 *  byte 128    │ publication record 1 ┘ (record PUB & 1 describes publication PUB)          │
 *  byte 1024   │ reader slots × MAX_READERS, 32 bytes each:                                 │
 *              │   Int32 OWNER (threadId + 1, 0 = free) · Int64 PIN (publication pinned,    │
 *              │   0 = idle, PIN_REVOKED = taken back by the writer)                        │
 *  HEADER_BYTES├──────────────────────────── arena ──────────────────────────────────────┤
 *              │ extents: [prefix of a table][record batch][directory] ... free space     │
 *              └──────────────────────────── grows in place up to MAX_SHARED_BYTES ─────────┘
 * ```
 * Revisions and publication numbers are 64-bit (Int64 slots) so they never wrap. A publication
 * is one directory made visible: normally one per revision, and one more at the same revision
 * when the writer repairs damaged extents (see scrub.ts). The writer fills the record of
 * publication n + 1 (the one readers are not using for n), then stores PUBS = n + 1 and GEN:
 * a reader that reads PUBS, the record, and PUBS again unchanged has a consistent record
 * without locks. Every directory and extent carries a CRC32 (the directory's is in its record).
 */

/** "ACS1" little-endian: marks a buffer made by this library. */
export const MAGIC = 0x31534341;
/** 2: CRC32 on every extent and directory, publication records, pins on publications. */
export const LAYOUT_VERSION = 2;

// Int32 slot indices (Int32Array view over the header).
export const I32_MAGIC = 0;
export const I32_VERSION = 1;
export const I32_OWNER_PID = 2;
/** 0 while the writer is open, CLOSED_VALUE once it closed (any other value is damage). */
export const I32_CLOSED = 3;
/** "CLOS": many bits, so no bit flip of an open header reads as closed. */
export const CLOSED_VALUE = 0x534f4c43;
export const I32_TOKEN = 4;
export const I32_READER_SLOTS = 5;
/** Bumped on every publication; readers `Atomics.wait` on it. */
export const I32_NOTIFY = 6;

// Int64 slot indices (BigInt64Array view over the header).
/** Published revision + 1 (0 = nothing published yet). */
export const I64_GEN = 4;
/** Number of publications so far (0 = none); the newest is described by record PUBS & 1. */
export const I64_PUBS = 5;
/** First Int64 index of publication record 0 and 1. */
export const I64_RECORDS = [8, 16] as const;
/** Within a publication record: its publication number, GEN, and the directory's offset, length and CRC32. */
export const REC_PUB = 0;
export const REC_GEN = 1;
export const REC_DIR_OFFSET = 2;
export const REC_DIR_LENGTH = 3;
export const REC_DIR_CRC = 4;

/** Reader slots start here (bytes) and are READER_SLOT_BYTES each. */
export const READER_SLOTS_BYTE = 1024;
export const READER_SLOT_BYTES = 32;
export const MAX_READERS = 256;
/** Within a reader slot: Int32 index of OWNER, Int64 index of PIN. */
export const SLOT_I32_OWNER = 0;
export const SLOT_I64_PIN = 1;
/** PIN value of a pin the writer took back (the reader's snapshot then throws COMPACTED). */
export const PIN_REVOKED = -1n;

export const HEADER_BYTES = 16384;
/** Extents are aligned to this (≥ 8 keeps apache-arrow zero-copy). */
export { EXTENT_ALIGN } from "../arena/free-list.js";
/** Node 20 caps a growable SharedArrayBuffer's maxByteLength at 2^32 bytes. */
export const MAX_SHARED_BYTES = 2 ** 32;

/** Int32 index of reader slot `k`'s OWNER word. */
export function slotOwnerIndex(k: number): number {
  return (READER_SLOTS_BYTE + k * READER_SLOT_BYTES) / 4 + SLOT_I32_OWNER;
}
/** BigInt64 index of reader slot `k`'s PIN word. */
export function slotPinIndex(k: number): number {
  return (READER_SLOTS_BYTE + k * READER_SLOT_BYTES) / 8 + SLOT_I64_PIN;
}
/** BigInt64 index of field `field` (REC_*) of the record that describes publication `pub`. */
export function recordIndex(pub: bigint | number, field: number): number {
  return I64_RECORDS[typeof pub === 'bigint' ? Number(pub & 1n) : pub % 2]! + field;
}

/** Typed views over a header. */
export interface HeaderViews {
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
}

export function headerViews(sab: SharedArrayBuffer): HeaderViews {
  return { i32: new Int32Array(sab, 0, HEADER_BYTES / 4), i64: new BigInt64Array(sab, 0, HEADER_BYTES / 8) };
}
