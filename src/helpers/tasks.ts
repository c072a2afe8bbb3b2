/**
 * Task helpers: lookups and filters (placement: placement.ts; metrics: task-metrics.ts). Columns
 * are scanned in place (status/type by dictionary code, ids on raw bytes, requirements and times
 * as typed arrays); only the tasks returned are materialised.
 */
import type {  TaskRecord, TaskResourcesInput } from '../schema/records.js';
import {  requirements, text } from './args.js';
import type { NumChunk } from '../arrow/decode/num-chunk.js';
import {  tableView } from '../arrow/decode/table-view.js';
import { withSnapshot, type StateSource } from './source.js';


/** Every task, in table order. */
export function getAllTasks(source: StateSource): TaskRecord[] {
  return withSnapshot(source, (s) => tableView(s.tasks).allRecords('tasks') as unknown as TaskRecord[]);
}

/** The task with this id, or null. */
export function getTaskById(source: StateSource, taskId: string): TaskRecord | null {
  const id = text(taskId, 'taskId');
  return withSnapshot(source, (s) => {
    return tableView(s.tasks).lookup('tasks', id) as unknown as TaskRecord | null;
  });
}

function findBy(source: StateSource, column: string, value: string): TaskRecord[] {
  return withSnapshot(source, (s) => {
    const v = tableView(s.tasks);
    return v.records('tasks', v.str(column).where(value)) as unknown as TaskRecord[];
  });
}

/** Tasks in status `status` (any string; an unknown status matches nothing), in table order. */
export function findTasksByStatus(source: StateSource, status: string): TaskRecord[] {
  return findBy(source, 'status', text(status, 'status'));
}

/** Tasks of type `type`, in table order. */
export function findTasksByType(source: StateSource, type: string): TaskRecord[] {
  return findBy(source, 'type', text(type, 'type'));
}

/** Tasks whose `assigned_to` is `nodeId` (whatever their status), in table order. */
export function findTasksByNode(source: StateSource, nodeId: string): TaskRecord[] {
  return findBy(source, 'assigned_to', text(nodeId, 'nodeId'));
}

/** The requirement fields of a task, in order. */
export const REQ_FIELDS = ['cpu_cores', 'gpu_cores', 'memory_mb'] as const;

/**
 * Tasks that need at least the given resources: for every requirement given, the task's stated
 * requirement is >= it. A requirement the task does not state (null) never matches a filter on
 * it. With no requirement given, every task that states at least one. Accepts
 * `{ cpu_cores, gpu_cores, memory_mb }` or `{ cpu, gpu, memory: '4GB' }`.
 */
export function findTasksByResourceRequirements(source: StateSource, required?: TaskResourcesInput | null): TaskRecord[] {
  const r = requirements(required, 'requirements');
  const filters = REQ_FIELDS.filter((k) => r[k] !== null).map((k) => [k, r[k]!] as const);
  return withSnapshot(source, (s) => {
    const v = tableView(s.tasks);
    const cols = REQ_FIELDS.map((k) => v.num(`resources.${k}`));
    const fcols = filters.map(([k]) => v.num(`resources.${k}`));
    const mins = filters.map(([, min]) => min);
    const rows: number[] = [];
    for (let b = 0; b < v.lengths.length; b++) {
      const base = v.starts[b]!;
      const len = v.lengths[b]!;
      if (fcols.length === 0) {
        const [c0, c1, c2] = cols.map((c) => c.chunks[b]!) as [NumChunk, NumChunk, NumChunk];
        for (let i = 0; i < len; i++) if (c0.get(i) === c0.get(i) || c1.get(i) === c1.get(i) || c2.get(i) === c2.get(i)) rows.push(base + i);
        continue;
      }
      // Each filter narrows the rows of this batch (NaN, i.e. unknown, never passes).
      let cand: number[] | null = null;
      for (let f = 0; f < fcols.length; f++) {
        const c = fcols[f]!.chunks[b]!;
        const min = mins[f]!;
        const next: number[] = [];
        if (cand === null) {
          for (let i = 0; i < len; i++) if (c.get(i) >= min) next.push(i);
        } else {
          for (const i of cand) if (c.get(i) >= min) next.push(i);
        }
        cand = next;
        if (cand.length === 0) break;
      }
      for (const i of cand!) rows.push(base + i);
    }
    return v.records('tasks', rows) as unknown as TaskRecord[];
  });
}

