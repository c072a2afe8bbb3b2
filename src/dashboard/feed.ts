/**
 * The dashboard's feed of the newest change sets: each change set condensed to its counts per
 * table and operation plus its first few changes, so an item's size is bounded whatever the
 * revision's (a 100,000-task transaction is one short item).
 */
import type { ChangeSet } from '../changes/change-set.js';

/** Changes of one table in one revision. */
export interface FeedCounts {
  upserts: number;
  deletes: number;
}

/** One change of a feed item: which entity, and its status after the commit (upserts). */
export interface FeedChange {
  table: 'nodes' | 'tasks' | 'content';
  op: 'upsert' | 'delete';
  id: string;
  /** The record's `status` after the commit (nodes and tasks), else null. */
  status: string | null;
}

/** A change set as the feed shows it; or a gap (`gap: true`) where change sets were missed. */
export interface FeedItem {
  revision: number;
  /** Epoch ms of the commit (of the gap's discovery for a gap). */
  updatedAt: number;
  masterId: string | null;
  /** Changes per table (every table present). */
  counts: Record<'nodes' | 'tasks' | 'content', FeedCounts>;
  /** The first FEED_CHANGES changes of the revision, in its order. */
  changes: FeedChange[];
  /** How many changes are not listed in `changes`. */
  more: number;
  /** True for a gap: the watch fell behind and restarted at `revision` (the change sets before it were not seen). */
  gap?: boolean;
}

/** Changes listed per feed item. */
export const FEED_CHANGES = 5;

/** The feed item of `cs`. Guarantees: O(changes) time, and at most FEED_CHANGES changes listed. */
export function feedItem(cs: ChangeSet): FeedItem {
  const counts = { nodes: { upserts: 0, deletes: 0 }, tasks: { upserts: 0, deletes: 0 }, content: { upserts: 0, deletes: 0 } };
  const changes: FeedChange[] = [];
  for (const c of cs.changes) {
    const n = counts[c.table];
    if (!n) continue;
    if (c.op === 'delete') n.deletes++;
    else n.upserts++;
    if (changes.length < FEED_CHANGES) {
      const status = c.op === 'upsert' && c.table !== 'content' ? (c.record as { status?: unknown }).status : null;
      changes.push({ table: c.table, op: c.op, id: c.id, status: typeof status === 'string' ? status : null });
    }
  }
  return { revision: cs.revision, updatedAt: cs.updatedAt, masterId: cs.masterId, counts, changes, more: cs.changes.length - changes.length };
}

/** A gap item: the feed restarts after `revision` (a COMPACTED watch, or a follower that reloaded). */
export function gapItem(revision: number, at: number, masterId: string | null): FeedItem {
  const zero = () => ({ upserts: 0, deletes: 0 });
  return { revision, updatedAt: at, masterId, counts: { nodes: zero(), tasks: zero(), content: zero() }, changes: [], more: 0, gap: true };
}

/**
 * The newest feed items, at most `capacity` (oldest dropped). Guarantees: bounded memory; items
 * come out newest last, in the order they were pushed.
 */
export class Feed {
  private items: FeedItem[] = [];

  constructor(readonly capacity = 50) {}

  push(item: FeedItem): void {
    this.items.push(item);
    if (this.items.length > this.capacity * 2) this.items = this.items.slice(-this.capacity);
  }

  /** The newest items, at most `capacity`, oldest first. */
  list(): FeedItem[] {
    if (this.items.length > this.capacity) this.items = this.items.slice(-this.capacity);
    return this.items.slice();
  }
}
