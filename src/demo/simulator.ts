/**
 * The living cluster of `cluster-state demo`: on every tick the simulator makes the writer's
 * mutations a real cluster would cause — heartbeats, nodes going offline and coming back,
 * tasks created, placed with findAvailableNodeForTask on the writer (read-your-writes: each
 * placement sees the previous one), started, completed (their output pinned as new content) or
 * failed and retried, content replicated to more providers — and keeps the state's size bounded
 * so the demo can run for as long as you like.
 *
 * Placement runs on the writer, not on the query pool: a pool worker answers from a snapshot
 * that does not hold the placements still in flight (eight queries in flight would all pick the
 * same best node), and a round trip per task capped placement at the tick rate — the pending
 * queue grew without bound. On the writer a placement costs about one re-encoded batch (see
 * findAvailableNodeForTask), so every pending task is placed within a tick or two.
 */
import { DueHeap, Queue, type Due } from './queues.js';
import { isStateError, type ClusterState, type TaskStatus } from '../index.js';
import { findAvailableNodeForTask } from '../helpers/index.js';
import { cid as syntheticCid, prng, TASK_TYPES } from './synthetic.js';
import { checkOptions } from '../validate/values.js';
import { labels } from '../cli/counts.js';



export interface SimStats {
  mutations: number;
  heartbeats: number;
  created: number;
  placed: number;
  started: number;
  completed: number;
  failed: number;
  retried: number;
  cancelled: number;
  offline: number;
  recovered: number;
  pinned: number;
  replicated: number;
  removed: number;
  /** Placements that found no node (requeued; cancelled after a few tries). */
  unplaced: number;
  /** Placements refused by the writer because the state moved on (e.g. the node went offline). */
  conflicts: number;
}

export interface SimOptions {
  /** New tasks per second. */
  rate: number;
  seed: number;
  /**
   * Wall-clock milliseconds a tick may spend placing pending tasks (default 20, of a 50 ms tick);
   * Infinity places every pending task in each tick (tests, where time is simulated).
   */
  placeBudgetMs?: number;
}

const SIM_OPTION_KEYS = ['rate', 'seed', 'placeBudgetMs'] as const satisfies readonly (keyof SimOptions)[];

/** A task no node fits is tried again this much later, and cancelled after this many tries. */
const PLACE_RETRY_MS = 1000;
const PLACE_TRIES = 5;

export class Simulator {
  readonly stats: SimStats = {
    mutations: 0, heartbeats: 0, created: 0, placed: 0, started: 0, completed: 0, failed: 0, retried: 0, cancelled: 0,
    offline: 0, recovered: 0, pinned: 0, replicated: 0, removed: 0, unplaced: 0, conflicts: 0,
  };
  /** Round trips of queries on the pool since the last `takeLatencies()` (ms). */
  private latencies: number[] = [];
  /** Placement times since the last `takePlacementTimes()` (ms). */
  private placeMs: number[] = [];
  private readonly rnd: () => number;
  private readonly due = new DueHeap();
  private readonly pending = new Queue();
  private readonly finished = new Queue();
  private readonly status = new Map<string, TaskStatus>();
  private readonly taskNode = new Map<string, string>();
  private readonly nodeTasks = new Map<string, Set<string>>();
  private readonly misses = new Map<string, number>();
  private readonly nodeIds: string[] = [];
  private readonly workers: string[] = [];
  private readonly nodeStatus = new Map<string, string>();
  private readonly memTotal = new Map<string, number>();
  private cids: string[] = [];
  private cidHead = 0;
  private readonly placeBudgetMs: number;
  private readonly maxTasks: number;
  private readonly maxContent: number;
  private nextTask = 0;
  private nextCid = 0;
  private acc = { heartbeat: 0, create: 0, churn: 0, replicate: 0 };
  private stopped = false;
  private readonly runId: string;

  private readonly opts: SimOptions;

  constructor(private readonly state: ClusterState, options: SimOptions) {
    this.opts = checkOptions(options, SIM_OPTION_KEYS, 'simulator options', false) as unknown as SimOptions;
    this.rnd = prng(this.opts.seed);
    this.placeBudgetMs = this.opts.placeBudgetMs ?? 20;
    this.runId = Date.now().toString(36);
    const t = state.getTables();
    const now = Date.now();
    const ids = labels(t.nodes, 'id');
    const roles = labels(t.nodes, 'role');
    const statuses = labels(t.nodes, 'status');
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!id) continue;
      this.nodeIds.push(id);
      this.nodeStatus.set(id, statuses[i] ?? 'online');
      if (roles[i] === 'worker') this.workers.push(id);
      // Nodes that start offline or degraded come back within the first minute.
      if (statuses[i] !== 'online') this.due.push({ at: now + 2000 + this.rnd() * 60_000, kind: 'recover', id });
    }
    const tids = labels(t.tasks, 'id');
    const tst = labels(t.tasks, 'status');
    const tnode = labels(t.tasks, 'assigned_to');
    for (let i = 0; i < tids.length; i++) {
      const id = tids[i];
      if (!id) continue;
      const st = (tst[i] ?? 'pending') as TaskStatus;
      this.status.set(id, st);
      if (st === 'pending') this.pending.push(id);
      else if (st === 'assigned' || st === 'running') {
        if (tnode[i]) this.bind(id, tnode[i]!);
        // Spread the initial work over the first 20 seconds.
        this.due.push({ at: now + this.rnd() * 20_000, kind: st === 'assigned' ? 'start' : 'finish', id });
      } else this.finished.push(id);
    }
    this.cids = labels(t.content, 'cid').filter((c): c is string => c !== null);
    const initialTasks = this.status.size;
    this.maxTasks = initialTasks + Math.max(1000, Math.round(initialTasks * 0.1));
    this.maxContent = this.cids.length + Math.max(1000, Math.round(this.cids.length * 0.1));
    this.nextTask = initialTasks;
    this.nextCid = this.cids.length;
  }

  /** Tasks waiting for placement, and scheduled events (for the view and tests). */
  get queued(): { pending: number; due: number } {
    return { pending: this.pending.size, due: this.due.size };
  }

  /** The query round trips (ms) measured since the last call. */
  takeLatencies(): number[] {
    const l = this.latencies;
    this.latencies = [];
    return l;
  }

  /** Records a query round trip made elsewhere (the view's own queries). */
  addLatency(ms: number): void {
    this.latencies.push(ms);
  }

  private pick<T>(a: readonly T[]): T | undefined {
    return a.length ? a[Math.floor(this.rnd() * a.length)] : undefined;
  }

  private bind(task: string, node: string): void {
    this.taskNode.set(task, node);
    let s = this.nodeTasks.get(node);
    if (!s) this.nodeTasks.set(node, (s = new Set()));
    s.add(task);
  }

  private unbind(task: string): void {
    const node = this.taskNode.get(task);
    if (node === undefined) return;
    this.taskNode.delete(task);
    this.nodeTasks.get(node)?.delete(task);
  }

  /** Runs `fn` (one mutation or a transaction); a refusal by the writer is counted, not fatal. */
  private apply(fn: () => void, mutations = 1): boolean {
    try {
      fn();
      this.stats.mutations += mutations;
      return true;
    } catch (e) {
      if (isStateError(e) && e.code !== 'CLOSED' && e.code !== 'LOCKED' && e.code !== 'IO') {
        this.stats.conflicts++;
        return false;
      }
      throw e;
    }
  }

  /** One step of `dtMs` milliseconds of cluster life at time `now`. */
  tick(now: number, dtMs: number): void {
    if (this.stopped) return;
    const dt = dtMs / 1000;
    const s = this.state;

    // Heartbeats: every node reports about every 2 s with fresh load figures.
    this.acc.heartbeat += (this.nodeIds.length / 2) * dt;
    for (; this.acc.heartbeat >= 1; this.acc.heartbeat--) {
      const id = this.pick(this.nodeIds)!;
      if (this.nodeStatus.get(id) === 'offline') continue;
      let total = this.memTotal.get(id);
      if (total === undefined) {
        total = s.getNode(id)?.resources.memory_total ?? 0;
        this.memTotal.set(id, total);
      }
      const cpuLoad = Math.round(this.rnd() * 1000) / 10;
      const memoryAvailable = Math.floor(total * (0.1 + 0.85 * this.rnd()));
      if (this.apply(() => s.heartbeat(id, { cpu_load: cpuLoad, memory_available: memoryAvailable }))) this.stats.heartbeats++;
    }

    // Churn: a worker goes offline (its tasks go back to pending) or degraded, and recovers later.
    this.acc.churn += Math.max(0.5, this.workers.length / 400) * dt;
    for (; this.acc.churn >= 1; this.acc.churn--) {
      const id = this.pick(this.workers);
      if (!id || this.nodeStatus.get(id) !== 'online') continue;
      const to = this.rnd() < 0.75 ? 'offline' : 'degraded';
      const active = [...(this.nodeTasks.get(id) ?? [])];
      const ok = this.apply(() => s.transaction(() => {
        s.updateNodeStatus(id, to);
        if (to === 'offline') for (const t of active) s.updateTask(t, { status: 'pending' });
      }), 1 + (to === 'offline' ? active.length : 0));
      if (!ok) continue;
      this.nodeStatus.set(id, to);
      this.stats.offline++;
      if (to === 'offline') {
        for (const t of active) {
          this.unbind(t);
          this.status.set(t, 'pending');
          this.pending.push(t);
        }
      }
      this.due.push({ at: now + 3000 + this.rnd() * 12_000, kind: 'recover', id });
    }

    // New tasks.
    this.acc.create += this.opts.rate * dt;
    for (; this.acc.create >= 1; this.acc.create--) this.createTask();

    // Events that are due: tasks start and finish, failed tasks are retried, nodes recover.
    for (let n = 0; n < 20_000; n++) {
      const d = this.due.peek();
      if (!d || d.at > now) break;
      this.due.pop();
      this.handle(d, now);
    }

    // Replication: look at a few content items; add a provider where replicas are missing, pin some.
    this.acc.replicate += Math.max(5, this.opts.rate) * dt;
    for (; this.acc.replicate >= 1; this.acc.replicate--) this.replicate();

    // Keep the state bounded: drop the oldest finished tasks and the oldest content.
    for (let n = 0; n < 200 && this.status.size > this.maxTasks; n++) {
      const id = this.finished.shift();
      if (id === undefined) break;
      const st = this.status.get(id);
      if (st !== 'completed' && st !== 'failed' && st !== 'cancelled') continue;
      if (this.apply(() => s.removeTask(id))) {
        this.status.delete(id);
        this.stats.removed++;
      }
    }
    for (let n = 0; n < 200 && this.cids.length - this.cidHead > this.maxContent; n++) {
      const c = this.cids[this.cidHead++]!;
      if (this.apply(() => s.removeContent(c))) this.stats.removed++;
      if (this.cidHead > 65536) {
        this.cids = this.cids.slice(this.cidHead);
        this.cidHead = 0;
      }
    }

    // Placement on the writer, oldest first, within the tick's budget.
    const until = performance.now() + this.placeBudgetMs;
    while (this.pending.size > 0 && performance.now() < until) {
      const id = this.pending.shift()!;
      if (this.status.get(id) !== 'pending') continue;
      this.place(id, now);
    }
  }

  private createTask(): void {
    let id = `task-${String(this.nextTask++).padStart(8, '0')}`;
    while (this.status.has(id)) id = `task-${String(this.nextTask++).padStart(8, '0')}`;
    const input = this.cids.length > this.cidHead ? this.cids[this.cidHead + Math.floor(this.rnd() * (this.cids.length - this.cidHead))]! : null;
    const r = this.rnd;
    const ok = this.apply(() => this.state.addTask({
      id,
      type: TASK_TYPES[Math.floor(r() * TASK_TYPES.length)]!,
      priority: Math.floor(r() * 10),
      resources: { cpu_cores: 1 + Math.floor(r() * 4), gpu_cores: r() < 0.08 ? 1 : 0, memory_mb: 256 * (1 + Math.floor(r() * 16)) },
      input_cids: input ? [input] : [],
      payload: { shard: Math.floor(r() * 64), run: this.runId },
    }));
    if (!ok) return;
    this.stats.created++;
    this.status.set(id, 'pending');
    this.pending.push(id);
  }

  /**
   * Places a pending task on the best node (findAvailableNodeForTask on the writer: it sees every
   * placement made before), or schedules another try; a task no node fits for PLACE_TRIES tries
   * is cancelled.
   */
  private place(id: string, now: number): void {
    const t0 = performance.now();
    const node = findAvailableNodeForTask(this.state, id);
    this.placeMs.push(performance.now() - t0);
    if (node !== null && this.apply(() => this.state.assignTask(id, node.id))) {
      this.stats.placed++;
      this.status.set(id, 'assigned');
      this.bind(id, node.id);
      this.misses.delete(id);
      this.due.push({ at: now + 100 + this.rnd() * 900, kind: 'start', id });
      return;
    }
    if (node === null) this.stats.unplaced++;
    const misses = (this.misses.get(id) ?? 0) + 1;
    if (misses >= PLACE_TRIES) {
      // Nothing fits (e.g. a GPU task while every GPU node is busy): give up on it.
      this.misses.delete(id);
      if (this.apply(() => this.state.updateTask(id, { status: 'cancelled', error: 'no node fits its requirements' }))) {
        this.stats.cancelled++;
        this.status.set(id, 'cancelled');
        this.finished.push(id);
      }
    } else {
      this.misses.set(id, misses);
      this.due.push({ at: now + PLACE_RETRY_MS, kind: 'place', id });
    }
  }

  /** Wall-clock ms of each placement since the last call (findAvailableNodeForTask on the writer). */
  takePlacementTimes(): number[] {
    const p = this.placeMs;
    this.placeMs = [];
    return p;
  }

  private handle(d: Due, now: number): void {
    const s = this.state;
    const st = this.status.get(d.id);
    switch (d.kind) {
      case 'start': {
        if (st !== 'assigned') return;
        if (!this.apply(() => s.updateTask(d.id, { status: 'running' }))) return;
        this.stats.started++;
        this.status.set(d.id, 'running');
        this.due.push({ at: now + 500 + this.rnd() * 7500, kind: 'finish', id: d.id });
        return;
      }
      case 'finish': {
        if (st !== 'running' && st !== 'assigned') return;
        const node = this.taskNode.get(d.id);
        if (this.rnd() < 0.85) {
          const out = this.newCid();
          const size = Math.floor(2 ** (12 + this.rnd() * 20));
          const replication = 2 + Math.floor(this.rnd() * 2);
          // The task's completion and its pinned output are one revision.
          const ok = this.apply(() => s.transaction(() => {
            s.updateTask(d.id, { status: 'completed', result: { ok: true, bytes: size }, output_cid: out, output_cids: [out] });
            s.addContent({ cid: out, size, providers: node ? [node] : [], pinned: true, replication });
          }), 2);
          if (!ok) return;
          this.cids.push(out);
          this.stats.completed++;
          this.stats.pinned++;
          this.status.set(d.id, 'completed');
          this.finished.push(d.id);
        } else {
          if (!this.apply(() => s.updateTask(d.id, { status: 'failed', error: 'exit code 137 (out of memory)' }))) return;
          this.stats.failed++;
          this.status.set(d.id, 'failed');
          const attempts = s.getTask(d.id)?.attempts ?? 99;
          if (attempts < 3) this.due.push({ at: now + 1000 + this.rnd() * 3000, kind: 'retry', id: d.id });
          else this.finished.push(d.id);
        }
        this.unbind(d.id);
        return;
      }
      case 'place': {
        if (st === 'pending') this.pending.push(d.id);
        return;
      }
      case 'retry': {
        if (st !== 'failed') return;
        if (!this.apply(() => s.updateTask(d.id, { status: 'pending' }))) return;
        this.stats.retried++;
        this.status.set(d.id, 'pending');
        this.pending.push(d.id);
        return;
      }
      case 'recover': {
        const ns = this.nodeStatus.get(d.id);
        if (ns === undefined || ns === 'online') return;
        // An offline node comes back with a heartbeat; a degraded one is marked healthy again.
        const ok = ns === 'offline' ? this.apply(() => s.heartbeat(d.id)) : this.apply(() => s.updateNodeStatus(d.id, 'online'));
        if (!ok) return;
        this.nodeStatus.set(d.id, 'online');
        this.stats.recovered++;
        return;
      }
    }
  }

  private newCid(): string {
    // Synthetic CIDs beyond the loaded ones, tagged with this run so runs never collide.
    for (;;) {
      const c = `${syntheticCid(this.nextCid++).slice(0, -8)}${this.runId.slice(-8).padStart(8, 'r')}`;
      if (!this.state.getContent(c)) return c;
    }
  }

  private replicate(): void {
    if (this.cids.length <= this.cidHead) return;
    const c = this.cids[this.cidHead + Math.floor(this.rnd() * (this.cids.length - this.cidHead))]!;
    const item = this.state.getContent(c);
    if (!item) return;
    if (item.providers.length < item.replication) {
      const node = this.pick(this.workers);
      if (!node || this.nodeStatus.get(node) !== 'online' || item.providers.includes(node)) return;
      if (this.apply(() => this.state.addProvider(c, node))) this.stats.replicated++;
    } else if (!item.pinned && this.rnd() < 0.2) {
      if (this.apply(() => this.state.updateContent(c, { pinned: true }))) this.stats.pinned++;
    }
  }

  /** Stops making changes (every change is synchronous: nothing is left in flight). */
  async stop(): Promise<void> {
    this.stopped = true;
  }
}
