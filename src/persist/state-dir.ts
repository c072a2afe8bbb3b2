/**
 * The writer's state directory: the lock, the arena file with group-committed flushes and
 * compaction, `state_metadata.json`, and the Parquet mirror. The writer calls `published()`
 * after each publish; flushes then run one at a time, each covering every revision published
 * before it started.
 */
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { closed, StateError } from '../errors.js';
import type { SharedHandle } from '../shm/reader.js';
import { fsyncDir, TEMP_SUFFIX } from './atomic.js';
import { ArenaFileWriter, type CommitContent } from './arena-file.js';
import { arenaFileName, buildMetadata, parquetFileName, writeMetadata } from './metadata.js';
import { ParquetMirror, type MirrorOptions } from './parquet-mirror.js';

/** One completed flush: the durable revision, its I/O time and bytes written. */
export interface FlushStats {
  /** Durable revision. */
  revision: number;
  ms: number;
  bytes: number;
}

/** Options of a StateDirectory. */
export interface StateDirectoryOptions {
  parquet?: MirrorOptions | false;
  /** Compact when the file exceeds this multiple of the live data (default 2). */
  compactRatio?: number;
  /** Called (once) when the lock is compromised: the writer must stop writing. */
  onFatal: (err: StateError) => void;
}

/** The persistence of one writer: flushes (group commits), compaction, metadata, Parquet mirror, lock release. */
export class StateDirectory {
  readonly arenaPath: string;
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

  constructor(
    readonly dir: string,
    readonly clusterId: string,
    writer: ArenaFileWriter,
    durableRevision: number,
    private readonly content: () => CommitContent,
    private readonly releaseLock: () => Promise<void>,
    handle: SharedHandle,
    private readonly publishedRevision: () => number,
    private readonly opts: StateDirectoryOptions,
  ) {
    this.arenaPath = join(dir, arenaFileName(clusterId));
    this.parquetPath = join(dir, parquetFileName(clusterId));
    this.writer = writer;
    this.durable = durableRevision;
    this.compactRatio = opts.compactRatio ?? 2;
    this.mirror = opts.parquet === false ? null : new ParquetMirror(handle, this.parquetPath, publishedRevision, () => this.writeMeta(), opts.parquet ?? {});
  }

  /** Writes state_metadata.json for the durable revision we started from (replacing garbage). */
  start(content: CommitContent): void {
    if (this.durable >= 0) this.writeMeta(content);
  }

  /** The durable revision (-1 before the first flush). */
  get durableRevision(): number {
    return this.durable;
  }

  get fileBytes(): number {
    return this.writer.fileBytes;
  }

  get liveBytes(): number {
    return this.writer.liveBytes();
  }

  get generation(): number {
    return this.writer.generation;
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

  /** Stops everything writing: called when the lock is compromised. */
  fail(err: StateError): void {
    if (this.fatal) return;
    this.fatal = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.opts.onFatal(err);
  }

  get failure(): StateError | null {
    return this.fatal;
  }

  /** Final flush, final Parquet export, release the lock. */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    let err: unknown = null;
    try {
      if (!this.fatal) {
        await this.flush(this.publishedRevision());
        if (this.mirror) await this.mirror.exportNow();
      }
    } catch (e) {
      err = e;
    }
    this.closedFlag = true;
    await this.inFlight?.catch(() => undefined);
    await this.mirror?.close();
    await this.writer.close();
    if (!this.fatal) await this.releaseLock().catch(() => undefined);
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
        if (!this.fatal && !this.closedFlag && this.publishedRevision() > this.durable) this.kick();
        else if (this.waiters.length && !this.fatal) this.kick();
      });
  }

  private async flushOnce(): Promise<void> {
    if (this.fatal) throw this.fatal;
    const target = this.publishedRevision();
    if (target <= this.durable) {
      this.resolveWaiters();
      return;
    }
    const t0 = performance.now();
    const c = this.content();
    await this.writer.commit(c);
    if (this.fatal) throw this.fatal;
    this.durable = c.revision;
    // Durable now (the meta slot is synced): acknowledge first, then the bookkeeping.
    this.history.push({ revision: c.revision, ms: performance.now() - t0, bytes: this.writer.lastCommitBytes });
    if (this.history.length > 256) this.history.shift();
    this.resolveWaiters();
    if (this.writer.fileBytes > 8 << 20 && this.writer.fileBytes > this.compactRatio * this.writer.liveBytes()) await this.compact(c);
    this.writeMeta(c);
  }

  /** Rewrites the arena file with only the live extents, then renames it into place. */
  private async compact(c: CommitContent): Promise<void> {
    const tmp = `${this.arenaPath}.compact${TEMP_SUFFIX}`;
    const fresh = await ArenaFileWriter.create(tmp, this.writer.generation + 1);
    await fresh.commit(c);
    renameSync(tmp, this.arenaPath);
    fsyncDir(this.dir);
    await this.writer.close();
    this.writer = fresh;
    this.compactions++;
  }

  private lastMeta: CommitContent | null = null;

  private writeMeta(c: CommitContent | null = this.lastMeta): void {
    if (!c || this.fatal) return;
    this.lastMeta = c;
    writeMetadata(this.dir, buildMetadata(this.dir, {
      clusterId: this.clusterId,
      masterId: (c.meta.master_id as string | null) ?? null,
      version: this.durable,
      updatedAtMs: c.updatedAt,
      arenaGeneration: this.writer.generation,
      parquetRevision: this.mirror?.revision ?? -1,
      parquetUpdatedAtMs: this.mirror?.updatedAt ?? null,
    }));
  }

  private resolveWaiters(): void {
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (w.revision <= this.durable ? w.resolve() : still.push(w));
    this.waiters = still;
  }
}

/** True when `dir` holds files of a state. */
export function hasState(dir: string, clusterId: string): boolean {
  return existsSync(join(dir, arenaFileName(clusterId))) || existsSync(join(dir, parquetFileName(clusterId)));
}
