// The helpers written the straightforward way, over arrays of plain record objects: the
// specification the columnar helpers are checked against (property test), and the "row
// objects" baseline of the benchmark. Deliberately naive; shares no code with src/helpers.
import type { ClusterState, ContentRecord, NodeRecord, TaskRecord } from '../../src/index.js';

export interface Rows {
  cluster_id: string;
  master_id: string | null;
  updated_at: number | null;
  nodes: NodeRecord[];
  tasks: TaskRecord[];
  content: ContentRecord[];
}

/** The state's records in table order, from the store's own getters (not from the helpers). */
export function rowsOf(state: ClusterState): Rows {
  const t = state.getTables();
  const ids = (k: 'nodes' | 'tasks' | 'content', key: string) => [...t[k].getChild(key)!] as string[];
  return {
    cluster_id: state.clusterId,
    master_id: state.masterId,
    updated_at: state.updatedAt,
    nodes: ids('nodes', 'id').map((id) => state.getNode(id)!),
    tasks: ids('tasks', 'id').map((id) => state.getTask(id)!),
    content: ids('content', 'cid').map((cid) => state.getContent(cid)!),
  };
}

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const isActive = (t: TaskRecord) => t.status === 'assigned' || t.status === 'running';

type Req = { cpu_cores?: number; gpu_cores?: number; memory_mb?: number };

export const rowModel = {
  getClusterMetadata: (r: Rows) => ({
    cluster_id: r.cluster_id, master_id: r.master_id, updated_at: r.updated_at,
    node_count: r.nodes.length, task_count: r.tasks.length, content_count: r.content.length,
  }),
  getClusterStateAsDict: (r: Rows) => r,
  getAllNodes: (r: Rows) => r.nodes,
  getNodeById: (r: Rows, id: string) => r.nodes.find((n) => n.id === id) ?? null,
  findNodesByRole: (r: Rows, role: string) => r.nodes.filter((n) => n.role === role),
  findNodesByCapability: (r: Rows, cap: string) => r.nodes.filter((n) => n.capabilities.includes(cap)),
  findNodesWithGpu: (r: Rows) => r.nodes.filter((n) => n.resources.gpu_count !== null && n.resources.gpu_count > 0 && n.resources.gpu_available === true),

  getNodeResourceUtilization(r: Rows, id: string) {
    const n = r.nodes.find((x) => x.id === id);
    if (!n) return null;
    const res = n.resources;
    const used = (avail: number | null, total: number | null) => (avail !== null && total !== null && total > 0 ? clamp01(1 - avail / total) : null);
    const mine = r.tasks.filter((t) => t.assigned_to === id);
    const active = mine.filter(isActive);
    let gpus = 0;
    for (const t of active) if ((t.resources.gpu_cores ?? 0) > 0) gpus += t.resources.gpu_cores!;
    const completed = mine.filter((t) => t.status === 'completed').length;
    const failed = mine.filter((t) => t.status === 'failed').length;
    const cpu = res.cpu_load === null ? null : clamp01(res.cpu_load / 100);
    const memory = used(res.memory_available, res.memory_total);
    const gpu = res.gpu_count !== null && res.gpu_count > 0 ? (res.gpu_available === false ? 1 : clamp01(gpus / res.gpu_count)) : null;
    const known = [cpu, memory, gpu].filter((x) => x !== null) as number[];
    let sum = 0;
    for (const x of known) sum += x;
    return {
      node_id: id,
      cpu_utilization: cpu,
      memory_utilization: memory,
      disk_utilization: used(res.disk_available, res.disk_total),
      gpu_utilization: gpu,
      load_index: known.length ? sum / known.length : null,
      active_tasks: active.length,
      success_rate: completed + failed ? completed / (completed + failed) : null,
    };
  },

  getAllTasks: (r: Rows) => r.tasks,
  getTaskById: (r: Rows, id: string) => r.tasks.find((t) => t.id === id) ?? null,
  findTasksByStatus: (r: Rows, s: string) => r.tasks.filter((t) => t.status === s),
  findTasksByType: (r: Rows, type: string) => r.tasks.filter((t) => t.type === type),
  findTasksByNode: (r: Rows, id: string) => r.tasks.filter((t) => t.assigned_to === id),

  findTasksByResourceRequirements(r: Rows, req: Req = {}) {
    const keys = (['cpu_cores', 'gpu_cores', 'memory_mb'] as const).filter((k) => req[k] !== undefined);
    return r.tasks.filter((t) => {
      if (keys.length === 0) return t.resources.cpu_cores !== null || t.resources.gpu_cores !== null || t.resources.memory_mb !== null;
      return keys.every((k) => t.resources[k] !== null && t.resources[k]! >= req[k]!);
    });
  },

  findAvailableNodeForTask(r: Rows, task: string | Req) {
    let cpu = 1;
    let gpu = 0;
    let mem = 256;
    if (typeof task === 'string') {
      const t = r.tasks.find((x) => x.id === task);
      if (!t || t.status !== 'pending') return null;
      cpu = t.resources.cpu_cores ?? 1;
      gpu = t.resources.gpu_cores ?? 0;
      mem = t.resources.memory_mb ?? 256;
    } else {
      cpu = task.cpu_cores ?? 1;
      gpu = task.gpu_cores ?? 0;
      mem = task.memory_mb ?? 256;
    }
    const activeOn = new Map<string, number>();
    for (const t of r.tasks) if (isActive(t) && t.assigned_to !== null) activeOn.set(t.assigned_to, (activeOn.get(t.assigned_to) ?? 0) + 1);
    let best: NodeRecord | null = null;
    let bestScore = -1;
    for (const n of r.nodes) {
      const x = n.resources;
      if (n.role !== 'worker' || n.status !== 'online') continue;
      if (x.cpu_count === null || x.cpu_count < cpu) continue;
      if (x.memory_available === null || x.memory_available < mem * MiB) continue;
      if (gpu > 0 && (x.gpu_count === null || x.gpu_count < gpu || x.gpu_available !== true)) continue;
      const active = activeOn.get(n.id) ?? 0;
      const load = x.cpu_load === null ? 50 : Math.min(100, Math.max(0, x.cpu_load));
      const memShare = x.memory_total !== null && x.memory_total > 0 ? clamp01(x.memory_available / x.memory_total) : 0;
      const score = (0.4 * (1 - load / 100) + 0.6 * memShare) / (1 + active / Math.max(x.cpu_count, 1));
      if (best === null || score > bestScore) {
        best = n;
        bestScore = score;
      }
    }
    return best;
  },

  getTaskExecutionMetrics(r: Rows) {
    const count = (s: string) => r.tasks.filter((t) => t.status === s).length;
    const completed = count('completed');
    const failed = count('failed');
    const durations = r.tasks.filter((t) => t.status === 'completed' && t.started_at !== null && t.completed_at !== null).map((t) => t.completed_at! - t.started_at!);
    let sum = 0;
    for (const d of durations) sum += d;
    const types: Record<string, number> = {};
    for (const t of r.tasks) types[t.type ?? 'unknown'] = (types[t.type ?? 'unknown'] ?? 0) + 1;
    return {
      total_tasks: r.tasks.length,
      completed_tasks: completed,
      failed_tasks: failed,
      pending_tasks: count('pending'),
      running_tasks: count('assigned') + count('running'),
      completion_rate: completed + failed ? completed / (completed + failed) : 0,
      average_execution_time: durations.length ? sum / durations.length : 0,
      task_types: types,
    };
  },

  estimateTimeToCompletion(r: Rows, id: string, opts: { now: number }) {
    const t = r.tasks.find((x) => x.id === id);
    if (!t) return null;
    if (!['pending', 'assigned', 'running'].includes(t.status)) return 0;
    const durations = r.tasks.filter((x) => x.type === t.type && x.status === 'completed' && x.started_at !== null && x.completed_at !== null).map((x) => x.completed_at! - x.started_at!);
    if (!durations.length) return null;
    let sum = 0;
    for (const d of durations) sum += d;
    const avg = sum / durations.length;
    if (t.status === 'running' && t.started_at !== null) return Math.max(0, avg - (opts.now / 1000 - t.started_at));
    return avg;
  },

  getAllContent: (r: Rows) => r.content,
  findContentByCid: (r: Rows, cid: string) => r.content.find((c) => c.cid === cid) ?? null,
  findContentByProvider: (r: Rows, p: string) => r.content.filter((c) => c.providers.includes(p)),

  findOrphanedContent(r: Rows) {
    const used = new Set<string>();
    for (const t of r.tasks) {
      if (t.input_cid) used.add(t.input_cid);
      for (const c of t.input_cids) used.add(c);
      if (t.status === 'completed') {
        if (t.output_cid) used.add(t.output_cid);
        for (const c of t.output_cids) used.add(c);
      }
    }
    return r.content.filter((c) => c.cid && !used.has(c.cid));
  },

  getContentAvailabilityMap(r: Rows) {
    const online = new Set(r.nodes.filter((n) => n.status === 'online').map((n) => n.id));
    const out: Record<string, unknown> = {};
    for (const c of r.content) {
      if (c.cid in out) continue;
      const available = new Set(c.providers.filter((p) => online.has(p))).size;
      out[c.cid] = { providers: c.providers, replication: c.replication, available, shortfall: Math.max(0, c.replication - available) };
    }
    return out;
  },

  getClusterStatusSummary(r: Rows) {
    let cpu = 0;
    let gpu = 0;
    let gpuAvail = 0;
    let memT = 0;
    let memA = 0;
    for (const n of r.nodes) {
      cpu += n.resources.cpu_count ?? 0;
      gpu += n.resources.gpu_count ?? 0;
      if (n.resources.gpu_available === true) gpuAvail += n.resources.gpu_count ?? 0;
      memT += n.resources.memory_total ?? 0;
      memA += n.resources.memory_available ?? 0;
    }
    const roles = (x: string) => r.nodes.filter((n) => n.role === x).length;
    const st = (x: string) => r.tasks.filter((t) => t.status === x).length;
    let bytes = 0;
    for (const c of r.content) bytes += c.size;
    return {
      cluster_id: r.cluster_id,
      master_id: r.master_id,
      updated_at: r.updated_at,
      nodes: { total: r.nodes.length, active: r.nodes.filter((n) => n.status === 'online').length, by_role: { master: roles('master'), worker: roles('worker'), leecher: roles('leecher') } },
      resources: { cpu_cores: cpu, gpu_cores: { total: gpu, available: gpuAvail }, memory_gb: { total: Math.round((memT / GiB) * 100) / 100, available: Math.round((memA / GiB) * 100) / 100 } },
      tasks: { total: r.tasks.length, by_status: { pending: st('pending'), assigned: st('assigned'), running: st('running'), completed: st('completed'), failed: st('failed'), cancelled: st('cancelled') } },
      content: { total: r.content.length, total_size_gb: bytes / GiB },
    };
  },

  getNetworkTopology(r: Rows) {
    const nodes = r.nodes.map((n) => ({
      id: n.id, role: n.role, status: n.status,
      resources: { cpu_count: n.resources.cpu_count, memory_gb: n.resources.memory_total === null ? null : n.resources.memory_total / GiB, gpu_count: n.resources.gpu_count },
    }));
    const seen = new Set<string>();
    const connections: { source: string; target: string }[] = [];
    for (const n of r.nodes) {
      for (const p of n.peers) {
        if (p === n.id) continue;
        // Unicode code-point order = the order of the UTF-8 bytes.
        const [a, b] = Buffer.compare(Buffer.from(n.id), Buffer.from(p)) < 0 ? [n.id, p] : [p, n.id];
        const key = JSON.stringify([a, b]);
        if (seen.has(key)) continue;
        seen.add(key);
        connections.push({ source: a, target: b });
      }
    }
    return { nodes, connections };
  },

  /** What exportStateToJson's file should parse to. */
  exportedJson(r: Rows) {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      cluster_id: r.cluster_id,
      master_id: r.master_id,
      updated_at: iso(r.updated_at),
      nodes: r.nodes.map((n) => ({ ...n, last_seen: iso(n.last_seen) })),
      tasks: r.tasks.map((t) => ({
        ...t, created_at: iso(t.created_at), updated_at: iso(t.updated_at),
        started_at: t.started_at === null ? null : iso(t.started_at * 1000), completed_at: t.completed_at === null ? null : iso(t.completed_at * 1000),
      })),
      content: r.content.map((c) => ({ ...c, created_at: iso(c.created_at), pinned_at: iso(c.pinned_at) })),
    };
  },
};
