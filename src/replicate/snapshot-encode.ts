/**
 * Making the snapshots of src/nats/snapshot-format.ts: the full one from what the writer already
 * encoded for the revision (its published batches: nothing is re-encoded), the leecher one from
 * the same batches with the columns outside the projection nulled (leecher-view.ts), column-wise.
 * Compression (gzip, level 1) runs on libuv's thread pool, off the writer's event loop.
 */
import { crc32 as crcOf, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { directorySize, writeDirectory, type DirEntry, type Directory, type DirTable } from '../arena/directory.js';
import type { Table } from 'apache-arrow';
import { encodeRecordBatch, writeMessage } from '../arrow/encode/ipc-message.js';
import { nullData } from '../arrow/encode/null-data.js';
import { SNAPSHOT_MAGIC, type SnapshotHeader } from '../nats/snapshot-format.js';
import { ENTITIES, ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import { LEECHER_FIELDS } from './leecher-view.js';
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
export async function encodeFullSnapshot(c: CommitContent, startSeq: number, projection: 'full' | 'leecher' = 'full'): Promise<{ bytes: Uint8Array; header: SnapshotHeader; rawBytes: number }> {
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
    version: 1, clusterId: c.meta.cluster_id, projection, encoding: 'arena', revision: c.revision, updatedAt: c.updatedAt,
    masterId: c.meta.master_id, startSeq, directoryBytes: n,
  };
  const raw = dirBytes.byteLength + offset;
  return { bytes: await pack(header, [dirBytes, ...parts]), header, rawBytes: raw };
}

/**
 * The leecher snapshot of the revision `c` holds, from the same batches (`tables`: the writer's
 * tables of that revision): every node and content batch with the columns outside the leecher
 * projection replaced by nulls (column-wise: the projected columns' buffers are copied as they
 * are, no row is read), no tasks. Loaded like a full snapshot (the batches adopted as they are).
 */
export async function encodeLeecherSnapshot(c: CommitContent, tables: Record<EntityKind, Table>, startSeq: number): Promise<{ bytes: Uint8Array; header: SnapshotHeader; rawBytes: number }> {
  const projected: CommitContent['tables'] = { nodes: c.tables.nodes, tasks: { prefix: c.tables.tasks.prefix, batches: [] }, content: c.tables.content };
  for (const kind of ['nodes', 'content'] as const) {
    const keep = new Set(LEECHER_FIELDS[kind]);
    const cols = ENTITIES[kind].columns;
    projected[kind] = {
      prefix: c.tables[kind].prefix,
      batches: tables[kind].batches.map((b, i) => {
        const data = b.data;
        const children = cols.map((col, k) => (keep.has(col.name) ? data.children[k]! : nullData(data.children[k]!.type, data.length)));
        const msg = encodeRecordBatch(data.length, children);
        const bytes = new Uint8Array(msg.byteLength);
        writeMessage(msg, bytes);
        return { version: c.tables[kind].batches[i]?.version ?? i + 1, bytes, rows: data.length };
      }),
    };
  }
  return encodeFullSnapshot({ ...c, tables: projected }, startSeq, 'leecher');
}
