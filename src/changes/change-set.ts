/**
 * Change sets: what one committed revision changed (the public shape: docs/changes.md), and
 * what the writer hands the change-batch encoder
 * (encode.ts) for each revision. The encoded form and its decoder: encode.ts, decode.ts,
 * codec-format.ts.
 */
import type { EntityKind } from '../schema/entities.js';
import type { ContentRecord, NodeRecord, TaskRecord } from '../schema/records.js';

/**
 * Everything one committed revision changed. There is exactly one ChangeSet per committed
 * revision; `changes` names every entity the commit changed, once each, with its value after
 * the commit. A change set a decoder returns is a fresh object graph owned by the caller.
 */
export interface ChangeSet {
  /** The committed revision. */
  revision: number;
  /** Epoch ms of the commit. */
  updatedAt: number;
  /** `master_id` after the commit. */
  masterId: string | null;
  /** Every entity the commit changed, once each, value after the commit. */
  changes: Change[];
}

/**
 * One changed entity. `id` is the entity's key (content: its `cid`); `record` (upserts only) has
 * exactly the shape `getNode`/`getTask`/`getContent` return.
 */
export type Change =
  | { table: 'nodes' | 'tasks' | 'content'; op: 'upsert'; id: string; record: NodeRecord | TaskRecord | ContentRecord }
  | { table: 'nodes' | 'tasks' | 'content'; op: 'delete'; id: string };

/**
 * A row as the writer holds it: the public record shape (the schema's field names; JSON fields —
 * `payload`, `result`, `metadata` — as JSON values, not text). The encoder only reads it.
 */
export type Row = NodeRecord | TaskRecord | ContentRecord | Readonly<Record<string, unknown>>;

/**
 * What the writer hands the encoder for one committed revision: the rows upserted and the keys
 * deleted, per table. Each entity appears at most once per revision (in `upserts` or in
 * `deletes` of its table, not both). A table may be left out: it counts as no change.
 */
export interface RevisionChanges {
  revision: number;
  /** Epoch ms of the commit (whole, 0 .. 8.64e15). */
  updatedAt: number;
  masterId: string | null;
  upserts: Readonly<Record<EntityKind, readonly Row[]>>;
  deletes: Readonly<Record<EntityKind, readonly string[]>>;
}

const ORDER: readonly EntityKind[] = ['nodes', 'tasks', 'content'];
const KEY: Record<EntityKind, string> = { nodes: 'id', tasks: 'id', content: 'cid' };

/**
 * The change set of one revision as the writer's watchers see it: its records are built on
 * access, each access a fresh copy (so no consumer can change what another sees, nor the rows
 * the writer keeps). Changes come in table order (nodes, tasks, content), upserts then deletes,
 * as the decoder gives them.
 */
export function changeSetOf(rc: RevisionChanges): ChangeSet {
  const cs = buildChangeSet(rc);
  Object.defineProperty(cs, RAW, { value: rc, enumerable: false });
  return cs;
}

/** Where a change set made by changeSetOf keeps what the writer handed it (not enumerable, not copied by structured clone). */
const RAW = Symbol('revisionChanges');

/**
 * The rows and keys of a change set as the encoder takes them: the writer's own (no copy) for a
 * change set of changeSetOf, else made from its changes (e.g. one decoded from the journal).
 * Read-only.
 */
export function revisionChangesOf(cs: ChangeSet): RevisionChanges {
  const raw = (cs as unknown as Record<symbol, RevisionChanges | undefined>)[RAW];
  if (raw) return raw;
  const upserts: Record<EntityKind, Row[]> = { nodes: [], tasks: [], content: [] };
  const deletes: Record<EntityKind, string[]> = { nodes: [], tasks: [], content: [] };
  for (const c of cs.changes) {
    if (c.op === 'upsert') upserts[c.table].push(c.record);
    else deletes[c.table].push(c.id);
  }
  return { revision: cs.revision, updatedAt: cs.updatedAt, masterId: cs.masterId, upserts, deletes };
}

function buildChangeSet(rc: RevisionChanges): ChangeSet {
  const changes: Change[] = [];
  for (const table of ORDER) {
    for (const row of rc.upserts[table] ?? []) {
      const id = (row as Record<string, string>)[KEY[table]]!;
      changes.push({ table, op: 'upsert', id, get record() { return JSON.parse(JSON.stringify(row)) as NodeRecord; } });
    }
    for (const id of rc.deletes[table] ?? []) changes.push({ table, op: 'delete', id });
  }
  return { revision: rc.revision, updatedAt: rc.updatedAt, masterId: rc.masterId, changes };
}
