/**
 * Reading the newest durable revision of a state directory without the lock and without
 * writing anything: the arena file's meta slots (bounded by `version` in state_metadata.json,
 * which is written only after a flush completed, so what is read is durable), the directory,
 * and only the extents not decoded before — each pread into the heap and checked against its
 * CRC32. Shared by followers and by one-shot readers (helpers, the command line).
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { corrupt, StateError } from '../errors.js';
import { decodeMeta, DATA_START, META_SLOT_BYTES, type MetaSlot } from '../persist/arena-file.js';
import { readMetadata, resolveFromMetadata } from '../persist/metadata.js';
import { ArenaDecoder } from '../shm/decode.js';
import { readDirectory, type DirEntry } from '../shm/directory.js';
import type { Snapshot, SnapshotSource } from '../snapshot.js';

/** Reads a state directory's newest durable revision, decoding only extents it has not seen; keeps its file open between loads. */
export class ArenaReader {
  readonly dir: string;
  private fd: number | null = null;
  private ino = -1;
  private arenaPath: string | null = null;
  private readonly decoder = new ArenaDecoder();
  /** Bytes read by the last load. */
  lastReadBytes = 0;

  constructor(dir: string, private readonly source: SnapshotSource = 'follower') {
    this.dir = resolve(dir);
  }

  /** Closes the file (the next load reopens it). */
  reopen(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.ino = -1;
  }

  close(): void {
    this.reopen();
  }

  /**
   * Loads the newest durable revision if it is newer than `after`; null when there is nothing
   * newer (or no state yet). Throws CORRUPT/NOT_FOUND when files are damaged or gone; garbage
   * metadata is passed to `onWarning` and the meta slots alone decide.
   */
  load(after: number, onWarning?: (e: StateError) => void, strict = false): Snapshot | null {
    const { path, bound } = this.findArena(onWarning);
    if (!path || !existsSync(path)) {
      if (after >= 0) throw new StateError('NOT_FOUND', `the arena file of ${JSON.stringify(this.dir)} disappeared; keeping revision ${after}`);
      return null;
    }
    const ino = statSync(path).ino;
    if (this.fd === null || ino !== this.ino || path !== this.arenaPath) {
      this.reopen();
      this.fd = openSync(path, 'r');
      this.ino = fstatSync(this.fd).ino;
      this.arenaPath = path;
    }
    const fd = this.fd;
    const size = fstatSync(fd).size;
    const head = new Uint8Array(DATA_START);
    if (readSync(fd, head, 0, DATA_START, 0) < DATA_START) {
      // A writer creates the file with both slots in one write; a one-shot reader calls a short file damage.
      if (strict) throw corrupt(`${path}: ${size} bytes is shorter than its two meta slots (truncated?)`);
      return null;
    }
    const meta = [decodeMeta(head.subarray(0, META_SLOT_BYTES), 0), decodeMeta(head.subarray(META_SLOT_BYTES), 1)]
      .filter((s): s is MetaSlot => typeof s === 'object' && s.revision <= bound)
      .sort((a, b) => b.revision - a.revision)[0];
    if (!meta || meta.revision <= after) return null;
    const read = (offset: number, length: number, what: string) => {
      if (offset < DATA_START || offset + length > size) throw corrupt(`${path}: ${what} at ${offset}+${length} is outside the file (${size} bytes)`);
      const b = new Uint8Array(length);
      let off = 0;
      while (off < length) {
        const n = readSync(fd, b, off, length - off, offset + off);
        if (n === 0) throw corrupt(`${path}: unexpected end of file reading ${what}`);
        off += n;
      }
      return b;
    };
    const dirBytes = read(meta.dirOffset, meta.dirLength, 'directory');
    if (crc32(dirBytes) !== meta.dirCrc) throw corrupt(`${path}: directory of revision ${meta.revision} fails its checksum`);
    const dir = readDirectory(dirBytes, `${path} directory`);
    let bytesRead = dirBytes.byteLength;
    const tables = this.decoder.decode(dir, (e: DirEntry, what: string) => {
      const b = read(e.offset, e.length, what);
      if (crc32(b) !== e.crc) throw corrupt(`${path}: ${what} of revision ${meta.revision} fails its checksum`);
      bytesRead += b.byteLength;
      return b;
    });
    this.lastReadBytes = bytesRead;
    return {
      revision: dir.revision,
      clusterId: String(dir.meta.cluster_id),
      masterId: (dir.meta.master_id as string | null) ?? null,
      updatedAt: dir.updatedAt,
      ...tables,
      source: this.source,
      release: () => undefined,
    };
  }

  /** The arena file, and the durable bound from state_metadata.json (Infinity when unknown). */
  private findArena(onWarning?: (e: StateError) => void): { path: string | null; bound: number } {
    let meta = null;
    try {
      meta = readMetadata(this.dir);
    } catch (e) {
      onWarning?.(e as StateError);
    }
    const bound = typeof meta?.version === 'number' ? meta.version : Infinity;
    if (meta && typeof meta.arena_path === 'string') return { path: resolveFromMetadata(this.dir, meta.arena_path, existsSync), bound };
    if (this.arenaPath) return { path: this.arenaPath, bound };
    let names: string[] = [];
    try {
      names = readdirSync(this.dir).filter((n) => n.startsWith('state_') && n.endsWith('.arena'));
    } catch {
      return { path: null, bound };
    }
    return { path: names.length ? join(this.dir, names[0]!) : null, bound };
  }
}

const cache = new Map<string, { key: string; snap: Snapshot }>();

/**
 * The newest durable revision of the state directory `dir` as a Snapshot (heap-backed), read
 * without taking the lock and without writing; null when the directory holds no arena file.
 * Repeated calls on an unchanged file return the same snapshot.
 */
export function readStateSnapshot(dir: string): Snapshot | null {
  const abs = resolve(dir);
  const names = (() => {
    try {
      return readdirSync(abs);
    } catch {
      return [];
    }
  })();
  const arena = names.find((n) => n.startsWith('state_') && n.endsWith('.arena'));
  if (!arena) return null;
  const st = statSync(join(abs, arena));
  const metaStat = names.includes('state_metadata.json') ? statSync(join(abs, 'state_metadata.json')) : null;
  const key = `${st.ino}:${st.size}:${st.mtimeMs}:${metaStat?.mtimeMs ?? 0}`;
  const hit = cache.get(abs);
  if (hit && hit.key === key) return hit.snap;
  const reader = new ArenaReader(abs, 'file');
  try {
    const snap = reader.load(-1, undefined, true);
    if (snap) cache.set(abs, { key, snap });
    return snap;
  } finally {
    reader.close();
  }
}
