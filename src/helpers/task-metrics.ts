/** Task execution metrics and time estimates, from the status, type and time columns in one pass each. */
import { instant, options, text } from './args.js';
import type {  Table } from 'apache-arrow';
import { setKey, tableView } from '../arrow/decode/table-view.js';
import { withSnapshot, type StateSource } from './source.js';

const durationCache = new WeakMap<Table, Map<string, number>>();

/**
 * Mean completed_at − started_at (s) of the completed tasks of each type that have both times,
 * in one pass over the columns; cached per (immutable) tasks table.
 */
function meanDurations(tasks: Table): Map<string, number> {
  let m = durationCache.get(tasks);
  if (m) return m;
  const v = tableView(tasks);
  const types = v.str('type');
  const status = v.str('status');
  const started = v.num('started_at');
  const done = v.num('completed_at');
  // One accumulator per type, added to row by row in table order (so the floating-point sum is
  // the same whatever the batching of the source); dictionary codes map to accumulators.
  const slotOf = new Map<string, number>();
  const sums: number[] = [];
  const counts: number[] = [];
  const slot = (t: string): number => {
    let k = slotOf.get(t);
    if (k === undefined) {
      slotOf.set(t, (k = sums.length));
      sums.push(0);
      counts.push(0);
    }
    return k;
  };
  for (let b = 0; b < v.lengths.length; b++) {
    const sc = started.chunks[b]!;
    const dc = done.chunks[b]!;
    if (sc.valid.allNull || dc.valid.allNull) continue;
    const tc = types.chunks[b]!;
    const completed = status.chunks[b]!.equals('completed');
    const codeSlots = tc.codes ? tc.dict!.values.map((t) => (t === null ? -1 : slot(t))) : null;
    for (let i = 0; i < v.lengths[b]!; i++) {
      if (!completed(i)) continue;
      const d = dc.get(i) - sc.get(i);
      if (d !== d || tc.isNull(i)) continue;
      const k = codeSlots ? codeSlots[tc.codes![i]!]! : slot(tc.get(i)!);
      if (k < 0) continue;
      sums[k]! += d;
      counts[k]!++;
    }
  }
  m = new Map();
  for (const [t, k] of slotOf) if (counts[k]! > 0) m.set(t, sums[k]! / counts[k]!);
  durationCache.set(tasks, m);
  return m;
}

/** Execution metrics over all tasks; the same keys whether or not there are tasks. */
export interface TaskExecutionMetrics {
  total_tasks: number;
  completed_tasks: number;
  failed_tasks: number;
  pending_tasks: number;
  /** Tasks assigned or running. */
  running_tasks: number;
  /** completed / (completed + failed); 0 when none has finished. */
  completion_rate: number;
  /** Mean completed_at − started_at (seconds) over completed tasks with both known; 0 when none. */
  average_execution_time: number;
  /** Tasks per type in order of first appearance (a null type counts as "unknown"). */
  task_types: Record<string, number>;
}

const METRIC_STATUSES = ['pending', 'assigned', 'running', 'completed', 'failed'] as const;

/** Counts per status, completion rate, mean execution time and counts per type. */
export function getTaskExecutionMetrics(source: StateSource): TaskExecutionMetrics {
  return withSnapshot(source, (s) => {
    const v = tableView(s.tasks);
    const statusCol = v.str('status');
    const n = statusCol.countOf(METRIC_STATUSES);
    const started = v.num('started_at');
    const completedAt = v.num('completed_at');
    let sum = 0;
    let timed = 0;
    for (let b = 0; b < v.lengths.length; b++) {
      const st = started.chunks[b]!;
      const ct = completedAt.chunks[b]!;
      if (st.valid.allNull || ct.valid.allNull) continue;
      const done = statusCol.chunks[b]!.equals('completed');
      for (let i = 0; i < v.lengths[b]!; i++) {
        if (!done(i)) continue;
        const d = ct.get(i) - st.get(i);
        if (d === d) {
          sum += d;
          timed++;
        }
      }
    }
    const types: Record<string, number> = {};
    for (const [t, c] of v.str('type').counts('unknown')) setKey(types, t, c);
    const [pending, assigned, running, completed, failed] = n as [number, number, number, number, number];
    return {
      total_tasks: v.numRows,
      completed_tasks: completed,
      failed_tasks: failed,
      pending_tasks: pending,
      running_tasks: assigned + running,
      completion_rate: completed + failed > 0 ? completed / (completed + failed) : 0,
      average_execution_time: timed > 0 ? sum / timed : 0,
      task_types: types,
    };
  });
}

/**
 * Estimated seconds until task `taskId` completes, from the mean execution time (completed_at −
 * started_at) of the completed tasks of the same type:
 * - null when the task does not exist, has no type, or no completed task of its type has both times;
 * - 0 when the task is not pending, assigned or running (it has finished);
 * - for a running task with a start time: max(0, mean − (now − started_at));
 * - otherwise the mean.
 * `options.now` is the current time in epoch ms (default Date.now()).
 */
export function estimateTimeToCompletion(source: StateSource, taskId: string, opts?: { now?: number }): number | null {
  const id = text(taskId, 'taskId');
  const o = options(opts, ['now']);
  const now = o.now === undefined ? Date.now() : instant(o.now, 'options.now');
  return withSnapshot(source, (s) => {
    const v = tableView(s.tasks);
    const g = v.str('id').first(id);
    if (g < 0) return null;
    const statusCol = v.str('status');
    const st = statusCol.at(g);
    if (st !== 'pending' && st !== 'assigned' && st !== 'running') return 0;
    const type = v.str('type').at(g);
    if (type === null) return null;
    const avg = meanDurations(s.tasks).get(type);
    if (avg === undefined) return null;
    const startedAt = v.num('started_at').at(g);
    if (st === 'running' && Number.isFinite(startedAt)) return Math.max(0, avg - (now / 1000 - startedAt));
    return avg;
  });
}
