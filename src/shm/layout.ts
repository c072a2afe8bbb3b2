/**
 * The shared-memory layout: one growable SharedArrayBuffer, a header of named slots, then the
 * arena of extents (Arrow IPC messages and per-revision directories, all 64-byte aligned).
 *
 * ```
 *  byte 0      ┌──────────────────────────── header (HEADER_BYTES = 16 KiB) ───────────────┐
 *              │ Int32 slots  MAGIC VERSION OWNER_PID CLOSED TOKEN READER_SLOTS NOTIFY      │
 *  byte 32     │ Int64 slots  GEN (published revision + 1) DIR_OFFSET DIR_LENGTH            │
 *  byte 1024   │ reader slots × MAX_READERS, 32 bytes each:                                 │
 *              │   Int32 OWNER (threadId + 1, 0 = free) · Int64 PIN (revision + 1, 0 = idle)│
 *              │   · Int64 SINCE (epoch ms the pin was taken)                               │
 *  HEADER_BYTES├──────────────────────────── arena ──────────────────────────────────────┤
 *              │ extents: [prefix of a table][record batch][directory] ... free space     │
 *              └──────────────────────────── grows in place up to MAX_SHARED_BYTES ─────────┘
 * ```
 * Revisions are 64-bit (Int64 slots) so they never wrap. Everything a reader needs is found from
 * GEN and DIR: the directory extent names every other extent of that revision.
 */

/** "ACS1" little-endian: marks a buffer made by this library. */
export const MAGIC = 0x31534341;
export const LAYOUT_VERSION = 1;

// Int32 slot indices (Int32Array view over the header).
export const I32_MAGIC = 0;
export const I32_VERSION = 1;
export const I32_OWNER_PID = 2;
export const I32_CLOSED = 3;
export const I32_TOKEN = 4;
export const I32_READER_SLOTS = 5;
/** Bumped on every publish; readers `Atomics.wait` on it. */
export const I32_NOTIFY = 6;

// Int64 slot indices (BigInt64Array view over the header).
/** Published revision + 1 (0 = nothing published yet). */
export const I64_GEN = 4;
/** Byte offset and length of the published revision's directory extent. */
export const I64_DIR_OFFSET = 5;
export const I64_DIR_LENGTH = 6;

/** Reader slots start here (bytes) and are READER_SLOT_BYTES each. */
export const READER_SLOTS_BYTE = 1024;
export const READER_SLOT_BYTES = 32;
export const MAX_READERS = 256;
/** Within a reader slot: Int32 index of OWNER, Int64 indices of PIN and SINCE. */
export const SLOT_I32_OWNER = 0;
export const SLOT_I64_PIN = 1;
export const SLOT_I64_SINCE = 2;

export const HEADER_BYTES = 16384;
/** Extents are aligned to this (≥ 8 keeps apache-arrow zero-copy). */
export { EXTENT_ALIGN } from "./free-list.js";
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
/** BigInt64 index of reader slot `k`'s SINCE word. */
export function slotSinceIndex(k: number): number {
  return (READER_SLOTS_BYTE + k * READER_SLOT_BYTES) / 8 + SLOT_I64_SINCE;
}

/** Typed views over a header. */
export interface HeaderViews {
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
}

export function headerViews(sab: SharedArrayBuffer): HeaderViews {
  return { i32: new Int32Array(sab, 0, HEADER_BYTES / 4), i64: new BigInt64Array(sab, 0, HEADER_BYTES / 8) };
}
