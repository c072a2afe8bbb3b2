/**
 * `ClusterState`: the one authoritative writer, a facade over the store's modules —
 * model.ts (the state), transactions.ts (atomic changes), nodes.ts / tasks.ts / content.ts (the
 * rules of each entity; lifecycle.ts for tasks), publishing.ts (visibility to worker threads),
 * repair.ts (the shared-memory scrub) and, for a state directory, the durability the files layer
 * attaches (durability.ts). Mutations are synchronous, validate completely before changing
 * anything, and either apply whole (revision + 1) or throw a `StateError` leaving state and
 * revision exactly as they were.
 */
import type { Table } from 'apache-arrow';
import { closed, invalid, ioFailure, locked, show, StateError } from '../errors.js';
import type { EntityKind } from '../schema/entities.js';
import type {
  ContentInput, ContentRecord, ContentUpdate, NodeInput, NodeRecord, NodeResourcesInput, NodeUpdate, TaskInput,
  TaskRecord, TaskUpdate,
} from '../schema/records.js';
import type { ScrubResult } from '../shm/scrub.js';
import type { SharedHandle } from '../shm/reader.js';
import { QueryPool } from '../pool/pool.js';
import { checkQueryCall } from '../pool/queries.js';
import type { Snapshot } from '../snapshot.js';
import { checkId, checkInt32, checkOptions } from '../validate/values.js';
import type { Replication, ReplicationAttacher, ReplicationPort, ReplicationStats } from './replication.js';
import * as content from './content.js';
import type { Durability, FilesInfo, WriterPort } from './durability.js';
import { Model } from '../tables/model.js';
import * as nodes from './nodes.js';
import { parseWriterOptions, type InMemoryOptions, type OpenOptions, type ReplicatedOpenOptions } from './options.js';
import { revisionChangesOf, type ChangeSet, type RevisionChanges } from '../changes/change-set.js';
import { applyChangeSet } from '../tables/apply.js';
import { ChangeFeed } from '../changes/feed.js';
import type { WatchHistory } from '../changes/watch-hub.js';
import type { WatchOptions } from '../changes/watch-options.js';
import { Publishing, type MemoryStats } from '../shm/publishing.js';
import { Repair } from '../shm/repair.js';
import { activeByNode, type RestoreTarget } from '../tables/restore.js';
import * as tasks from './tasks.js';
import { applyImport } from './import.js';
import { atomically } from './transactions.js';
import { Liveness, type HeartbeatResult, type LivenessSettings } from './liveness.js';
import { Scheduler, type SchedulerSettings } from './scheduler.js';
import { readRecord } from '../arrow/decode/table-view.js';

export type { InMemoryOptions, OpenOptions, ReplicatedOpenOptions } from './options.js';
export type { ReplicationOptions, ReplicationStats } from './replication.js';
export type { RemoveNodeOptions } from './nodes.js';
export type { HeartbeatResult, LivenessOptions } from './liveness.js';
export type { SchedulerOptions } from './scheduler.js';

/**
 * @internal What a standby gives the writer it opens: the replicated state (`restore` fills the
 * empty writer with revision `revision`) and the master it defers to.
 */
export interface ReplicaInit {
  revision: number;
  restore(target: RestoreTarget): void;
  master: string | null;
  /** How messages name the state adopted (e.g. "the replicated state of cluster \"c1\""). */
  what: string;
}

/** How `ClusterState.open` opens a state directory (and a standby's); installed by the package entry (persist/open.ts). */
interface DirectoryOpener {
  open(opts: OpenOptions, replica?: ReplicaInit): Promise<ClusterState>;
  /** Every option of a directory writer checked (INVALID_ARGUMENT), nothing touched. */
  check(opts: OpenOptions): void;
}
let directoryOpener: DirectoryOpener | null = null;
/** How `ClusterState.open({ nats })` replicates; installed by the package entry (replicate/replicator.ts). */
let replicationAttacher: { check(nats: unknown, replication: unknown): void; attach: ReplicationAttacher } | null = null;

/** How `ClusterState.open({ nats, standby: true })` opens a standby; installed by the package entry (replicate/standby.ts). */
let standbyOpener: ((core: InMemoryOptions, nats: unknown, replication: unknown, onFatal: ((e: StateError) => void) | null) => Promise<ClusterState>) | null = null;

/** @internal Installs the standby opener (src/index.ts installs replicate/standby.ts). */
export function setStandbyOpener(fn: typeof standbyOpener): void {
  standbyOpener = fn;
}

/** The options only `open` with `nats` reads (the rest go to the directory or in-memory writer). */
const REPLICATION_OPTION_KEYS = ['nats', 'replication', 'standby'] as const;
/** How long close() waits for the last revisions to be acknowledged by JetStream (ms). */
const CLOSE_REPLICATION_MS = 10_000;

/** @internal Installs how `ClusterState.open` opens a state directory (src/index.ts installs persist/open.ts). */
export function setDirectoryOpener(opener: DirectoryOpener): void {
  directoryOpener = opener;
}

/** @internal Installs replication over NATS (src/index.ts installs replicate/replicator.ts). */
export function setReplicationAttacher(r: { check(nats: unknown, replication: unknown): void; attach: ReplicationAttacher }): void {
  replicationAttacher = r;
}

export class ClusterState {
  readonly clusterId: string;
  /** This writer's own node id, if given. */
  readonly nodeId: string | null;
  private readonly m: Model;
  private readonly pub: Publishing;
  private readonly repair: Repair;
  private durability: Durability | null = null;
  private readonly feed: ChangeFeed;
  private readonly historyRevisions: number;
  private readonly historyBytes: number;
  private fatal: StateError | null = null;
  private closedFlag = false;
  private pool: QueryPool | null = null;
  private replication: Replication | null = null;
  private liveness: Liveness | null = null;
  private scheduler: Scheduler | null = null;
  private readonly policies: { liveness: LivenessSettings | null; scheduler: SchedulerSettings | null };
  private onFatal: ((e: StateError) => void) | null = null;
  private readonly queryThreads: number | undefined;

  private constructor(opts: unknown, publishInitial: boolean) {
    const o = parseWriterOptions(opts);
    this.clusterId = o.clusterId;
    this.nodeId = o.nodeId;
    this.queryThreads = o.queryThreads;
    this.m = new Model(o.clusterId, o.nodeId, o.clock);
    this.pub = new Publishing(this.m, o.arena, o.pacing);
    this.repair = new Repair(this.m, this.pub, o.scrub);
    this.historyRevisions = o.history.revisions;
    this.historyBytes = o.history.bytes;
    this.feed = new ChangeFeed(o.history, this.m.revision);
    this.policies = { liveness: o.liveness, scheduler: o.scheduler };
    if (publishInitial) this.publishNow();
  }

  /** Starts liveness and the scheduler when asked for (after the state is filled: their timers start fresh now). */
  private startPolicies(): void {
    const { liveness, scheduler } = this.policies;
    let lastWarning = '';
    const onError = (e: unknown) => {
      // A stopped writer's policies stop; a repeated failure is said once.
      if (this.fatal || this.closedFlag) {
        this.liveness?.stop();
        this.scheduler?.stop();
        return;
      }
      const text = `arrow-cluster-state: ${(e as Error)?.message ?? String(e)}`;
      if (text !== lastWarning) process.emitWarning(text, { code: 'ACS_POLICY' });
      lastWarning = text;
    };
    const m = this.m;
    if (liveness) {
      this.liveness = new Liveness({
        now: () => m.now(), revision: () => m.revision,
        nodeIds: () => this.allRecords('nodes').map((n) => n.id as string),
        getNode: (id) => m.get('nodes', id), getTask: (id) => m.get('tasks', id), activeTasks: (id) => m.activeTasks(id),
        heartbeat: (id, r) => this.mutate(() => nodes.heartbeat(m, id, r)),
        updateNodeStatus: (id, st) => this.mutate(() => nodes.updateNodeStatus(m, id, st)),
        updateTask: (id, patch) => this.mutate(() => tasks.updateTask(m, id, patch)),
        transaction: (fn) => void this.mutate(fn, true),
        onError,
      }, liveness);
    }
    if (scheduler) {
      this.scheduler = new Scheduler({
        nodes: () => this.allRecords('nodes') as unknown as NodeRecord[],
        pendingTasks: () => (this.allRecords('tasks') as unknown as TaskRecord[]).filter((t) => t.status === 'pending'),
        getTask: (id) => m.get('tasks', id), activeTasks: (id) => m.activeTasks(id),
        assignTask: (t, n) => void this.mutate(() => tasks.assignTask(m, t, n)),
        transaction: (fn) => void this.mutate(fn, true),
        onError,
      }, scheduler);
    }
  }

  /** Every record of a table (a pass over the published tables; for the policies' start only). */
  private allRecords(kind: EntityKind): Record<string, unknown>[] {
    const t = this.reading().tables().tables[kind];
    const out: Record<string, unknown>[] = [];
    t.batches.forEach((b, bi) => {
      for (let i = 0; i < b.numRows; i++) out.push(readRecord(kind, t, bi, i));
    });
    return out;
  }

  /**
   * Opens (or creates) the state directory `statePath` as its one writer: takes the directory
   * lock (LOCKED if another live writer holds it), recovers the newest durable revision (or
   * imports a seed-layout Parquet file, e.g. written by pyarrow), and from then on flushes every
   * published revision (group commit) and mirrors it to Parquet. A damaged file is never replaced
   * by an empty state: CORRUPT, unless `startFresh` moves the damaged files aside. See
   * docs/state-directory.md.
   */
  static async open(opts: OpenOptions | ReplicatedOpenOptions): Promise<ClusterState> {
    if (!directoryOpener) throw ioFailure('ClusterState.open needs the package entry (import it from "arrow-cluster-state")');
    const split = splitReplicationOptions(opts);
    if (!split) return directoryOpener.open(opts as OpenOptions);
    // With `nats`: every option checked before anything is opened; without a statePath, in memory.
    if (!replicationAttacher) throw ioFailure('replication needs the package entry (import it from "arrow-cluster-state")');
    replicationAttacher.check(split.nats, split.replication);
    const rest = split.rest as OpenOptions & Record<string, unknown>;
    if (split.standby !== undefined && typeof split.standby !== 'boolean') throw invalid('options.standby', split.standby, 'true or false');
    if (split.standby) {
      if (rest.import !== undefined) throw invalid('options.import', rest.import, 'absent with standby: true (a standby adopts the replicated state)');
      const { onFatal, ...core } = rest;
      if (onFatal !== undefined && typeof onFatal !== 'function') throw invalid('options.onFatal', onFatal, 'a function');
      // Every option checked before anything is opened (a standby on a directory: the directory's too).
      if (rest.statePath !== undefined) directoryOpener.check(rest);
      else parseWriterOptions(core);
      if (!standbyOpener) throw ioFailure('a standby needs the package entry (import it from "arrow-cluster-state")');
      return standbyOpener(core as unknown as InMemoryOptions, split.nats, split.replication, (onFatal as ((e: StateError) => void) | undefined) ?? null);
    }
    let state: ClusterState;
    if (rest.statePath === undefined) {
      const { onFatal, ...core } = rest;
      if (onFatal !== undefined && typeof onFatal !== 'function') throw invalid('options.onFatal', onFatal, 'a function');
      state = ClusterState.inMemory(core as unknown as InMemoryOptions);
      state.onFatal = (onFatal as ((e: StateError) => void) | undefined) ?? null;
    } else {
      state = await directoryOpener.open(rest);
      state.onFatal = (rest.onFatal as ((e: StateError) => void) | undefined) ?? null;
    }
    try {
      state.replication = await replicationAttacher.attach(state.replicationPort(), split.nats, split.replication);
    } catch (e) {
      await state.close().catch(() => undefined);
      throw e;
    }
    return state;
  }

  /** What replication may use of this writer. */
  private replicationPort(): ReplicationPort {
    const self = this;
    return {
      clusterId: this.clusterId,
      nodeId: this.nodeId,
      revision: () => this.m.revision,
      watch: (o) => this.feed.watch(o),
      oldestRevision: () => this.feed.history.oldestRevision,
      settle: async () => (this.durability ? this.flush() : this.m.revision),
      settledRevision: () => (this.durability ? this.durability.files().durableRevision : this.m.revision),
      content: () => {
        this.publishNow(); // the published revision is the current one: the batches and the tables agree
        const content = this.pub.content();
        const snapshot = this.snapshot();
        if (content.revision !== snapshot.revision) throw ioFailure(`internal: published revision ${content.revision} is not the current ${snapshot.revision}`);
        return { content, snapshot };
      },
      agents: {
        get revision() {
          return self.revision;
        },
        registerNode: (input) => this.registerNode(input),
        reportHeartbeat: (id, r) => this.reportHeartbeat(id, r),
        getTask: (id) => this.getTask(id),
        updateTask: (id, patch) => this.updateTask(id, patch),
        addContent: (input) => this.addContent(input),
        addProvider: (cid, node) => this.addProvider(cid, node),
        removeProvider: (cid, node) => this.removeProvider(cid, node),
        removeNode: (id, o) => this.removeNode(id, o),
        watch: (o) => this.watch(o),
        snapshot: () => this.snapshot(),
        activeTaskRecords: () => [...this.m.active.values()].flatMap((ids) => [...ids].map((id) => this.m.get('tasks', id)!)),
      },
      fail: (e) => {
        if (this.fatal) return;
        this.fatal = e;
        this.liveness?.stop();
        this.scheduler?.stop();
        process.stderr.write(`arrow-cluster-state: ${e.message}\n`);
        try {
          this.onFatal?.(e);
        } catch {
          // the callback's own failure changes nothing
        }
      },
    };
  }

  /**
   * A state held in memory only (no files): for tests, fixtures and embedded use. With
   * `import`, it starts from that whole state as revision 1 (every row checked first; see
   * store/import.ts), visible to worker threads when this returns.
   */
  static inMemory(opts: InMemoryOptions): ClusterState {
    const importFrom = parseWriterOptions(opts).importFrom;
    if (!importFrom) {
      const s = new ClusterState(opts, true);
      s.startPolicies();
      return s;
    }
    const s = new ClusterState(opts, false);
    s.fill((t) => applyImport(t, importFrom, s.m.now(), s.nodeId));
    s.feed.useOlder(s.m.revision, null);
    s.startPolicies();
    return s;
  }

  /** Lets `restore` fill the empty state, publishes it, and derives what the writer keeps beside the tables. */
  private fill(restore: (target: RestoreTarget) => void): void {
    const m = this.m;
    restore({
      model: m, tables: m.tables, dicts: m.dicts, arena: this.pub.arena,
      raiseVersion: (v) => void (m.version = Math.max(m.version, v)),
      setHead: (revision, updatedAt, masterId) => Object.assign(m, { revision, updatedAt, masterId }),
    });
    this.publishNow();
    m.active.clear();
    for (const [k, v] of activeByNode(m.tables.tasks.table())) m.active.set(k, v);
  }

  /**
   * @internal The one constructor path of a writer with files (persist/open.ts): makes the writer
   * from `opts` (the in-memory core's options), lets `restore` fill its empty state (recovery),
   * publishes the restored revision, and serves it with the durability that `attach` makes.
   */
  static async restored(opts: InMemoryOptions, restore: (target: RestoreTarget) => void, attach: (port: WriterPort) => Promise<Durability>, standby: ReplicaInit | null = null): Promise<ClusterState> {
    const s = new ClusterState(opts, false);
    const m = s.m;
    s.fill(restore);
    if (standby) s.makeStandby(standby.master);
    s.durability = await attach({
      handle: s.pub.handle(),
      publishedRevision: () => s.pub.revision,
      content: () => s.pub.content(),
      fail: (e) => void (s.fatal ??= e),
      repair: () => void s.repair.all(),
      durable: (group) => {
        for (const c of group) s.feed.publish(c);
      },
      history: s.historyRevisions,
      historyBytes: s.historyBytes,
    });
    s.pub.onPublished = () => s.durability!.published();
    s.feed.useOlder(m.revision, s.durability.olderHistory ?? null);
    if (!standby) s.startPolicies(); // a standby's start when it takes over
    return s;
  }

  // ───────────────────────────── standby ─────────────────────────────

  /** Set while this writer is a standby: mutations are refused (LOCKED naming the master). */
  private standbyOf: { master: string | null } | null = null;
  private leader: { promise: Promise<number>; resolve(r: number): void; reject(e: unknown): void } | null = null;

  /**
   * @internal A standby (replicate/standby.ts): a writer filled with the replicated state (in
   * memory, or on its own state directory: `opts.statePath`) that refuses mutations until
   * `promote`; `applyReplicated` keeps it up to date.
   */
  static async openReplica(opts: InMemoryOptions & { statePath?: string }, init: ReplicaInit): Promise<ClusterState> {
    if (opts.statePath !== undefined) {
      if (!directoryOpener) throw ioFailure('a standby on a state directory needs the package entry (import it from "arrow-cluster-state")');
      return directoryOpener.open(opts as OpenOptions, init);
    }
    const s = new ClusterState(opts, false);
    s.fill(init.restore);
    s.feed.useOlder(s.m.revision, null);
    s.makeStandby(init.master);
    return s;
  }

  /** Marks this writer a standby deferring to `master`: mutations refused until promote(); leadership() pending. */
  private makeStandby(master: string | null): void {
    this.standbyOf = { master };
    let resolve!: (r: number) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined);
    this.leader = { promise, resolve, reject };
  }

  /**
   * @internal A standby applies the master's change set of the next revision: visible to worker
   * threads at the next publish; on a state directory journaled like a local commit (watchers get
   * it once durable), in memory handed to watchers at once.
   */
  applyReplicated(cs: ChangeSet): void {
    if (!this.standbyOf) throw ioFailure('internal: applyReplicated on a writer that is not a standby');
    if (this.fatal) throw this.fatal;
    applyChangeSet(this.m, cs, `the replicated change set of revision ${cs.revision}`);
    const changes = revisionChangesOf(cs);
    if (this.durability) this.durability.committed(changes);
    else this.feed.publish(changes);
    this.pub.schedule();
  }

  /** @internal The master a standby defers to (for its LOCKED message). */
  noteMaster(master: string | null): void {
    if (this.standbyOf) this.standbyOf.master = master;
  }

  /** @internal A standby becomes the writer: its policies start (fresh timers), replication attaches; leadership() resolves. */
  async promote(attach: (port: ReplicationPort) => Promise<Replication>): Promise<void> {
    this.replication = await attach(this.replicationPort());
    this.standbyOf = null;
    this.startPolicies();
    this.leader?.resolve(this.m.revision);
  }

  /** @internal A standby that cannot go on (its follower fell behind, the engine refused): reported, and leadership() rejects. */
  failStandby(e: StateError): void {
    this.fatal ??= e;
    this.leader?.reject(e);
    try {
      this.onFatal?.(e);
    } catch {
      // the callback's own failure changes nothing
    }
  }

  private closers: (() => Promise<void>)[] = [];

  /** @internal Runs `fn` at close() (a standby's follower and campaign). */
  addCloser(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  /** @internal Sets where a standby reports a fatal error. */
  setOnFatal(fn: ((e: StateError) => void) | null): void {
    this.onFatal = fn;
  }

  /**
   * Resolves with the revision at which this writer became the cluster's master: at once for a
   * writer that is one; for a standby (`open({ nats, standby: true })`) when it wins the lease and
   * has taken over. Rejects when the standby had to stop.
   */
  leadership(): Promise<number> {
    this.assertOpen();
    return this.leader?.promise ?? Promise.resolve(this.m.revision);
  }

  /** Whether this writer is a standby (mutations refused until it takes over). */
  get isStandby(): boolean {
    return this.standbyOf !== null;
  }

  // ───────────────────────────── reads ─────────────────────────────

  /** Number of committed changes; starts at 0. */
  get revision(): number {
    return this.m.revision;
  }

  /** The newest revision visible to worker threads (≤ revision; equal after `await published()`). */
  get publishedRevision(): number {
    return this.pub.revision;
  }

  /** `master_id`: the registered master (this writer's nodeId when it is one), else null. */
  get masterId(): string | null {
    return this.m.masterId;
  }

  /** Epoch ms of the last commit. */
  get updatedAt(): number {
    return this.m.updatedAt;
  }

  /** Counts of nodes, tasks and content items (O(1)). */
  get counts(): Record<EntityKind, number> {
    const t = this.m.tables;
    return { nodes: t.nodes.size, tasks: t.tasks.size, content: t.content.size };
  }

  /** The node with this id (a copy), or undefined. O(1). Sees uncommitted changes inside a transaction. */
  getNode(id: string): NodeRecord | undefined {
    this.assertOpen();
    return this.m.get('nodes', checkId(id, 'node id'));
  }

  /** The task with this id (a copy), or undefined. O(1). */
  getTask(id: string): TaskRecord | undefined {
    this.assertOpen();
    return this.m.get('tasks', checkId(id, 'task id'));
  }

  /** The content item with this CID (a copy), or undefined. O(1). */
  getContent(cid: string): ContentRecord | undefined {
    this.assertOpen();
    return this.m.get('content', checkId(cid, 'cid'));
  }

  /**
   * The state as three flat Arrow tables (one row per entity; role/status/type dictionary-coded).
   * Cached per revision: calling twice without a mutation returns the same objects. The tables
   * are the writer's own immutable copy on the JS heap: they stay valid (showing their revision)
   * for as long as you hold them. Not available inside a transaction.
   */
  getTables(): Record<EntityKind, Table> {
    return this.reading().tables().tables;
  }

  /** The single-row seed layout as an Arrow Table (a heap copy), cached per revision. */
  getState(): Table {
    return this.reading().stateTable();
  }

  /**
   * A consistent, immutable view of the current revision that the helpers accept (the same
   * tables as getTables(); `release()` is a no-op for the writer's snapshots).
   */
  snapshot(): Snapshot {
    const cur = this.reading().tables();
    return { revision: cur.revision, clusterId: this.clusterId, masterId: this.m.masterId, updatedAt: this.m.updatedAt, ...cur.tables, source: 'writer', release: () => undefined };
  }

  // ─────────────────────────── change sets ───────────────────────────

  /**
   * The change sets of every revision after `afterRevision` (default: the current one), in
   * order, one per revision, without gaps or duplicates — once durable on a state directory (a
   * revision a watcher saw survives any crash), as they commit in memory. With `tables`, revisions that change none of them
   * are skipped and the others carry only those tables' changes. COMPACTED when `afterRevision`
   * is older than `history.oldestRevision`, or when this consumer falls `maxBacklog` change sets
   * behind (relist: `const s = state.snapshot(); state.watch({ afterRevision: s.revision })`).
   * `break` or an aborted `signal` ends it. See docs/changes.md.
   */
  watch(options?: WatchOptions): AsyncIterable<ChangeSet> & AsyncIterator<ChangeSet> {
    this.assertOpen();
    return this.feed.watch(options);
  }

  /** The revisions `watch({ afterRevision })` can start after: `oldestRevision` up to `newestRevision`. */
  get history(): WatchHistory {
    return this.feed.history;
  }

  // ─────────────────────────── mutations ───────────────────────────

  /**
   * Runs `fn` so that all mutations inside it form one revision, or none do: if `fn` throws,
   * every change it made is undone and the error is rethrown. `fn` must be synchronous.
   * Nested transactions roll back to their own start.
   */
  transaction<T>(fn: (state: this) => T): T {
    this.assertOpen();
    if (typeof fn !== 'function') throw invalid('transaction(fn)', fn, 'a function');
    return this.mutate(() => {
      const r = fn(this);
      if (r && typeof (r as { then?: unknown }).then === 'function') throw invalid('transaction(fn)', '[Promise]', 'a synchronous function (it returned a promise)');
      return r;
    }, true);
  }

  /** Registers a node, or updates it if the id exists (upsert; see nodes.ts). */
  registerNode(input: NodeInput): NodeRecord {
    return this.mutate(() => nodes.registerNode(this.m, input));
  }

  /** Partially updates a node (NOT_FOUND if absent); `resources` merge field by field. */
  updateNode(id: string, patch: NodeUpdate): NodeRecord {
    return this.mutate(() => nodes.updateNode(this.m, id, patch));
  }

  /** Sets a node's status (`online`, `offline`, `degraded`). Its tasks stay assigned. */
  updateNodeStatus(id: string, status: NodeRecord['status']): NodeRecord {
    return this.mutate(() => nodes.updateNodeStatus(this.m, id, status));
  }

  /** Records that a node is alive: `last_seen`, reported resources merged, `offline` → `online`. Always one revision. */
  heartbeat(id: string, resources?: NodeResourcesInput): NodeRecord {
    const rec = this.mutate(() => nodes.heartbeat(this.m, id, resources));
    this.liveness?.heardFrom(rec.id);
    return rec;
  }

  /**
   * A node's heartbeat as liveness takes it (docs/cluster.md): checked whole (NOT_FOUND,
   * INVALID_ARGUMENT) and noted at once; written at once, or — load figures only, of an online
   * node whose `last_seen` is fresher than `liveness.coalesceMs` — kept and written with the
   * others at the next tick (`coalesced: true`; visible within coalesceMs plus a tick). Without
   * the liveness option it is `heartbeat()`.
   */
  reportHeartbeat(id: string, resources?: NodeResourcesInput): HeartbeatResult {
    this.assertOpen();
    if (this.fatal) throw this.fatal;
    if (!this.liveness) {
      const rec = this.heartbeat(id, resources);
      return { revision: this.m.revision, coalesced: false, status: rec.status };
    }
    if (this.m.undo) throw invalid('reportHeartbeat()', 'inside a transaction', 'called outside transactions (a coalesced heartbeat is not part of a revision)');
    return this.liveness.report(checkId(id, 'node id'), resources);
  }

  /** Liveness and scheduler figures (null for a policy that is off). */
  policyStats(): { liveness: Liveness['counts'] | null; scheduler: Scheduler['counts'] | null } {
    return { liveness: this.liveness ? { ...this.liveness.counts } : null, scheduler: this.scheduler ? { ...this.scheduler.counts } : null };
  }

  /** Removes a node (INVALID_TRANSITION while tasks are active on it, unless `{ requeue: true }`). */
  removeNode(id: string, options: nodes.RemoveNodeOptions = {}): void {
    this.mutate(() => nodes.removeNode(this.m, id, options));
  }

  /** Adds a pending task (ALREADY_EXISTS if the id is taken). */
  addTask(input: TaskInput): TaskRecord {
    return this.mutate(() => tasks.addTask(this.m, input));
  }

  /** Assigns a pending (or re-assigns an assigned) task to a known, online, non-leecher node. */
  assignTask(taskId: string, nodeId: string): TaskRecord {
    return this.mutate(() => tasks.assignTask(this.m, taskId, nodeId));
  }

  /** Updates a task; a `status` change follows the lifecycle (lifecycle.ts). */
  updateTask(id: string, patch: TaskUpdate): TaskRecord {
    return this.mutate(() => tasks.updateTask(this.m, id, patch));
  }

  /** Removes a task (any status). */
  removeTask(id: string): void {
    this.mutate(() => tasks.removeTask(this.m, id));
  }

  /** Adds a content item; every provider must be a registered node. */
  addContent(input: ContentInput): ContentRecord {
    return this.mutate(() => content.addContent(this.m, input));
  }

  /** Updates size, pin state, replication target or the provider list (pinning stamps `pinned_at`). */
  updateContent(cid: string, patch: ContentUpdate): ContentRecord {
    return this.mutate(() => content.updateContent(this.m, cid, patch));
  }

  /** Adds a provider node to a content item (ALREADY_EXISTS if it is one already). */
  addProvider(cid: string, nodeId: string): ContentRecord {
    return this.mutate(() => content.addProvider(this.m, cid, nodeId));
  }

  /** Removes a provider from a content item (NOT_FOUND if it is not one). */
  removeProvider(cid: string, nodeId: string): ContentRecord {
    return this.mutate(() => content.removeProvider(this.m, cid, nodeId));
  }

  /** Removes a content item. */
  removeContent(cid: string): void {
    this.mutate(() => content.removeContent(this.m, cid));
  }

  // ─────────────────────────── visibility and durability ───────────────────────────

  /** Resolves with a revision once every mutation made before the call is visible to worker threads. */
  published(): Promise<number> {
    return this.pub.published();
  }

  /**
   * Resolves once the revision current at the call is durable in the state directory: its change
   * sets appended to the journal and fdatasynced, this writer's ownership checked, the journal's
   * durable mark written. Flushes are group commits (one append and one fdatasync for every
   * revision committed before it started). Rejects for an in-memory state (it has no files) and
   * with LOCKED after this writer lost its directory.
   */
  async flush(): Promise<number> {
    const d = this.files_('flush()');
    const rev = this.m.revision;
    await d.flush(rev);
    return rev;
  }

  /** Resolves once the Parquet file holds at least the revision current at the call. */
  async exportParquet(): Promise<number> {
    const d = this.files_('exportParquet()');
    await this.published();
    return d.exportParquet();
  }

  /**
   * Writes a checkpoint (the arena file) of the current revision now — after making it durable —
   * and cuts the journal behind it, keeping the configured history; resolves with its revision.
   * Checkpoints also happen on their own as the journal grows (`checkpoint` option of open).
   */
  async checkpoint(): Promise<number> {
    const d = this.files_('checkpoint()');
    await this.published();
    return d.checkpoint();
  }

  /** Where the files are, and how far they are (for a directory-backed state; else null). */
  files(): FilesInfo | null {
    return this.durability?.files() ?? null;
  }

  // ─────────────────────────── replication ───────────────────────────

  /**
   * Resolves with a revision once every mutation made before the call is acknowledged by
   * JetStream (stored by the stream — on every replica of a replicated stream; on a state
   * directory it is durable locally too, as only durable revisions are replicated). While the
   * engine is away it waits; UNAVAILABLE after `timeoutMs` (default 30,000). LOCKED when this
   * master was fenced. INVALID_ARGUMENT for a state opened without `nats`.
   */
  async replicated(options: { timeoutMs?: number } = {}): Promise<number> {
    this.assertOpen();
    const r = this.replication;
    if (!r) throw invalid('replicated()', 'a state opened without options.nats', 'called on a state opened with { nats: { servers } }');
    const o = checkOptions(options, ['timeoutMs'], 'options');
    const timeoutMs = o.timeoutMs === undefined ? 30_000 : checkInt32(o.timeoutMs, 'options.timeoutMs', 1);
    if (this.fatal) throw this.fatal;
    return r.replicated(this.m.revision, timeoutMs);
  }

  /** Replication figures (revision acknowledged, lag, bytes, snapshots), or null without `nats`. */
  replicationStats(): ReplicationStats | null {
    return this.replication?.stats() ?? null;
  }

  // ─────────────────────────── worker threads ───────────────────────────

  /**
   * A structured-cloneable handle on the shared memory, to pass to worker threads in
   * `workerData`; there `attachState(handle)` (arrow-cluster-state/worker) reads the state
   * zero-copy. The same handle stays valid as the buffer grows.
   */
  shared(): SharedHandle {
    this.assertOpen();
    return this.pub.handle();
  }

  /**
   * Watches a worker thread you started with `shared()`: when it exits, its reader pin is
   * released at once, so a crashed reader never holds memory. (An untracked thread that dies
   * holding a pin holds at most `maxRetainedBytes`: its pin is revoked like any old pin.)
   */
  trackWorker(worker: { threadId: number; once(event: 'exit', fn: () => void): unknown }): void {
    this.assertOpen();
    this.pub.trackWorker(worker);
  }

  /**
   * Shared-memory figures: buffer size, bytes in use, bytes retired but still pinned (at most
   * `retainLimitBytes` after each publish), pins revoked so far, publications (one per published
   * revision, plus one per repair), and what the scrub checked and repaired so far.
   */
  memoryStats(): MemoryStats {
    return this.pub.memoryStats(this.repair.scrubber);
  }

  /**
   * Compares every live extent of shared memory (and the header) with what this writer wrote,
   * now, and repairs what differs (copied afresh from the writer's heap copies, the same revision
   * published again). The background scrub (`scrub` option) does the same a few MB per tick.
   */
  scrubNow(): ScrubResult {
    this.assertOpen();
    return this.repair.all();
  }

  /**
   * Runs query (helper) `name` with `args` on a worker thread of the pool, over a zero-copy
   * snapshot that includes every mutation made before the call. Resolves with plain values.
   */
  async query(name: string, ...args: unknown[]): Promise<unknown> {
    this.assertOpen();
    const call = checkQueryCall(name, args); // INVALID_ARGUMENT before anything is posted
    await this.published();
    this.pool ??= new QueryPool(this.shared(), (tid) => this.pub.publisher.releaseThread(tid), { threads: this.queryThreads });
    return this.pool.run(call.name, call.args);
  }

  /**
   * Stops the writer: publishes and (for a directory) flushes the last revision, exports the
   * Parquet file, releases the lock and stops the workers. Further calls fail with CLOSED.
   * Idempotent. Rejects if the final flush or export failed (the lock is released regardless).
   */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    let err: unknown = null;
    // A standby stops following first: nothing is applied to a state being closed.
    for (const fn of this.closers.splice(0)) await fn().catch(() => undefined);
    try {
      if (!this.m.undo) this.publishNow();
    } catch (e) {
      err = e;
    }
    try {
      await this.durability?.close();
    } catch (e) {
      err ??= e;
    }
    try {
      await this.replication?.close(CLOSE_REPLICATION_MS);
    } catch (e) {
      err ??= e;
    }
    this.closedFlag = true;
    this.liveness?.stop();
    this.scheduler?.stop();
    this.leader?.reject(closed('cluster state'));
    this.feed.close();
    this.repair.stop();
    this.pub.close();
    const pool = this.pool;
    this.pool = null;
    await pool?.close();
    if (err) throw err;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  // ─────────────────────────── internals ───────────────────────────

  private assertOpen(): void {
    if (this.closedFlag) throw closed('cluster state');
  }

  /** One atomic change: refused after a fatal error; a commit hands its changes on and schedules a publish. */
  private mutate<T>(fn: () => T, isTransaction = false): T {
    this.assertOpen();
    if (this.fatal) throw this.fatal;
    if (this.standbyOf) throw locked(`this writer (${show(this.nodeId)}) is a standby of cluster ${show(this.clusterId)}, mastered by ${show(this.standbyOf.master)}: mutations go to the master (or to this writer once leadership() resolves)`);
    return atomically(this.m, fn, (changes) => this.onCommit(changes), isTransaction);
  }

  private onCommit(changes: RevisionChanges): void {
    this.liveness?.committed(changes);
    this.scheduler?.committed(changes);
    // With a state directory, watchers get a revision once it is durable (so that no revision a
    // watcher saw can be lost or change content in a crash); in memory, as it commits.
    if (this.durability) this.durability.committed(changes);
    else this.feed.publish(changes);
    this.pub.schedule();
  }

  /** @internal Publishes now, synchronously (benchmarks and tests measure the publish path). */
  publishNow(): void {
    this.pub.publishNow();
    this.repair.start();
  }

  /**
   * The publishing layer for reads of committed revisions. Refused inside a transaction: a
   * snapshot is a committed, immutable revision and a transaction's changes may still roll back;
   * helpers over the last committed revision would not see the transaction's own changes (a
   * placement would double-book), so neither is offered.
   */
  private reading(): Publishing {
    this.assertOpen();
    if (this.m.undo) {
      throw invalid('getTables()/getState()/snapshot() (and helpers given the writer)', 'inside a transaction',
        'called outside transactions: a snapshot is a committed revision and this transaction\'s changes are not committed yet; inside, read them with getNode/getTask/getContent');
    }
    return this.pub;
  }

  private files_(what: string): Durability {
    this.assertOpen();
    if (!this.durability) throw invalid(what, 'an in-memory state', 'called on a state opened with a statePath (an in-memory state has no files)');
    return this.durability;
  }
}

/** Splits `nats` and `replication` off open's options; null without `nats` (a `replication` alone is refused). */
function splitReplicationOptions(opts: unknown): { nats: unknown; replication: unknown; standby: unknown; rest: Record<string, unknown> } | null {
  if (!opts || typeof opts !== 'object') return null;
  const o = opts as Record<string, unknown>;
  const has = (k: string) => Object.prototype.hasOwnProperty.call(o, k) && o[k] !== undefined;
  if (!has('nats')) {
    if (has('replication')) throw invalid('options.replication', o.replication, 'absent without options.nats (replication needs a NATS server)');
    if (has('standby')) throw invalid('options.standby', o.standby, 'absent without options.nats (a standby follows the master through NATS)');
    return null;
  }
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!(REPLICATION_OPTION_KEYS as readonly string[]).includes(k)) rest[k] = v;
  return { nats: o.nats, replication: o.replication, standby: o.standby, rest };
}
