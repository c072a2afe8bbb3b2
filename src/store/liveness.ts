/**
 * Liveness (the writer's `liveness` option; docs/cluster.md): the master decides, on its own
 * clock, which nodes are alive.
 *
 * - A node silent for `heartbeatTimeoutMs` becomes `offline` — every node that expired in the same
 *   tick in one revision (per PER_REVISION nodes: a revision's change set must fit a replication
 *   message). Its assigned and running tasks go back to `pending` once it has been
 *   offline for `requeueAfterMs` (attempts kept), or `failed` with an error saying why once they
 *   have run `maxAttempts` times. A node heard again is `online` again.
 * - Heartbeats are coalesced (Nomad's lesson: liveness must not cost a revision per heartbeat).
 *   The rule: a report that changes only `last_seen` and load figures (`cpu_load`,
 *   `memory_available`, `disk_available`, `gpu_available`) of an `online` node is kept in memory
 *   once one of its reports was written under this liveness; every tick writes, in one revision
 *   (per PER_REVISION nodes), the kept reports of all nodes whose `last_seen` was written `coalesceMs` ago or more. So `last_seen` and the load figures in the state
 *   lag the truth by at most `coalesceMs` plus one tick, and a storm of N heartbeats per second
 *   costs at most one revision per tick, whatever N. Anything else — a node coming back, a
 *   changed capacity — is written at once. Every node known at start, or registered later, coalesces from then on.
 * - Timers start fresh when liveness starts (a new master, a takeover): every node known then is
 *   treated as heard at that moment, so a takeover never marks the whole cluster offline.
 */
import { invalid } from '../errors.js';

/** Nodes written by one of liveness's revisions, at most (its change set stays well under a NATS message). */
export const PER_REVISION = 1000;
import type { RevisionChanges } from '../changes/change-set.js';
import type { NodeRecord, NodeResourcesInput, TaskRecord } from '../schema/records.js';
import { checkInt32, checkOptions } from '../validate/values.js';
import { mergeNodeResources, nodeResourcesPatch } from '../validate/nodes.js';

/** The `liveness` option. */
export interface LivenessOptions {
  /** A node not heard from for this long becomes offline (ms). */
  heartbeatTimeoutMs: number;
  /** Its assigned and running tasks go back to pending after it has been offline this long (ms; default heartbeatTimeoutMs). */
  requeueAfterMs?: number;
  /** A task requeued after it ran this many times fails instead (default 3). */
  maxAttempts?: number;
  /** Load-only heartbeats of an online node are written at most this often per node (ms; default a quarter of heartbeatTimeoutMs, at least 50). */
  coalesceMs?: number;
}

export interface LivenessSettings {
  timeoutMs: number;
  requeueAfterMs: number;
  maxAttempts: number;
  coalesceMs: number;
  tickMs: number;
}

/** Checks the `liveness` option. */
export function checkLivenessOptions(v: unknown): LivenessSettings {
  const o = checkOptions(v, ['heartbeatTimeoutMs', 'requeueAfterMs', 'maxAttempts', 'coalesceMs'], 'options.liveness', false);
  const timeoutMs = checkInt32(o.heartbeatTimeoutMs, 'options.liveness.heartbeatTimeoutMs', 100);
  const coalesceMs = o.coalesceMs === undefined ? Math.max(50, Math.floor(timeoutMs / 4)) : checkInt32(o.coalesceMs, 'options.liveness.coalesceMs', 1);
  if (coalesceMs >= timeoutMs) throw invalid('options.liveness.coalesceMs', coalesceMs, `less than heartbeatTimeoutMs (${timeoutMs}): a coalesced heartbeat must be written before the node could expire`);
  return {
    timeoutMs,
    requeueAfterMs: o.requeueAfterMs === undefined ? timeoutMs : checkInt32(o.requeueAfterMs, 'options.liveness.requeueAfterMs', 0),
    maxAttempts: o.maxAttempts === undefined ? 3 : checkInt32(o.maxAttempts, 'options.liveness.maxAttempts', 1),
    coalesceMs,
    tickMs: Math.max(10, Math.min(coalesceMs, 1000, Math.floor(timeoutMs / 4))),
  };
}

/** The load figures a coalesced heartbeat may carry. */
const LOAD_FIELDS = new Set(['cpu_load', 'memory_available', 'disk_available', 'gpu_available']);

/** What liveness uses of the writer. */
export interface LivenessPort {
  now(): number;
  revision(): number;
  nodeIds(): Iterable<string>;
  getNode(id: string): NodeRecord | undefined;
  getTask(id: string): TaskRecord | undefined;
  activeTasks(nodeId: string): string[];
  heartbeat(id: string, resources?: NodeResourcesInput): NodeRecord;
  updateNodeStatus(id: string, status: NodeRecord['status']): NodeRecord;
  updateTask(id: string, patch: Partial<TaskRecord>): TaskRecord;
  transaction(fn: () => void): void;
  /** A tick failed (reported, never thrown into a timer). */
  onError(e: unknown): void;
}

/** What a heartbeat report did. */
export interface HeartbeatResult {
  /** The revision that holds it (when coalesced: the current revision; it is written within coalesceMs). */
  revision: number;
  coalesced: boolean;
  status: NodeRecord['status'];
}

export class Liveness {
  private readonly heard = new Map<string, number>();
  private readonly offlineAt = new Map<string, number>();
  private readonly written = new Map<string, number>();
  private readonly kept = new Map<string, NodeResourcesInput | undefined>();
  private timer: NodeJS.Timeout | null = null;
  /** Revisions written by ticks, nodes expired, tasks requeued and failed (figures). */
  readonly counts = { expired: 0, requeued: 0, failed: 0, coalesced: 0, written: 0 };

  constructor(private readonly w: LivenessPort, readonly s: LivenessSettings) {
    const now = w.now();
    for (const id of w.nodeIds()) {
      this.heard.set(id, now);
      this.written.set(id, now); // every node's reports coalesce from the start (no burst of revisions after a takeover)
      if (w.getNode(id)?.status === 'offline') this.offlineAt.set(id, now);
    }
    this.timer = setInterval(() => this.tick(), s.tickMs);
    this.timer.unref();
  }

  /** A committed revision: new nodes are armed, removed ones forgotten, nodes seen going offline noted. */
  committed(rc: RevisionChanges): void {
    const now = this.w.now();
    for (const row of rc.upserts.nodes ?? []) {
      const n = row as NodeRecord;
      if (!this.heard.has(n.id)) {
        this.heard.set(n.id, now);
        this.written.set(n.id, now);
      }
      if (n.status === 'offline') {
        if (!this.offlineAt.has(n.id)) this.offlineAt.set(n.id, now);
      } else this.offlineAt.delete(n.id);
    }
    for (const id of rc.deletes.nodes ?? []) {
      this.heard.delete(id);
      this.offlineAt.delete(id);
      this.written.delete(id);
      this.kept.delete(id);
    }
  }

  /** A heartbeat written by the writer's own heartbeat(): the node was heard. */
  heardFrom(id: string): void {
    const now = this.w.now();
    this.heard.set(id, now);
    this.written.set(id, now);
    this.kept.delete(id);
  }

  /**
   * A node's heartbeat report, coalesced by the rule above. The report is checked whole first
   * (NOT_FOUND for an unknown node, INVALID_ARGUMENT naming a bad figure) whether or not it is
   * written now.
   */
  report(id: string, resources?: NodeResourcesInput): HeartbeatResult {
    const node = this.w.getNode(id);
    if (!node) {
      this.w.heartbeat(id, resources); // NOT_FOUND naming it
      throw new Error('internal: heartbeat of an unknown node succeeded');
    }
    // Checked whole, against the node and what is already kept for it, as the write will be.
    const patch = resources === undefined ? undefined : nodeResourcesPatch(resources, 'resources');
    if (patch) mergeNodeResources(node.resources, { ...nodeResourcesPatch(this.kept.get(id) ?? {}, 'resources'), ...patch });
    const now = this.w.now();
    const loadOnly = resources === undefined || Object.keys(resources).every((k) => LOAD_FIELDS.has(k));
    // Kept whenever this node's report was written under this liveness before: one written longer
    // than coalesceMs ago is due, and the next tick writes it (within tickMs) with every other due
    // one. (Writing a due report at once cost a revision per heartbeat for every node whose
    // heartbeat came before the tick that would have written its kept one: measured at 10-60 % of
    // heartbeats with a 2 s period and the default coalesceMs.)
    if (node.status === 'online' && loadOnly && this.written.has(id)) {
      this.heard.set(id, now);
      const before = this.kept.get(id);
      this.kept.set(id, resources === undefined ? before : { ...before, ...resources });
      this.counts.coalesced++;
      return { revision: this.w.revision(), coalesced: true, status: node.status };
    }
    const rec = this.w.heartbeat(id, resources);
    this.heardFrom(id);
    this.counts.written++;
    return { revision: this.w.revision(), coalesced: false, status: rec.status };
  }

  /** One tick: expire silent nodes, requeue the tasks of nodes offline long enough, write kept heartbeats. */
  tick(): void {
    try {
      this.expire();
      this.requeue();
      this.writeKept();
    } catch (e) {
      this.w.onError(e);
    }
  }

  private expire(): void {
    const now = this.w.now();
    const expired: string[] = [];
    for (const [id, t] of this.heard) {
      if (now - t <= this.s.timeoutMs) continue;
      const status = this.w.getNode(id)?.status;
      if (status && status !== 'offline') expired.push(id);
    }
    if (!expired.length) return;
    this.inRevisions(expired, (id) => {
      this.kept.delete(id);
      this.w.updateNodeStatus(id, 'offline');
    });
    this.counts.expired += expired.length;
  }

  private requeue(): void {
    const now = this.w.now();
    const due: string[] = [];
    for (const [id, t] of this.offlineAt) if (now - t >= this.s.requeueAfterMs && this.w.activeTasks(id).length) due.push(id);
    if (!due.length) return;
    this.inRevisions(due, (id) => {
      for (const taskId of this.w.activeTasks(id)) {
        const task = this.w.getTask(taskId)!;
        if (task.attempts >= this.s.maxAttempts) {
          this.w.updateTask(taskId, { status: 'failed', error: `node ${id} stopped answering (offline for ${now - this.offlineAt.get(id)!} ms) and the task has run ${task.attempts} times (liveness.maxAttempts ${this.s.maxAttempts})` });
          this.counts.failed++;
        } else {
          this.w.updateTask(taskId, { status: 'pending' });
          this.counts.requeued++;
        }
      }
    });
  }

  private writeKept(): void {
    const now = this.w.now();
    const due: [string, NodeResourcesInput | undefined][] = [];
    for (const [id, r] of this.kept) if (now - (this.written.get(id) ?? -Infinity) >= this.s.coalesceMs) due.push([id, r]);
    if (!due.length) return;
    this.inRevisions(due, ([id, r]) => {
      if (this.w.getNode(id)?.status === 'online') this.w.heartbeat(id, r);
    });
    for (const [id] of due) {
      this.kept.delete(id);
      this.written.set(id, now);
    }
  }

  /**
   * Applies `fn` to every item, in transactions of at most PER_REVISION items: one revision when
   * the tick has that many or fewer, so that no revision outgrows a replication message (a
   * revision larger than the server's max_payload makes every replica reload from a snapshot).
   */
  private inRevisions<T>(items: readonly T[], fn: (item: T) => void): void {
    for (let i = 0; i < items.length; i += PER_REVISION) {
      const part = items.slice(i, i + PER_REVISION);
      this.w.transaction(() => {
        for (const x of part) fn(x);
      });
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
