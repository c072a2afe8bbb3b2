/**
 * The arena file: durable checkpoints in the shared-memory format. The record batches and table
 * prefixes are copy-on-write extents (the same IPC messages as in shared memory), named by a
 * per-revision directory (the same format, with file offsets and CRC32s), and the file starts
 * with two meta slots written alternately, like LMDB's meta pages.
 *
 * ```
 *  0      meta slot 0 (4 KiB)   magic, format, revision, directory offset/length/CRC,
 *  4096   meta slot 1 (4 KiB)   generation, updated_at, schema version, CRC of the slot
 *  8192   extents ...           [prefix][batch][batch][directory] ... free space, reused
 * ```
 * A commit writes the new extents and the directory, fdatasyncs, writes the other meta slot,
 * fdatasyncs. A slot is durable once that second sync returns. Space is reused only when neither
 * durable slot references it, so the older slot's revision is always intact: if the newest
 * slot is torn (bad CRC), falling back to the other one is safe and loses nothing acknowledged.
 */
import { crc32 } from 'node:zlib';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { corrupt, ioError } from '../errors.js';
import { ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import { directorySize, readDirectory, writeDirectory, type DirEntry, type Directory, type DirMeta } from '../shm/directory.js';
import { align, FreeList } from '../shm/free-list.js';

export const FILE_MAGIC = 0x46534341; // "ACSF"
export const FILE_FORMAT = 1;
export const META_SLOT_BYTES = 4096;
export const DATA_START = 2 * META_SLOT_BYTES;

/** One meta slot's contents. */
export interface MetaSlot {
  slot: 0 | 1;
  revision: number;
  dirOffset: number;
  dirLength: number;
  dirCrc: number;
  /** Bumped each time the file is rewritten by compaction. */
  generation: number;
  updatedAt: number;
  schemaVersion: number;
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
const M_SLOT_CRC = 60;

/** A meta slot as its 4 KiB on disk, CRC32 included. */
export function encodeMeta(m: MetaSlot): Uint8Array {
  const b = new Uint8Array(META_SLOT_BYTES);
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
  v.setUint32(M_SLOT_CRC, crc32(b.subarray(0, M_SLOT_CRC)), true);
  return b;
}

/** Decodes a meta slot: the slot, 'empty' (never written), or 'bad' (torn or foreign). */
export function decodeMeta(b: Uint8Array, slot: 0 | 1): MetaSlot | 'empty' | 'bad' {
  if (b.byteLength < 64) return 'bad';
  if (b.subarray(0, 64).every((x) => x === 0)) return 'empty';
  const v = new DataView(b.buffer, b.byteOffset, 64);
  if (v.getUint32(M_MAGIC, true) !== FILE_MAGIC || v.getUint32(M_FORMAT, true) !== FILE_FORMAT) return 'bad';
  if (crc32(b.subarray(0, M_SLOT_CRC)) !== v.getUint32(M_SLOT_CRC, true)) return 'bad';
  return {
    slot,
    revision: v.getFloat64(M_REVISION, true),
    dirOffset: v.getFloat64(M_DIR_OFFSET, true),
    dirLength: v.getFloat64(M_DIR_LENGTH, true),
    generation: v.getFloat64(M_GENERATION, true),
    updatedAt: v.getFloat64(M_UPDATED_AT, true),
    schemaVersion: v.getUint32(M_SCHEMA_VERSION, true),
    dirCrc: v.getUint32(M_DIR_CRC, true),
  };
}

/** One extent to persist: identified by its version (unique across the writer's life). */
export interface PersistExtent {
  version: number;
  bytes: Uint8Array;
  rows: number;
}

/** What a commit persists: per table its prefix and batches, plus the revision's fields. */
export interface CommitContent {
  revision: number;
  updatedAt: number;
  meta: DirMeta;
  tables: Record<EntityKind, { prefix: PersistExtent; batches: PersistExtent[] }>;
}

interface FileExtent {
  offset: number;
  length: number;
  crc: number;
}

/** Writes commits to an arena file. Owned by the writer; one commit at a time. */
export class ArenaFileWriter {
  private fh: FileHandle;
  private space: FreeList;
  /** File extents by version, for everything referenced by either durable slot or in flight. */
  private extents = new Map<number, FileExtent>();
  /** Versions referenced by each durable slot (index = slot). */
  private slotVersions: [Set<number> | null, Set<number> | null] = [null, null];
  private slotDirs: [FileExtent | null, FileExtent | null] = [null, null];
  private nextSlot: 0 | 1;
  generation: number;
  /** Bytes written by the last commit (extents + directory + meta). */
  lastCommitBytes = 0;

  private constructor(readonly path: string, fh: FileHandle, space: FreeList, nextSlot: 0 | 1, generation: number) {
    this.fh = fh;
    this.space = space;
    this.nextSlot = nextSlot;
    this.generation = generation;
  }

  /** Creates (or truncates) an arena file with two empty meta slots. */
  static async create(path: string, generation = 0): Promise<ArenaFileWriter> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'w+', 0o644);
      await fh.write(new Uint8Array(DATA_START), 0, DATA_START, 0);
      await fh.sync();
    } catch (e) {
      throw ioError('create', path, e);
    }
    return new ArenaFileWriter(path, fh, new FreeList(DATA_START), 0, generation);
  }

  /**
   * Resumes writing a file recovered by `readArenaFile`: the recovered slot's extents are kept,
   * everything else in the file is free space, and the next commit goes to the other slot.
   */
  static async resume(path: string, rec: RecoveredArena): Promise<ArenaFileWriter> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r+');
    } catch (e) {
      throw ioError('open', path, e);
    }
    const used: [number, number][] = [];
    const w = new ArenaFileWriter(path, fh, new FreeList(DATA_START), rec.meta.slot === 0 ? 1 : 0, rec.meta.generation);
    const versions = new Set<number>();
    for (const k of ENTITY_KINDS) {
      for (const e of [rec.dir.tables[k].prefix, ...rec.dir.tables[k].batches]) {
        w.extents.set(e.version, { offset: e.offset, length: align(e.length), crc: e.crc });
        versions.add(e.version);
        used.push([e.offset, align(e.length)]);
      }
    }
    const dirExt = { offset: rec.meta.dirOffset, length: align(rec.meta.dirLength), crc: rec.meta.dirCrc };
    used.push([dirExt.offset, dirExt.length]);
    w.slotVersions[rec.meta.slot] = versions;
    w.slotDirs[rec.meta.slot] = dirExt;
    // Everything between the recovered slot's extents is free space.
    w.space = FreeList.fromUsed(DATA_START, used);
    return w;
  }

  /** Bytes of the file in use (the end of the furthest extent). */
  get fileBytes(): number {
    return this.space.end;
  }

  /** Bytes referenced by the newest durable slot. */
  liveBytes(): number {
    const s = this.slotVersions[this.nextSlot === 0 ? 1 : 0];
    let n = this.slotDirs[this.nextSlot === 0 ? 1 : 0]?.length ?? 0;
    for (const v of s ?? []) n += this.extents.get(v)?.length ?? 0;
    return n + DATA_START;
  }

  /** Writes one revision durably (see the file comment). Returns the meta slot written. */
  async commit(c: CommitContent): Promise<MetaSlot> {
    let written = 0;
    const versions = new Set<number>();
    const tables = {} as Directory['tables'];
    const entryFor = async (x: PersistExtent): Promise<DirEntry> => {
      let fe = this.extents.get(x.version);
      if (!fe) {
        const length = align(x.bytes.byteLength);
        fe = { offset: this.space.takeOrExtend(length), length, crc: crc32(x.bytes) };
        await this.write(x.bytes, fe.offset);
        written += x.bytes.byteLength;
        this.extents.set(x.version, fe);
      }
      versions.add(x.version);
      return { offset: fe.offset, length: x.bytes.byteLength, version: x.version, crc: fe.crc, rows: x.rows };
    };
    for (const k of ENTITY_KINDS) {
      const t = c.tables[k];
      const prefix = await entryFor(t.prefix);
      const batches: DirEntry[] = [];
      let rows = 0;
      for (const b of t.batches) {
        batches.push(await entryFor(b));
        rows += b.rows;
      }
      tables[k] = { prefix, batches, rows };
    }
    const dir: Directory = { revision: c.revision, updatedAt: c.updatedAt, tables, meta: c.meta };
    const { bytes, meta } = directorySize(dir);
    const dirBytes = new Uint8Array(bytes);
    writeDirectory(dir, dirBytes, meta);
    const dirExt: FileExtent = { offset: this.space.takeOrExtend(align(bytes)), length: align(bytes), crc: crc32(dirBytes) };
    await this.write(dirBytes, dirExt.offset);
    await this.sync();
    const slot = this.nextSlot;
    const m: MetaSlot = {
      slot, revision: c.revision, dirOffset: dirExt.offset, dirLength: bytes, dirCrc: dirExt.crc,
      generation: this.generation, updatedAt: c.updatedAt, schemaVersion: Number(c.meta.schema_version),
    };
    await this.write(encodeMeta(m), slot * META_SLOT_BYTES);
    await this.sync();
    this.lastCommitBytes = written + bytes + META_SLOT_BYTES;
    // The slot just written replaces the older of the two: free what neither slot references.
    const replaced = this.slotVersions[slot];
    const replacedDir = this.slotDirs[slot];
    this.slotVersions[slot] = versions;
    this.slotDirs[slot] = dirExt;
    const other = this.slotVersions[slot === 0 ? 1 : 0];
    for (const v of replaced ?? []) {
      if (!versions.has(v) && !other?.has(v)) {
        const fe = this.extents.get(v)!;
        this.space.release(fe.offset, fe.length);
        this.extents.delete(v);
      }
    }
    // Extents written for versions that ended up unreferenced (none today) would leak; none are.
    if (replacedDir) this.space.release(replacedDir.offset, replacedDir.length);
    this.nextSlot = slot === 0 ? 1 : 0;
    return m;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  private async write(bytes: Uint8Array, position: number): Promise<void> {
    try {
      let off = 0;
      while (off < bytes.byteLength) off += (await this.fh.write(bytes, off, bytes.byteLength - off, position + off)).bytesWritten;
    } catch (e) {
      throw ioError('write', this.path, e);
    }
  }

  private async sync(): Promise<void> {
    try {
      await this.fh.datasync();
    } catch (e) {
      throw ioError('fdatasync', this.path, e);
    }
  }
}

/** A recovered arena file: the chosen meta slot, its directory, and a reader of its extents. */
export interface RecoveredArena {
  meta: MetaSlot;
  dir: Directory;
  /** Reads and verifies one extent (heap copy, 8-aligned). */
  read(entry: DirEntry, what: string): Uint8Array;
  fileBytes: number;
  close(): void;
}

/**
 * Opens an arena file for reading and picks the revision to use: the newest meta slot with a
 * valid checksum whose directory verifies. A torn newest slot falls back to the other (safe: its
 * extents are never reused while it is durable). A newest slot that verifies but whose
 * directory does not is damage to acknowledged data: CORRUPT, never a silent fallback.
 * Returns null for a file whose slots were never written.
 */
export function readArenaFile(path: string): RecoveredArena | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw ioError('open', path, e);
  }
  try {
    const size = fstatSync(fd).size;
    const head = new Uint8Array(DATA_START);
    const got = readSync(fd, head, 0, DATA_START, 0);
    if (got < DATA_START) throw corrupt(`arena file ${JSON.stringify(path)}: ${size} bytes is shorter than its two meta slots`);
    const slots = [decodeMeta(head.subarray(0, META_SLOT_BYTES), 0), decodeMeta(head.subarray(META_SLOT_BYTES), 1)];
    if (slots.every((s) => s === 'empty')) {
      closeSync(fd);
      return null;
    }
    const valid = slots.filter((s): s is MetaSlot => typeof s === 'object').sort((a, b) => b.revision - a.revision);
    if (valid.length === 0) throw corrupt(`arena file ${JSON.stringify(path)}: neither meta slot is valid (bad magic or checksum)`);
    const readAt = (offset: number, length: number, what: string): Uint8Array => {
      if (offset < DATA_START || offset + length > size || length < 0) {
        throw corrupt(`arena file ${JSON.stringify(path)}: ${what} at ${offset}+${length} lies outside the file (${size} bytes; truncated?)`);
      }
      const b = new Uint8Array(length);
      let off = 0;
      while (off < length) {
        const n = readSync(fd, b, off, length - off, offset + off);
        if (n === 0) throw corrupt(`arena file ${JSON.stringify(path)}: unexpected end of file reading ${what}`);
        off += n;
      }
      return b;
    };
    const meta = valid[0]!;
    const dirBytes = readAt(meta.dirOffset, meta.dirLength, `directory of revision ${meta.revision}`);
    if (crc32(dirBytes) !== meta.dirCrc) {
      throw corrupt(`arena file ${JSON.stringify(path)}: the directory of revision ${meta.revision} (meta slot ${meta.slot}) fails its checksum`);
    }
    const dir = readDirectory(dirBytes, `arena file directory of revision ${meta.revision}`);
    if (dir.revision !== meta.revision) throw corrupt(`arena file ${JSON.stringify(path)}: directory says revision ${dir.revision}, meta slot says ${meta.revision}`);
    return {
      meta,
      dir,
      fileBytes: size,
      read: (e, what) => {
        const b = readAt(e.offset, e.length, what);
        if (crc32(b) !== e.crc) throw corrupt(`arena file ${JSON.stringify(path)}: ${what} (revision ${meta.revision}) fails its checksum`);
        return b;
      },
      close: () => closeSync(fd),
    };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
