/**
 * The per-revision directory: a small binary extent that names every extent of one revision —
 * for each table its prefix (schema + dictionaries) and its record batches — plus the cluster
 * fields. The same format is used in shared memory and in the arena file (one format, two media);
 * only the offsets differ. Each entry carries a version that is never reused, so (offset,
 * version) names immutable bytes, and the CRC32 of its bytes (both media). The directory's own
 * CRC32 is kept where it is found: a meta slot of the file, a publication record in shared memory.
 *
 * Layout (Float64 words, little-endian):
 * ```
 * [0] DIR_MAGIC  [1] revision  [2] updated_at (epoch ms)  [3] table count  [4] meta JSON length
 * per table: [prefix offset, length, version, crc, 0] [batch count, row count, 0, 0, 0]
 *            then per batch: [offset, length, version, crc, rows]
 * then the meta JSON (UTF-8): { cluster_id, master_id, schema_version, ... }
 * ```
 */
import { corrupt } from '../errors.js';
import { ENTITY_KINDS, type EntityKind } from '../schema/entities.js';

export const DIR_MAGIC = 0x41435344; // "ACSD"
const ENTRY_WORDS = 5;

/** One extent as named by a directory. */
export interface DirEntry {
  offset: number;
  length: number;
  version: number;
  crc: number;
  rows: number;
}

/** One table in a directory: its prefix, its batches, its row count. */
export interface DirTable {
  prefix: DirEntry;
  batches: DirEntry[];
  rows: number;
}

/** Cluster-level fields stored with each revision. */
export interface DirMeta {
  cluster_id: string;
  master_id: string | null;
  schema_version: number;
  [key: string]: unknown;
}

/** One revision: its number, commit time, tables and cluster fields. */
export interface Directory {
  revision: number;
  updatedAt: number;
  tables: Record<EntityKind, DirTable>;
  meta: DirMeta;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes the encoded directory needs. */
export function directorySize(dir: Directory): { bytes: number; meta: Uint8Array } {
  const meta = encoder.encode(JSON.stringify(dir.meta));
  let words = 5;
  for (const k of ENTITY_KINDS) words += 2 * ENTRY_WORDS + dir.tables[k].batches.length * ENTRY_WORDS;
  return { bytes: words * 8 + meta.byteLength, meta };
}

/** Encodes `dir` into `dest` (which must be 8-aligned and at least directorySize bytes). */
export function writeDirectory(dir: Directory, dest: Uint8Array, meta: Uint8Array): number {
  const words = new Float64Array(dest.buffer, dest.byteOffset, Math.floor(dest.byteLength / 8));
  let w = 0;
  words[w++] = DIR_MAGIC;
  words[w++] = dir.revision;
  words[w++] = dir.updatedAt;
  words[w++] = ENTITY_KINDS.length;
  words[w++] = meta.byteLength;
  const put = (e: DirEntry) => {
    words[w++] = e.offset;
    words[w++] = e.length;
    words[w++] = e.version;
    words[w++] = e.crc;
    words[w++] = e.rows;
  };
  for (const k of ENTITY_KINDS) {
    const t = dir.tables[k];
    put(t.prefix);
    put({ offset: t.batches.length, length: t.rows, version: 0, crc: 0, rows: 0 });
    for (const b of t.batches) put(b);
  }
  dest.set(meta, w * 8);
  return w * 8 + meta.byteLength;
}

/** Decodes a directory; throws CORRUPT (naming `what`) on any inconsistency. */
export function readDirectory(bytes: Uint8Array, what = 'directory'): Directory {
  if (bytes.byteLength < 40 || bytes.byteOffset % 8 !== 0) throw corrupt(`${what}: ${bytes.byteLength} bytes is too short`);
  const words = new Float64Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 8));
  let w = 0;
  const need = (n: number) => {
    if (w + n > words.length) throw corrupt(`${what}: truncated at word ${w}`);
  };
  if (words[w++] !== DIR_MAGIC) throw corrupt(`${what}: bad magic`);
  const revision = words[w++]!;
  const updatedAt = words[w++]!;
  const tableCount = words[w++]!;
  const metaLength = words[w++]!;
  if (!Number.isSafeInteger(revision) || revision < 0 || tableCount !== ENTITY_KINDS.length || !Number.isSafeInteger(metaLength) || metaLength < 0 || !Number.isFinite(updatedAt)) {
    throw corrupt(`${what}: bad header (revision ${revision}, ${tableCount} tables, meta of ${metaLength} bytes, updated at ${updatedAt})`);
  }
  const entry = (): DirEntry => {
    need(ENTRY_WORDS);
    const e = { offset: words[w++]!, length: words[w++]!, version: words[w++]!, crc: words[w++]!, rows: words[w++]! };
    if (!Number.isSafeInteger(e.offset) || e.offset < 0 || !Number.isSafeInteger(e.length) || e.length < 0 || !Number.isSafeInteger(e.version) || e.version < 0
      || !Number.isInteger(e.crc) || e.crc < 0 || e.crc > 0xffffffff || !Number.isInteger(e.rows) || e.rows < 0 || e.rows > 2 ** 31 - 1) {
      throw corrupt(`${what}: bad entry at word ${w - ENTRY_WORDS} (offset ${e.offset}, length ${e.length}, version ${e.version}, crc ${e.crc}, rows ${e.rows})`);
    }
    return e;
  };
  const tables = {} as Record<EntityKind, DirTable>;
  for (const k of ENTITY_KINDS) {
    const prefix = entry();
    const counts = entry();
    const batchCount = counts.offset;
    if (batchCount * ENTRY_WORDS > words.length - w) throw corrupt(`${what}: bad batch count ${batchCount} for ${k}`);
    const batches: DirEntry[] = [];
    let rows = 0;
    for (let i = 0; i < batchCount; i++) {
      const b = entry();
      rows += b.rows;
      batches.push(b);
    }
    if (rows !== counts.length) throw corrupt(`${what}: ${k} rows ${rows} != ${counts.length}`);
    tables[k] = { prefix, batches, rows };
  }
  const metaStart = w * 8;
  if (metaStart + metaLength > bytes.byteLength) throw corrupt(`${what}: meta runs past the end`);
  let meta: unknown;
  try {
    meta = JSON.parse(decoder.decode(bytes.subarray(metaStart, metaStart + metaLength)));
  } catch (e) {
    throw corrupt(`${what}: unreadable meta`, e);
  }
  const m = meta as Partial<DirMeta> | null;
  if (!m || typeof m !== 'object' || Array.isArray(m) || typeof m.cluster_id !== 'string' || !(m.master_id === null || typeof m.master_id === 'string')
    || typeof m.schema_version !== 'number') {
    throw corrupt(`${what}: its meta is not { cluster_id, master_id, schema_version }`);
  }
  return { revision, updatedAt, tables, meta: m as DirMeta };
}
