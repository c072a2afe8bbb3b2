/**
 * The writer's state directory while it is open: group-committed flushes to the arena file,
 * compaction into a new generation, `state_metadata.json`, the Parquet mirror, and the fence.
 *
 * Flushes run one at a time, each covering every revision published before it started:
 * commit (extents, directory, meta slot, each synced) → fence check → durable mark →
 * acknowledge → (compaction) → metadata, written in the background.
 *
 * The fence: this writer owns generation G of the arena file. Whoever takes the directory over
 * (after this process was presumed dead) first claims generation G+1 exclusively and only then
 * reads G. Before every meta slot, every acknowledgement and every file it replaces
 * (metadata, Parquet), this writer checks that its lock directory is still the one it made and
 * that G+1 does not exist; if either fails it stops for good (LOCKED through `onFatal`) and
 * writes nothing more. Since the new writer claims before it reads, any revision this writer
 * acknowledged is in what the new writer reads, and whatever this writer still writes lands in
 * generation G, which nothing reads any more. (What remains: a writer paused between its check
 * and a rename may replace state_metadata.json or the Parquet file once; readers do not take
 * durability from those, and the new writer rewrites them at its next flush or export.)
 */
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { closed, invalid, StateError, locked, show } from '../errors.js';
import type { Durability, FilesInfo, WriterPort } from '../store/durability.js';
import { FLAG_CLEAN } from '../statedir/meta-slot.js';
import { arenaFileName, parquetFileName } from '../statedir/names.js';
import { fsyncDir, removeQuietly, writeTempFile, installFile } from './atomic.js';
import { ArenaFileWriter, GenerationTaken, type CommitContent } from './arena-writer.js';
import type { HeldLock } from './lock.js';
import { buildMetadata } from './metadata.js';
import { ParquetMirror, type MirrorOptions } from './parquet-mirror.js';
import { METADATA_FILE } from '../statedir/names.js';

/** One completed flush: the durable revision, its I/O time and bytes written. */
export interface FlushStats {
  /** Durable revision. */
  revision: number;
  ms: number;
  bytes: number;
}

/** What a StateDirectory is made of (built by persist/open.ts after recovery). */
export interface StateDirectoryInit {
  dir: string;
  clusterId: string;
  writer: ArenaFileWriter;
  /** The revision the writer's file holds durably (acknowledged). */
  durableRevision: number;
  /** The writer it serves. */
  port: WriterPort;
  lock: HeldLock;
  /** Freed file space stays unused this long (ms), so that readers reading within it are never torn. */
  graceMs: number;
  parquet?: MirrorOptions | false;
  /** Compact when the file exceeds this multiple of the live data (default 2). */
  compactRatio?: number;
  /** Called (once) when this writer must stop: its lock was lost or another writer claimed the directory. */
  onFatal?: (err: StateError) => void;
}

/** The durability of one writer: flushes (group commits), compaction, metadata, Parquet mirror, the fence. */
export class StateDirectory implements Durability {
  readonly dir: string;
  readonly clusterId: string;
  readonly parquetPath: string;
  private writer: ArenaFileWriter;
  private durable: number;
  private inFlight: Promise<void> | null = null;
  private waiters: { revision: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private fatal: StateError | null = null;
  private closedFlag = false;
  readonly mirror: ParquetMirror | null;
  /** Recent flushes (for stats); the last 256. */
  readonly history: FlushStats[] = [];
  compactions = 0;
  private readonly compactRatio: number;
  private lastCommitted: CommitContent | null = null;
  private metaWanted: CommitContent | null = null;
  private metaInFlight: Promise<void> | null = null;
  /** The generation this writer is claiming for a compaction (not another writer's claim). */
  private compacting: number | null = null;
  /** The last failure to write state_metadata.json (reported by close()). */
  private metaError: unknown = null;

  constructor(private readonly init: StateDirectoryInit) {
    this.dir = init.dir;
    this.clusterId = init.clusterId;
    this.writer = init.writer;
    this.durable = init.durableRevision;
    this.parquetPath = join(init.dir, parquetFileName(init.clusterId));
    this.compactRatio = init.compactRatio ?? 2;
    this.mirror = init.parquet === false ? null : new ParquetMirror(init.port.handle, this.parquetPath, () => init.port.publishedRevision(), () => this.scheduleMeta(), init.parquet ?? {}, {
      // The fence: an exported file is put in place only while this writer owns the directory.
      install: (tmp) => {
        this.checkOwnership();
        renameSync(tmp, this.parquetPath);
        fsyncDir(this.dir);
      },
    });
    // An export that finds a damaged extent asks the writer for a repair before it retries.
    this.mirror?.setRepair(() => init.port.repair());
  }

  /** The arena file being written. */
  get arenaPath(): string {
    return this.writer.path;
  }

  /** The durable (acknowledged) revision. */
  get durableRevision(): number {
    return this.durable;
  }

  get fileBytes(): number {
    return this.writer.fileBytes;
  }

  get liveBytes(): number {
    return this.writer.liveBytes();
  }

  /** The arena generation being written. */
  get generation(): number {
    return this.writer.generation;
  }

  get failure(): StateError | null {
    return this.fatal;
  }

  /** Records what was committed at open and writes the metadata for it (resolves once written). */
  async start(committed: CommitContent): Promise<void> {
    this.lastCommitted = committed;
    this.scheduleMeta(committed);
    await this.metaInFlight;
    if (this.metaError) throw this.metaError;
  }

  /** A new revision was published: schedule a group-commit flush and a mirror export. */
  published(): void {
    if (this.closedFlag || this.fatal) return;
    this.kick();
    this.mirror?.changed();
  }

  /** Resolves once `revision` (already published) is durable. */
  flush(revision: number): Promise<void> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.durable >= revision) return Promise.resolve();
    if (this.closedFlag) return Promise.reject(closed('state directory'));
    return new Promise((resolve, reject) => {
      this.waiters.push({ revision, resolve, reject });
      this.kick();
    });
  }

  /**
   * Throws LOCKED (and stops this writer for good) when it no longer owns the directory: its lock
   * directory is gone or replaced, or another writer claimed the next arena generation.
   */
  checkOwnership(): void {
    if (this.fatal) throw this.fatal;
    try {
      this.init.lock.check();
      // The generation after this writer's own (while it compacts, after the one it is claiming).
      const next = join(this.dir, arenaFileName(this.clusterId, (this.compacting ?? this.writer.generation) + 1));
      if (existsSync(next)) throw locked(`another writer took over ${show(this.dir)} (it claimed ${show(next)}); this writer has stopped writing`);
    } catch (e) {
      this.fail(e as StateError);
      throw e;
    }
  }

  /** Stops everything writing (the lock was lost or another writer took over): the writer's mutations fail too. */
  fail(err: StateError): void {
    if (this.fatal) return;
    this.fatal = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.init.port.fail(err);
    console.error(`arrow-cluster-state: ${err.message}`);
    this.init.onFatal?.(err);
  }

  /** Resolves once the Parquet file holds at least the published revision; INVALID_ARGUMENT without a mirror. */
  async exportParquet(): Promise<number> {
    if (!this.mirror) throw invalid('exportParquet()', 'parquet: false', 'a state opened with a Parquet mirror');
    return this.mirror.exportNow();
  }

  /** Where the files are, and how far they are. */
  files(): FilesInfo {
    return {
      dir: this.dir, arena: this.arenaPath, parquet: this.parquetPath, durableRevision: this.durable,
      parquetRevision: this.mirror?.revision ?? -1, fileBytes: this.fileBytes, liveBytes: this.liveBytes, compactions: this.compactions,
      parquetBytes: this.mirror?.fileBytes ?? 0, parquetWasmBytes: this.mirror?.wasmBytes ?? 0,
    };
  }

  /** Final flush and Parquet export, a clean-close mark in the arena file, the metadata, then the lock is released. */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    let err: unknown = null;
    try {
      if (!this.fatal) {
        await this.flush(this.init.port.publishedRevision());
        if (this.mirror) await this.mirror.exportNow();
      }
    } catch (e) {
      err = e;
    }
    this.closedFlag = true;
    await this.inFlight?.catch(() => undefined);
    await this.mirror?.close();
    if (!this.fatal && !err && this.lastCommitted) {
      try {
        // The same revision again, flagged clean: the next writer may resume this file without a new generation.
        await this.writer.commit(this.lastCommitted, FLAG_CLEAN, () => this.checkOwnership());
        await this.writer.writeMark(this.lastCommitted.revision);
      } catch (e) {
        err ??= e;
      }
    }
    this.scheduleMeta();
    await this.metaInFlight?.catch(() => undefined);
    err ??= this.metaError;
    await this.writer.close();
    if (!this.fatal) await this.init.lock.release();
    if (err) throw err;
  }

  private kick(): void {
    if (this.inFlight || this.fatal) return;
    this.inFlight = new Promise<void>((r) => setImmediate(r))
      .then(() => this.flushOnce())
      .catch((e) => {
        for (const w of this.waiters.splice(0)) w.reject(e);
      })
      .finally(() => {
        this.inFlight = null;
        if (!this.fatal && !this.closedFlag && this.init.port.publishedRevision() > this.durable) this.kick();
        else if (this.waiters.length && !this.fatal) this.kick();
      });
  }

  private async flushOnce(): Promise<void> {
    if (this.fatal) throw this.fatal;
    const target = this.init.port.publishedRevision();
    if (target <= this.durable) {
      this.resolveWaiters();
      return;
    }
    const t0 = performance.now();
    const c = this.init.port.content();
    await this.writer.commit(c, 0, () => this.checkOwnership());
    this.checkOwnership();
    await this.writer.writeMark(c.revision);
    this.durable = c.revision;
    this.lastCommitted = c;
    // Durable and marked: acknowledge first, then the bookkeeping.
    this.history.push({ revision: c.revision, ms: performance.now() - t0, bytes: this.writer.lastCommitBytes });
    if (this.history.length > 256) this.history.shift();
    this.resolveWaiters();
    if (this.writer.fileBytes > 8 << 20 && this.writer.fileBytes > this.compactRatio * this.writer.liveBytes()) await this.compact(c);
    this.scheduleMeta(c);
  }

  /** Writes the live extents into a new generation, switches to it, and removes the old file. */
  private async compact(c: CommitContent): Promise<void> {
    const g = this.writer.generation + 1;
    let next: ArenaFileWriter;
    this.compacting = g;
    try {
      next = await ArenaFileWriter.claim(join(this.dir, arenaFileName(this.clusterId, g)), g, this.init.graceMs, () => fsyncDir(this.dir));
    } catch (e) {
      this.compacting = null;
      if (e instanceof GenerationTaken) this.checkOwnership(); // another writer claimed it: we stop
      throw e;
    }
    const guard = () => {
      this.init.lock.check();
      if (existsSync(join(this.dir, arenaFileName(this.clusterId, g + 1)))) throw locked(`another writer took over ${show(this.dir)}; this writer has stopped writing`);
    };
    try {
      await next.commit(c, 0, guard);
      await next.writeMark(c.revision);
    } catch (e) {
      this.compacting = null;
      await next.close().catch(() => undefined);
      removeQuietly(next.path);
      throw e;
    }
    const old = this.writer;
    this.writer = next; // from now on the fence is generation g + 1
    this.compacting = null;
    this.compactions++;
    this.scheduleMeta(c);
    await this.metaInFlight; // the metadata names the new generation before the old file goes
    await old.close();
    removeQuietly(old.path);
  }

  /** Rewrites state_metadata.json for the newest committed revision, in the background, one write at a time. */
  private scheduleMeta(c: CommitContent | null = this.lastCommitted): void {
    if (!c || this.fatal) return;
    this.metaWanted = c;
    if (this.metaInFlight) return;
    this.metaInFlight = (async () => {
      while (this.metaWanted && !this.fatal) {
        const want = this.metaWanted;
        this.metaWanted = null;
        const meta = buildMetadata(this.dir, {
          clusterId: this.clusterId,
          masterId: (want.meta.master_id as string | null) ?? null,
          version: Math.min(want.revision, this.durable),
          updatedAtMs: want.updatedAt,
          arenaGeneration: this.writer.generation,
          parquetRevision: this.mirror?.revision ?? -1,
          parquetUpdatedAtMs: this.mirror?.updatedAt ?? null,
        });
        const target = join(this.dir, METADATA_FILE);
        const tmp = await writeTempFile(target, new TextEncoder().encode(`${JSON.stringify(meta, null, 1)}\n`));
        try {
          this.checkOwnership();
        } catch {
          removeQuietly(tmp);
          return;
        }
        await installFile(tmp, target);
        this.metaError = null;
      }
    })().catch((e) => {
      this.metaError = e;
      console.error(`arrow-cluster-state: writing ${METADATA_FILE} failed: ${(e as Error).message}`);
    }).finally(() => {
      this.metaInFlight = null;
      if (this.metaWanted && !this.fatal) this.scheduleMeta(this.metaWanted);
    });
  }

  private resolveWaiters(): void {
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (w.revision <= this.durable ? w.resolve() : still.push(w));
    this.waiters = still;
  }
}
