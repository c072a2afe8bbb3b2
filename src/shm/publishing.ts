/**
 * Making revisions visible: the writer's changed batches are re-encoded (entity-table.ts) and
 * published to worker threads through the shared arena (shm/publisher.ts), coalesced to at most
 * once per turn of the event loop and paced under load (PublishPacing); `published()` waits for it. Also the writer's own tables
 * (`getTables()`, `snapshot()`), encoded without sharing and cached per revision, and the content
 * of the published revision for durability (durability.ts).
 */
import type { Table } from 'apache-arrow';
import { singleRowTable } from '../arrow/encode/single-row.js';
import type { Directory, DirTable } from '../arena/directory.js';
import { closed, invalid, unreadable } from '../errors.js';
import { ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import { SCHEMA_VERSION } from '../schema/state-schema.js';
import { Arena, type Extent } from './arena.js';
import { LAYOUT_VERSION } from './layout.js';
import { Publisher } from './publisher.js';
import type { SharedHandle } from './reader.js';
import type { CommitContent } from '../store/durability.js';
import type { Model } from '../tables/model.js';
import { PrefixCache } from './prefixes.js';

/** Shared-memory figures of a writer (ClusterState.memoryStats). */
export interface MemoryStats {
  sharedBytes: number;
  usedBytes: number;
  liveBytes: number;
  retiredBytes: number;
  retainLimitBytes: number;
  revokedPins: number;
  publications: number;
  scrubbedBytes: number;
  repairs: number;
}

/** How the shared arena is sized and bounded (validated by options.ts). */
export interface ArenaSettings {
  initialBytes: number;
  maxBytes: number | undefined;
  maxRetainedBytes: number | undefined;
}

/**
 * How publishing is paced under load (options.publishing): publishing takes at most `maxShare`
 * of the writer's time (after a publish of P ms the next waits P × (1 / maxShare − 1) ms), and a
 * commit waits at most `maxDelayMs` for its publish. An idle writer publishes in the next turn.
 */
export interface PublishPacing {
  maxShare: number;
  maxDelayMs: number;
}

/** The default pacing: half of the writer's time at most, a commit waits at most 20 ms. */
export const DEFAULT_PACING: PublishPacing = { maxShare: 0.5, maxDelayMs: 20 };

/** Publishes the model's revisions to shared memory and keeps the writer's own tables. */
export class Publishing {
  readonly arena: Arena;
  readonly publisher: Publisher;
  readonly prefixes: PrefixCache;
  /** Called after each publish (the durability layer schedules a flush). */
  onPublished: (() => void) | null = null;
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  /** When the last publish ended and how long it took (performance.now() ms): the pacing. */
  private lastEnd = -Infinity;
  private lastMs = 0;
  private waiters: { revision: number; resolve: (r: number) => void; reject: (e: unknown) => void }[] = [];
  private error: unknown = null;
  private closedFlag = false;
  private cache: { revision: number; tables: Record<EntityKind, Table> } | null = null;
  private stateCache: { revision: number; table: Table } | null = null;
  private lastContent: CommitContent | null = null;

  constructor(private readonly m: Model, settings: ArenaSettings, private readonly pacing: PublishPacing = DEFAULT_PACING) {
    this.arena = new Arena(settings.initialBytes, settings.maxBytes);
    this.publisher = new Publisher(this.arena);
    if (settings.maxRetainedBytes !== undefined) this.publisher.maxRetainedBytes = settings.maxRetainedBytes;
    this.prefixes = new PrefixCache(this.arena, (e) => this.retire(e), () => ++this.m.version);
  }

  /** The newest revision visible to worker threads. */
  get revision(): number {
    return this.publisher.publishedRevision;
  }

  /** A structured-cloneable handle on the shared memory, for `attachState` in worker threads. */
  handle(): SharedHandle {
    return { kind: 'arrow-cluster-state', layoutVersion: LAYOUT_VERSION, sab: this.arena.sab, token: this.publisher.token, pid: process.pid, clusterId: this.m.clusterId };
  }

  /** Resolves with a revision once every revision committed before the call is visible to worker threads. */
  published(): Promise<number> {
    if (this.closedFlag) return Promise.reject(closed('cluster state'));
    if (this.error) return Promise.reject(this.error);
    if (this.publisher.publishedRevision >= this.m.revision) return Promise.resolve(this.publisher.publishedRevision);
    return new Promise((resolve, reject) => {
      this.waiters.push({ revision: this.m.revision, resolve, reject });
      this.schedule();
    });
  }

  /**
   * A revision was committed: publish it in the next turn when the writer is idle (one publish
   * for a burst of commits); under load, paced (see PublishPacing): not before the last publish's
   * duration × (1 / maxShare − 1) has passed since it ended, at most `maxDelayMs` — every commit
   * meanwhile is folded into that one publish.
   */
  schedule(): void {
    if (this.scheduled || this.closedFlag) return;
    this.scheduled = true;
    const wait = this.lastEnd + Math.min(this.pacing.maxDelayMs, this.lastMs * (1 / this.pacing.maxShare - 1)) - performance.now();
    if (wait <= 0) setImmediate(this.run);
    else this.timer = setTimeout(this.run, wait);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    this.timer = null;
    if (this.closedFlag) return;
    try {
      this.publishNow();
    } catch (e) {
      this.error = e;
      for (const w of this.waiters.splice(0)) w.reject(e);
    }
  };

  /** Encodes pending changes and publishes the current revision now (outside mutations only). */
  publishNow(): void {
    if (this.m.undo) return;
    const t0 = performance.now();
    try {
      this.publishChanges();
    } finally {
      this.lastEnd = performance.now();
      this.lastMs = this.lastEnd - t0;
    }
  }

  private publishChanges(): void {
    this.materialize(true);
    if (this.publisher.publishedRevision >= this.m.revision && this.publisher.publishedRevision >= 0) return;
    this.publisher.publish(this.directory());
    const rev = this.publisher.publishedRevision;
    if (this.onPublished) {
      this.lastContent = this.commitContent();
      this.onPublished();
    }
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (w.revision <= rev ? w.resolve(rev) as unknown as void : still.push(w));
    this.waiters = still;
  }

  /** Publishes the same revision again (a new publication): after a repair moved damaged extents. */
  republish(): void {
    if (this.publisher.publishedRevision < this.m.revision) this.publishNow();
    else this.publisher.publish(this.directory());
  }

  /**
   * The writer's tables of the current revision (immutable heap copies, cached per revision):
   * changed batches are encoded without being copied to shared memory (that happens once per
   * publish), so a snapshot after one mutation costs the changed batch, not the table.
   */
  tables(): { revision: number; tables: Record<EntityKind, Table> } {
    if (this.cache?.revision === this.m.revision) return this.cache;
    this.materialize(false);
    const t = this.m.tables;
    this.cache = { revision: this.m.revision, tables: { nodes: t.nodes.table(), tasks: t.tasks.table(), content: t.content.table() } };
    return this.cache;
  }

  /** The single-row seed layout of the current revision (a heap copy), cached per revision. */
  stateTable(): Table {
    if (this.stateCache?.revision === this.m.revision) return this.stateCache.table;
    const t = this.tables().tables;
    const table = singleRowTable({ clusterId: this.m.clusterId, masterId: this.m.masterId, updatedAt: this.m.updatedAt, ...t });
    this.stateCache = { revision: this.m.revision, table };
    return table;
  }

  /**
   * What the arena file must hold for the revision last published (immutable heap bytes: the
   * batches are marked exported, so later changes copy them instead of writing in place).
   */
  content(): CommitContent {
    for (const k of ENTITY_KINDS) this.m.tables[k].exportAll();
    return this.lastContent ?? this.commitContent();
  }

  /** Releases the pin of `worker`'s thread when it exits (see ClusterState.trackWorker). */
  trackWorker(worker: { threadId: number; once(event: 'exit', fn: () => void): unknown }): void {
    let id: unknown;
    let once: unknown;
    try {
      id = worker.threadId;
      once = worker.once;
    } catch (e) {
      throw unreadable('trackWorker(worker)', e);
    }
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || typeof once !== 'function') throw invalid('trackWorker(worker)', worker, 'a Worker (a thread id and once())');
    (once as (event: 'exit', fn: () => void) => unknown).call(worker, 'exit', () => {
      this.publisher.releaseThread(id);
      if (!this.closedFlag) this.publisher.reclaim();
    });
  }

  /** Shared-memory figures (see ClusterState.memoryStats). */
  memoryStats(scrub: { checkedBytes: number; repairs: number }): MemoryStats {
    const p = this.publisher;
    const retired = p.retiredBytes;
    return {
      sharedBytes: this.arena.capacity, usedBytes: this.arena.used, liveBytes: this.arena.used - retired, retiredBytes: retired,
      retainLimitBytes: p.retentionLimit(), revokedPins: p.revokedPins, publications: p.publications,
      scrubbedBytes: scrub.checkedBytes, repairs: scrub.repairs,
    };
  }

  /** Marks the shared state closed; pending waits reject with CLOSED. */
  close(): void {
    this.closedFlag = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.publisher.close();
    this.cache = null;
    const err = closed('cluster state');
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  /** Superseded shared extents are freed once no reader can reach them. */
  retire(e: Extent): void {
    this.publisher.retire(e);
  }

  /**
   * Re-encodes every changed batch; with `share` (publishing) also copies the batches encoded
   * since the last publish into shared memory.
   */
  private materialize(share: boolean): void {
    const retire = (e: Extent) => this.retire(e);
    for (const k of ENTITY_KINDS) if (this.m.tables[k].dirty) this.m.tables[k].materialize(this.arena, retire, share);
  }

  private directory(): Directory {
    const tables = {} as Record<EntityKind, DirTable>;
    for (const k of ENTITY_KINDS) {
      const t = this.m.tables[k];
      const prefix = this.prefixes.get(k, t);
      // Every batch was shared by materialize(true) before a publish: its extent is set.
      const batches = t.batchData().map((b) => ({ offset: b.extent!.offset, length: b.master.byteLength, version: b.version, crc: b.crc, rows: b.data.length }));
      tables[k] = { prefix, batches, rows: t.size };
    }
    return { revision: this.m.revision, updatedAt: this.m.updatedAt, tables, meta: this.meta() };
  }

  private commitContent(): CommitContent {
    const tables = {} as CommitContent['tables'];
    for (const k of ENTITY_KINDS) {
      const p = this.prefixes.current(k);
      tables[k] = {
        prefix: { version: p.dir.version, bytes: p.bytes, rows: 0 },
        batches: this.m.tables[k].batchData().map((b) => ({ version: b.version, bytes: b.master, rows: b.data.length })),
      };
    }
    return { revision: this.publisher.publishedRevision, updatedAt: this.m.updatedAt, meta: this.meta(), tables };
  }

  private meta(): Directory['meta'] {
    return { cluster_id: this.m.clusterId, master_id: this.m.masterId, schema_version: SCHEMA_VERSION };
  }
}
