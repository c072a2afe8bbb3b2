/**
 * The scheduler (the writer's `scheduler` option; docs/cluster.md): places pending tasks on
 * nodes, in the writer, every `intervalMs` and soon after a commit that adds pending work or
 * capacity.
 *
 * - Order: priority (higher first), then age (older `created_at` first), then id.
 * - Eligible nodes: `online`, not leechers. A node's free resources are its capacity
 *   (`cpu_count`, `gpu_count`, `memory_total`) minus the requirements of its assigned and running
 *   tasks (a task without stated requirements counts as 1 CPU core, 0 GPUs, 256 MiB — the
 *   placement helper's defaults); a task is placed only where all three fit, so a node is never
 *   over-committed. A node without a stated capacity (cpu_count or memory_total unknown) takes
 *   nothing.
 * - Among the nodes that fit, the best placement score wins (helpers/placement.ts: low load, free
 *   memory, few active tasks), so equal nodes take turns and work spreads.
 * - One tick places at most `maxPerTick` tasks, in one revision; each task looks at most at
 *   `SCAN_LIMIT` candidates in score order (a task that fits nowhere among them waits).
 * The scheduler keeps what it needs beside the state, updated from each commit: the pending
 * tasks' order keys and requirements, and the eligible nodes' capacities and load. Seeded once
 * from the tables when it starts.
 */
import type { RevisionChanges } from '../changes/change-set.js';
import { placementScore, DEFAULT_REQUIREMENTS } from '../helpers/placement.js';
import type { NodeRecord, TaskRecord } from '../schema/records.js';
import { checkInt32, checkOptions } from '../validate/values.js';

/** The `scheduler` option: true, or `{ intervalMs, maxPerTick }`. */
export interface SchedulerOptions {
  /** Placement runs at least this often (ms, default 250). */
  intervalMs?: number;
  /** Tasks placed per tick, at most (default 1000). */
  maxPerTick?: number;
}

export interface SchedulerSettings {
  intervalMs: number;
  maxPerTick: number;
}

export function checkSchedulerOptions(v: unknown): SchedulerSettings | null {
  if (v === false || v === undefined) return null;
  const o = v === true ? {} : checkOptions(v, ['intervalMs', 'maxPerTick'], 'options.scheduler', false);
  return {
    intervalMs: o.intervalMs === undefined ? 250 : checkInt32(o.intervalMs, 'options.scheduler.intervalMs', 1),
    maxPerTick: o.maxPerTick === undefined ? 1000 : checkInt32(o.maxPerTick, 'options.scheduler.maxPerTick', 1),
  };
}

/** Candidates looked at per task, in score order. */
const SCAN_LIMIT = 64;
const MiB = 1048576;

interface Need {
  cpu: number;
  gpu: number;
  memMiB: number;
}

interface PendingTask extends Need {
  id: string;
  priority: number;
  created: number;
}

interface NodeFacts {
  id: string;
  cpu: number;
  gpu: number;
  memMiB: number;
  cpuLoad: number;
  memAvail: number;
  memTotal: number;
}

/** What the scheduler uses of the writer. */
export interface SchedulerPort {
  nodes(): Iterable<NodeRecord>;
  pendingTasks(): Iterable<TaskRecord>;
  getTask(id: string): TaskRecord | undefined;
  activeTasks(nodeId: string): string[];
  assignTask(taskId: string, nodeId: string): void;
  transaction(fn: () => void): void;
  onError(e: unknown): void;
}

const needOf = (t: TaskRecord): Need => {
  const r = t.resources as { cpu_cores?: number | null; gpu_cores?: number | null; memory_mb?: number | null } | null;
  return { cpu: r?.cpu_cores ?? DEFAULT_REQUIREMENTS.cpu_cores, gpu: r?.gpu_cores ?? DEFAULT_REQUIREMENTS.gpu_cores, memMiB: r?.memory_mb ?? DEFAULT_REQUIREMENTS.memory_mb };
};

export class Scheduler {
  private readonly pending = new Map<string, PendingTask>();
  private readonly eligible = new Map<string, NodeFacts>();
  /** Requirements of tasks active on a node (for free resources), by task id. */
  private readonly activeNeed = new Map<string, Need>();
  private timer: NodeJS.Timeout | null = null;
  private soon = false;
  readonly counts = { placed: 0, ticks: 0 };

  constructor(private readonly w: SchedulerPort, readonly s: SchedulerSettings) {
    for (const n of w.nodes()) this.noteNode(n);
    for (const t of w.pendingTasks()) this.noteTask(t);
    this.timer = setInterval(() => this.tick(), s.intervalMs);
    this.timer.unref();
  }

  /** A committed revision: pending tasks and eligible nodes follow it; new work or capacity asks for a tick soon. */
  committed(rc: RevisionChanges): void {
    let wake = false;
    for (const row of rc.upserts.tasks ?? []) {
      const t = row as TaskRecord;
      this.noteTask(t);
      if (t.status === 'pending') wake = true;
      else if (t.status !== 'assigned' && t.status !== 'running') wake = true; // a finished task frees capacity
    }
    for (const id of rc.deletes.tasks ?? []) {
      this.pending.delete(id);
      this.activeNeed.delete(id);
    }
    for (const row of rc.upserts.nodes ?? []) {
      const n = row as NodeRecord;
      const was = this.eligible.has(n.id);
      this.noteNode(n);
      if (!was && this.eligible.has(n.id)) wake = true;
    }
    for (const id of rc.deletes.nodes ?? []) this.eligible.delete(id);
    if (wake && this.pending.size && !this.soon) {
      this.soon = true;
      setImmediate(() => {
        this.soon = false;
        this.tick();
      });
    }
  }

  private noteTask(t: TaskRecord): void {
    if (t.status === 'pending') {
      this.pending.set(t.id, { id: t.id, priority: t.priority ?? 0, created: t.created_at ?? 0, ...needOf(t) });
      this.activeNeed.delete(t.id);
    } else {
      this.pending.delete(t.id);
      if (t.status === 'assigned' || t.status === 'running') this.activeNeed.set(t.id, needOf(t));
      else this.activeNeed.delete(t.id);
    }
  }

  private noteNode(n: NodeRecord): void {
    const r = n.resources as unknown as Partial<Record<string, number | null>> | null;
    const cpu = r?.cpu_count;
    const mem = r?.memory_total;
    if (n.status !== 'online' || n.role === 'leecher' || cpu == null || mem == null) {
      this.eligible.delete(n.id);
      return;
    }
    this.eligible.set(n.id, {
      id: n.id, cpu, gpu: r?.gpu_count ?? 0, memMiB: mem / MiB,
      cpuLoad: r?.cpu_load ?? Number.NaN, memAvail: r?.memory_available ?? Number.NaN, memTotal: mem,
    });
  }

  /** One placement round (see the file comment). */
  tick(): void {
    if (!this.pending.size || !this.eligible.size) return;
    this.counts.ticks++;
    try {
      const order = [...this.pending.values()].sort((a, b) => b.priority - a.priority || a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      // Free resources and active counts of the eligible nodes now.
      const free = new Map<string, { cpu: number; gpu: number; memMiB: number; active: number; n: NodeFacts }>();
      for (const n of this.eligible.values()) {
        let cpu = n.cpu;
        let gpu = n.gpu;
        let memMiB = n.memMiB;
        const active = this.w.activeTasks(n.id);
        for (const t of active) {
          // Tasks active before the scheduler started are noted on first use (reading the row every tick cost most of a tick at M).
          let need = this.activeNeed.get(t);
          if (!need) this.activeNeed.set(t, (need = needOf(this.w.getTask(t)!)));
          cpu -= need.cpu;
          gpu -= need.gpu;
          memMiB -= need.memMiB;
        }
        free.set(n.id, { cpu, gpu, memMiB, active: active.length, n });
      }
      const score = (f: { active: number; n: NodeFacts }) => placementScore(f.n.cpuLoad, f.n.memAvail, f.n.memTotal, f.n.cpu, f.active);
      const ranked = [...free.values()].filter((f) => f.cpu > 0 && f.memMiB > 0).map((f) => ({ f, s: score(f) })).sort((a, b) => b.s - a.s);
      const placements: [string, string][] = [];
      for (const task of order) {
        if (placements.length >= this.s.maxPerTick || !ranked.length) break;
        let at = -1;
        for (let i = 0; i < ranked.length && i < SCAN_LIMIT; i++) {
          const f = ranked[i]!.f;
          if (f.cpu >= task.cpu && f.gpu >= task.gpu && f.memMiB >= task.memMiB) {
            at = i;
            break;
          }
        }
        if (at < 0) continue;
        const [entry] = ranked.splice(at, 1);
        const f = entry!.f;
        placements.push([task.id, f.n.id]);
        f.cpu -= task.cpu;
        f.gpu -= task.gpu;
        f.memMiB -= task.memMiB;
        f.active++;
        if (f.cpu > 0 && f.memMiB > 0) {
          // Back in score order (its score fell with the new task).
          const s = score(f);
          let lo = 0;
          let hi = ranked.length;
          while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (ranked[mid]!.s >= s) lo = mid + 1;
            else hi = mid;
          }
          ranked.splice(lo, 0, { f, s });
        }
      }
      if (!placements.length) return;
      this.w.transaction(() => {
        for (const [task, node] of placements) this.w.assignTask(task, node);
      });
      this.counts.placed += placements.length;
    } catch (e) {
      this.w.onError(e);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
