/**
 * Writing an arena file (format: statedir/meta-slot.ts): durable checkpoints in the
 * shared-memory format. Record batches and table prefixes are copy-on-write extents, named by a
 * per-revision directory (arena/directory.ts, with file offsets and CRC32s).
 *
 * A commit writes the new extents and the directory, fdatasyncs, writes the other meta slot,
 * fdatasyncs: the slot is then durable. The caller checks that it still owns the directory, then
 * writes the durable mark (the acknowledgement readers and recovery go by) and acknowledges.
 * Space is reused only when neither durable slot references it, and only after a grace period
 * (`graceMs`), so the older slot's revision is always intact and a reader that reads a revision
 * within the grace period is never torn.
 *
 * Every file is created exclusively (O_CREAT|O_EXCL, which never follows a symbolic link): a
 * generation can be created by one writer only, which is what fences a paused writer out
 * (persist/state-dir.ts).
 */
import { crc32 } from 'node:zlib';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { corrupt, ioError, StateError } from '../errors.js';
import { ENTITY_KINDS } from '../schema/entities.js';
import { directorySize, writeDirectory, type DirEntry, type Directory } from '../arena/directory.js';
import { align, FreeList } from '../arena/free-list.js';
import type { CommitContent, PersistExtent } from '../store/durability.js';
import type { OpenedRevision } from '../statedir/arena-reader.js';

export type { CommitContent, PersistExtent };
import { claimedHeader, DATA_START, encodeMark, encodeSlot, MARK_OFFSET, SLOT_OFFSETS, type MetaSlot } from '../statedir/meta-slot.js';

interface FileExtent {
  offset: number;
  length: number;
  crc: number;
}

/** Thrown (as the cause of a LOCKED) when the generation file already exists: another writer claimed it. */
export class GenerationTaken extends Error {}

/** Writes commits to one arena file (one generation). Owned by the writer; one commit at a time. */
export class ArenaFileWriter {
  private fh: FileHandle;
  private space: FreeList;
  /** Freed ranges waiting out the readers' grace period. */
  private quarantine: { offset: number; length: number; at: number }[] = [];
  /** File extents by version, for everything referenced by either durable slot or in flight. */
  private extents = new Map<number, FileExtent>();
  /** Versions referenced by each durable slot (index = slot). */
  private slotVersions: [Set<number> | null, Set<number> | null] = [null, null];
  private slotDirs: [FileExtent | null, FileExtent | null] = [null, null];
  private nextSlot: 0 | 1;
  /** Bytes written by the last commit (extents + directory + meta). */
  lastCommitBytes = 0;
  /** The revision of the last meta slot written. */
  lastRevision = -1;

  private constructor(readonly path: string, readonly generation: number, fh: FileHandle, space: FreeList, nextSlot: 0 | 1, private readonly graceMs: number) {
    this.fh = fh;
    this.space = space;
    this.nextSlot = nextSlot;
  }

  /**
   * Creates generation `generation` at `path` exclusively and writes its claim header (durably,
   * directory entry included). Throws GenerationTaken when the file exists (another writer's
   * claim, or anything planted at the name, a symbolic link included).
   */
  static async claim(path: string, generation: number, graceMs: number, fsyncDir: () => void): Promise<ArenaFileWriter> {
    let fh: FileHandle;
    try {
      fh = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new GenerationTaken(`${path} exists`);
      throw ioError('create', path, e);
    }
    try {
      const header = claimedHeader(generation);
      await fh.write(header, 0, header.byteLength, 0);
      await fh.sync();
      fsyncDir();
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw ioError('write', path, e);
    }
    return new ArenaFileWriter(path, generation, fh, new FreeList(DATA_START), 0, graceMs);
  }

  /**
   * Resumes writing the file a clean close left (`rev`, opened by the ArenaReader): the
   * revision's extents are kept, everything else is free space (after the grace period), and
   * the next commit goes to the other slot.
   */
  static async resume(rev: OpenedRevision, graceMs: number): Promise<ArenaFileWriter> {
    let fh: FileHandle;
    try {
      fh = await open(rev.path, constants.O_RDWR | constants.O_NOFOLLOW);
    } catch (e) {
      throw ioError('open', rev.path, e);
    }
    const used: [number, number][] = [];
    const w = new ArenaFileWriter(rev.path, rev.generation, fh, new FreeList(DATA_START), rev.slot.slot === 0 ? 1 : 0, graceMs);
    const versions = new Set<number>();
    for (const k of ENTITY_KINDS) {
      for (const e of [rev.dir.tables[k].prefix, ...rev.dir.tables[k].batches]) {
        w.extents.set(e.version, { offset: e.offset, length: align(e.length), crc: e.crc });
        versions.add(e.version);
        used.push([e.offset, align(e.length)]);
      }
    }
    const dirExt = { offset: rev.slot.dirOffset, length: align(rev.slot.dirLength), crc: rev.slot.dirCrc };
    used.push([dirExt.offset, dirExt.length]);
    w.slotVersions[rev.slot.slot] = versions;
    w.slotDirs[rev.slot.slot] = dirExt;
    w.lastRevision = rev.slot.revision;
    // Everything between the kept extents is free — once readers of the older slot had their grace period.
    const full = FreeList.fromUsed(DATA_START, used);
    w.space = new FreeList(DATA_START, DATA_START);
    w.space.end = full.end;
    let at = DATA_START;
    for (const [off, len] of [...used].sort((a, b) => a[0] - b[0])) {
      if (off > at) w.quarantine.push({ offset: at, length: off - at, at: Date.now() });
      at = Math.max(at, off + len);
    }
    return w;
  }

  /** Bytes of the file in use (the end of the furthest extent). */
  get fileBytes(): number {
    return this.space.end;
  }

  /** Bytes referenced by the newest durable slot. */
  liveBytes(): number {
    const newest = this.nextSlot === 0 ? 1 : 0;
    let n = this.slotDirs[newest]?.length ?? 0;
    for (const v of this.slotVersions[newest] ?? []) n += this.extents.get(v)?.length ?? 0;
    return n + DATA_START;
  }

  /**
   * Writes one revision durably (see the file comment) with meta slot `flags`. `guard` runs
   * before the meta slot is written and throws if this writer must not write any more (then the
   * revision's extents were written into free space, which nothing references). Returns the slot.
   */
  async commit(c: CommitContent, flags = 0, guard: () => void = () => undefined): Promise<MetaSlot> {
    this.drainQuarantine(Date.now());
    let written = 0;
    const versions = new Set<number>();
    const tables = {} as Directory['tables'];
    const fresh: number[] = [];
    const entryFor = async (x: PersistExtent): Promise<DirEntry> => {
      let fe = this.extents.get(x.version);
      if (!fe) {
        const length = align(x.bytes.byteLength);
        fe = { offset: this.space.takeOrExtend(length), length, crc: crc32(x.bytes) };
        this.extents.set(x.version, fe);
        fresh.push(x.version);
        await this.write(x.bytes, fe.offset);
        written += x.bytes.byteLength;
      }
      versions.add(x.version);
      return { offset: fe.offset, length: x.bytes.byteLength, version: x.version, crc: fe.crc, rows: x.rows };
    };
    let dirExt: FileExtent | null = null;
    try {
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
      dirExt = { offset: this.space.takeOrExtend(align(bytes)), length: align(bytes), crc: crc32(dirBytes) };
      await this.write(dirBytes, dirExt.offset);
      await this.sync();
      guard();
      const slot = this.nextSlot;
      const m: MetaSlot = {
        slot, revision: c.revision, dirOffset: dirExt.offset, dirLength: bytes, dirCrc: dirExt.crc,
        generation: this.generation, updatedAt: c.updatedAt, schemaVersion: Number(c.meta.schema_version), flags,
      };
      await this.write(encodeSlot(m), SLOT_OFFSETS[slot]);
      await this.sync();
      this.lastCommitBytes = written + bytes + 64;
      this.lastRevision = c.revision;
      // The slot just written replaces the older of the two: free what neither slot references.
      const replaced = this.slotVersions[slot];
      const replacedDir = this.slotDirs[slot];
      this.slotVersions[slot] = versions;
      this.slotDirs[slot] = dirExt;
      const other = this.slotVersions[slot === 0 ? 1 : 0];
      const now = Date.now();
      for (const v of replaced ?? []) {
        if (!versions.has(v) && !other?.has(v)) {
          const fe = this.extents.get(v)!;
          this.quarantine.push({ offset: fe.offset, length: fe.length, at: now });
          this.extents.delete(v);
        }
      }
      if (replacedDir) this.quarantine.push({ offset: replacedDir.offset, length: replacedDir.length, at: now });
      this.nextSlot = slot === 0 ? 1 : 0;
      return m;
    } catch (e) {
      // Nothing references what this commit wrote: forget it (its space stays unused until compaction).
      for (const v of fresh) this.extents.delete(v);
      throw e;
    }
  }

  /**
   * Writes the durable mark: `revision` (committed by this writer) is acknowledged. Not synced on
   * its own: after a crash it may be older, never newer, than the newest durable slot.
   */
  async writeMark(revision: number): Promise<void> {
    if (revision > this.lastRevision) throw corrupt(`internal: mark ${revision} past the last commit ${this.lastRevision}`);
    await this.write(encodeMark({ revision, generation: this.generation }), MARK_OFFSET);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  private drainQuarantine(now: number): void {
    if (!this.quarantine.length) return;
    const keep: typeof this.quarantine = [];
    for (const q of this.quarantine) {
      if (now - q.at >= this.graceMs) this.space.release(q.offset, q.length);
      else keep.push(q);
    }
    this.quarantine = keep;
  }

  private async write(bytes: Uint8Array, position: number): Promise<void> {
    try {
      let off = 0;
      while (off < bytes.byteLength) off += (await this.fh.write(bytes, off, bytes.byteLength - off, position + off)).bytesWritten;
    } catch (e) {
      if (e instanceof StateError) throw e;
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
