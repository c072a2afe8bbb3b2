/**
 * Making the snapshots of src/nats/snapshot-format.ts: the full one from what the writer already
 * encoded for the revision (its published batches: nothing is re-encoded), the leecher one from
 * the projection of every node and content item (leecher-view.ts). Compression (gzip, level 1)
 * runs on libuv's thread pool, off the writer's event loop.
 */
import { crc32 as crcOf, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { directorySize, writeDirectory, type DirEntry, type Directory, type DirTable } from '../arena/directory.js';
import { encodeChangeBatch } from '../changes/encode.js';
import type { Row } from '../changes/change-set.js';
import { SNAPSHOT_MAGIC, type SnapshotHeader } from '../nats/snapshot-format.js';
import { ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import type { CommitContent } from '../store/durability.js';

const gzipAsync = promisify(gzip);
const align8 = (n: number) => (n + 7) & ~7;

/** Header + payload, gzip-compressed. */
async function pack(header: SnapshotHeader, parts: Uint8Array[]): Promise<Uint8Array> {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = align8(12 + json.byteLength);
  const head = new Uint8Array(start);
  head.set(new TextEncoder().encode(SNAPSHOT_MAGIC), 0);
  new DataView(head.buffer).setUint32(8, json.byteLength, true);
  head.set(json, 12);
  return new Uint8Array(await gzipAsync(Buffer.concat([head, ...parts]), { level: 1 }));
}

/** The full snapshot of the revision `c` holds (the writer's published batches as they are). */
export async function encodeFullSnapshot(c: CommitContent, startSeq: number): Promise<{ bytes: Uint8Array; header: SnapshotHeader; rawBytes: number }> {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const place = (bytes: Uint8Array, rows: number, version: number, crc: number): DirEntry => {
    const e = { offset, length: bytes.byteLength, version, crc, rows };
    parts.push(bytes);
    const pad = align8(bytes.byteLength) - bytes.byteLength;
    if (pad) parts.push(new Uint8Array(pad));
    offset += align8(bytes.byteLength);
    return e;
  };
  const tables = {} as Record<EntityKind, DirTable>;
  for (const k of ENTITY_KINDS) {
    const t = c.tables[k];
    const prefix = place(t.prefix.bytes, 0, t.prefix.version, crcOf(t.prefix.bytes));
    const batches = t.batches.map((b) => place(b.bytes, b.rows, b.version, crcOf(b.bytes)));
    tables[k] = { prefix, batches, rows: batches.reduce((n, b) => n + b.rows, 0) };
  }
  const dir: Directory = { revision: c.revision, updatedAt: c.updatedAt, tables, meta: c.meta };
  const size = directorySize(dir);
  const dirBytes = new Uint8Array(align8(size.bytes));
  const n = writeDirectory(dir, dirBytes, size.meta);
  const header: SnapshotHeader = {
    version: 1, clusterId: c.meta.cluster_id, projection: 'full', encoding: 'arena', revision: c.revision, updatedAt: c.updatedAt,
    masterId: c.meta.master_id, startSeq, directoryBytes: n,
  };
  const raw = dirBytes.byteLength + offset;
  return { bytes: await pack(header, [dirBytes, ...parts]), header, rawBytes: raw };
}

/** The leecher snapshot: `rows` (already projected) as the upserts of one revision. */
export async function encodeLeecherSnapshot(clusterId: string, revision: number, updatedAt: number, masterId: string | null, rows: Record<EntityKind, Row[]>, startSeq: number): Promise<{ bytes: Uint8Array; header: SnapshotHeader; rawBytes: number }> {
  // Revision 0 (a new, empty state) has no change batch: an empty payload.
  const batch = revision === 0 ? new Uint8Array(0) : encodeChangeBatch([{ revision, updatedAt, masterId, upserts: rows, deletes: { nodes: [], tasks: [], content: [] } }]);
  const header: SnapshotHeader = { version: 1, clusterId, projection: 'leecher', encoding: 'changes', revision, updatedAt, masterId, startSeq };
  return { bytes: await pack(header, [batch]), header, rawBytes: batch.byteLength };
}
