/**
 * What the dashboard's header, totals, role × status table and placement queue show, computed
 * by the server from one snapshot (the page never reads the whole state): getClusterStatusSummary
 * plus the node counts per role and status and the oldest pending task. About 35 ms at M
 * (10,000 nodes, 100,000 tasks), once per revision whatever the number of pages open.
 */
import { getClusterStatusSummary, type ClusterStatusSummary } from '../helpers/analysis.js';
import { runPlan } from '../query/run.js';
import { compileQuery } from '../query/plan.js';
import { NODE_ROLES, NODE_STATUSES, TASK_STATUSES } from '../schema/entities.js';
import { setKey } from '../arrow/decode/table-view.js';
import type { Snapshot } from '../snapshot.js';

/** The dashboard's summary of one revision: the status summary's fields plus its own. */
export interface DashboardSummary extends ClusterStatusSummary {
  /** The revision read. */
  revision: number;
  nodes: ClusterStatusSummary['nodes'] & {
    /** Nodes per role, then per status (every known role and status present, 0 when none). */
    by_role_status: Record<string, Record<string, number>>;
  };
  /** The placement queue: pending tasks and the oldest of them (by created_at, then id). */
  queue: { pending: number; oldest: { id: string; type: string | null; created_at: number | null } | null };
  /** Milliseconds the summary took to compute. */
  cost_ms: number;
}

const byRoleStatus = compileQuery({ from: 'nodes', groupBy: ['role', 'status'] });
const oldestPending = compileQuery({ from: 'tasks', where: { status: 'pending' }, orderBy: 'created_at', limit: 1, select: ['id', 'type', 'created_at'] });

/**
 * The dashboard summary of `snap`. Guarantees: `nodes.total`, `tasks.total` and `content.total`
 * are the row counts of the snapshot's tables; `by_role_status` sums to `nodes.total` (roles or
 * statuses outside the schema's, from a foreign file, appear under their own names, nulls
 * under "null"); `queue.pending` equals `tasks.by_status.pending`.
 */
export function summarize(snap: Snapshot): DashboardSummary {
  const t0 = performance.now();
  const s = getClusterStatusSummary(snap);
  const matrix: Record<string, Record<string, number>> = {};
  for (const r of NODE_ROLES) {
    const row: Record<string, number> = {};
    for (const st of NODE_STATUSES) row[st] = 0;
    matrix[r] = row;
  }
  for (const g of runPlan(snap, byRoleStatus).groups ?? []) {
    const role = String(g.role ?? 'null');
    const status = String(g.status ?? 'null');
    if (!Object.prototype.hasOwnProperty.call(matrix, role)) setKey(matrix, role, {});
    const row = matrix[role]!;
    setKey(row, status, (Object.prototype.hasOwnProperty.call(row, status) ? row[status]! : 0) + Number(g.count));
  }
  const first = runPlan(snap, oldestPending).rows?.[0] as { id: string; type: string | null; created_at: number | null } | undefined;
  return {
    ...s,
    revision: snap.revision,
    nodes: { ...s.nodes, by_role_status: matrix },
    queue: { pending: s.tasks.by_status.pending, oldest: first ? { id: first.id, type: first.type, created_at: first.created_at } : null },
    cost_ms: performance.now() - t0,
  };
}

/** Task counts of a summary in TASK_STATUSES order (the history's sample layout). */
export function statusCounts(s: DashboardSummary): number[] {
  const by = s.tasks.by_status as Record<string, number>;
  return TASK_STATUSES.map((k) => by[k] ?? 0);
}

/** True when `a` and `b` are the same state: the same revision and the same three tables. */
export function sameState(a: Snapshot | null, b: Snapshot | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.revision === b.revision && a.nodes === b.nodes && a.tasks === b.tasks && a.content === b.content;
}
