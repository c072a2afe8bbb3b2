/**
 * The master's side of the agent protocol (src/nats/agent-protocol.ts; docs/cluster.md): answers
 * node agents' requests with the writer's own mutations — validated exactly as local ones, the
 * reply carrying the revision that applied them or the StateError (code and message) — and pushes
 * each new assignment to its node's subject.
 *
 * - **Acknowledged = replicated**: a reply that carries a revision is sent once JetStream has
 *   stored that revision (the replicator's `replicated`; one wait per batch), so a failover never
 *   loses a change an agent was told is done. Refusals are answered at once (nothing changed), and
 *   so are coalesced heartbeats (their figures are kept in memory until a tick writes them).
 * - **Idempotent retries**: a reply is kept by request id for DEDUP_MS (at most DEDUP_ENTRIES);
 *   the same request id gets the same reply (again once its revision is replicated) and is never
 *   applied twice.
 * - **Back-pressure**: requests wait in a bounded queue (`replication.maxAgentQueue`, default 20,000) and are applied at most
 *   BATCH per event-loop turn, so a flood cannot starve the writer; past the bound the reply is
 *   UNAVAILABLE at once instead of unbounded memory.
 * - **An agent acts for its own node only**: task updates of another node's task are refused, its
 *   provider changes name itself.
 * - **Assignments** are numbered by the master (its assignment counter) as the writer's change
 *   feed shows them (durable ones on a state directory) and pushed to the node's subject; an agent
 *   that (re)connects asks for its assigned and running tasks with their numbers.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { invalid, isStateError, show, StateError } from '../errors.js';
import { AGENT_OPS, AGENT_PROTOCOL_VERSION, agentSubject, decodeJson, encodeJson, taskSubject, type AgentOp, type AgentReply, type AgentRequest } from '../nats/agent-protocol.js';
import type { AgentTarget } from '../store/replication.js';
import type { TaskRecord } from '../schema/records.js';
import { revisionChangesOf } from '../changes/change-set.js';

const DEDUP_MS = 120_000;
const DEDUP_ENTRIES = 100_000;
/** Agent requests waiting to be applied, at most (the `replication.maxAgentQueue` option's default). */
export const DEFAULT_MAX_AGENT_QUEUE = 20_000;
const BATCH = 512;

interface Queued {
  req: AgentRequest | null;
  raw: Uint8Array;
  respond(data: Uint8Array): void;
}

export class AgentService {
  private sub: Subscription | null = null;
  private readonly queue: Queued[] = [];
  private draining = false;
  private readonly replies = new Map<string, Answer & { at: number }>();
  /** Assignment numbers of the tasks now assigned or running: task id → { seq, node }. */
  private readonly assigned = new Map<string, { seq: number; node: string }>();
  /** Assignment numbers continue across masters (a takeover, a restart): they start from this master's start time. */
  private seq = Date.now() * 1000;
  private watching: AsyncIterator<unknown> | null = null;
  private stopped = false;
  readonly counts = { requests: 0, applied: 0, deduplicated: 0, refused: 0, shed: 0, pushed: 0 };

  /**
   * `replicated(r)` resolves once revision `r` is stored by JetStream (rejects with the
   * StateError to answer when it cannot be: UNAVAILABLE after a timeout, LOCKED when fenced).
   */
  constructor(private readonly nc: NatsConnection, private readonly clusterId: string, private readonly w: AgentTarget, private readonly replicated: (revision: number) => Promise<unknown>, private readonly maxQueued = DEFAULT_MAX_AGENT_QUEUE) {}

  /** Numbers the tasks assigned now, follows the feed, and starts answering. */
  start(): void {
    this.resync();
    this.sub = this.nc.subscribe(agentSubject(this.clusterId), {
      callback: (err, msg) => {
        if (err || this.stopped) return;
        this.enqueue(msg.data, (d) => msg.respond(d));
      },
    });
  }

  /** Numbers every task assigned or running now (at start, and after the feed overflowed). */
  private resync(): void {
    const snap = this.w.snapshot();
    const rows = this.w.activeTaskRecords();
    this.assigned.clear();
    for (const t of rows) this.assigned.set(t.id, { seq: ++this.seq, node: t.assigned_to! });
    this.follow(snap.revision);
  }

  private follow(after: number): void {
    // Every table (a filtered change set is a copy); the writer's own task rows are read, never copied.
    const w = this.w.watch({ afterRevision: after, maxBacklog: 100_000 });
    this.watching = w;
    void (async () => {
      try {
        for (;;) {
          const r = await w.next();
          if (r.done || this.stopped) return;
          const rc = revisionChangesOf(r.value);
          for (const id of rc.deletes.tasks ?? []) this.assigned.delete(id);
          for (const row of rc.upserts.tasks ?? []) {
            const t = row as TaskRecord;
            const before = this.assigned.get(t.id);
            if (t.status === 'assigned' && (!before || before.node !== t.assigned_to)) {
              const seq = ++this.seq;
              this.assigned.set(t.id, { seq, node: t.assigned_to! });
              this.counts.pushed++;
              this.nc.publish(taskSubject(this.clusterId, t.assigned_to!), encodeJson({ seq, task: t }));
            } else if (t.status !== 'assigned' && t.status !== 'running') this.assigned.delete(t.id);
          }
        }
      } catch (e) {
        if (this.stopped) return;
        if (isStateError(e, 'COMPACTED')) this.resync(); // fell behind the feed: number afresh from the state
      }
    })();
  }

  private enqueue(raw: Uint8Array, respond: (d: Uint8Array) => void): void {
    this.counts.requests++;
    if (this.queue.length >= this.maxQueued) {
      this.counts.shed++;
      respond(encodeJson({ ok: false, code: 'UNAVAILABLE', message: `UNAVAILABLE: the master of cluster ${show(this.clusterId)} is busy: ${this.queue.length} agent requests are waiting; retry later` } satisfies AgentReply));
      return;
    }
    this.queue.push({ req: null, raw, respond });
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => this.drain());
    }
  }

  /** Applies up to BATCH requests (answered once their newest revision is replicated; refusals at once), then yields the event loop. */
  private drain(): void {
    const batch = this.queue.splice(0, BATCH);
    const waiting: [Queued, Uint8Array][] = [];
    let newest = -1;
    for (const q of batch) {
      let a: Answer;
      try {
        a = this.answer(q.raw);
      } catch (e) {
        a = { reply: encodeJson(replyOf(e)), revision: -1 };
      }
      if (a.revision < 0) q.respond(a.reply);
      else {
        waiting.push([q, a.reply]);
        newest = Math.max(newest, a.revision);
      }
    }
    if (waiting.length) {
      this.replicated(newest).then(
        () => {
          for (const [q, reply] of waiting) q.respond(reply);
        },
        (e: unknown) => {
          const failed = encodeJson(replyOf(e));
          for (const [q] of waiting) q.respond(failed);
        },
      );
    }
    if (this.queue.length && !this.stopped) setImmediate(() => this.drain());
    else this.draining = false;
  }

  private answer(raw: Uint8Array): Answer {
    let req: AgentRequest;
    try {
      req = decodeJson(raw) as AgentRequest;
    } catch {
      throw invalid('agent request', '(not JSON)', 'a JSON object { v, op, rid, node, args }');
    }
    if (!req || typeof req !== 'object' || req.v !== AGENT_PROTOCOL_VERSION || typeof req.rid !== 'string' || req.rid.length === 0 || req.rid.length > 200
      || typeof req.node !== 'string' || !Array.isArray(req.args) || !(AGENT_OPS as readonly string[]).includes(req.op)) {
      throw invalid('agent request', req, `{ v: ${AGENT_PROTOCOL_VERSION}, op: one of ${AGENT_OPS.join(', ')}, rid: a request id, node: a node id, args: [...] }`);
    }
    const now = Date.now();
    const key = `${req.node}\u0000${req.rid}`;
    const hit = this.replies.get(key);
    if (hit && now - hit.at < DEDUP_MS) {
      this.counts.deduplicated++;
      return hit;
    }
    const r = this.apply(req);
    // An applied change is acknowledged once replicated; a refusal, a read ('assigned') or a
    // coalesced heartbeat (kept in memory, written by a later tick: soft state a failover may
    // drop anyway) at once.
    const soft = req.op === 'assigned' || (r.ok && (r.result as { coalesced?: boolean } | undefined)?.coalesced === true);
    const answer: Answer = { reply: encodeJson(r), revision: r.ok && !soft ? r.revision : -1 };
    if (req.op !== 'assigned') {
      this.replies.set(key, { ...answer, at: now });
      if (this.replies.size > DEDUP_ENTRIES) for (const k of this.replies.keys()) {
        this.replies.delete(k);
        if (this.replies.size <= DEDUP_ENTRIES) break;
      }
    }
    return answer;
  }

  private apply(req: AgentRequest): AgentReply {
    const { w } = this;
    const node = req.node;
    const a = req.args;
    try {
      let result: unknown;
      switch (req.op as AgentOp) {
        case 'join': {
          const input = a[0] as Record<string, unknown> | undefined;
          if (!input || typeof input !== 'object' || input.id !== node) throw invalid('join(node)', input, `a node record whose id is the agent's node ${show(node)}`);
          w.registerNode({ ...input, status: 'online' } as never);
          break;
        }
        case 'heartbeat':
          result = { coalesced: w.reportHeartbeat(node, a[0] as never).coalesced };
          break;
        case 'updateTask': {
          const task = w.getTask(String(a[0]));
          if (task && task.assigned_to !== node) throw invalid(`updateTask(${show(a[0])})`, task.assigned_to, `a task assigned to this agent's node ${show(node)} (it is assigned to ${show(task.assigned_to)})`);
          w.updateTask(a[0] as string, a[1] as never);
          break;
        }
        case 'addContent': {
          const input = (a[0] ?? {}) as Record<string, unknown>;
          w.addContent({ providers: [node], ...input } as never);
          break;
        }
        case 'addProvider':
          w.addProvider(a[0] as string, node);
          break;
        case 'removeProvider':
          w.removeProvider(a[0] as string, node);
          break;
        case 'leave':
          w.removeNode(node, { requeue: true });
          break;
        case 'assigned':
          // From the state as it is now (the numbering follows the feed, which may lag a commit behind).
          // The node's own entries only (each a record read), checked against the state as it is now.
          result = [...this.assigned].filter(([, v]) => v.node === node).sort((x, y) => x[1].seq - y[1].seq)
            .map(([id, v]) => ({ seq: v.seq, task: w.getTask(id) }))
            .filter((x) => x.task && x.task.assigned_to === node && (x.task.status === 'assigned' || x.task.status === 'running'));
          break;
      }
      this.counts.applied++;
      return { ok: true, revision: w.revision, ...(result === undefined ? {} : { result }) };
    } catch (e) {
      this.counts.refused++;
      return replyOf(e);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sub?.unsubscribe();
    await this.watching?.return?.();
    for (const q of this.queue.splice(0)) q.respond(encodeJson({ ok: false, code: 'UNAVAILABLE', message: `UNAVAILABLE: the master of cluster ${show(this.clusterId)} is closing` } satisfies AgentReply));
  }
}

/** A reply, and the revision that must be replicated before it is sent (-1: none). */
interface Answer {
  reply: Uint8Array;
  revision: number;
}

function replyOf(e: unknown): AgentReply {
  if (e instanceof StateError) return { ok: false, code: e.code, message: e.message };
  return { ok: false, code: 'INVALID_ARGUMENT', message: `INVALID_ARGUMENT: ${(e as Error)?.message ?? String(e)}` };
}
