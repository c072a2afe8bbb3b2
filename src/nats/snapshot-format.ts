/**
 * Snapshots in the object store: one object per (projection, revision), gzip-compressed, so a
 * follower on another machine can start without the whole change log. Two encodings:
 *
 * - `arena` (full followers): the writer's own encoded record batches, exactly as it publishes
 *   them to shared memory and writes them to its arena file — a per-revision directory
 *   (src/arena/directory.ts) followed by the extents it names, each with its CRC32. The writer
 *   encodes nothing to make one; a follower adopts the batches without re-encoding them.
 * - `changes` (leechers): one change batch (src/changes/) holding the leecher projection of every
 *   node and content item as upserts of the snapshot's revision.
 *
 * Layout (before gzip): `ACSSNAP1` (8 bytes), the header's JSON length (u32 LE), the header JSON
 * (`SnapshotHeader`), zero padding to a multiple of 8, then the payload — for `arena` the
 * directory (its length in the header) padded to 8, then the extents (directory offsets are
 * relative to the extents' start); for `changes` the change batch.
 */
import { promisify } from 'node:util';
import { crc32, gunzip } from 'node:zlib';
import { readDirectory } from '../arena/directory.js';
import { decodeChangeBatch } from '../changes/decode.js';
import { corrupt, show } from '../errors.js';
import { applyChangeSet } from '../tables/apply.js';
import { Model } from '../tables/model.js';
import { restoreFromArena } from '../tables/restore.js';

export const SNAPSHOT_MAGIC = 'ACSSNAP1';
export const SNAPSHOT_VERSION = 1;

/** What a snapshot says about itself (also the object's description). */
export interface SnapshotHeader {
  version: number;
  clusterId: string;
  projection: 'full' | 'leecher';
  encoding: 'arena' | 'changes';
  revision: number;
  updatedAt: number;
  masterId: string | null;
  /** The stream sequence to read change batches from after loading it (revisions ≤ `revision` in it are skipped). */
  startSeq: number;
  /** For `arena`: the directory's length in bytes. */
  directoryBytes?: number;
}

const gunzipAsync = promisify(gunzip);
const align8 = (n: number) => (n + 7) & ~7;

/** Splits an uncompressed snapshot into its header and payload; CORRUPT naming `what` when it is not one. */
export function splitSnapshot(bytes: Uint8Array, what: string): { header: SnapshotHeader; payload: Uint8Array } {
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (bytes.byteLength < 12 || magic !== SNAPSHOT_MAGIC) throw corrupt(`${what} is not an arrow-cluster-state snapshot (it starts with ${show(magic)})`);
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + len > bytes.byteLength) throw corrupt(`${what}: its header runs past the end`);
  let header: SnapshotHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as SnapshotHeader;
  } catch (e) {
    throw corrupt(`${what}: unreadable header`, e);
  }
  if (!header || header.version !== SNAPSHOT_VERSION || !Number.isSafeInteger(header.revision) || !Number.isSafeInteger(header.startSeq) || (header.encoding !== 'arena' && header.encoding !== 'changes')) {
    throw corrupt(`${what}: header ${show(header)} is not a version-${SNAPSHOT_VERSION} snapshot header`);
  }
  const start = align8(12 + len);
  // An aligned copy: batches are decoded in place (typed-array views need aligned offsets).
  const payload = new Uint8Array(bytes.byteLength - start);
  payload.set(bytes.subarray(start));
  return { header, payload };
}

/**
 * Decodes a gzip-compressed snapshot of `clusterId` into a new Model holding its revision (batches
 * adopted as they are for `arena`; the leecher rows applied for `changes`). CORRUPT naming `what`
 * when anything does not check out: magic, header, cluster, directory, a checksum, a batch.
 */
export async function loadSnapshot(compressed: Uint8Array, clusterId: string, what: string): Promise<{ header: SnapshotHeader; model: Model }> {
  let bytes: Uint8Array;
  try {
    bytes = await gunzipAsync(compressed);
  } catch (e) {
    throw corrupt(`${what} does not decompress (${(e as Error).message})`, e);
  }
  const { header, payload } = splitSnapshot(bytes, what);
  if (header.clusterId !== clusterId) throw corrupt(`${what} holds cluster ${show(header.clusterId)}, not ${show(clusterId)}`);
  const m = new Model(clusterId, null, () => 0);
  if (header.encoding === 'arena') {
    const dirLen = header.directoryBytes ?? -1;
    if (!Number.isSafeInteger(dirLen) || dirLen <= 0 || dirLen > payload.byteLength) throw corrupt(`${what}: directory length ${show(dirLen)}`);
    const dir = readDirectory(payload.subarray(0, dirLen), `${what} directory`);
    if (dir.revision !== header.revision) throw corrupt(`${what}: its directory is revision ${dir.revision}, its header says ${header.revision}`);
    const extents = payload.subarray(align8(dirLen));
    restoreFromArena({
      model: m, tables: m.tables, dicts: m.dicts,
      raiseVersion: (v) => void (m.version = Math.max(m.version, v)),
      setHead: (revision, updatedAt, masterId) => Object.assign(m, { revision, updatedAt, masterId }),
    }, dir, (e, part) => {
      if (e.offset + e.length > extents.byteLength) throw corrupt(`${what}: ${part} runs past the end`);
      const b = extents.slice(e.offset, e.offset + e.length);
      if (crc32(b) !== e.crc) throw corrupt(`${what}: ${part} fails its checksum`);
      return b;
    });
  } else if (header.revision === 0) {
    if (payload.byteLength !== 0) throw corrupt(`${what}: revision 0 with ${payload.byteLength} bytes of rows`);
  } else {
    const batch = decodeChangeBatch(payload, what);
    if (batch.firstRevision !== header.revision || batch.lastRevision !== header.revision) throw corrupt(`${what}: its rows are revision ${batch.firstRevision}..${batch.lastRevision}, its header says ${header.revision}`);
    m.revision = header.revision - 1;
    applyChangeSet(m, batch.changeSet(header.revision), what);
  }
  return { header, model: m };
}
