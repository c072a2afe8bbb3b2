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
 * 32-bit hash of each entity's projection (FNV-1a of its JSON) and drops upserts whose hash is
 * unchanged — so a heartbeat storm costs leechers nothing but the revision bookmarks.
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

const EMPTY: Readonly<Record<EntityKind, readonly never[]>> = { nodes: [], tasks: [], content: [] };

/** The master's view of what leechers hold; fed every replicated revision in order. */
export class LeecherView {
  private readonly hashes = { nodes: new Map<string, number>(), content: new Map<string, number>() };

  /** Forgets every entity (before seeding the view afresh at a rebase). */
  clear(): void {
    this.hashes.nodes.clear();
    this.hashes.content.clear();
  }

  /** Notes the projection of an entity present at the view's start (from the state, not a change). */
  seed(kind: 'nodes' | 'content', key: string, r: Record<string, unknown>): void {
    this.hashes[kind].set(key, projectionHash(kind, r));
  }

  /**
   * The leecher change set of one revision: node and content upserts whose projection changed
   * (as leecher rows), their deletes; no tasks. A revision that changes nothing a leecher sees
   * gives empty upserts and deletes (published anyway, as a bookmark of the revision).
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
        if (map.delete(id)) deletes[kind].push(id);
      }
    }
    return { revision: rc.revision, updatedAt: rc.updatedAt, masterId: rc.masterId, upserts, deletes };
  }

  /** The change set a leecher gets for a revision while the view cannot filter (catching up): every projected upsert. */
  static unfiltered(rc: RevisionChanges): RevisionChanges {
    const upserts: Record<EntityKind, Row[]> = { nodes: [], tasks: [], content: [] };
    for (const kind of ['nodes', 'content'] as const) for (const row of rc.upserts[kind] ?? []) upserts[kind].push(leecherRow(kind, row as Record<string, unknown>));
    return { revision: rc.revision, updatedAt: rc.updatedAt, masterId: rc.masterId, upserts, deletes: { ...EMPTY, nodes: [...(rc.deletes.nodes ?? [])], content: [...(rc.deletes.content ?? [])] } };
  }
}
