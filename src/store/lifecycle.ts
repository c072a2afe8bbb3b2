/**
 * The task lifecycle, in one place: which status changes are legal, and what each stamps.
 *
 * A task starts `pending`; it is `assigned` to a node, `running`, and ends `completed`, `failed`
 * or `cancelled`. A failed task may be retried (back to `pending`); a completed or cancelled task
 * is final. Assigned or running tasks can be requeued (`pending`), e.g. when their node goes
 * away. The seeds' flow — assign, then update to `completed` — is legal: finishing an assigned
 * task stamps its start as well.
 *
 * Stamps (transitionStamps): entering `running` sets `started_at` and counts an attempt;
 * `completed`/`failed` straight from `assigned` do the same (the task ran); `completed`, `failed`
 * and `cancelled` set `completed_at`; `pending` clears the node and both stamps. `started_at` and
 * `completed_at` are epoch seconds (float64), as the Python original's helpers expect.
 */
import type { TaskStatus } from '../schema/entities.js';
export { ACTIVE_STATUSES, isActive } from '../schema/entities.js';
import type { TaskRecord } from '../schema/records.js';

const NEXT: Record<TaskStatus, readonly TaskStatus[]> = {
  pending: ['assigned', 'cancelled'],
  assigned: ['assigned', 'running', 'completed', 'failed', 'cancelled', 'pending'],
  running: ['running', 'completed', 'failed', 'cancelled', 'pending'],
  failed: ['pending'],
  completed: [],
  cancelled: [],
};

/** Statuses from which nothing can follow. */
export const FINAL_STATUSES: readonly TaskStatus[] = ['completed', 'cancelled'];

/** Whether `from → to` is a legal status change. */
export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return NEXT[from].includes(to);
}

/** Why a change is refused, for the error message. */
export function transitionHint(from: TaskStatus): string {
  const next = NEXT[from];
  return next.length ? `from ${from} a task can go to ${next.join(', ')}` : `${from} is final`;
}

/**
 * The fields a change of `task` to status `to` at `nowMs` sets (see the file comment); the
 * caller has checked canTransition. Staying in the same status stamps nothing (but `pending`
 * always clears the node and the stamps).
 */
export function transitionStamps(task: TaskRecord, to: TaskStatus, nowMs: number): Partial<TaskRecord> {
  const out: Partial<TaskRecord> = {};
  if (to === 'pending') {
    out.assigned_to = null;
    out.started_at = null;
    out.completed_at = null;
  }
  if (to === task.status) return out;
  const seconds = nowMs / 1000;
  if (to === 'running' || ((to === 'completed' || to === 'failed') && task.status === 'assigned')) {
    out.started_at = seconds;
    out.attempts = task.attempts + 1;
  }
  if (to === 'completed' || to === 'failed' || to === 'cancelled') out.completed_at = seconds;
  out.status = to;
  return out;
}
