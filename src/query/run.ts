/**
 * Running a query on a state source: the query is checked first (a bad query is
 * INVALID_ARGUMENT before anything is read), then answered from one snapshot, column-wise.
 */
import { tableView } from '../arrow/decode/table-view.js';
import { withSnapshot, type StateSource } from '../helpers/source.js';
import type { Snapshot } from '../snapshot.js';
import { selectGroups } from './groups.js';
import { compileQuery, type Plan } from './plan.js';
import { selectRows } from './rows.js';
import type { Query, QueryResult } from './spec.js';

/** Answers a checked plan from one snapshot. */
export function runPlan(snap: Snapshot, plan: Plan): QueryResult {
  const view = tableView(snap[plan.kind]);
  if (plan.group) {
    const { groups, total } = selectGroups(view, plan);
    return { revision: snap.revision, total, groups, cursor: null };
  }
  const { rows, total, cursor } = selectRows(view, plan);
  return { revision: snap.revision, total, rows, cursor };
}

/**
 * Answers `query` (docs/queries.md) from one snapshot of `source` — a ClusterState, a worker's
 * or follower's snapshot, a state directory, a Parquet file or the single-row table, like every
 * helper. The filter runs on the Arrow columns in place; only the rows returned become records.
 * The result is plain JSON-serialisable values (copies: nothing refers to the snapshot's
 * memory), read from one revision (`revision`). A bad query is INVALID_ARGUMENT naming the
 * offending part, thrown before the source is read.
 */
export function queryState(source: StateSource, query: Query): QueryResult {
  const plan = compileQuery(query);
  return withSnapshot(source, (snap) => runPlan(snap, plan));
}
