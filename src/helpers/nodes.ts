/**
 * Node helpers. Each scans the columns it needs (role/status by dictionary code, ids and
 * capabilities on raw UTF-8 bytes, resources as typed arrays) and materialises only the nodes it
 * returns. Null resource fields mean "unknown": they never match a filter and never crash.
 */
import type { NodeRecord } from '../schema/records.js';
import { text } from './args.js';
import { tableView, type TableView } from '../arrow/decode/table-view.js';
import { withSnapshot, type StateSource } from './source.js';
import type { Snapshot } from '../snapshot.js';

/** Every node, in table order. */
export function getAllNodes(source: StateSource): NodeRecord[] {
  return withSnapshot(source, (s) => tableView(s.nodes).allRecords('nodes') as unknown as NodeRecord[]);
}

/** The node with this id (the first, should a foreign file repeat an id), or null. */
export function getNodeById(source: StateSource, nodeId: string): NodeRecord | null {
  const id = text(nodeId, 'nodeId');
  return withSnapshot(source, (s) => {
    return tableView(s.nodes).lookup('nodes', id) as unknown as NodeRecord | null;
  });
}

/** Nodes whose role is `role` (any string; an unknown role matches nothing), in table order. */
export function findNodesByRole(source: StateSource, role: string): NodeRecord[] {
  const r = text(role, 'role');
  return withSnapshot(source, (s) => {
    const v = tableView(s.nodes);
    return v.records('nodes', v.str('role').where(r)) as unknown as NodeRecord[];
  });
}

/** Nodes whose capabilities include `capability`, in table order. */
export function findNodesByCapability(source: StateSource, capability: string): NodeRecord[] {
  const c = text(capability, 'capability');
  return withSnapshot(source, (s) => {
    const v = tableView(s.nodes);
    return v.records('nodes', v.list('capabilities').whereContains(c)) as unknown as NodeRecord[];
  });
}

/** Global rows of nodes with gpu_count > 0 and gpu_available true (unknown counts as no). */
export function gpuNodeRows(v: TableView): number[] {
  const count = v.num('resources.gpu_count');
  const avail = v.num('resources.gpu_available');
  const out: number[] = [];
  for (let b = 0; b < count.chunks.length; b++) {
    const c = count.chunks[b]!;
    const a = avail.chunks[b]!;
    const base = v.starts[b]!;
    for (let i = 0; i < c.length; i++) if (c.get(i) > 0 && a.get(i) === 1) out.push(base + i);
  }
  return out;
}

/**
 * Nodes with GPUs available: `gpu_count > 0` and `gpu_available` true. A node whose GPU fields
 * are unknown (null) is not listed (the Python original crashed on it).
 */
export function findNodesWithGpu(source: StateSource): NodeRecord[] {
  return withSnapshot(source, (s) => {
    const v = tableView(s.nodes);
    return v.records('nodes', gpuNodeRows(v)) as unknown as NodeRecord[];
  });
}

/** Resource utilization of one node; every ratio is a fraction in [0, 1], null where unknown. */
export interface NodeUtilization {
  node_id: string;
  /** cpu_load / 100. */
  cpu_utilization: number | null;
  /** 1 − memory_available / memory_total (null when either is unknown or the total is not > 0). */
  memory_utilization: number | null;
  /** 1 − disk_available / disk_total (likewise). */
  disk_utilization: number | null;
  /**
   * Null for a node without GPUs (gpu_count unknown or 0). Else 1 when the node reports its
   * GPUs unavailable, otherwise the share of its GPUs claimed by its active tasks
   * (Σ gpu_cores of its assigned/running tasks / gpu_count, at most 1).
   */
  gpu_utilization: number | null;
  /** Mean of the known values among cpu, memory and gpu utilization; null when none is known. */
  load_index: number | null;
  /** Its tasks in status assigned or running. */
  active_tasks: number;
  /** completed / (completed + failed) over the tasks assigned to it; null when none has finished. */
  success_rate: number | null;
}

const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);
const ratioUsed = (avail: number, total: number): number | null => (Number.isFinite(avail) && Number.isFinite(total) && total > 0 ? clamp01(1 - avail / total) : null);

/** Statuses the task scans of the node helpers tell apart. */
export const TASK_CLASSES = ['assigned', 'running', 'completed', 'failed'] as const;

/** Per-node task figures for one node id: active count, finished counts, GPUs claimed. */
function nodeTaskFigures(s: Snapshot, nodeId: string): { active: number; completed: number; failed: number; gpus: number } {
  const tv = tableView(s.tasks);
  const assignedTo = tv.str('assigned_to');
  const status = tv.str('status').classifier(TASK_CLASSES);
  const gpu = tv.num('resources.gpu_cores');
  const target = new TextEncoder().encode(nodeId);
  let active = 0;
  let completed = 0;
  let failed = 0;
  let gpus = 0;
  for (let b = 0; b < tv.lengths.length; b++) {
    const g = gpu.chunks[b]!;
    const assigned = assignedTo.chunks[b]!.equals(nodeId, target);
    for (let i = 0; i < tv.lengths[b]!; i++) {
      if (!assigned(i)) continue;
      const k = status.at(b, i);
      if (k === 0 || k === 1) {
        active++;
        const x = g.get(i);
        if (x > 0) gpus += x;
      } else if (k === 2) completed++;
      else if (k === 3) failed++;
    }
  }
  return { active, completed, failed, gpus };
}

/**
 * Utilization of node `nodeId` (see NodeUtilization for each figure), or null when there is no
 * such node.
 */
export function getNodeResourceUtilization(source: StateSource, nodeId: string): NodeUtilization | null {
  const id = text(nodeId, 'nodeId');
  return withSnapshot(source, (s) => {
    const v = tableView(s.nodes);
    const g = v.str('id').first(id);
    if (g < 0) return null;
    const n = (path: string) => v.num(`resources.${path}`).at(g);
    const load = n('cpu_load');
    const cpu = Number.isFinite(load) ? clamp01(load / 100) : null;
    const memory = ratioUsed(n('memory_available'), n('memory_total'));
    const disk = ratioUsed(n('disk_available'), n('disk_total'));
    const t = nodeTaskFigures(s, id);
    const gpuCount = n('gpu_count');
    const gpuAvail = n('gpu_available');
    let gpu: number | null = null;
    if (Number.isFinite(gpuCount) && gpuCount > 0) gpu = gpuAvail === 0 ? 1 : clamp01(t.gpus / gpuCount);
    const known = [cpu, memory, gpu].filter((x): x is number => x !== null);
    return {
      node_id: id,
      cpu_utilization: cpu,
      memory_utilization: memory,
      disk_utilization: disk,
      gpu_utilization: gpu,
      load_index: known.length ? known.reduce((a, x) => a + x, 0) / known.length : null,
      active_tasks: t.active,
      success_rate: t.completed + t.failed > 0 ? t.completed / (t.completed + t.failed) : null,
    };
  });
}
