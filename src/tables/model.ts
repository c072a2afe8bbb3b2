/**
 * A mutable cluster state — the writer's, and every replica's (followers apply change sets to
 * one): three columnar entity tables (entity-table.ts), the shared dictionaries, the per-node
 * index of active tasks, the cluster fields and the revision. Every row write goes through
 * `insert`/`update`/`remove` here (the one place a change to an entity is made), recording an
 * undo step while a mutation runs (store/transactions.ts) and the keys the revision in progress
 * touched, from which its change set is taken at commit (`takeChanges`). The writer's rules
 * (store/nodes.ts, tasks.ts, content.ts) read and write only through this class.
 */
import { StringDictionary } from '../arrow/encode/dictionary.js';
import { invalid, notFound, StateError, unreadable } from '../errors.js';
import { ENTITIES, ENTITY_KINDS, isActive, type EntityKind } from '../schema/entities.js';
import type { ContentRecord, NodeRecord, TaskRecord } from '../schema/records.js';
import { checkId, MAX_TIME_MS } from '../validate/values.js';
import type { RevisionChanges } from '../changes/change-set.js';
import { EntityTable, type Row, type Undo } from './entity-table.js';

/** The record type of each entity kind. */
export interface RecordOf {
  nodes: NodeRecord;
  tasks: TaskRecord;
  content: ContentRecord;
}

/** The writer's state between mutations: tables, dictionaries, indexes, cluster fields, revision. */
export class Model {
  readonly dicts = new Map<number, StringDictionary>();
  readonly tables: Record<EntityKind, EntityTable>;
  /** Active (assigned or running) task ids per node. */
  readonly active = new Map<string, Set<string>>();
  /** Committed revisions; starts at 0. */
  revision = 0;
  /** Epoch ms of the last commit. */
  updatedAt: number;
  masterId: string | null = null;
  /** Never-reused versions of encoded extents (batches, prefixes). */
  version = 0;
  /** The undo log of the mutation in progress (null between mutations). */
  undo: Undo[] | null = null;
  /** The clock reading of the mutation in progress (read once, at its start), else null. */
  mutationNow: number | null = null;
  /** The latest clock reading of the revision in progress (its commit time), else null. */
  revisionNow: number | null = null;
  /** Keys the revision in progress touched, each with whether it existed before the revision (null between revisions). */
  private touched: Record<EntityKind, Map<string, boolean>> | null = null;

  constructor(readonly clusterId: string, readonly nodeId: string | null, private readonly clock: () => number) {
    this.updatedAt = this.readClock();
    for (const kind of ENTITY_KINDS) {
      for (const c of ENTITIES[kind].columns) {
        if (c.kind === 'dict') this.dicts.set(c.dictId!, new StringDictionary(c.dictId!, c.values ?? [], c.indexBits ?? 8));
      }
    }
    const ctx = { dictionary: (id: number) => this.dicts.get(id)!, nextVersion: () => ++this.version };
    this.tables = { nodes: new EntityTable(ENTITIES.nodes, ctx), tasks: new EntityTable(ENTITIES.tasks, ctx), content: new EntityTable(ENTITIES.content, ctx) };
  }

  // ───────────────────────────── reads ─────────────────────────────

  /** The record of `kind` with this key (a copy), or undefined; sees the mutation in progress. */
  get<K extends EntityKind>(kind: K, id: string): RecordOf[K] | undefined {
    return this.tables[kind].get(id) as unknown as RecordOf[K] | undefined;
  }

  /** The node with this id (checked), or NOT_FOUND naming it as `what`. */
  requireNode(id: unknown, what = 'node'): NodeRecord {
    const n = this.get('nodes', checkId(id, `${what} id`));
    if (!n) throw notFound(what, id);
    return n;
  }

  requireTask(id: unknown): TaskRecord {
    const t = this.get('tasks', checkId(id, 'task id'));
    if (!t) throw notFound('task', id);
    return t;
  }

  requireContent(cid: unknown): ContentRecord {
    const c = this.get('content', checkId(cid, 'cid'));
    if (!c) throw notFound('content', cid);
    return c;
  }

  /** The ids of the tasks assigned to or running on `nodeId`. */
  activeTasks(nodeId: string): string[] {
    return [...(this.active.get(nodeId) ?? [])];
  }

  /** CIDs whose provider list names `nodeId` (a scan of the providers column). */
  contentProvidedBy(nodeId: string): string[] {
    const out: string[] = [];
    for (const cid of this.tables.content.ids()) {
      if ((this.tables.content.field(cid, 'providers') as string[]).includes(nodeId)) out.push(cid);
    }
    return out;
  }

  // ───────────────────────────── writes ─────────────────────────────

  /** Adds a new row (the caller checked the key is free). */
  insert<K extends EntityKind>(kind: K, rec: RecordOf[K]): RecordOf[K] {
    if (kind === 'tasks') this.trackActive(null, rec as TaskRecord);
    const key = keyOf(kind, rec);
    this.touch(kind, key, false);
    this.tables[kind].insert(rec as unknown as Row);
    return rec;
  }

  /** Replaces the row of `rec`'s key with `rec` (the caller merged the fields). */
  update<K extends EntityKind>(kind: K, before: RecordOf[K], rec: RecordOf[K]): RecordOf[K] {
    if (kind === 'tasks') this.trackActive(before as TaskRecord, rec as TaskRecord);
    const key = keyOf(kind, rec);
    this.touch(kind, key, true);
    this.tables[kind].update(key, rec as unknown as Row, before as unknown as Row);
    return rec;
  }

  /** Removes the row `before` (the caller checked it exists). */
  remove<K extends EntityKind>(kind: K, before: RecordOf[K]): void {
    if (kind === 'tasks') this.trackActive(before as TaskRecord, null);
    const key = keyOf(kind, before);
    this.touch(kind, key, true);
    this.tables[kind].remove(key);
  }

  // ───────────────────────────── change sets ─────────────────────────────

  /** Starts recording what the next revision touches (store/transactions.ts, at the outermost level). */
  beginRevision(): void {
    this.touched = { nodes: new Map(), tasks: new Map(), content: new Map() };
  }

  /** Stops recording without a revision (the change rolled back, or committed nothing). */
  discardChanges(): void {
    this.touched = null;
  }

  /**
   * What the revision just committed changed: every touched entity once, as it is now (an
   * upsert, the table's own row object — read-only), or a delete when it existed before and is
   * gone; entities added and removed within the revision are left out.
   */
  takeChanges(): RevisionChanges {
    const touched = this.touched;
    this.touched = null;
    const upserts = { nodes: [] as Row[], tasks: [] as Row[], content: [] as Row[] };
    const deletes = { nodes: [] as string[], tasks: [] as string[], content: [] as string[] };
    if (touched) {
      for (const kind of ENTITY_KINDS) {
        const t = this.tables[kind];
        for (const [key, existed] of touched[kind]) {
          const row = t.peek(key);
          if (row) upserts[kind].push(row);
          else if (existed) deletes[kind].push(key);
        }
      }
    }
    return { revision: this.revision, updatedAt: this.updatedAt, masterId: this.masterId, upserts, deletes };
  }

  /** Notes a key the revision in progress changes (first touch only; undone with its mutation). */
  private touch(kind: EntityKind, key: string, existed: boolean): void {
    const t = this.touched?.[kind];
    if (!t || t.has(key)) return;
    t.set(key, existed);
    this.undo?.push(() => t.delete(key));
  }

  /**
   * Keeps `master_id` on a registered master after a change to node `changed`: the writer's own
   * nodeId if it is a master, else the current master if it still is one, else the first master
   * in table order, else null.
   */
  followMaster(changed: string): void {
    const isMaster = (id: string | null) => id !== null && this.tables.nodes.field(id, 'role') === 'master';
    const before = this.masterId;
    let next: string | null;
    if (this.nodeId !== null && isMaster(this.nodeId)) next = this.nodeId;
    else if (isMaster(before)) next = before;
    else if (before === null && !isMaster(changed)) next = null;
    else next = this.tables.nodes.ids().find((id) => isMaster(id)) ?? null;
    this.masterId = next;
  }

  // ───────────────────────────── time ─────────────────────────────

  /**
   * The time of the mutation in progress: the clock is read once, when the mutation starts
   * (transactions.ts), so every stamp of one mutation agrees and a failing clock fails the
   * mutation before anything changed.
   */
  now(): number {
    return this.mutationNow ?? this.readClock();
  }

  /** One validated clock reading (INVALID_ARGUMENT naming the value otherwise); fractional ms are floored. */
  readClock(): number {
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

  /** Moves a task between nodes' active sets (with undo) when its status or node changes. */
  private trackActive(before: TaskRecord | null, after: TaskRecord | null): void {
    const wasOn = before && isActive(before.status) ? before.assigned_to : null;
    const isOn = after && isActive(after.status) ? after.assigned_to : null;
    if (wasOn === isOn) return;
    const id = (after ?? before)!.id;
    const set = (n: string) => {
      let s = this.active.get(n);
      if (!s) this.active.set(n, (s = new Set()));
      return s;
    };
    if (wasOn) this.active.get(wasOn)?.delete(id);
    if (isOn) set(isOn).add(id);
    this.undo?.push(() => {
      if (isOn) this.active.get(isOn)?.delete(id);
      if (wasOn) set(wasOn).add(id);
    });
  }
}

/** The key of a record: `cid` for content, `id` otherwise. */
export function keyOf(kind: EntityKind, rec: object): string {
  return (rec as Record<string, string>)[ENTITIES[kind].key]!;
}
