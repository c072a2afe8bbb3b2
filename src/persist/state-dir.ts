/**
 * The writer's state directory while it is open (the durability of store/durability.ts): the
 * journal that makes revisions durable, the checkpoints it follows, `state_metadata.json`, the
 * Parquet mirror, and the fence.
 *
 * Flushes run one at a time, each a group commit of every revision committed before it started:
 * change batch appended to the journal and fdatasynced → fence check → durable mark →
 * acknowledge → metadata in the background. Checkpoints (the arena file) are written in the
 * background from published revisions when the journal has grown past a threshold; after one,
 * the journal is cut behind it, keeping the configured history.
 *
 * The fence: this writer owns generation G of the arena file. Whoever takes the directory over
 * (after this process was presumed dead) first claims generation G+1 exclusively and only then
 * reads. Before every meta slot, every acknowledgement and every file it replaces (metadata,
 * Parquet), this writer checks that its lock directory is still the one it made and that G+1 does
 * not exist; if either fails it stops for good (LOCKED through `onFatal`) and writes nothing more.
 * The newcomer starts a new journal file, so whatever this writer still appends lands in a file
 * nothing reads. (What remains: a writer paused between its check and a rename may replace
 * state_metadata.json or the Parquet file once; readers do not take durability from those.)
 */
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { changeSetOf, type ChangeSet, type RevisionChanges } from '../changes/change-set.js';
import type { OlderSource } from '../changes/watch-options.js';
import { closed, invalid, locked, show, StateError } from '../errors.js';
import type { CommitContent, Durability, FilesInfo, WriterPort } from '../store/durability.js';
import type { ParquetOptions } from '../store/options.js';
import { FLAG_CLEAN } from '../statedir/meta-slot.js';
import { arenaFileName, METADATA_FILE, parquetFileName } from '../statedir/names.js';
import { fsyncDir, installFile, removeQuietly, writeTempFile } from './atomic.js';
import type { Checkpoints } from './checkpoints.js';
import type { Journal } from './journal.js';
import type { HeldLock } from './lock.js';
import { buildMetadata } from './metadata.js';
import { ParquetMirror } from './parquet-mirror.js';

/** One completed flush: the durable revision, its I/O time and bytes written. */
export interface FlushStats {
  revision: number;
  ms: number;
  bytes: number;
}

/** When to write a checkpoint (and cut the journal behind it). */
export interface CheckpointPolicy {
  /** Journal bytes appended since the last checkpoint (default 1 MiB). */
  bytes: number;
  /** Revisions since the last checkpoint (default 1,000). */
  revisions: number;
}

/** What a StateDirectory is made of (built by persist/open.ts after recovery). */
export interface StateDirectoryInit {
  dir: string;
  clusterId: string;
  checkpoints: Checkpoints;
  journal: Journal;
  /** The revision recovery ended at (durable: in the checkpoint it just wrote). */
  durableRevision: number;
  /** updated_at and master_id of that revision (for the metadata). */
  head: { updatedAt: number; masterId: string | null };
  port: WriterPort;
  lock: HeldLock;
  parquet?: ParquetOptions | false;
  checkpoint?: CheckpointPolicy;
  /** Called (once) when this writer must stop: its lock was lost or another writer claimed the directory. */
  onFatal?: (err: StateError) => void;
}

/**
 * The default checkpoint policy: bounds what recovery and a cold reader replay (about 1 MiB of
 * change batches, well under 100 ms here) while a checkpoint, which writes only the batches
 * changed since the last, stays rare under load.
 */
export const DEFAULT_CHECKPOINT: CheckpointPolicy = { bytes: 1 << 20, revisions: 1_000 };

/** The shortest time between two rewrites of state_metadata.json after flushes (ms). */
const METADATA_INTERVAL_MS = 200;

/** The durability of one writer: journal group commits, checkpoints, metadata, Parquet mirror, the fence. */
export class StateDirectory implements Durability {
  readonly dir: string;
  readonly clusterId: string;
  readonly parquetPath: string;
  readonly mirror: ParquetMirror | null;
  /** Recent flushes (for stats); the last 256. */
  readonly flushes: FlushStats[] = [];
  private readonly cp: Checkpoints;
  private readonly journal: Journal;
  private readonly policy: CheckpointPolicy;
  private durable: number;
  private durableHead: { updatedAt: number; masterId: string | null };
  private pending: RevisionChanges[] = [];
  /** The group commit being appended (not in the journal's index until its append completes). */
  private appending: RevisionChanges[] = [];
  private inFlight: Promise<void> | null = null;
  private waiters: { revision: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private fatal: StateError | null = null;
  private closedFlag = false;
  private appendedSinceCheckpoint = 0;
  private checkpointing: Promise<void> | null = null;
  /** A checkpoint finished: cut the journal at the next flush (inside the flush loop, between appends). */
  private cutDue = false;
  private cutWaiters: (() => void)[] = [];
  private metaWanted = false;
  private metaTimer: NodeJS.Timeout | null = null;
  private lastMetaAt = -Infinity;
  private metaInFlight: Promise<void> | null = null;
  private metaError: unknown = null;

  constructor(private readonly init: StateDirectoryInit) {
    this.dir = init.dir;
    this.clusterId = init.clusterId;
    this.cp = init.checkpoints;
    this.journal = init.journal;
    this.durable = init.durableRevision;
    this.durableHead = init.head;
    this.policy = init.checkpoint ?? DEFAULT_CHECKPOINT;
    this.parquetPath = join(init.dir, parquetFileName(init.clusterId));
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

  /** The durable (acknowledged) revision. */
  get durableRevision(): number {
    return this.durable;
  }

  get failure(): StateError | null {
    return this.fatal;
  }

  /**
   * The journal's change sets, older than the writer's in-memory history — and the committed
   * revisions not appended yet (a group commit pending or in flight): a burst of commits can push
   * revisions out of the in-memory ring before the journal holds them.
   */
  get olderHistory(): OlderSource<ChangeSet> {
    const journal = this.journal.olderSource();
    return {
      oldestRevision: () => journal.oldestRevision(),
      read: (from, to) => {
        const out = [...(journal.read(from, to) as readonly ChangeSet[])];
        for (let r = out.length ? out[out.length - 1]!.revision + 1 : from; r <= to; r++) {
          const rc = this.unjournaled(r);
          if (!rc) break;
          out.push(changeSetOf(rc));
        }
        return out;
      },
    };
  }

  /** The changes of committed revision `r` when the journal does not hold them yet. */
  private unjournaled(r: number): RevisionChanges | undefined {
    for (const group of [this.appending, this.pending]) {
      const rc = group.length ? group[r - group[0]!.revision] : undefined;
      if (rc?.revision === r) return rc;
    }
    return undefined;
  }

  /** Writes the metadata for the recovered revision (resolves once written). */
  async start(): Promise<void> {
    this.scheduleMeta();
    await this.metaInFlight;
    if (this.metaError) throw this.metaError;
  }

  /** A revision was committed: its changes go to the journal with the next group commit. */
  committed(changes: RevisionChanges): void {
    if (this.closedFlag || this.fatal) return;
    this.pending.push(changes);
    this.kick();
  }

  /** A new revision was published: the Parquet mirror and (when due) a checkpoint follow it. */
  published(): void {
    if (this.closedFlag || this.fatal) return;
    this.mirror?.changed();
    this.maybeCheckpoint();
  }

  /** Resolves once `revision` is durable (in the journal, synced and marked). */
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
      const next = join(this.dir, arenaFileName(this.clusterId, this.cp.fenceGeneration()));
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
      dir: this.dir, arena: this.cp.path, parquet: this.parquetPath, durableRevision: this.durable,
      parquetRevision: this.mirror?.revision ?? -1, fileBytes: this.cp.fileBytes, liveBytes: this.cp.liveBytes, compactions: this.cp.compactions,
      parquetBytes: this.mirror?.fileBytes ?? 0, parquetWasmBytes: this.mirror?.wasmBytes ?? 0,
      journal: this.journal.path, journalBytes: this.journal.bytes, checkpointRevision: this.cp.revision,
    };
  }

  /**
   * Final flush and Parquet export, a last checkpoint flagged clean (the next writer may resume
   * the arena file without a new generation), the metadata, then the lock is released.
   */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    let err: unknown = null;
    try {
      if (!this.fatal) {
        await this.flush(this.pending.length ? this.pending[this.pending.length - 1]!.revision : this.durable);
        if (this.mirror) await this.mirror.exportNow();
      }
    } catch (e) {
      err = e;
    }
    this.closedFlag = true;
    await this.inFlight?.catch(() => undefined);
    await this.checkpointing?.catch(() => undefined);
    await this.mirror?.close();
    if (!this.fatal && !err) {
      try {
        await this.cp.checkpoint(this.init.port.content(), () => this.checkOwnership(), FLAG_CLEAN);
      } catch (e) {
        err ??= e;
      }
    }
    if (this.metaTimer) clearTimeout(this.metaTimer);
    this.metaTimer = null;
    this.scheduleMeta();
    await this.metaInFlight?.catch(() => undefined);
    err ??= this.metaError;
    await this.journal.close().catch(() => undefined);
    await this.cp.close();
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
        if (!this.fatal && (this.pending.length || this.waiters.length || this.cutDue)) this.kick();
        else if (this.fatal) for (const w of this.cutWaiters.splice(0)) w();
      });
  }

  /** One group commit: every change set committed so far, appended, synced, fenced, marked, acknowledged. */
  private async flushOnce(): Promise<void> {
    if (this.fatal) throw this.fatal;
    if (this.cutDue) await this.cut();
    const group = this.pending.splice(0);
    if (!group.length) {
      this.resolveWaiters();
      return;
    }
    const t0 = performance.now();
    this.appending = group;
    const bytes = await this.journal.append(group);
    this.appending = [];
    this.checkOwnership();
    const last = group[group.length - 1]!;
    await this.journal.mark(last.revision);
    this.durable = last.revision;
    this.durableHead = { updatedAt: last.updatedAt, masterId: last.masterId };
    // Durable and marked: watchers and flush() callers learn it first, then the bookkeeping.
    this.init.port.durable(group);
    this.flushes.push({ revision: last.revision, ms: performance.now() - t0, bytes });
    if (this.flushes.length > 256) this.flushes.shift();
    this.resolveWaiters();
    this.appendedSinceCheckpoint += bytes;
    this.maybeCheckpoint();
    this.requestMeta();
  }

  /**
   * The metadata after a flush, at most every METADATA_INTERVAL_MS (its `version` may lag the
   * durable revision by that much, never lead it): rewriting it costs two fsyncs, a flush one.
   */
  private requestMeta(): void {
    if (this.metaTimer || this.fatal) return;
    const wait = this.lastMetaAt + METADATA_INTERVAL_MS - performance.now();
    if (wait <= 0) return this.scheduleMeta();
    this.metaTimer = setTimeout(() => {
      this.metaTimer = null;
      this.scheduleMeta();
    }, wait);
    this.metaTimer.unref(); // close() writes the final metadata itself
  }

  /** Starts a checkpoint of the published revision in the background when the journal has grown enough since the last one. */
  private maybeCheckpoint(): void {
    if (this.checkpointing || this.closedFlag || this.fatal) return;
    const revisions = this.durable - this.cp.revision;
    if (this.appendedSinceCheckpoint < this.policy.bytes && revisions < this.policy.revisions) return;
    const content = this.init.port.content();
    if (content.revision <= this.cp.revision) return;
    this.appendedSinceCheckpoint = 0;
    this.checkpointing = this.cp.checkpoint(content, () => this.checkOwnership())
      .then(() => {
        this.cutDue = true;
        this.kick();
      })
      .catch((e) => {
        if (!this.fatal) console.error(`arrow-cluster-state: a checkpoint of ${show(this.dir)} failed (the journal keeps every revision): ${(e as Error).message}`);
      })
      .finally(() => {
        this.checkpointing = null;
      });
  }

  /** Cuts the journal behind the newest checkpoint, keeping the writer's history. */
  private async cut(): Promise<void> {
    this.cutDue = false;
    const waiters = this.cutWaiters.splice(0);
    try {
      const port = this.init.port;
      // checkpoint() asked for it: cut now; after a background checkpoint only when worth it.
      await this.journal.cut(this.cp.revision, this.durable - port.history, port.historyBytes, this.durable, () => this.checkOwnership(), waiters.length > 0);
    } finally {
      for (const w of waiters) w();
    }
  }

  /**
   * Writes a checkpoint of the published revision now (after making every committed revision
   * durable) and cuts the journal behind it; resolves with the checkpoint's revision.
   */
  async checkpoint(): Promise<number> {
    if (this.fatal) throw this.fatal;
    if (this.closedFlag) throw closed('state directory');
    await this.flush(this.pending.length ? this.pending[this.pending.length - 1]!.revision : this.durable);
    // One checkpoint at a time: a background one (or another checkpoint() call) must not commit
    // to the arena file while this one does (both would write the same meta slot).
    while (this.checkpointing) await this.checkpointing.catch(() => undefined);
    const content = this.init.port.content();
    if (content.revision > this.cp.revision) {
      this.appendedSinceCheckpoint = 0;
      const run = this.cp.checkpoint(content, () => this.checkOwnership());
      this.checkpointing = run.catch(() => undefined).finally(() => {
        this.checkpointing = null;
      });
      await run;
    }
    await new Promise<void>((resolve) => {
      this.cutWaiters.push(resolve);
      this.cutDue = true;
      this.kick();
    });
    return this.cp.revision;
  }

  /** Rewrites state_metadata.json for the durable revision, in the background, one write at a time. */
  private scheduleMeta(): void {
    if (this.fatal) return;
    this.metaWanted = true;
    if (this.metaInFlight) return;
    this.metaInFlight = (async () => {
      while (this.metaWanted && !this.fatal) {
        this.metaWanted = false;
        this.lastMetaAt = performance.now();
        const meta = buildMetadata(this.dir, {
          clusterId: this.clusterId,
          masterId: this.durableHead.masterId,
          version: this.durable,
          updatedAtMs: this.durableHead.updatedAt,
          arenaGeneration: this.cp.generation,
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
      if (this.metaWanted && !this.fatal) this.scheduleMeta();
    });
  }

  private resolveWaiters(): void {
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (w.revision <= this.durable ? w.resolve() : still.push(w));
    this.waiters = still;
  }
}

export type { CommitContent };
