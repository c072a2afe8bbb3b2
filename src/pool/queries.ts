/**
 * The queries a worker of the pool can run by name, each on one snapshot. Every query returns
 * plain JSON-serialisable values (no views on shared memory). The helpers module adds its
 * helpers here; until then the record getters and counts are available.
 */
import { StateError } from '../errors.js';
import { countBy, findById } from '../helpers/columns.js';
import type { Snapshot } from '../snapshot.js';

export type Query = (snap: Snapshot, ...args: unknown[]) => unknown;

export const QUERIES: Record<string, Query> = {
  getNode: (s, id) => findById('nodes', s.nodes, String(id)),
  getTask: (s, id) => findById('tasks', s.tasks, String(id)),
  getContent: (s, cid) => findById('content', s.content, String(cid)),
  countTasksByStatus: (s) => countBy(s.tasks, 'status'),
  countNodesByStatus: (s) => countBy(s.nodes, 'status'),
  revision: (s) => s.revision,
};

/** Runs query `name` on `snap`; unknown names give INVALID_ARGUMENT listing the known ones. */
export function runQuery(name: string, snap: Snapshot, args: unknown[]): unknown {
  const q = Object.prototype.hasOwnProperty.call(QUERIES, name) ? QUERIES[name] : undefined;
  if (!q) throw new StateError('INVALID_ARGUMENT', `unknown query ${JSON.stringify(name)}; known: ${Object.keys(QUERIES).join(', ')}`);
  return q(snap, ...args);
}
