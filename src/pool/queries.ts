/**
 * The queries a worker of the pool can run by name, each on one snapshot: every helper (the
 * worker's snapshot is its state source: `state.query('findNodesByRole', 'worker')`), plus the
 * record getters and counts. Every query returns plain structured-cloneable values (no views on
 * shared memory): the two helpers that return Arrow tables give Arrow IPC stream bytes here
 * (`tableFromIPC(bytes)` turns them back into tables).
 */
import { tableToIPC } from 'apache-arrow';
import { invalid, show } from '../errors.js';
import { countBy, findById } from '../arrow/decode/table-view.js';
import * as H from '../helpers/index.js';
import { compileQuery } from '../query/plan.js';
import type { Snapshot } from '../snapshot.js';

/** A query: a function of one snapshot returning plain values. */
export type Query = (snap: Snapshot, ...args: unknown[]) => unknown;

/** Every query the pool runs by name (all the helpers, plus the record getters and counts). */
export const QUERIES: Record<string, Query> = {
  getNode: (s, id) => findById('nodes', s.nodes, String(id)),
  getTask: (s, id) => findById('tasks', s.tasks, String(id)),
  getContent: (s, cid) => findById('content', s.content, String(cid)),
  countTasksByStatus: (s) => countBy(s.tasks, 'status'),
  countNodesByStatus: (s) => countBy(s.nodes, 'status'),
  revision: (s) => s.revision,
  // Helpers that do not read a state: the snapshot is not used.
  getStatePathFromMetadata: (_s, baseDir, opts) => H.getStatePathFromMetadata(baseDir as string | undefined, opts as H.DiscoveryOptions | undefined),
  connectToStateStore: (_s, path) => H.connectToStateStore(path as string),
  // Helpers that return Arrow tables: IPC stream bytes across the thread boundary.
  getClusterState: (s) => tableToIPC(H.getClusterState(s), 'stream'),
  getClusterStateAsTables: (s) => {
    const t = H.getClusterStateAsTables(s);
    return { nodes: tableToIPC(t.nodes, 'stream'), tasks: tableToIPC(t.tasks, 'stream'), content: tableToIPC(t.content, 'stream') };
  },
};
// Every other helper runs on the worker's snapshot as its state source and returns plain values.
for (const [name, fn] of Object.entries(H.HELPERS)) {
  if (!(name in QUERIES)) QUERIES[name] = (s, ...args) => (fn as (source: Snapshot, ...a: unknown[]) => unknown)(s, ...args);
}

/** Runs query `name` on `snap`; unknown names give INVALID_ARGUMENT listing the known ones. */
export function runQuery(name: string, snap: Snapshot, args: unknown[]): unknown {
  const q = Object.prototype.hasOwnProperty.call(QUERIES, name) ? QUERIES[name] : undefined;
  if (!q) throw invalid('query name', name, `one of the known queries: ${Object.keys(QUERIES).join(', ')}`);
  return q(snap, ...args);
}

/**
 * Checks a query call before anything is posted to a worker: `name` must be a known query and
 * `args` structured-cloneable (functions, symbols, class instances with private state, revoked
 * Proxies... cannot cross a thread). Returns the name and a structured clone of the arguments
 * (read once: the clone is what the worker gets). INVALID_ARGUMENT naming the query and the
 * argument otherwise, never a DOMException.
 */
export function checkQueryCall(name: unknown, args: readonly unknown[]): { name: string; args: unknown[] } {
  if (typeof name !== 'string') throw invalid('query name', name, 'a string');
  if (!Object.prototype.hasOwnProperty.call(QUERIES, name)) throw invalid('query name', name, `a known query (one of ${Object.keys(QUERIES).join(', ')})`);
  const cloned: unknown[] = [];
  for (let i = 0; i < args.length; i++) {
    try {
      cloned.push(structuredClone(args[i]));
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw invalid(`query ${show(name)} argument ${i + 1}`, args[i], `a value that can be copied to a worker thread (plain data: ${why})`);
    }
  }
  // A query is checked here too, so that a bad one is refused before anything is posted.
  if (name === 'queryState') compileQuery(cloned[0]);
  return { name, args: cloned };
}
