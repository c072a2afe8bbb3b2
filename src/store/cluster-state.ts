/**
 * `ClusterState`: the one authoritative writer. Mutations are synchronous, validate completely
 * before changing anything, and either apply whole (revision + 1) or throw a `StateError`
 * leaving state and revision exactly as they were. The state is held columnar (see
 * entity-table.ts) in a shared arena; publishing to worker threads is coalesced to at most once
 * per turn of the event loop.
 */
import type { Table } from 'apache-arrow';
import { StringDictionary } from '../arrow/encode/dictionary.js';
import { singleRowTable } from '../arrow/encode/single-row.js';
import { alreadyExists, badTransition, closed, invalid, notFound, StateError, unreadable } from '../errors.js';
import { ENTITIES, ENTITY_KINDS, type EntityKind, type NodeRole } from '../schema/entities.js';
import type {
  ContentInput, ContentRecord, ContentUpdate, NodeInput, NodeRecord, NodeResourcesInput, NodeUpdate, TaskInput,
  TaskRecord, TaskUpdate,
} from '../schema/records.js';
import { SCHEMA_VERSION } from '../schema/state-schema.js';
import { Arena } from '../shm/arena.js';
import type { Directory, DirTable } from '../arena/directory.js';
import { Publisher } from '../shm/publisher.js';
import { DEFAULT_SCRUB_BYTES_PER_TICK, DEFAULT_SCRUB_INTERVAL_MS, Scrubber, type ScrubOptions, type ScrubResult, type ScrubTarget } from '../shm/scrub.js';
import { EXTENT_ALIGN, HEADER_BYTES, LAYOUT_VERSION, MAX_SHARED_BYTES } from '../shm/layout.js';
import { align } from '../arena/free-list.js';
import { checkQueryCall } from '../pool/queries.js';
import type { SharedHandle } from '../shm/reader.js';
import { QueryPool } from '../pool/pool.js';
import type { Snapshot } from '../snapshot.js';
import {
  mergeNodeResources, newContentRecord, newNodeRecordFrom, newTaskRecord, nodeFields,
  nodeResourcesPatch, taskCidFields, taskResources,
} from '../validate/inputs.js';
import { parseSize } from '../validate/size.js';
import {
  checkBool, checkId, checkIdList, checkInt32, checkJson, checkKeys, checkObject, checkOneOf, checkOptions, checkSignedInt32, MAX_TIME_MS,
  checkText, jsonText,
} from '../validate/values.js';
import { NODE_STATUSES, TASK_STATUSES } from '../schema/entities.js';
import { EntityTable, type Row, type Undo } from './entity-table.js';
import { canTransition, isActive, transitionHint } from './lifecycle.js';
import { activeByNode } from './restore.js';
import { PrefixCache } from './prefixes.js';
import type { StoreInternals } from './restore.js';
import type { CommitContent } from '../persist/arena-writer.js';
import type { StateDirectory } from '../persist/state-dir.js';
import type { MirrorOptions } from '../persist/parquet-mirror.js';

/** Options of `ClusterState.inMemory`. */
export interface InMemoryOptions {
  clusterId: string;
  /** This writer's own node id: preferred as `master_id` when registered as a master. */
  nodeId?: string;
  /**
   * Clock (epoch ms); for tests. Defaults to Date.now. Read once per mutation, when it starts
   * (each mutation inside a transaction reads its own; a revision's `updatedAt` is its latest
   * reading, never read again at commit). Each reading must be a finite number in
   * [0, 8.64e15] (the Date range); a fractional reading is floored to whole ms (so
   * `performance.timeOrigin + performance.now()` works). A reading outside that, or a clock that
   * throws, fails the mutation with INVALID_ARGUMENT naming the value; the state and revision
   * are unchanged.
   */
  clock?: () => number;
  /** Initial size of the shared buffer in bytes (it grows as needed). */
  initialSharedBytes?: number;
  /**
   * Upper bound of the shared buffer in bytes: a whole number from the initial size up to 2^32
   * (4 GiB, the default and the maximum of a growable SharedArrayBuffer on Node 20).
   */
  maxSharedBytes?: number;
  /** Worker threads of the query pool (default: cores - 1, at least 1). */
  queryThreads?: number;
  /**
   * Shared memory that superseded extents may keep for readers' old snapshots (bytes; default
   * max(64 MiB, the live state's bytes)). Beyond it the oldest pins are revoked: those snapshots
   * throw COMPACTED on their next access, and their memory is reused. A pin never expires by age.
   */
  maxRetainedBytes?: number;
  /**
   * The background scrub of shared memory (a reader that writes into its snapshot's views damages
   * what others read): every `intervalMs` (default 250) it compares up to `bytesPerTick` (default
   * 4 MiB) of the live extents with the writer's heap copies and republishes damaged ones. `false`
   * turns it off (`scrubNow()` still works).
   */
  scrub?: ScrubOptions | false;
}

/** Options of `ClusterState.open`. */
export interface OpenOptions extends Omit<InMemoryOptions, 'clusterId'> {
  /** The state directory (created if missing). */
  statePath: string;
  /** Required for a new directory; for an existing one it must match (or be omitted). */
  clusterId?: string;
  /** A lock not refreshed for this long is taken over (ms, at least 2000; default 10000). */
  lockStaleMs?: number;
  /** How long to wait for another writer's lock before LOCKED (ms, default 0). */
  lockWaitMs?: number;
  /** Parquet mirror settings, or false for none. */
  parquet?: MirrorOptions | false;
  /** Move damaged state files aside and start empty instead of refusing with CORRUPT. */
  startFresh?: boolean;
  /**
   * Called once if the writer must stop (its lock was compromised: another process took it, or
   * it was deleted). Every later mutation and flush fails with that LOCKED error; it is also
   * written to stderr.
   */
  onFatal?: (err: StateError) => void;
  /**
   * When the newest meta slot is damaged although state_metadata.json shows its revision was
   * durable, continue from the older slot (losing the revisions after it) instead of CORRUPT.
   */
  recoverOlder?: boolean;
  /**
   * Freed space in the arena file stays unused this long (ms, default 1000), so that a reader in
   * another process that reads a revision within it is never torn (a checksum catches one that is).
   */
  readerGraceMs?: number;
}

/** Options of `removeNode`. */
export interface RemoveNodeOptions {
  /** Put the node's assigned and running tasks back to pending instead of refusing. */
  requeue?: boolean;
}

/** Options that no longer exist get an answer saying what replaced them (before the unknown-key check). */
export function refuseRetiredOptions(opts: unknown): void {
  let retired = false;
  try {
    retired = !!opts && typeof opts === 'object' && Object.prototype.hasOwnProperty.call(opts, 'pinTimeoutMs');
  } catch {
    return; // an unreadable object: checkOptions says so
  }
  if (retired) throw invalid('options.pinTimeoutMs', '(given)', 'absent: pins no longer expire by age (a live reader is never treated as dead); options.maxRetainedBytes bounds the memory old snapshots may hold instead');
}

/**
 * The keys `ClusterState.inMemory` (and the constructor) accept; any other key is
 * INVALID_ARGUMENT naming it (checkOptions). Add a new option here and to InMemoryOptions.
 */
export const IN_MEMORY_OPTION_KEYS = [
  'clusterId', 'nodeId', 'clock', 'initialSharedBytes', 'maxSharedBytes', 'queryThreads', 'maxRetainedBytes', 'scrub',
] as const satisfies readonly (keyof InMemoryOptions)[];

/**
 * The keys `ClusterState.open` accepts beyond IN_MEMORY_OPTION_KEYS; `open` passes its options
 * through to the constructor, which accepts these too when called from `open`.
 */
export const OPEN_OPTION_KEYS = [
  'statePath', 'lockStaleMs', 'lockWaitMs', 'parquet', 'startFresh', 'onFatal', 'recoverOlder', 'readerGraceMs',
] as const satisfies readonly (keyof OpenOptions)[];


const REMOVE_NODE_OPTION_KEYS = ['requeue'] as const satisfies readonly (keyof RemoveNodeOptions)[];
const DEFAULT_SHARED_BYTES = 1 << 20;

/** `options.maxSharedBytes`: a whole number from the initial size (as the arena rounds it) to 2^32. */
function checkMaxSharedBytes(value: unknown, initialBytes: number | undefined): number {
  const min = Math.max(HEADER_BYTES + EXTENT_ALIGN, align(initialBytes ?? 0));
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_SHARED_BYTES) {
    throw invalid('options.maxSharedBytes', value, `a whole number of bytes from ${min}${initialBytes === undefined ? '' : ' (options.initialSharedBytes, rounded up)'} to ${MAX_SHARED_BYTES} (4 GiB)`);
  }
  return value;
}

const TASK_UPDATE_KEYS = [
  'status', 'assigned_to', 'result', 'error', 'priority', 'payload', 'resources',
  'input_cid', 'output_cid', 'input_cids', 'output_cids',
] as const;
const CONTENT_UPDATE_KEYS = ['size', 'pinned', 'replication', 'providers'] as const;

export class ClusterState {
  readonly clusterId: string;
  /** This writer's own node id, if given. */
  readonly nodeId: string | null;
  private readonly clock: () => number;
  /** The clock reading of the mutation in progress (read once, at its start), else null. */
  private mutationNow: number | null = null;
  /** The latest clock reading of the revision in progress (its commit time), else null. */
  private revisionNow: number | null = null;
  private readonly dicts = new Map<number, StringDictionary>();
  private readonly tables: Record<EntityKind, EntityTable>;
  protected readonly arena: Arena;
  protected readonly publisher: Publisher;
  private readonly prefixes: PrefixCache;
  private version = 0;
  private _revision = 0;
  private _updatedAt: number;
  private _masterId: string | null = null;
  /** Active (assigned or running) task ids per node. */
  private readonly active = new Map<string, Set<string>>();
  private undoLog: Undo[] | null = null;
  private closedFlag = false;
  private cache: { revision: number; tables: Record<EntityKind, Table> } | null = null;
  private stateCache: { revision: number; table: Table } | null = null;
  private publishScheduled = false;
  private waiters: { revision: number; resolve: (r: number) => void; reject: (e: unknown) => void }[] = [];
  private publishError: unknown = null;
  /** The state directory when opened with a statePath. */
  protected dir: StateDirectory | null = null;
  private lastContent: CommitContent | null = null;
  private fatal: StateError | null = null;
  private pool: QueryPool | null = null;
  private readonly queryThreads: number | undefined;
  private readonly scrubber: Scrubber;
  private readonly scrubSettings: Required<ScrubOptions> | null;
  private scrubTimer: NodeJS.Timeout | null = null;

  /**
   * `extraKeys`: option keys accepted besides IN_MEMORY_OPTION_KEYS (ClusterState.open passes
   * OPEN_OPTION_KEYS, whose values it validates itself). Every other key is INVALID_ARGUMENT.
   */
  protected constructor(opts: InMemoryOptions, publishInitial = true, extraKeys: readonly string[] = []) {
    refuseRetiredOptions(opts);
    const o = checkOptions(opts, [...IN_MEMORY_OPTION_KEYS, ...extraKeys], 'options', false);
    this.clusterId = checkId(o.clusterId, 'options.clusterId');
    this.nodeId = o.nodeId === undefined ? null : checkId(o.nodeId, 'options.nodeId');
    if (o.clock !== undefined && typeof o.clock !== 'function') throw invalid('options.clock', o.clock, 'a function');
    this.clock = (o.clock as () => number) ?? Date.now;
    this.queryThreads = o.queryThreads === undefined ? undefined : checkInt32(o.queryThreads, 'options.queryThreads', 1);
    const initialBytes = o.initialSharedBytes === undefined ? undefined : checkInt32(o.initialSharedBytes, 'options.initialSharedBytes');
    const maxBytes = o.maxSharedBytes === undefined ? undefined : checkMaxSharedBytes(o.maxSharedBytes, initialBytes);
    this._updatedAt = this.readClock();
    for (const kind of ENTITY_KINDS) {
      for (const c of ENTITIES[kind].columns) {
        if (c.kind === 'dict') this.dicts.set(c.dictId!, new StringDictionary(c.dictId!, c.values ?? [], c.indexBits ?? 8));
      }
    }
    const ctx = { dictionary: (id: number) => this.dicts.get(id)!, nextVersion: () => ++this.version };
    this.tables = { nodes: new EntityTable(ENTITIES.nodes, ctx), tasks: new EntityTable(ENTITIES.tasks, ctx), content: new EntityTable(ENTITIES.content, ctx) };
    this.arena = new Arena(initialBytes ?? Math.min(DEFAULT_SHARED_BYTES, maxBytes ?? MAX_SHARED_BYTES), maxBytes);
    this.publisher = new Publisher(this.arena);
    if (o.maxRetainedBytes !== undefined) {
      const m = o.maxRetainedBytes;
      if (typeof m !== 'number' || !Number.isSafeInteger(m) || m <= 0) throw invalid('options.maxRetainedBytes', m, 'a positive integer number of bytes');
      this.publisher.maxRetainedBytes = m;
    }
    this.scrubSettings = checkScrubOptions(o.scrub);
    this.prefixes = new PrefixCache(this.arena, (e) => this.publisher.retire(e), () => ++this.version);
    this.scrubber = new Scrubber({
      sab: this.arena.sab,
      targets: () => this.scrubTargets(),
      liveKeys: () => new Set(this.scrubTargets().map((t) => t.key)),
      damagedHeaderSlot: () => this.publisher.damagedHeaderSlot(),
      repair: (damaged, header) => this.repair(damaged, header),
    });
    if (publishInitial) this.publishNow();
  }

  /**
   * Opens (or creates) the state directory `statePath` as its one writer: takes the directory
   * lock (LOCKED if another writer holds it), sweeps a crash's temp files, recovers the newest
   * durable revision from the arena file (or imports a seed-layout Parquet file, e.g. written by
   * pyarrow), and from then on flushes every published revision (group commit) and mirrors it
   * to Parquet. A damaged file is never replaced by an empty state: CORRUPT, unless
   * `startFresh` moves the damaged files aside.
   */
  static async open(opts: OpenOptions): Promise<ClusterState> {
    const { openStateDirectory } = await import('../persist/open.js');
    return openStateDirectory(opts, (o) => new ClusterState(o, false));
  }

  /** A state held in memory only (no files): for tests, fixtures and embedded use. */
  static inMemory(opts: InMemoryOptions): ClusterState {
    return new ClusterState(opts);
  }

  // ───────────────────────────── reads ─────────────────────────────

  /** Number of committed changes; starts at 0. */
  get revision(): number {
    return this._revision;
  }

  /** The newest revision visible to worker threads (≤ revision; equal after `await published()`). */
  get publishedRevision(): number {
    return this.publisher.publishedRevision;
  }

  /** `master_id`: the registered master (this writer's nodeId when it is one), else null. */
  get masterId(): string | null {
    return this._masterId;
  }

  /** Epoch ms of the last commit. */
  get updatedAt(): number {
    return this._updatedAt;
  }

  /** Counts of nodes, tasks and content items (O(1)). */
  get counts(): Record<EntityKind, number> {
    return { nodes: this.tables.nodes.size, tasks: this.tables.tasks.size, content: this.tables.content.size };
  }

  /** The node with this id (a copy), or undefined. O(1). Sees uncommitted changes inside a transaction. */
  getNode(id: string): NodeRecord | undefined {
    this.assertOpen();
    return this.tables.nodes.get(checkId(id, 'node id')) as NodeRecord | undefined;
  }

  /** The task with this id (a copy), or undefined. O(1). */
  getTask(id: string): TaskRecord | undefined {
    this.assertOpen();
    return this.tables.tasks.get(checkId(id, 'task id')) as TaskRecord | undefined;
  }

  /** The content item with this CID (a copy), or undefined. O(1). */
  getContent(cid: string): ContentRecord | undefined {
    this.assertOpen();
    return this.tables.content.get(checkId(cid, 'cid')) as ContentRecord | undefined;
  }

  /**
   * The state as three flat Arrow tables (one row per entity; role/status/type dictionary-coded).
   * Cached per revision: calling twice without a mutation returns the same objects. The tables
   * are the writer's own immutable copy on the JS heap: they stay valid (showing their revision)
   * for as long as you hold them. Not available inside a transaction.
   */
  getTables(): Record<EntityKind, Table> {
    return this.currentTables().tables;
  }

  /** The single-row seed layout as an Arrow Table (a heap copy), cached per revision. */
  getState(): Table {
    this.assertOpen();
    if (this.undoLog) throw this.insideTransaction();
    if (this.stateCache?.revision === this._revision) return this.stateCache.table;
    const t = this.currentTables().tables;
    const table = singleRowTable({ clusterId: this.clusterId, masterId: this._masterId, updatedAt: this._updatedAt, ...t });
    this.stateCache = { revision: this._revision, table };
    return table;
  }

  /**
   * A consistent, immutable view of the current revision that the helpers accept (the same
   * tables as getTables(); `release()` is a no-op for the writer's snapshots).
   */
  snapshot(): Snapshot {
    const cur = this.currentTables();
    return {
      revision: cur.revision,
      clusterId: this.clusterId,
      masterId: this._masterId,
      updatedAt: this._updatedAt,
      ...cur.tables,
      source: 'writer',
      release: () => undefined,
    };
  }

  // ─────────────────────────── transactions ───────────────────────────

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
      if (r && typeof (r as { then?: unknown }).then === 'function') {
        throw invalid('transaction(fn)', '[Promise]', 'a synchronous function (it returned a promise)');
      }
      return r;
    }, true);
  }

  // ────────────────────────────── nodes ──────────────────────────────

  /**
   * Registers a node, or updates it if the id exists (upsert): given fields replace, omitted
   * ones keep their values, `resources` merge field by field, the node's task assignments are
   * kept, `status` becomes the given one or `online`, and `last_seen` is refreshed.
   */
  registerNode(input: NodeInput): NodeRecord {
    return this.mutate(() => {
      const now = this.now();
      const f = nodeFields(checkObject(input, 'node'), 'node', false); // one read of the input, validated whole
      const fresh = newNodeRecordFrom(f, now);
      const old = this.tables.nodes.get(fresh.id) as NodeRecord | undefined;
      let rec: NodeRecord;
      if (!old) {
        rec = fresh;
        this.tables.nodes.insert(rec as unknown as Row);
      } else {
        rec = {
          ...old,
          role: fresh.role,
          status: fresh.status,
          peers: f.peers ?? old.peers,
          capabilities: f.capabilities ?? old.capabilities,
          resources: f.resources ? mergeNodeResources(old.resources, f.resources, 'node.resources') : old.resources,
          address: f.address !== undefined ? f.address : old.address,
          metadata: f.metadata !== undefined ? f.metadata : old.metadata,
          last_seen: now,
        };
        this.checkRoleChange(old, rec.role);
        this.tables.nodes.update(rec.id, rec as unknown as Row);
      }
      this.followMaster(rec.id);
      return rec;
    });
  }

  /** Partially updates a node (NOT_FOUND if absent); `resources` merge field by field. */
  updateNode(id: string, patch: NodeUpdate): NodeRecord {
    return this.mutate(() => {
      const old = this.requireNode(id);
      const f = nodeFields(checkObject(patch, 'patch'), 'patch', true);
      const rec: NodeRecord = {
        ...old,
        ...(f.role !== undefined ? { role: f.role } : {}),
        ...(f.status !== undefined ? { status: f.status } : {}),
        ...(f.peers !== undefined ? { peers: f.peers } : {}),
        ...(f.capabilities !== undefined ? { capabilities: f.capabilities } : {}),
        ...(f.address !== undefined ? { address: f.address } : {}),
        ...(f.metadata !== undefined ? { metadata: f.metadata } : {}),
        resources: f.resources ? mergeNodeResources(old.resources, f.resources, 'patch.resources') : old.resources,
      };
      if (rec.peers.includes(rec.id)) throw invalid('patch.peers', rec.id, 'other nodes (a node is not its own peer)');
      this.checkRoleChange(old, rec.role);
      this.tables.nodes.update(rec.id, rec as unknown as Row);
      this.followMaster(rec.id);
      return rec;
    });
  }

  /** Sets a node's status (`online`, `offline`, `degraded`). Its tasks stay assigned. */
  updateNodeStatus(id: string, status: NodeRecord['status']): NodeRecord {
    return this.mutate(() => {
      this.requireNode(id);
      if (status === undefined) throw invalid('patch.status', status, `one of ${NODE_STATUSES.map((x) => JSON.stringify(x)).join(', ')}`);
      return this.updateNode(id, { status });
    });
  }

  /**
   * Records that a node is alive: refreshes `last_seen`, optionally merges reported resources
   * (e.g. `{ cpu_load, memory_available }`), and brings an `offline` node back `online`.
   */
  heartbeat(id: string, resources?: NodeResourcesInput): NodeRecord {
    return this.mutate(() => {
      const old = this.requireNode(id);
      const patch = resources === undefined ? undefined : nodeResourcesPatch(resources, 'resources');
      const rec: NodeRecord = {
        ...old,
        status: old.status === 'offline' ? 'online' : old.status,
        resources: patch ? mergeNodeResources(old.resources, patch) : old.resources,
        last_seen: this.now(),
      };
      this.tables.nodes.update(rec.id, rec as unknown as Row);
      return rec;
    });
  }

  /**
   * Removes a node. Refuses (INVALID_TRANSITION) while tasks are assigned to or running on it,
   * unless `{ requeue: true }`, which puts them back to pending. The node is also removed from
   * the provider lists of content; `master_id` moves to another master or becomes null.
   */
  removeNode(id: string, options: RemoveNodeOptions = {}): void {
    this.mutate(() => {
      this.requireNode(id);
      const o = checkOptions(options, REMOVE_NODE_OPTION_KEYS, 'options');
      const requeue = o.requeue === undefined ? false : checkBool(o.requeue, 'options.requeue');
      const tasks = [...(this.active.get(id) ?? [])];
      if (tasks.length && !requeue) {
        throw badTransition('node', id, 'registered', 'removed', `${tasks.length} task(s) are assigned to it (${tasks.slice(0, 3).join(', ')}${tasks.length > 3 ? ', ...' : ''}); pass { requeue: true }`);
      }
      const now = this.now();
      for (const t of tasks) this.writeTask(this.tables.tasks.get(t) as unknown as TaskRecord, { status: 'pending', assigned_to: null, started_at: null, updated_at: now });
      for (const cid of this.contentProvidedBy(id)) {
        const c = this.tables.content.get(cid) as unknown as ContentRecord;
        this.tables.content.update(cid, { ...c, providers: c.providers.filter((p) => p !== id) } as unknown as Row);
      }
      this.tables.nodes.remove(id);
      this.followMaster(id);
    });
  }

  // ────────────────────────────── tasks ──────────────────────────────

  /** Adds a pending task (ALREADY_EXISTS if the id is taken). */
  addTask(input: TaskInput): TaskRecord {
    return this.mutate(() => {
      const rec = newTaskRecord(input, this.now());
      if (this.tables.tasks.has(rec.id)) throw alreadyExists('task', rec.id);
      const dict = this.dicts.get(2)!;
      if (!dict.canCode(rec.type)) throw invalid('task.type', rec.type, `one of the ${dict.size} known types (the type dictionary is full)`);
      this.tables.tasks.insert(rec as unknown as Row);
      return rec;
    });
  }

  /**
   * Assigns a pending (or re-assigns an assigned) task to a known, online node that is not a
   * leecher. Status becomes `assigned`.
   */
  assignTask(taskId: string, nodeId: string): TaskRecord {
    return this.mutate(() => {
      const task = this.requireTask(taskId);
      const node = this.requireNode(nodeId);
      this.checkAssignable(task, node);
      return this.writeTask(task, { status: 'assigned', assigned_to: node.id, updated_at: this.now() });
    });
  }

  /**
   * Updates a task. A `status` change follows the lifecycle (lifecycle.ts): entering `running`
   * stamps `started_at` and counts an attempt; `completed`/`failed` straight from `assigned` do
   * the same (the task ran); `completed`/`failed`/`cancelled` stamp `completed_at`; `pending`
   * clears the assignment and the stamps.
   */
  updateTask(id: string, patch: TaskUpdate): TaskRecord {
    return this.mutate(() => {
      const task = this.requireTask(id);
      const p = checkObject(patch, 'patch');
      checkKeys(p, TASK_UPDATE_KEYS, 'patch');
      const now = this.now();
      const next: Partial<TaskRecord> = { updated_at: now, ...taskCidFields(p, 'patch') };
      if (p.result !== undefined) next.result = checkJson(p.result, 'patch.result');
      if (next.result !== undefined && next.result !== null) jsonText(next.result, 'patch.result');
      if (p.payload !== undefined) next.payload = checkJson(p.payload, 'patch.payload');
      if (next.payload !== undefined && next.payload !== null) jsonText(next.payload, 'patch.payload');
      if (p.error !== undefined) next.error = checkText(p.error, 'patch.error');
      if (p.priority !== undefined) next.priority = checkSignedInt32(p.priority, 'patch.priority');
      if (p.resources !== undefined) next.resources = taskResources(p.resources, 'patch.resources') ?? { cpu_cores: null, gpu_cores: null, memory_mb: null };
      const to = p.status === undefined ? task.status : checkOneOf(p.status, TASK_STATUSES, 'patch.status');
      let assignee = task.assigned_to;
      if (p.assigned_to !== undefined) assignee = p.assigned_to === null ? null : checkId(p.assigned_to, 'patch.assigned_to');
      if (to !== task.status && !canTransition(task.status, to)) throw badTransition('task', id, task.status, to, transitionHint(task.status));
      if (to === 'assigned') {
        if (assignee === null) throw invalid('patch.assigned_to', null, 'a node id when the status is assigned');
        if (assignee !== task.assigned_to || task.status !== 'assigned') this.checkAssignable(task, this.requireNode(assignee));
        next.assigned_to = assignee;
      } else if (to === 'pending') {
        if (p.assigned_to !== undefined && assignee !== null) throw invalid('patch.assigned_to', assignee, 'null when the status is pending');
        next.assigned_to = null;
        next.started_at = null;
        next.completed_at = null;
      } else if (p.assigned_to !== undefined && assignee !== task.assigned_to) {
        throw new StateError('INVALID_TRANSITION', `task ${JSON.stringify(id)} is ${task.status}: its node (assigned_to ${JSON.stringify(assignee)}) can only change while it is assigned (assign it, or requeue it to pending)`);
      }
      const seconds = now / 1000;
      if (to !== task.status) {
        if (to === 'running' || ((to === 'completed' || to === 'failed') && task.status === 'assigned')) {
          next.started_at = seconds;
          next.attempts = task.attempts + 1;
        }
        if (to === 'completed' || to === 'failed' || to === 'cancelled') next.completed_at = seconds;
        next.status = to;
      }
      return this.writeTask(task, next);
    });
  }

  /** Removes a task (any status). */
  removeTask(id: string): void {
    this.mutate(() => {
      const task = this.requireTask(id);
      if (isActive(task.status) && task.assigned_to) this.active.get(task.assigned_to)?.delete(id);
      const undoNode = task.assigned_to;
      this.undoLog!.push(() => {
        if (isActive(task.status) && undoNode) this.activeSet(undoNode).add(id);
      });
      this.tables.tasks.remove(id);
    });
  }

  // ───────────────────────────── content ─────────────────────────────

  /** Adds a content item; every provider must be a registered node. */
  addContent(input: ContentInput): ContentRecord {
    return this.mutate(() => {
      const rec = newContentRecord(input, this.now());
      if (this.tables.content.has(rec.cid)) throw alreadyExists('content', rec.cid);
      for (const p of rec.providers) this.requireNode(p, 'provider node');
      this.tables.content.insert(rec as unknown as Row);
      return rec;
    });
  }

  /**
   * Updates size, pin state, replication target or the whole provider list. Pinning stamps
   * `pinned_at`; unpinning clears it.
   */
  updateContent(cid: string, patch: ContentUpdate): ContentRecord {
    return this.mutate(() => {
      const old = this.requireContent(cid);
      const p = checkObject(patch, 'patch');
      checkKeys(p, CONTENT_UPDATE_KEYS, 'patch');
      const rec: ContentRecord = { ...old };
      if (p.size !== undefined) rec.size = parseSize(p.size, 'patch.size');
      if (p.replication !== undefined) rec.replication = checkInt32(p.replication, 'patch.replication');
      if (p.providers !== undefined) {
        rec.providers = checkIdList(p.providers, 'patch.providers');
        for (const n of rec.providers) this.requireNode(n, 'provider node');
      }
      if (p.pinned !== undefined) {
        rec.pinned = checkBool(p.pinned, 'patch.pinned');
        if (rec.pinned && !old.pinned) rec.pinned_at = this.now();
        if (!rec.pinned) rec.pinned_at = null;
      }
      this.tables.content.update(cid, rec as unknown as Row);
      return rec;
    });
  }

  /** Adds a provider node to a content item (ALREADY_EXISTS if it is one already). */
  addProvider(cid: string, nodeId: string): ContentRecord {
    return this.mutate(() => {
      const old = this.requireContent(cid);
      const node = this.requireNode(nodeId, 'provider node');
      if (old.providers.includes(node.id)) throw alreadyExists(`provider of ${JSON.stringify(cid)}`, node.id);
      const rec = { ...old, providers: [...old.providers, node.id] };
      this.tables.content.update(cid, rec as unknown as Row);
      return rec;
    });
  }

  /** Removes a provider from a content item (NOT_FOUND if it is not one). */
  removeProvider(cid: string, nodeId: string): ContentRecord {
    return this.mutate(() => {
      const old = this.requireContent(cid);
      const id = checkId(nodeId, 'provider node id');
      if (!old.providers.includes(id)) throw notFound(`provider of ${JSON.stringify(cid)}`, id);
      const rec = { ...old, providers: old.providers.filter((p) => p !== id) };
      this.tables.content.update(cid, rec as unknown as Row);
      return rec;
    });
  }

  /** Removes a content item. */
  removeContent(cid: string): void {
    this.mutate(() => {
      this.requireContent(cid);
      this.tables.content.remove(cid);
    });
  }

  // ─────────────────────────── visibility ───────────────────────────

  /**
   * Resolves with a revision once every mutation made before the call is visible to worker
   * threads (published to shared memory).
   */
  published(): Promise<number> {
    if (this.closedFlag) return Promise.reject(closed('cluster state'));
    if (this.publishError) return Promise.reject(this.publishError);
    if (this.publisher.publishedRevision >= this._revision) return Promise.resolve(this.publisher.publishedRevision);
    return new Promise((resolve, reject) => {
      this.waiters.push({ revision: this._revision, resolve, reject });
      this.schedulePublish();
    });
  }

  /**
   * Resolves once the revision current at the call is durable in the state directory (written
   * to the arena file and fdatasynced, meta slot included). Flushes are group commits: one in
   * flight at a time, each covering every revision published before it started. Rejects for an
   * in-memory state (it has no files) and with LOCKED after the lock was compromised.
   */
  async flush(): Promise<number> {
    this.assertOpen();
    const dir = this.requireDir('flush()');
    const rev = await this.published();
    await dir.flush(rev);
    return rev;
  }

  /** Resolves once the Parquet file holds at least the revision current at the call. */
  async exportParquet(): Promise<number> {
    this.assertOpen();
    const dir = this.requireDir('exportParquet()');
    if (!dir.mirror) throw invalid('exportParquet()', 'parquet: false', 'a state opened with a Parquet mirror');
    await this.published();
    return dir.mirror.exportNow();
  }

  /** Where the files are, and how far they are (for a directory-backed state; else null). */
  files(): { dir: string; arena: string; parquet: string; durableRevision: number; parquetRevision: number; fileBytes: number; liveBytes: number; compactions: number; parquetBytes: number; parquetWasmBytes: number } | null {
    const d = this.dir;
    if (!d) return null;
    return {
      dir: d.dir, arena: d.arenaPath, parquet: d.parquetPath, durableRevision: d.durableRevision,
      parquetRevision: d.mirror?.revision ?? -1, fileBytes: d.fileBytes, liveBytes: d.liveBytes, compactions: d.compactions,
      parquetBytes: d.mirror?.fileBytes ?? 0, parquetWasmBytes: d.mirror?.wasmBytes ?? 0,
    };
  }

  /** @internal What the persistence layer needs to restore and persist this state. */
  internals(): StoreInternals & { attach(dir: StateDirectory): void; content(): CommitContent; activeRebuild(): void; publish(): void; fail(e: StateError): void } {
    return {
      tables: this.tables,
      dicts: this.dicts,
      arena: this.arena,
      raiseVersion: (v) => {
        this.version = Math.max(this.version, v);
      },
      setHead: (revision, updatedAt, masterId) => {
        this._revision = revision;
        this._updatedAt = updatedAt;
        this._masterId = masterId;
      },
      attach: (dir) => {
        this.dir = dir;
        this.lastContent = this.commitContent();
        // An export that finds a damaged extent asks for a repair before it retries.
        dir.mirror?.setRepair(() => void this.scrubber.all());
      },
      content: () => this.lastContent ?? this.commitContent(),
      activeRebuild: () => {
        this.materialize();
        this.active.clear();
        for (const [k, v] of activeByNode(this.tables.tasks.table())) this.active.set(k, v);
      },
      publish: () => this.publishNow(),
      fail: (e) => {
        this.fatal = e;
      },
    };
  }

  /**
   * A structured-cloneable handle on the shared memory, to pass to worker threads in
   * `workerData`; there `attachState(handle)` (arrow-cluster-state/worker) reads the state
   * zero-copy. The same handle stays valid as the buffer grows.
   */
  shared(): SharedHandle {
    this.assertOpen();
    return { kind: 'arrow-cluster-state', layoutVersion: LAYOUT_VERSION, sab: this.arena.sab, token: this.publisher.token, pid: process.pid, clusterId: this.clusterId };
  }

  /**
   * Watches a worker thread you started with `shared()`: when it exits, its reader pin is
   * released at once, so a crashed reader never holds memory. (An untracked thread that dies
   * holding a pin holds at most `maxRetainedBytes`: its pin is revoked like any old pin.)
   */
  trackWorker(worker: { threadId: number; once(event: 'exit', fn: () => void): unknown }): void {
    this.assertOpen();
    let id: unknown;
    let once: unknown;
    try {
      id = worker.threadId;
      once = worker.once;
    } catch (e) {
      throw unreadable('trackWorker(worker)', e);
    }
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || typeof once !== 'function') {
      throw invalid('trackWorker(worker)', worker, 'a Worker (a thread id and once())');
    }
    (once as (event: 'exit', fn: () => void) => unknown).call(worker, 'exit', () => {
      this.publisher.releaseThread(id);
      if (!this.closedFlag) this.publisher.reclaim();
    });
  }

  /**
   * Shared-memory figures: buffer size, bytes in use, bytes retired but still pinned (at most
   * `retainLimitBytes` after each publish), pins revoked so far, publications (one per published
   * revision, plus one per repair), and what the scrub checked and repaired so far.
   */
  memoryStats(): { sharedBytes: number; usedBytes: number; liveBytes: number; retiredBytes: number; retainLimitBytes: number; revokedPins: number; publications: number; scrubbedBytes: number; repairs: number } {
    const retired = this.publisher.retiredBytes;
    return {
      sharedBytes: this.arena.capacity,
      usedBytes: this.arena.used,
      liveBytes: this.arena.used - retired,
      retiredBytes: retired,
      retainLimitBytes: this.publisher.retentionLimit(),
      revokedPins: this.publisher.revokedPins,
      publications: this.publisher.publications,
      scrubbedBytes: this.scrubber.checkedBytes,
      repairs: this.scrubber.repairs,
    };
  }

  /**
   * Compares every live extent of shared memory (and the header) with what this writer wrote,
   * now, and repairs what differs: damaged extents are copied afresh from the writer's heap copies
   * under new versions and the same revision is published again, so readers' next snapshots
   * decode intact bytes. Returns the bytes compared and what was repaired. The background scrub
   * (`scrub` option) does the same a few MB per tick.
   */
  scrubNow(): ScrubResult {
    this.assertOpen();
    return this.scrubber.all();
  }

  /**
   * Runs query (helper) `name` with `args` on a worker thread of the pool, over a zero-copy
   * snapshot that includes every mutation made before the call. Resolves with plain values.
   */
  async query(name: string, ...args: unknown[]): Promise<unknown> {
    this.assertOpen();
    const call = checkQueryCall(name, args); // INVALID_ARGUMENT before anything is posted
    await this.published();
    this.pool ??= new QueryPool(this.shared(), (tid) => this.publisher.releaseThread(tid), { threads: this.queryThreads });
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
    if (!this.undoLog) {
      try {
        this.publishNow();
      } catch (e) {
        err = e;
      }
    }
    try {
      await this.dir?.close();
    } catch (e) {
      err ??= e;
    }
    this.closedFlag = true;
    if (this.scrubTimer) clearInterval(this.scrubTimer);
    this.scrubTimer = null;
    this.publisher.close();
    this.cache = null;
    const closedErr = closed('cluster state');
    for (const w of this.waiters.splice(0)) w.reject(closedErr);
    const pool = this.pool;
    this.pool = null;
    await pool?.close();
    if (err) throw err;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  // ─────────────────────────── internals ───────────────────────────

  protected assertOpen(): void {
    if (this.closedFlag) throw closed('cluster state');
  }

  /**
   * Why getTables()/getState()/snapshot() (and so the helpers given the writer) are refused in a
   * transaction: a snapshot is a committed, immutable revision, and a transaction's changes are
   * not committed (they may still roll back). Helpers over the last committed revision would not
   * see the transaction's own changes (a placement would double-book), so neither is offered.
   */
  private insideTransaction(): StateError {
    return invalid('getTables()/getState()/snapshot() (and helpers given the writer)', 'inside a transaction',
      'called outside transactions: a snapshot is a committed revision and this transaction\'s changes are not committed yet; inside, read them with getNode/getTask/getContent');
  }

  private requireDir(what: string): StateDirectory {
    if (!this.dir) throw invalid(what, 'an in-memory state', 'called on a state opened with a statePath (an in-memory state has no files)');
    return this.dir;
  }

  /** What the arena file must hold for the revision just published. */
  private commitContent(): CommitContent {
    const tables = {} as CommitContent['tables'];
    for (const k of ENTITY_KINDS) {
      const p = this.prefixes.current(k);
      tables[k] = {
        prefix: { version: p.dir.version, bytes: p.bytes, rows: 0 },
        batches: this.tables[k].batchData().map((b) => ({ version: b.version, bytes: b.master, rows: b.data.length })),
      };
    }
    return {
      revision: this.publisher.publishedRevision,
      updatedAt: this._updatedAt,
      meta: { cluster_id: this.clusterId, master_id: this._masterId, schema_version: SCHEMA_VERSION },
      tables,
    };
  }

  /** Runs `fn` as one atomic change (a savepoint when nested); commits a revision at the outermost level. */
  private mutate<T>(fn: () => T, isTransaction = false): T {
    this.assertOpen();
    if (this.fatal) throw this.fatal;
    const outer = this.undoLog === null;
    // The clock is read once per mutation (a mutation called by another one, e.g. updateNodeStatus
    // → updateNode, uses its caller's reading; each mutation inside a transaction reads its own),
    // before anything changes: a bad reading changes nothing.
    const reads = !isTransaction && this.mutationNow === null;
    if (reads) {
      const t = this.readClock();
      this.mutationNow = t;
      this.revisionNow = Math.max(this.revisionNow ?? t, t);
    }
    if (outer) this.setUndo([]);
    const log = this.undoLog!;
    const mark = log.length;
    const master = this._masterId;
    try {
      const result = fn();
      if (reads) this.mutationNow = null;
      if (outer) {
        const now = this.revisionNow;
        this.revisionNow = null;
        this.setUndo(null);
        if (!isTransaction || log.length > 0) this.commit(now!);
      }
      return result;
    } catch (e) {
      for (let i = log.length - 1; i >= mark; i--) log[i]!();
      log.length = mark;
      this._masterId = master;
      if (reads) this.mutationNow = null;
      if (outer) {
        this.revisionNow = null;
        this.setUndo(null);
      }
      throw e;
    }
  }

  private setUndo(log: Undo[] | null): void {
    this.undoLog = log;
    for (const k of ENTITY_KINDS) this.tables[k].undo = log;
  }

  /**
   * Commits a revision stamped with the latest clock reading of its mutations (the clock is never
   * read here, so committing cannot fail half-way).
   */
  private commit(now: number): void {
    this._revision++;
    this._updatedAt = Math.max(now, this._updatedAt);
    this.schedulePublish();
  }

  /**
   * The time of the mutation in progress: the clock is read once, when the mutation starts (see
   * mutate), so every stamp of one mutation agrees and a failing clock fails the mutation before
   * anything changed.
   */
  private now(): number {
    return this.mutationNow ?? this.readClock();
  }

  /** One validated clock reading (INVALID_ARGUMENT naming the value otherwise); fractional ms are floored. */
  private readClock(): number {
    let t: unknown;
    try {
      t = this.clock();
    } catch (e) {
      if (e instanceof StateError) throw e;
      throw unreadable('options.clock()', e);
    }
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > MAX_TIME_MS) {
      throw invalid('options.clock()', t, `epoch milliseconds: a finite number from 0 to ${MAX_TIME_MS} (the Date range)`);
    }
    return Math.floor(t);
  }

  private schedulePublish(): void {
    if (this.publishScheduled || this.closedFlag) return;
    this.publishScheduled = true;
    setImmediate(() => {
      this.publishScheduled = false;
      if (this.closedFlag) return;
      try {
        this.publishNow();
      } catch (e) {
        this.publishError = e;
        for (const w of this.waiters.splice(0)) w.reject(e);
      }
    });
  }

  /** Encodes pending changes and publishes the current revision to shared memory. */
  protected publishNow(): void {
    if (this.undoLog) return;
    this.materialize();
    if (this.publisher.publishedRevision >= this._revision && this.publisher.publishedRevision >= 0) return;
    this.publisher.publish(this.directory());
    this.startScrub();
    const rev = this.publisher.publishedRevision;
    if (this.dir) {
      this.lastContent = this.commitContent();
      this.dir.published();
    }
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (w.revision <= rev ? w.resolve(rev) as unknown as void : still.push(w));
    this.waiters = still;
  }

  /**
   * Re-encodes every changed batch (outside transactions only); with `share` (publishing) also
   * copies the batches encoded since the last publish into shared memory. A snapshot only
   * encodes: placing tasks one by one copies each changed batch to shared memory once per publish.
   */
  private materialize(share = true): void {
    const retire = (e: { offset: number; length: number }) => this.publisher.retire(e);
    for (const k of ENTITY_KINDS) if (this.tables[k].dirty) this.tables[k].materialize(this.arena, retire, share);
  }

  private directory(): Directory {
    const tables = {} as Record<EntityKind, DirTable>;
    for (const k of ENTITY_KINDS) {
      const t = this.tables[k];
      const prefix = this.prefixes.get(k, t);
      const batches = t.batchData().map((b) => ({ offset: b.extent.offset, length: b.master.byteLength, version: b.version, crc: b.crc, rows: b.data.length }));
      tables[k] = { prefix, batches, rows: t.size };
    }
    return {
      revision: this._revision,
      updatedAt: this._updatedAt,
      tables,
      meta: { cluster_id: this.clusterId, master_id: this._masterId, schema_version: SCHEMA_VERSION },
    };
  }

  /**
   * Starts the background scrub (at the first publish: a refused open never starts it). The timer
   * is unref'd and holds the state only weakly: a state dropped without close() stops it.
   */
  private startScrub(): void {
    const settings = this.scrubSettings;
    if (!settings || this.scrubTimer || this.closedFlag) return;
    const ref = new WeakRef(this);
    const timer = setInterval(() => {
      const state = ref.deref();
      if (!state || state.closedFlag) {
        clearInterval(timer);
        return;
      }
      try {
        state.scrubber.step(settings.bytesPerTick);
      } catch {
        // a repair that could not publish (shared memory full) is retried on the next tick
      }
    }, settings.intervalMs);
    timer.unref();
    this.scrubTimer = timer;
  }

  /** The live extents of shared memory and what each must hold (for the scrub). */
  private scrubTargets(): ScrubTarget[] {
    const out: ScrubTarget[] = [];
    for (const p of this.prefixes.all()) {
      out.push({ what: `${p.kind} prefix`, kind: 'prefix', key: `${p.kind}:${p.dir.version}`, offset: p.extent.offset, length: p.bytes.byteLength, expected: p.bytes });
    }
    for (const k of ENTITY_KINDS) {
      this.tables[k].batchData().forEach((b, i) => {
        if (b.master && b.extent) out.push({ what: `${k} batch ${i}`, kind: 'batch', key: `${k}:${b.version}`, offset: b.extent.offset, length: b.master.byteLength, expected: b.master });
      });
    }
    const d = this.publisher.publishedDirectory();
    if (d) out.push({ what: 'directory', kind: 'directory', key: `dir:${this.publisher.publications}`, offset: d.extent.offset, length: d.length, expected: d.crc });
    return out;
  }

  /**
   * Repairs damaged shared memory: damaged batches and prefixes move to fresh extents (same bytes,
   * new versions), damaged header constants are rewritten, and the directory is published again —
   * at the same revision when nothing is pending (a new publication, not a new revision), else as
   * the normal publish of the pending revision.
   */
  private repair(damaged: readonly ScrubTarget[], headerSlot: string | null): void {
    if (this.closedFlag) return;
    if (headerSlot) this.publisher.writeConstants();
    const retire = (e: { offset: number; length: number }) => this.publisher.retire(e);
    for (const t of damaged) {
      const [kind, version] = t.key.split(':') as [EntityKind, string];
      if (t.kind === 'batch') this.tables[kind].relocate(Number(version), this.arena, retire);
      else if (t.kind === 'prefix') this.prefixes.relocate(kind);
    }
    if (this.undoLog) return; // (never: the scrub runs between turns) the next publish carries the repair
    if (this.publisher.publishedRevision < this._revision) this.publishNow();
    else this.publisher.publish(this.directory());
  }

  private currentTables(): NonNullable<ClusterState['cache']> {
    this.assertOpen();
    if (this.undoLog) throw this.insideTransaction();
    if (this.cache?.revision === this._revision) return this.cache;
    this.materialize(false);
    const tables = { nodes: this.tables.nodes.table(), tasks: this.tables.tasks.table(), content: this.tables.content.table() };
    this.cache = { revision: this._revision, tables };
    return this.cache;
  }

  private requireNode(id: string, what = 'node'): NodeRecord {
    const n = this.tables.nodes.get(checkId(id, `${what} id`)) as NodeRecord | undefined;
    if (!n) throw notFound(what, id);
    return n;
  }

  private requireTask(id: string): TaskRecord {
    const t = this.tables.tasks.get(checkId(id, 'task id')) as TaskRecord | undefined;
    if (!t) throw notFound('task', id);
    return t;
  }

  private requireContent(cid: string): ContentRecord {
    const c = this.tables.content.get(checkId(cid, 'cid')) as ContentRecord | undefined;
    if (!c) throw notFound('content', cid);
    return c;
  }

  private checkAssignable(task: TaskRecord, node: NodeRecord): void {
    if (task.status !== 'pending' && task.status !== 'assigned') {
      throw badTransition('task', task.id, task.status, 'assigned', transitionHint(task.status));
    }
    if (node.role === 'leecher') throw badTransition('task', task.id, task.status, 'assigned', `node ${JSON.stringify(node.id)} is a leecher (leechers do not run tasks)`);
    if (node.status !== 'online') throw badTransition('task', task.id, task.status, 'assigned', `node ${JSON.stringify(node.id)} is ${node.status}, not online`);
  }

  private checkRoleChange(old: NodeRecord, role: NodeRole): void {
    const n = this.active.get(old.id)?.size ?? 0;
    if (role === 'leecher' && old.role !== 'leecher' && n > 0) {
      throw badTransition('node', old.id, old.role, role, `${n} task(s) are assigned to it and leechers do not run tasks`);
    }
  }

  private activeSet(nodeId: string): Set<string> {
    let s = this.active.get(nodeId);
    if (!s) this.active.set(nodeId, (s = new Set()));
    return s;
  }

  /** Writes a task with changes, keeping the per-node active index in step (with undo). */
  private writeTask(task: TaskRecord, changes: Partial<TaskRecord>): TaskRecord {
    const rec: TaskRecord = { ...task, ...changes };
    const wasOn = isActive(task.status) ? task.assigned_to : null;
    const isOn = isActive(rec.status) ? rec.assigned_to : null;
    if (wasOn !== isOn) {
      if (wasOn) this.active.get(wasOn)?.delete(task.id);
      if (isOn) this.activeSet(isOn).add(task.id);
      this.undoLog!.push(() => {
        if (isOn) this.active.get(isOn)?.delete(task.id);
        if (wasOn) this.activeSet(wasOn).add(task.id);
      });
    }
    this.tables.tasks.update(task.id, rec as unknown as Row);
    return rec;
  }

  /** CIDs whose provider list names `nodeId` (a scan of the providers column). */
  private contentProvidedBy(nodeId: string): string[] {
    const out: string[] = [];
    for (const cid of this.tables.content.ids()) {
      const providers = this.tables.content.field(cid, 'providers') as string[];
      if (providers.includes(nodeId)) out.push(cid);
    }
    return out;
  }

  /**
   * Keeps `master_id` on a registered master after a change to node `changed`: the writer's own
   * nodeId if it is a master, else the current master if it still is one, else the first master
   * in table order, else null.
   */
  private followMaster(changed: string): void {
    const isMaster = (id: string | null) => id !== null && this.tables.nodes.field(id, 'role') === 'master';
    const before = this._masterId;
    let next: string | null;
    if (this.nodeId !== null && isMaster(this.nodeId)) next = this.nodeId;
    else if (isMaster(before)) next = before;
    else if (before === null && changed !== null && !isMaster(changed)) next = null;
    else next = this.tables.nodes.ids().find((id) => isMaster(id)) ?? null;
    this._masterId = next;
  }
}

/** Validates the `scrub` option: null when off, else the settings with defaults. */
function checkScrubOptions(v: unknown): Required<ScrubOptions> | null {
  if (v === false) return null;
  if (v === undefined) return { bytesPerTick: DEFAULT_SCRUB_BYTES_PER_TICK, intervalMs: DEFAULT_SCRUB_INTERVAL_MS };
  const o = checkObject(v, 'options.scrub');
  for (const k of Object.keys(o)) if (k !== 'bytesPerTick' && k !== 'intervalMs') throw invalid(`options.scrub.${k}`, o[k], 'absent (options.scrub takes bytesPerTick and intervalMs)');
  const bytes = o.bytesPerTick ?? DEFAULT_SCRUB_BYTES_PER_TICK;
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes <= 0) throw invalid('options.scrub.bytesPerTick', bytes, 'a positive integer number of bytes');
  const ms = o.intervalMs ?? DEFAULT_SCRUB_INTERVAL_MS;
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > 2 ** 31 - 1) throw invalid('options.scrub.intervalMs', ms, 'an integer number of milliseconds from 1 to 2147483647');
  return { bytesPerTick: bytes, intervalMs: ms };
}
