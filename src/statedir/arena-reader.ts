/**
 * The one reader of a state directory's arena files (the checkpoints), for the writer's recovery
 * and for every reader (replica.ts: followers, one-shot reads by the helpers and the command
 * line). It never takes the lock and never writes. `open()` applies the rules of choose.ts to the
 * metadata and the arena files' headers and returns the chosen revision with a checked reader of
 * its extents (the writer keeps freed space unused for a grace period, so a read that finishes
 * within it is never torn; a checksum catches any that is).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { corrupt, ioError, isStateError, StateError, missing, show } from '../errors.js';
import { readDirectory, type DirEntry, type Directory } from '../arena/directory.js';
import type { SnapshotSource } from '../snapshot.js';
import { chooseGeneration, type ChoicePolicy } from './choose.js';
import { DATA_START, decodeHead, type ArenaHead, type MetaSlot } from './meta-slot.js';
import { metadataFacts, readMetadata, type StateMetadata } from './metadata.js';
import { arenaFileName, legacyArenaFileName, listStateDirectory } from './names.js';

/** One revision of an arena file, opened: its header, meta slot, directory and a checked reader of its extents. */
export interface OpenedRevision {
  path: string;
  generation: number;
  /** The checkpoint the file's durable mark says was acknowledged (-1: none). */
  mark: number;
  head: ArenaHead;
  slot: MetaSlot;
  dir: Directory;
  fileBytes: number;
  /** Reads one extent of this revision into the heap and verifies its CRC32 (CORRUPT otherwise). */
  read(entry: DirEntry, what: string): Uint8Array;
}

/** Options of an ArenaReader. */
export interface ArenaReaderOptions {
  /** 'writer' for recovery (every synced revision), 'reader' for everyone else (durable bound). */
  policy?: ChoicePolicy;
  /** What the snapshots made from it say they come from. */
  source?: SnapshotSource;
  /** Called with non-fatal problems (e.g. garbage metadata, which is then ignored). */
  onWarning?: (e: StateError) => void;
}


/** Reads a state directory's arena files; keeps the chosen file open between loads. */
export class ArenaReader {
  readonly dir: string;
  private fd: number | null = null;
  private fdPath: string | null = null;
  private readonly policy: ChoicePolicy;
  /** The metadata read by the last open() (null when absent or garbage). */
  metadata: Partial<StateMetadata> | null = null;
  /** The cluster whose arena files were looked at by the last open(). */
  clusterId: string | null = null;

  constructor(dir: string, private readonly opts: ArenaReaderOptions = {}) {
    this.dir = resolve(dir);
    this.policy = opts.policy ?? 'reader';
  }

  /** Closes the open file (the next call reopens it). */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.fdPath = null;
  }

  /**
   * The revision to use now (choose.ts), or null when the directory holds no committed arena
   * file (a new or foreign directory). Throws CORRUPT when files are damaged, NOT_FOUND when the
   * directory does not exist.
   */
  open(): OpenedRevision | null {
    let md: Partial<StateMetadata> | null = null;
    try {
      md = readMetadata(this.dir); // before listing: a metadata file only names generations that already exist
    } catch (e) {
      if (!isStateError(e, 'CORRUPT')) throw e;
      this.opts.onWarning?.(e);
    }
    this.metadata = md;
    let listing;
    try {
      listing = listStateDirectory(this.dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw missing(`state directory ${show(this.dir)} does not exist`);
      throw ioError('list', this.dir, e);
    }
    const clusterId = this.pickCluster(md, listing.arenas);
    this.clusterId = clusterId;
    const gens = clusterId === null ? [] : listing.arenas.get(clusterId) ?? [];
    if (clusterId !== null && gens.length === 0 && listing.names.includes(legacyArenaFileName(clusterId))) {
      throw corrupt(`${show(join(this.dir, legacyArenaFileName(clusterId)))} was written by an earlier version of arrow-cluster-state (arena format 1); open it with that version and export it, or start fresh`);
    }
    const pathOf = (g: number) => join(this.dir, arenaFileName(clusterId ?? '', g));
    const heads = new Map<number, ArenaHead>();
    const headOf = (g: number) => {
      const h = this.head(pathOf(g), g);
      heads.set(g, h);
      return h;
    };
    const picked = chooseGeneration(gens, pathOf, headOf, this.policy, metadataFacts(md));
    if (!picked) return null;
    if (picked.choice.kind === 'damaged') throw picked.choice.error;
    const path = pathOf(picked.generation);
    const fd = this.use(path);
    const size = fstatSync(fd).size;
    const slot = picked.choice.slot;
    const read = (offset: number, length: number, what: string): Uint8Array => {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < DATA_START || length < 0 || offset + length > size) {
        throw corrupt(`arena file ${show(path)}: ${what} at ${offset}+${length} lies outside the file (${size} bytes; truncated?)`);
      }
      const b = new Uint8Array(length);
      let off = 0;
      while (off < length) {
        const n = readSync(fd, b, off, length - off, offset + off);
        if (n === 0) throw corrupt(`arena file ${show(path)}: unexpected end of file reading ${what}`);
        off += n;
      }
      return b;
    };
    const dirBytes = read(slot.dirOffset, slot.dirLength, `the directory of revision ${slot.revision}`);
    if (crc32(dirBytes) !== slot.dirCrc) throw corrupt(`arena file ${show(path)}: the directory of revision ${slot.revision} (meta slot ${slot.slot}) fails its checksum`);
    const dir = readDirectory(dirBytes, `arena file ${JSON.stringify(path)} directory of revision ${slot.revision}`);
    if (dir.revision !== slot.revision) throw corrupt(`arena file ${show(path)}: its directory says revision ${dir.revision}, its meta slot ${slot.revision}`);
    return {
      path, generation: picked.generation, mark: picked.choice.mark, head: heads.get(picked.generation)!, slot, dir, fileBytes: size,
      read: (e, what) => {
        const b = read(e.offset, e.length, what);
        if (crc32(b) !== e.crc) throw corrupt(`arena file ${show(path)}: ${what} of revision ${slot.revision} fails its checksum`);
        return b;
      },
    };
  }

  /**
   * True when the newest file or its header changed since `rev` was opened: a read of it that
   * failed a check was torn by the writer moving on (read again), not damage.
   */
  changedSince(rev: OpenedRevision): boolean {
    try {
      const listing = listStateDirectory(this.dir);
      const gens = (this.clusterId !== null && listing.arenas.get(this.clusterId)) || [];
      if (gens[0] !== rev.generation) return true;
      return JSON.stringify(this.head(rev.path, rev.generation)) !== JSON.stringify(rev.head);
    } catch {
      return true;
    }
  }

  /** The cluster whose arena files to read: the metadata's, else the only one present. */
  private pickCluster(md: Partial<StateMetadata> | null, arenas: Map<string, number[]>): string | null {
    if (md && typeof md.cluster_id === 'string' && md.cluster_id.length > 0) return md.cluster_id;
    if (arenas.size > 1) throw corrupt(`state directory ${show(this.dir)} holds arena files of several clusters (${[...arenas.keys()].map((k) => show(k)).join(', ')}) and no ${'state_metadata.json'} saying which is its own`);
    return arenas.size === 1 ? arenas.keys().next().value! : null;
  }

  /** Opens `path` for reading (never through a symbolic link; a regular file only), reusing the open descriptor. */
  private use(path: string): number {
    if (this.fd !== null && this.fdPath === path) return this.fd;
    this.close();
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw corrupt(`${show(path)} is a symbolic link; state files must be regular files inside the state directory`);
      throw ioError('open', path, e);
    }
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      throw corrupt(`${show(path)} is not a regular file`);
    }
    this.fd = fd;
    this.fdPath = path;
    return fd;
  }

  private head(path: string, generation: number): ArenaHead {
    const fd = this.use(path);
    const size = fstatSync(fd).size;
    const bytes = new Uint8Array(Math.min(size, DATA_START));
    let off = 0;
    while (off < bytes.byteLength) {
      const n = readSync(fd, bytes, off, bytes.byteLength - off, off);
      if (n === 0) break;
      off += n;
    }
    return decodeHead(bytes.subarray(0, off), size, generation);
  }
}

