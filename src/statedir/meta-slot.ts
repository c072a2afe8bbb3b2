/**
 * The arena file's header: two meta slots written alternately (like LMDB's meta pages) and a
 * durable mark. Everything else in the file is extents (Arrow IPC messages and per-revision
 * directories, the same format as shared memory: arena/directory.ts).
 *
 * ```
 *  0      meta slot 0 (64 bytes used of 2 KiB)
 *  2048   durable mark (32 bytes)      the newest revision acknowledged as durable
 *  4096   meta slot 1 (64 bytes used of 4 KiB)
 *  8192   extents ...                  [prefix][batch][batch][directory] ... free space, reused
 * ```
 * Meta slot (little-endian): magic "ACSF" u32 · format u32 · revision f64 · directory offset f64
 * · directory length f64 · generation f64 · updated_at f64 · schema version u32 · directory CRC32
 * u32 · flags u32 · CRC32 of bytes 0..59 u32. Flags: CLEAN (the writer closed after this commit),
 * CLAIM (a generation claimed by a writer that has not committed to it yet: both slots of a new
 * file start as claims).
 *
 * Durable mark: magic "ACSM" u32 · format u32 · revision f64 · generation f64 · CRC32 of bytes
 * 0..23 u32. Written (without a sync of its own) after a commit's meta slot is synced and before
 * the commit is acknowledged: readers never look past it, and recovery refuses (CORRUPT) a file
 * whose valid meta slots hold less than it says was acknowledged.
 */
import { crc32 } from 'node:zlib';

export const FILE_MAGIC = 0x46534341; // "ACSF"
export const MARK_MAGIC = 0x4d534341; // "ACSM"
/** Format 2: generations, claims, the durable mark (format 1 had one arena file per directory). */
export const FILE_FORMAT = 2;
export const SLOT_OFFSETS = [0, 4096] as const;
export const SLOT_BYTES = 64;
export const MARK_OFFSET = 2048;
export const MARK_BYTES = 32;
/** Where extents start: the header is this long. */
export const DATA_START = 8192;

/** Meta slot flag: the writer closed cleanly after this commit. */
export const FLAG_CLEAN = 1;
/** Meta slot flag: a claim (no revision yet). */
export const FLAG_CLAIM = 2;

/** One committed meta slot. */
export interface MetaSlot {
  slot: 0 | 1;
  revision: number;
  dirOffset: number;
  dirLength: number;
  dirCrc: number;
  generation: number;
  updatedAt: number;
  schemaVersion: number;
  flags: number;
}

/** What a meta slot holds: a commit, a claim, all zero bytes, or anything else (torn, damaged, foreign). */
export type SlotState = MetaSlot | { claim: number } | 'empty' | 'bad';

/** The durable mark. */
export interface DurableMark {
  revision: number;
  generation: number;
}

// Meta slot byte layout.
const M_MAGIC = 0;
const M_FORMAT = 4;
const M_REVISION = 8;
const M_DIR_OFFSET = 16;
const M_DIR_LENGTH = 24;
const M_GENERATION = 32;
const M_UPDATED_AT = 40;
const M_SCHEMA_VERSION = 48;
const M_DIR_CRC = 52;
const M_FLAGS = 56;
const M_SLOT_CRC = 60;

/** A meta slot's 64 bytes, CRC included. */
export function encodeSlot(m: Omit<MetaSlot, 'slot'>): Uint8Array {
  const b = new Uint8Array(SLOT_BYTES);
  const v = new DataView(b.buffer);
  v.setUint32(M_MAGIC, FILE_MAGIC, true);
  v.setUint32(M_FORMAT, FILE_FORMAT, true);
  v.setFloat64(M_REVISION, m.revision, true);
  v.setFloat64(M_DIR_OFFSET, m.dirOffset, true);
  v.setFloat64(M_DIR_LENGTH, m.dirLength, true);
  v.setFloat64(M_GENERATION, m.generation, true);
  v.setFloat64(M_UPDATED_AT, m.updatedAt, true);
  v.setUint32(M_SCHEMA_VERSION, m.schemaVersion, true);
  v.setUint32(M_DIR_CRC, m.dirCrc, true);
  v.setUint32(M_FLAGS, m.flags, true);
  v.setUint32(M_SLOT_CRC, crc32(b.subarray(0, M_SLOT_CRC)), true);
  return b;
}

/** The claim record of a new generation file. */
export function encodeClaim(generation: number): Uint8Array {
  return encodeSlot({ revision: 0, dirOffset: 0, dirLength: 0, dirCrc: 0, generation, updatedAt: 0, schemaVersion: 0, flags: FLAG_CLAIM });
}

/** The header of a freshly claimed generation file: both slots claims, no mark. */
export function claimedHeader(generation: number): Uint8Array {
  const h = new Uint8Array(DATA_START);
  for (const off of SLOT_OFFSETS) h.set(encodeClaim(generation), off);
  return h;
}

const isWhole = (x: number) => Number.isSafeInteger(x) && x >= 0;

/** Decodes the meta slot at `b` (at least 64 bytes). */
export function decodeSlot(b: Uint8Array, slot: 0 | 1): SlotState {
  if (b.byteLength < SLOT_BYTES) return 'bad';
  if (b.subarray(0, SLOT_BYTES).every((x) => x === 0)) return 'empty';
  const v = new DataView(b.buffer, b.byteOffset, SLOT_BYTES);
  if (v.getUint32(M_MAGIC, true) !== FILE_MAGIC || v.getUint32(M_FORMAT, true) !== FILE_FORMAT) return 'bad';
  if (crc32(b.subarray(0, M_SLOT_CRC)) !== v.getUint32(M_SLOT_CRC, true)) return 'bad';
  const m: MetaSlot = {
    slot,
    revision: v.getFloat64(M_REVISION, true),
    dirOffset: v.getFloat64(M_DIR_OFFSET, true),
    dirLength: v.getFloat64(M_DIR_LENGTH, true),
    generation: v.getFloat64(M_GENERATION, true),
    updatedAt: v.getFloat64(M_UPDATED_AT, true),
    schemaVersion: v.getUint32(M_SCHEMA_VERSION, true),
    dirCrc: v.getUint32(M_DIR_CRC, true),
    flags: v.getUint32(M_FLAGS, true),
  };
  if (!isWhole(m.generation)) return 'bad';
  if (m.flags & FLAG_CLAIM) return { claim: m.generation };
  if (!isWhole(m.revision) || !isWhole(m.dirOffset) || !isWhole(m.dirLength) || m.dirOffset < DATA_START) return 'bad';
  return m;
}

/** The durable mark's 32 bytes. */
export function encodeMark(m: DurableMark): Uint8Array {
  const b = new Uint8Array(MARK_BYTES);
  const v = new DataView(b.buffer);
  v.setUint32(0, MARK_MAGIC, true);
  v.setUint32(4, FILE_FORMAT, true);
  v.setFloat64(8, m.revision, true);
  v.setFloat64(16, m.generation, true);
  v.setUint32(24, crc32(b.subarray(0, 24)), true);
  return b;
}

/** Decodes the durable mark: the mark, 'empty' (never written) or 'bad'. */
export function decodeMark(b: Uint8Array): DurableMark | 'empty' | 'bad' {
  if (b.byteLength < MARK_BYTES) return 'bad';
  if (b.subarray(0, MARK_BYTES).every((x) => x === 0)) return 'empty';
  const v = new DataView(b.buffer, b.byteOffset, MARK_BYTES);
  if (v.getUint32(0, true) !== MARK_MAGIC || v.getUint32(4, true) !== FILE_FORMAT) return 'bad';
  if (crc32(b.subarray(0, 24)) !== v.getUint32(24, true)) return 'bad';
  const m = { revision: v.getFloat64(8, true), generation: v.getFloat64(16, true) };
  return isWhole(m.revision) && isWhole(m.generation) ? m : 'bad';
}

/** An arena file's header as read: its generation (from its name), size, slots and mark. */
export interface ArenaHead {
  generation: number;
  size: number;
  slots: [SlotState, SlotState];
  mark: DurableMark | 'empty' | 'bad';
}

/** Decodes the header bytes of a file of `size` bytes at `generation` (fewer than DATA_START bytes when the file is that short). */
export function decodeHead(bytes: Uint8Array, size: number, generation: number): ArenaHead {
  const at = (off: number, n: number) => (bytes.byteLength >= off + n ? bytes.subarray(off, off + n) : new Uint8Array(0));
  return {
    generation,
    size,
    slots: [decodeSlot(at(SLOT_OFFSETS[0], SLOT_BYTES), 0), decodeSlot(at(SLOT_OFFSETS[1], SLOT_BYTES), 1)],
    mark: decodeMark(at(MARK_OFFSET, MARK_BYTES)),
  };
}
