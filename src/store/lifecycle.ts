/**
 * The task lifecycle. A task starts `pending`; it is `assigned` to a node, `running`, and ends
 * `completed`, `failed` or `cancelled`. A failed task may be retried (back to `pending`); a
 * completed or cancelled task is final. Assigned or running tasks can be requeued (`pending`),
 * e.g. when their node goes away. The seeds' flow — assign, then update to `completed` — is legal:
 * finishing an assigned task stamps its start as well.
 */
import type { TaskStatus } from '../schema/entities.js';

const NEXT: Record<TaskStatus, readonly TaskStatus[]> = {
  pending: ['assigned', 'cancelled'],
  assigned: ['assigned', 'running', 'completed', 'failed', 'cancelled', 'pending'],
  running: ['running', 'completed', 'failed', 'cancelled', 'pending'],
  failed: ['pending'],
  completed: [],
  cancelled: [],
};

/** Statuses in which a task occupies its node. */
export const ACTIVE_STATUSES: readonly TaskStatus[] = ['assigned', 'running'];
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

export function isActive(status: TaskStatus): boolean {
  return status === 'assigned' || status === 'running';
}
