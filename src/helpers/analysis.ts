/**
 * Cluster-wide analysis: the status summary, the network topology, and the JSON export.
 */
import { closeSync, fsyncSync, openSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import { invalid, ioError } from '../errors.js';
import { ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import { text } from './args.js';
import { tableView } from '../arrow/decode/table-view.js';
import { withSnapshot, type StateSource } from './source.js';
import { compareCodePoints } from '../query/compare.js';

export { compareCodePoints };

const GiB = 2 ** 30;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** The status summary (the Python original's shape; null resource fields are skipped, not fatal). */
export interface ClusterStatusSummary {
  cluster_id: string;
  master_id: string | null;
  /** Epoch ms, UTC. */
  updated_at: number | null;
  nodes: { total: number; active: number; by_role: { master: number; worker: number; leecher: number } };
  resources: {
    /** Σ cpu_count over nodes that report it. */
    cpu_cores: number;
    /** Σ gpu_count; `available` counts nodes whose gpu_available is true. */
    gpu_cores: { total: number; available: number };
    /** Σ memory_total and Σ memory_available in GiB, rounded to 2 places. */
    memory_gb: { total: number; available: number };
  };
  tasks: { total: number; by_status: { pending: number; assigned: number; running: number; completed: number; failed: number; cancelled: number } };
  /** `total_size_gb` = Σ size / 2^30 (not rounded). */
  content: { total: number; total_size_gb: number };
}

const ROLES = ['master', 'worker', 'leecher'] as const;
const STATUSES = ['pending', 'assigned', 'running', 'completed', 'failed', 'cancelled'] as const;

/**
 * Counts and totals of the whole cluster from one snapshot: nodes (total, online, per role),
 * resources (unknown values count as nothing, they never make the summary fail), tasks per
 * status, content count and size.
 */
export function getClusterStatusSummary(source: StateSource): ClusterStatusSummary {
  return withSnapshot(source, (s) => {
    const nv = tableView(s.nodes);
    const roles = nv.str('role').countOf(ROLES);
    const [active] = nv.str('status').countOf(['online']) as [number];
    // Unknown (null) values add nothing: the sums skip them.
    const cpuSum = nv.num('resources.cpu_count').sum();
    const gpu = nv.num('resources.gpu_count');
    const gpuSum = gpu.sum();
    const gpuAvail = nv.num('resources.gpu_available');
    let gpuAvailSum = 0;
    for (let b = 0; b < nv.lengths.length; b++) {
      const gc = gpu.chunks[b]!;
      const ga = gpuAvail.chunks[b]!;
      if (ga.valid.allNull) continue;
      for (let i = 0; i < nv.lengths[b]!; i++) {
        if (ga.get(i) !== 1) continue;
        const g = gc.get(i);
        if (g === g) gpuAvailSum += g;
      }
    }
    const memTotal = nv.num('resources.memory_total').sum();
    const memAvail = nv.num('resources.memory_available').sum();
    const tv = tableView(s.tasks);
    const byStatus = tv.str('status').countOf(STATUSES);
    const cv = tableView(s.content);
    const bytes = cv.num('size').sum();
    return {
      cluster_id: s.clusterId,
      master_id: s.masterId,
      updated_at: Number.isFinite(s.updatedAt) ? s.updatedAt : null,
      nodes: { total: nv.numRows, active, by_role: { master: roles[0]!, worker: roles[1]!, leecher: roles[2]! } },
      resources: {
        cpu_cores: cpuSum,
        gpu_cores: { total: gpuSum, available: gpuAvailSum },
        memory_gb: { total: round2(memTotal / GiB), available: round2(memAvail / GiB) },
      },
      tasks: {
        total: tv.numRows,
        by_status: { pending: byStatus[0]!, assigned: byStatus[1]!, running: byStatus[2]!, completed: byStatus[3]!, failed: byStatus[4]!, cancelled: byStatus[5]! },
      },
      content: { total: cv.numRows, total_size_gb: bytes / GiB },
    };
  });
}

/** One node of the topology. */
export interface TopologyNode {
  id: string | null;
  role: string | null;
  status: string | null;
  /** cpu_count and gpu_count as stored, memory_gb = memory_total / 2^30 (null where unknown). */
  resources: { cpu_count: number | null; memory_gb: number | null; gpu_count: number | null };
}

/** An undirected link; `source` is the smaller id (Unicode code-point order). */
export interface TopologyLink {
  source: string;
  target: string;
}


/**
 * Nodes (id, role, status and a resource digest) and the links between them from each node's
 * `peers`. Links are undirected: a pair listed by both nodes, or several times, is one link, and
 * a link listed only by the node with the larger id is kept (the Python original dropped it).
 * Each link is `{ source: smaller id, target: larger id }`, in order of first mention (nodes in
 * table order, peers in list order). Peers that are not (or no longer) nodes still give links.
 */
export function getNetworkTopology(source: StateSource): { nodes: TopologyNode[]; connections: TopologyLink[] } {
  return withSnapshot(source, (s) => {
    const v = tableView(s.nodes);
    const ids = v.str('id');
    const roles = v.str('role');
    const statuses = v.str('status');
    const cpu = v.num('resources.cpu_count');
    const mem = v.num('resources.memory_total');
    const gpu = v.num('resources.gpu_count');
    const peers = v.list('peers');
    const nodes: TopologyNode[] = new Array(v.numRows);
    const connections: TopologyLink[] = [];
    const seen = new Map<string, Set<string>>();
    const num = (x: number) => (x === x ? x : null);
    let k = 0;
    for (let b = 0; b < v.lengths.length; b++) {
      const ic = ids.chunks[b]!;
      const pc = peers.chunks[b]!;
      for (let i = 0; i < v.lengths[b]!; i++) {
        const id = ic.get(i);
        const m = mem.chunks[b]!.get(i);
        nodes[k++] = {
          id,
          role: roles.chunks[b]!.get(i),
          status: statuses.chunks[b]!.get(i),
          resources: { cpu_count: num(cpu.chunks[b]!.get(i)), memory_gb: m === m ? m / GiB : null, gpu_count: num(gpu.chunks[b]!.get(i)) },
        };
        if (id === null) continue;
        const end = pc.end(i);
        for (let j = pc.start(i); j < end; j++) {
          const peer = pc.child!.get(j);
          if (peer === null || peer === id) continue;
          const [a, z] = compareCodePoints(id, peer) < 0 ? [id, peer] : [peer, id];
          let targets = seen.get(a);
          if (!targets) seen.set(a, (targets = new Set()));
          if (targets.has(z)) continue;
          targets.add(z);
          connections.push({ source: a, target: z });
        }
      }
    }
    return { nodes, connections };
  });
}

// ───────────────────────────── export ─────────────────────────────

/** Record fields that are times, and their unit (ms, or s for the task's run times). */
const TIME_FIELDS: Record<EntityKind, readonly [string, 1 | 1000][]> = {
  nodes: [['last_seen', 1]],
  tasks: [['created_at', 1], ['updated_at', 1], ['started_at', 1000], ['completed_at', 1000]],
  content: [['created_at', 1], ['pinned_at', 1]],
};

/** ISO-8601 UTC text of an epoch-ms instant (the number itself if it is out of Date's range). */
function iso(ms: unknown): unknown {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return ms;
  return new Date(ms).toISOString();
}

/**
 * Where a file written to `path` really lands: symbolic links resolved (the link's target is
 * written, never the link replaced), `exists` false for a new file, `regular` false for a
 * device, FIFO or socket (written as a stream, never replaced). INVALID_ARGUMENT for a directory.
 */
export function outputTarget(path: string): { path: string; exists: boolean; regular: boolean } {
  const abs = resolve(path);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    let parent: string;
    try {
      parent = realpathSync(dirname(abs));
    } catch (e) {
      throw ioError('exporting the state to', abs, e);
    }
    return { path: join(parent, basename(abs)), exists: false, regular: true };
  }
  const st = statSync(real);
  if (st.isDirectory()) throw invalid('outputPath', path, 'a file path (it is a directory)');
  return { path: real, exists: true, regular: st.isFile() };
}

/**
 * Writes the state to `outputPath` as JSON and returns true: `cluster_id`, `master_id`,
 * `updated_at`, then `nodes`, `tasks` and `content` as arrays of records (one record per line),
 * every time as ISO-8601 UTC text, JSON fields (payload, result, metadata) as JSON values,
 * numbers as numbers. A regular file (or a new one) is replaced atomically: written to a
 * temporary file beside it (created exclusively), fsynced, renamed over it, and the directory
 * fsynced — a reader sees the old file or the new one, never a part. A symbolic link is followed
 * (its target is replaced, not the link); a device, FIFO or socket (e.g. /dev/stdout) is written
 * as a stream and never replaced. Failure is never reported as success: a missing state throws
 * NOT_FOUND, a failed write throws IO (the temporary file is removed and the old file is left as
 * it was).
 */
export function exportStateToJson(source: StateSource, outputPath: string): true {
  const target = outputTarget(text(outputPath, 'outputPath'));
  const out = target.path;
  return withSnapshot(source, (s) => {
    const dir = dirname(out);
    const tmp = target.regular ? join(dir, `.${basename(out)}.${process.pid}.${threadId}.${randomBytes(8).toString('hex')}.tmp`) : null;
    let fd: number | null = null;
    try {
      fd = tmp ? openSync(tmp, 'wx', 0o644) : openSync(out, 'w');
      const write = (text: string) => {
        const bytes = Buffer.from(text);
        let off = 0;
        while (off < bytes.byteLength) off += writeSync(fd!, bytes, off, bytes.byteLength - off);
      };
      let buf = '';
      const flush = (force: boolean) => {
        if (buf.length >= (force ? 1 : 1 << 20)) {
          write(buf);
          buf = '';
        }
      };
      buf += `{\n  "cluster_id": ${JSON.stringify(s.clusterId)},\n  "master_id": ${JSON.stringify(s.masterId)},\n  "updated_at": ${JSON.stringify(iso(s.updatedAt) ?? null)}`;
      for (const kind of ENTITY_KINDS) {
        const v = tableView(s[kind]);
        const times = TIME_FIELDS[kind];
        buf += `,\n  ${JSON.stringify(kind)}: [`;
        let first = true;
        for (let g = 0; g < v.numRows; g++) {
          const rec = v.record(kind, g);
          for (const [f, unit] of times) rec[f] = iso(typeof rec[f] === 'number' ? (rec[f] as number) * unit : rec[f]);
          buf += `${first ? '' : ','}\n    ${JSON.stringify(rec)}`;
          first = false;
          flush(false);
        }
        buf += first ? ']' : '\n  ]';
      }
      buf += '\n}\n';
      flush(true);
      if (tmp) fsyncSync(fd);
      closeSync(fd);
      fd = null;
      if (tmp) renameSync(tmp, out);
    } catch (e) {
      if (fd !== null) {
        try {
          closeSync(fd);
        } catch {
          // already failing; the original error is what matters
        }
      }
      if (tmp) rmSync(tmp, { force: true });
      throw ioError('exporting the state to', out, e);
    }
    if (!tmp) return true as const;
    try {
      const d = openSync(dir, 'r');
      try {
        fsyncSync(d);
      } finally {
        closeSync(d);
      }
    } catch {
      // Directory fsync is not supported everywhere (e.g. some network filesystems); the rename is done.
    }
    return true as const;
  });
}
