/**
 * Following a state directory from another process. A chokidar watcher on the directory (never
 * on a file: a watch on a file that gets renamed over can die) wakes the follower; bursts of
 * events are coalesced into one check, and a trailing re-check after the last event makes sure
 * the final revision of a burst is seen (chokidar throttles change events). A check reads the
 * arena file's two meta slots; when a newer durable revision is there, it preads only the
 * extents it has not decoded before, verifies their CRC32s and decodes them zero-copy. A torn or
 * garbage read never replaces the last good state: it is retried, then reported as `error`.
 */
import { EventEmitter } from 'node:events';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { watch, type FSWatcher } from 'chokidar';
import { closed, corrupt, isStateError, StateError } from '../errors.js';
import { decodeMeta, DATA_START, META_SLOT_BYTES, type MetaSlot } from '../persist/arena-file.js';
import { METADATA_FILE, readMetadata, resolveFromMetadata } from '../persist/metadata.js';
import { ArenaDecoder } from '../shm/decode.js';
import { readDirectory, type DirEntry } from '../shm/directory.js';
import type { Snapshot } from '../snapshot.js';

export interface FollowOptions {
  /** Poll the directory instead of using inotify (for network file systems). */
  polling?: boolean;
  /** Polling interval (ms, default 100). */
  intervalMs?: number;
  /** Re-check this long after the last event of a burst (ms, default 100). */
  trailingMs?: number;
  /** A cheap safety check runs this often even without events (ms, default 1000; 0 = off). */
  safetyPollMs?: number;
}

export interface FollowerEvents {
  change: [revision: number];
  error: [error: StateError];
}

export class Follower extends EventEmitter<FollowerEvents> {
  readonly dir: string;
  private watcher: FSWatcher | null = null;
  private fd: number | null = null;
  private ino = -1;
  private arenaPath: string | null = null;
  private readonly decoder = new ArenaDecoder();
  private current: Snapshot | null = null;
  private checking = false;
  private again = false;
  private trailing: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private closedFlag = false;
  /** Extents read by the last load (for measurements). */
  lastReadBytes = 0;
  /** Loads performed. */
  loads = 0;

  constructor(dir: string, private readonly opts: FollowOptions = {}) {
    super();
    this.dir = resolve(dir);
  }

  /** The loaded revision (-1 before the first). */
  get revision(): number {
    return this.current?.revision ?? -1;
  }

  /**
   * The newest revision loaded: immutable tables on this process's heap (valid for as long as
   * you hold them). NOT_FOUND until a state has been loaded.
   */
  snapshot(): Snapshot {
    if (this.closedFlag) throw closed('follower');
    if (!this.current) throw new StateError('NOT_FOUND', `no state has been found in ${JSON.stringify(this.dir)} yet`);
    return this.current;
  }

  /** Resolves with the loaded revision once it is at least `revision` (or rejects after timeoutMs). */
  waitFor(revision: number, timeoutMs = 30_000): Promise<number> {
    if (this.revision >= revision) return Promise.resolve(this.revision);
    return new Promise((resolveP, reject) => {
      const timer = setTimeout(() => {
        this.off('change', onChange);
        reject(new StateError('NOT_FOUND', `revision ${revision} did not appear in ${JSON.stringify(this.dir)} within ${timeoutMs} ms (at ${this.revision})`));
      }, timeoutMs);
      const onChange = (r: number) => {
        if (r >= revision) {
          clearTimeout(timer);
          this.off('change', onChange);
          resolveP(r);
        }
      };
      this.on('change', onChange);
    });
  }

  /** @internal Starts watching and loads the current state. */
  async start(): Promise<void> {
    if (!existsSync(this.dir) || !statSync(this.dir).isDirectory()) {
      throw new StateError('NOT_FOUND', `state directory ${JSON.stringify(this.dir)} does not exist`);
    }
    const usePolling = this.opts.polling ?? false;
    this.watcher = watch(this.dir, {
      depth: 0,
      ignoreInitial: true,
      usePolling,
      interval: this.opts.intervalMs ?? 100,
      binaryInterval: this.opts.intervalMs ?? 100,
      atomic: false,
      persistent: true,
    });
    const onEvent = (path: string) => {
      const name = basename(path);
      if (name === METADATA_FILE || name.endsWith('.arena')) this.schedule();
    };
    this.watcher.on('add', onEvent).on('change', onEvent).on('unlink', onEvent);
    // chokidar throttles `change` per file (50 ms); its raw events arrive unthrottled, so they
    // wake the follower at once (the throttled ones and the trailing check are the safety net).
    this.watcher.on('raw', (_event: string, path: string) => {
      const name = basename(String(path ?? ''));
      if (name === METADATA_FILE || name.endsWith('.arena')) this.schedule();
    });
    this.watcher.on('error', (e) => this.emit('error', new StateError('IO', `watching ${JSON.stringify(this.dir)} failed: ${(e as Error).message}`, { cause: e })));
    await new Promise<void>((r) => this.watcher!.once('ready', () => r()));
    const safety = this.opts.safetyPollMs ?? 1000;
    if (safety > 0) {
      this.poll = setInterval(() => this.schedule(false), safety);
      this.poll.unref();
    }
    this.check();
  }

  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.trailing) clearTimeout(this.trailing);
    if (this.poll) clearInterval(this.poll);
    await this.watcher?.close();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** Coalesces bursts of events into one check now and one trailing re-check. */
  private schedule(trailing = true): void {
    if (this.closedFlag) return;
    if (this.checking) this.again = true;
    else setImmediate(() => this.check());
    if (trailing) {
      if (this.trailing) clearTimeout(this.trailing);
      this.trailing = setTimeout(() => {
        this.trailing = null;
        this.check();
      }, this.opts.trailingMs ?? 100);
      this.trailing.unref();
    }
  }

  private check(): void {
    if (this.closedFlag || this.checking) {
      this.again = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.again = false;
        this.tryLoad();
      } while (this.again && !this.closedFlag);
    } finally {
      this.checking = false;
    }
  }

  /** Loads a newer durable revision if there is one; on failure keeps the last good state. */
  private tryLoad(): void {
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        this.loadNewer();
        return;
      } catch (e) {
        lastError = e;
        // The file may have been replaced (compaction) or be mid-write: reopen and retry.
        this.reopen();
      }
    }
    const err = isStateError(lastError) ? lastError : new StateError('IO', `reading ${JSON.stringify(this.dir)} failed: ${(lastError as Error)?.message}`, { cause: lastError });
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private reopen(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.ino = -1;
  }

  /**
   * The arena file and the durable revision bound from state_metadata.json (written after each
   * flush completes, so a revision at or below its `version` is durable). Garbage metadata is
   * reported and the meta slots alone are used.
   */
  private findArena(): { path: string | null; bound: number } {
    let meta = null;
    try {
      meta = readMetadata(this.dir);
    } catch (e) {
      if (this.listenerCount('error') > 0) this.emit('error', e as StateError);
    }
    const bound = typeof meta?.version === 'number' ? meta.version : Infinity;
    if (meta && typeof meta.arena_path === 'string') return { path: resolveFromMetadata(this.dir, meta.arena_path, existsSync), bound };
    if (this.arenaPath) return { path: this.arenaPath, bound };
    const names = readdirSync(this.dir).filter((n) => n.startsWith('state_') && n.endsWith('.arena'));
    return { path: names.length ? join(this.dir, names[0]!) : null, bound };
  }

  private loadNewer(): void {
    const { path, bound } = this.findArena();
    if (!path || !existsSync(path)) {
      if (this.current) throw new StateError('NOT_FOUND', `the arena file of ${JSON.stringify(this.dir)} disappeared; keeping revision ${this.revision}`);
      return; // no state yet: wait for the writer
    }
    let ino: number;
    try {
      ino = statSync(path).ino;
    } catch {
      return;
    }
    if (this.fd === null || ino !== this.ino || path !== this.arenaPath) {
      this.reopen();
      this.fd = openSync(path, 'r');
      this.ino = fstatSync(this.fd).ino;
      this.arenaPath = path;
    }
    const fd = this.fd;
    const size = fstatSync(fd).size;
    const head = new Uint8Array(DATA_START);
    if (readSync(fd, head, 0, DATA_START, 0) < DATA_START) return; // being created
    const slots = [decodeMeta(head.subarray(0, META_SLOT_BYTES), 0), decodeMeta(head.subarray(META_SLOT_BYTES), 1)]
      .filter((s): s is MetaSlot => typeof s === 'object' && s.revision <= bound)
      .sort((a, b) => b.revision - a.revision);
    const meta = slots[0];
    if (!meta || meta.revision <= this.revision) return;
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
    this.loads++;
    this.current = {
      revision: dir.revision,
      clusterId: String(dir.meta.cluster_id),
      masterId: (dir.meta.master_id as string | null) ?? null,
      updatedAt: dir.updatedAt,
      ...tables,
      source: 'follower',
      release: () => undefined,
    };
    this.emit('change', dir.revision);
  }
}

/**
 * Follows the state directory `statePath` from any process: resolves once the current state
 * (if any) is loaded; then emits `change` with each newer durable revision, and `error` when
 * files are missing or damaged (the last good state is kept).
 */
export async function followState(statePath: string, options: FollowOptions = {}): Promise<Follower> {
  const f = new Follower(statePath, options);
  await f.start();
  return f;
}
