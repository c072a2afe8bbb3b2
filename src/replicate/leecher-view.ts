/**
 * The leecher projection: what a leecher node receives of the state, decided here and enforced by
 * what the master publishes on the leecher subject and in leecher snapshots (a leecher never
 * downloads more). A leecher holds:
 * - the cluster fields: cluster id, master id, revision, time of the last change;
 * - per node: `id`, `role`, `status`, `address` (who is in the cluster, who is up, how to reach it);
 * - per content item: `cid`, `size`, `providers`, `replication`, `pinned` (what is available where).
 * No tasks, no payloads or results, no node resources, capabilities, peers, metadata or
 * `last_seen` (heartbeats change those: a leecher would receive every heartbeat), no pin times.
 * Fields outside the projection are null (lists empty) in a leecher's records.
 *
 * A node or content upsert reaches leechers only when its projection changed: the view keeps a
 * 32-bit hash of each published entity's projection (FNV-1a of its JSON) and drops upserts whose
 * hash is unchanged — so a heartbeat storm costs leechers nothing but the revision bookmarks.
 */
import type { Row, RevisionChanges } from '../changes/change-set.js';
import type { EntityKind } from '../schema/entities.js';

/** The fields a leecher receives, per table (tasks: none). */
export const LEECHER_FIELDS: Readonly<Record<EntityKind, readonly string[]>> = {
  nodes: ['id', 'role', 'status', 'address'],
  tasks: [],
  content: ['cid', 'size', 'providers', 'replication', 'pinned'],
};

const NODE_NULLS = { peers: [], capabilities: [], resources: null, last_seen: null, metadata: null };
const CONTENT_NULLS = { created_at: null, pinned_at: null };

/** The leecher record of a full node or content row (fields outside the projection null). */
export function leecherRow(kind: 'nodes' | 'content', r: Record<string, unknown>): Row {
  return kind === 'nodes'
    ? { id: r.id, role: r.role, status: r.status, address: r.address ?? null, ...NODE_NULLS }
    : { cid: r.cid, size: r.size ?? null, providers: r.providers ?? [], replication: r.replication ?? null, pinned: r.pinned ?? null, ...CONTENT_NULLS };
}

function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const projectionHash = (kind: 'nodes' | 'content', r: Record<string, unknown>): number => {
  const f = LEECHER_FIELDS[kind];
  let s = '';
  for (const k of f) s += `${JSON.stringify(r[k] ?? null)}\u0000`;
  return fnv(s);
};

/**
 * The master's view of what leechers hold; fed every published revision in order. An entity not
 * in the view counts as changed (its projection is published and remembered): the view starts
 * empty and is emptied at every rebase, so it never needs a pass over the state, and it can never
 * hold a projection older than what leechers have.
 */
export class LeecherView {
  private readonly hashes = { nodes: new Map<string, number>(), content: new Map<string, number>() };

  /** Forgets every entity (at a rebase: leechers load a snapshot the view has not seen). */
  clear(): void {
    this.hashes.nodes.clear();
    this.hashes.content.clear();
  }

  /**
   * The leecher change set of one revision: node and content upserts whose projection changed or
   * is not known yet (as leecher rows), every node and content delete; no tasks. A revision that
   * changes nothing a leecher sees gives empty upserts and deletes (a bookmark).
   */
  project(rc: RevisionChanges): RevisionChanges {
    const upserts: Record<EntityKind, Row[]> = { nodes: [], tasks: [], content: [] };
    const deletes: Record<EntityKind, string[]> = { nodes: [], tasks: [], content: [] };
    for (const kind of ['nodes', 'content'] as const) {
      const key = kind === 'nodes' ? 'id' : 'cid';
      const map = this.hashes[kind];
      for (const row of rc.upserts[kind] ?? []) {
        const r = row as Record<string, unknown>;
        const h = projectionHash(kind, r);
        const id = r[key] as string;
        if (map.get(id) === h) continue;
        map.set(id, h);
        upserts[kind].push(leecherRow(kind, r));
      }
      for (const id of rc.deletes[kind] ?? []) {
        map.delete(id);
        deletes[kind].push(id);
      }
    }
    return { revision: rc.revision, updatedAt: rc.updatedAt, masterId: rc.masterId, upserts, deletes };
  }
}
