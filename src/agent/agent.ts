/**
 * Node agents (`arrow-cluster-state/agent`; docs/cluster.md): a process on a node joins the
 * cluster through NATS, heartbeats with its resource report, receives the tasks the master assigns
 * to its node, and reports back. Every call goes to the master (src/nats/agent-protocol.ts) and
 * resolves with the revision that applied it, or rejects with the master's StateError (same code,
 * same message); a call is retried under the same request id until the master answers, so it is
 * applied at most once; no master within `timeoutMs`: UNAVAILABLE.
 *
 * Many agents can share one connection (`AgentConnection`: a simulator runs thousands);
 * `joinCluster` makes a connection of its own.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Subscription } from '@nats-io/transport-node';
import { closed, invalid, show, StateError, unavailable, withCode } from '../errors.js';
import { AGENT_PROTOCOL_VERSION, agentSubject, decodeJson, encodeJson, taskSubject, type AgentOp, type AgentReply, type AssignmentMessage } from '../nats/agent-protocol.js';
import { checkNatsOptions, connectNats, type NatsLink, type NatsOptions } from '../nats/connect.js';
import type { ContentInput, NodeInput, NodeResourcesInput, TaskRecord, TaskUpdate } from '../schema/records.js';
import { checkId, checkInt32, checkOptions } from '../validate/values.js';
import { loadFigures, machineResources } from './resources.js';
import { parseSize } from '../validate/size.js';

/** Options of `joinCluster` (and, without `nats`/`clusterId`, of `AgentConnection.join`). */
export interface JoinOptions {
  nats: NatsOptions;
  clusterId: string;
  /** The node this agent is: registered (upserted) with the master at join, status online. */
  node: NodeInput;
  /** Heartbeat period (ms, default 2000; 0: none — call heartbeat() yourself). */
  heartbeatMs?: number;
  /** The resource report (default: measured from the OS, resources.ts); `false`: none. */
  resources?: (() => NodeResourcesInput) | false;
  /** How long a call may wait for the master, retries included (ms, default 10,000). */
  timeoutMs?: number;
}

const JOIN_KEYS = ['nats', 'clusterId', 'node', 'heartbeatMs', 'resources', 'timeoutMs'] as const;
/** One try of a request waits at most this long before it is sent again (same request id). */
const TRY_MS = 1000;
const MAX_TRY_MS = 8000;
const PAUSE_MS = 50;
const MAX_PAUSE_MS = 2000;

/** Events of an agent: `error` when an automatic heartbeat failed (the next one tries again). */
export interface AgentEvents {
  error: [error: StateError];
}

/** A connection to a cluster's master that agents share. */
export class AgentConnection {
  private constructor(readonly link: NatsLink, readonly clusterId: string, private readonly owned: boolean) {}

  /** Connects (UNAVAILABLE naming the URL when no server answers). */
  static async connect(options: { nats: NatsOptions; clusterId: string }): Promise<AgentConnection> {
    const o = checkOptions(options, ['nats', 'clusterId'], 'options', false);
    const clusterId = checkId(o.clusterId, 'options.clusterId');
    return new AgentConnection(await connectNats(checkNatsOptions(o.nats)), clusterId, false);
  }

  /** @internal */
  static async owned(nats: NatsOptions, clusterId: string): Promise<AgentConnection> {
    return new AgentConnection(await connectNats(checkNatsOptions(nats)), clusterId, true);
  }

  /** Joins the cluster as `options.node`: resolves once the master registered it. */
  async join(options: Omit<JoinOptions, 'nats' | 'clusterId'>): Promise<Agent> {
    const o = checkOptions(options, JOIN_KEYS.filter((k) => k !== 'nats' && k !== 'clusterId'), 'options', false);
    if (!o.node || typeof o.node !== 'object') throw invalid('options.node', o.node, 'a node record { id, role, resources? }');
    const node = o.node as NodeInput;
    const id = checkId(node.id, 'options.node.id');
    const heartbeatMs = o.heartbeatMs === undefined ? 2000 : checkInt32(o.heartbeatMs, 'options.heartbeatMs');
    if (o.resources !== undefined && o.resources !== false && typeof o.resources !== 'function') throw invalid('options.resources', o.resources, 'a function returning a resource report, or false');
    const report = o.resources === false ? null : ((o.resources as (() => NodeResourcesInput) | undefined) ?? machineResources);
    const timeoutMs = o.timeoutMs === undefined ? 10_000 : checkInt32(o.timeoutMs, 'options.timeoutMs', 1);
    const agent = new Agent(this, id, timeoutMs);
    const resources = node.resources ?? (report ? report() : undefined);
    await agent.call('join', [{ ...node, ...(resources ? { resources } : {}) }]);
    // Capacities given at join (rather than measured) bound what heartbeats report as available.
    const beat = report && node.resources ? () => clampToCapacity(report(), node.resources!) : report;
    agent.startHeartbeats(heartbeatMs, beat);
    return agent;
  }

  /** Closes the connection (agents on it stop; they do not leave). */
  async close(): Promise<void> {
    await this.link.nc.drain().catch(() => this.link.nc.close());
  }

  /** @internal Whether closing the last agent closes the connection. */
  get isOwned(): boolean {
    return this.owned;
  }
}

/** One node's agent. */
export class Agent extends EventEmitter<AgentEvents> {
  private n = 0;
  private readonly session = randomUUID().slice(0, 8);
  private timer: NodeJS.Timeout | null = null;
  private closedFlag = false;
  private sub: Subscription | null = null;
  private wakeTasks: (() => void) | null = null;

  /** @internal */
  constructor(private readonly conn: AgentConnection, readonly nodeId: string, private readonly timeoutMs: number) {
    super();
  }

  /** @internal Sends `op` to the master, retried under one request id until it answers; the revision, or the master's StateError. */
  async call(op: AgentOp, args: unknown[]): Promise<{ revision: number; result?: unknown }> {
    if (this.closedFlag) throw closed(`agent of node ${show(this.nodeId)}`);
    const rid = `${this.session}-${++this.n}`;
    const body = encodeJson({ v: AGENT_PROTOCOL_VERSION, op, rid, node: this.nodeId, args });
    const subject = agentSubject(this.conn.clusterId);
    const deadline = Date.now() + this.timeoutMs;
    let last: unknown = null;
    // Back-off: each try waits longer for its answer (TRY_MS doubling up to MAX_TRY_MS) and pauses
    // longer before the next (PAUSE_MS doubling up to MAX_PAUSE_MS, with jitter), so that thousands
    // of agents retrying while a master is busy, or away, do not multiply its load.
    let tryMs = TRY_MS;
    let pauseMs = PAUSE_MS;
    const pause = async () => {
      const left = deadline - Date.now();
      if (left > 0) await new Promise((r) => setTimeout(r, Math.min(left, pauseMs * (0.5 + Math.random()))));
      pauseMs = Math.min(MAX_PAUSE_MS, pauseMs * 2);
    };
    while (Date.now() < deadline) {
      try {
        const msg = await this.conn.link.nc.request(subject, body, { timeout: Math.max(1, Math.min(tryMs, deadline - Date.now())) });
        const reply = decodeJson(msg.data) as AgentReply;
        if (reply.ok) return { revision: reply.revision, result: reply.result };
        if (reply.code === 'UNAVAILABLE' && Date.now() < deadline) {
          last = reply.message; // the master sheds load (or could not replicate yet): later
          await pause();
          continue;
        }
        throw withCode(reply.code, reply.message);
      } catch (e) {
        if (e instanceof StateError) throw e; // the master's answer
        last = e;
        // No responders (no master yet) or no answer in time (a busy master, a lost reply): the same request again, later.
        tryMs = Math.min(MAX_TRY_MS, tryMs * 2);
        await pause();
      }
    }
    throw unavailable(`no master of cluster ${show(this.conn.clusterId)} answered ${op} of node ${show(this.nodeId)} at ${this.conn.link.url} within ${this.timeoutMs} ms (${(last as Error)?.message ?? String(last)})`);
  }

  /** @internal */
  startHeartbeats(ms: number, report: (() => NodeResourcesInput) | null): void {
    if (ms <= 0) return;
    this.timer = setInterval(() => {
      this.heartbeat(report ? loadFigures(report()) : undefined).catch((e: StateError) => {
        if (this.listenerCount('error') > 0) this.emit('error', e);
      });
    }, ms);
    this.timer.unref();
  }

  /** Reports that the node is alive (with load figures): the master's revision (heartbeats may be coalesced: docs/cluster.md). */
  async heartbeat(resources?: NodeResourcesInput): Promise<number> {
    return (await this.call('heartbeat', resources === undefined ? [] : [resources])).revision;
  }

  /** Updates a task assigned to this node (status, result, error, …): the revision that applied it. */
  async updateTask(id: string, patch: TaskUpdate): Promise<number> {
    return (await this.call('updateTask', [id, patch])).revision;
  }

  /** Adds a content item (this node its provider unless `providers` says otherwise). */
  async addContent(input: ContentInput): Promise<number> {
    return (await this.call('addContent', [input])).revision;
  }

  /** Adds this node as a provider of `cid`. */
  async addProvider(cid: string): Promise<number> {
    return (await this.call('addProvider', [cid])).revision;
  }

  /** Removes this node from the providers of `cid`. */
  async removeProvider(cid: string): Promise<number> {
    return (await this.call('removeProvider', [cid])).revision;
  }

  /**
   * The tasks assigned to this node, in assignment order, each assignment once — also across
   * reconnects (the agent asks the master for its assigned and running tasks whenever its
   * connection comes back, and skips what it has yielded). One consumer at a time; ends at
   * `leave()` / `close()`.
   */
  async *tasks(): AsyncGenerator<TaskRecord, void, undefined> {
    if (this.sub) throw invalid('tasks()', 'a second consumer', 'one consumer of an agent\'s tasks at a time');
    const queue: AssignmentMessage[] = [];
    let wake: (() => void) | null = null;
    const push = (m: AssignmentMessage) => {
      queue.push(m);
      wake?.();
    };
    this.wakeTasks = () => wake?.();
    const sub = this.conn.link.nc.subscribe(taskSubject(this.conn.clusterId, this.nodeId), {
      callback: (err, msg) => {
        if (!err) push(decodeJson(msg.data) as AssignmentMessage);
      },
    });
    this.sub = sub;
    let lastSeq = -Infinity;
    const reconcile = async () => {
      const r = await this.call('assigned', []);
      for (const m of r.result as AssignmentMessage[]) push(m);
    };
    const statusWatch = (async () => {
      for await (const s of this.conn.link.nc.status()) if (s.type === 'reconnect') await reconcile().catch(() => undefined);
    })();
    void statusWatch;
    await reconcile();
    try {
      while (!this.closedFlag) {
        if (!queue.length) {
          await new Promise<void>((r) => (wake = r));
          wake = null;
          continue;
        }
        queue.sort((a, b) => a.seq - b.seq);
        const m = queue.shift()!;
        if (m.seq <= lastSeq) continue;
        lastSeq = m.seq;
        yield m.task as unknown as TaskRecord;
      }
    } finally {
      sub.unsubscribe();
      this.sub = null;
      this.wakeTasks = null;
    }
  }

  /** Leaves the cluster: the master removes the node (its active tasks back to pending); the agent stops. */
  async leave(): Promise<number> {
    const r = await this.call('leave', []);
    await this.close();
    return r.revision;
  }

  /** Stops heartbeats and tasks() without leaving (the master's liveness will see the node go silent). */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.timer) clearInterval(this.timer);
    this.sub?.unsubscribe();
    this.sub = null;
    this.wakeTasks?.(); // tasks() sees the agent closed and ends
    if (this.conn.isOwned) await this.conn.close();
  }
}

/** `r`'s available memory and disk, at most the totals of `capacity` (sizes as the schema takes them). */
function clampToCapacity(r: NodeResourcesInput, capacity: NodeResourcesInput): NodeResourcesInput {
  const out = { ...r };
  const total = (v: unknown) => (v === undefined || v === null ? undefined : parseSize(v as string | number, 'size'));
  const mem = total(capacity.memory_total ?? capacity.memory);
  const disk = total(capacity.disk_total ?? capacity.disk);
  if (mem !== undefined && out.memory_available !== undefined && out.memory_available !== null) out.memory_available = Math.min(total(out.memory_available)!, mem);
  if (disk !== undefined && out.disk_available !== undefined && out.disk_available !== null) out.disk_available = Math.min(total(out.disk_available)!, disk);
  return out;
}

/** Connects to the cluster's NATS servers and joins as `options.node` (a connection of its own, closed at leave/close). */
export async function joinCluster(options: JoinOptions): Promise<Agent> {
  const o = checkOptions(options, JOIN_KEYS, 'options', false);
  const clusterId = checkId(o.clusterId, 'options.clusterId');
  const conn = await AgentConnection.owned(o.nats as NatsOptions, clusterId);
  try {
    const { nats: _n, clusterId: _c, ...rest } = o;
    return await conn.join(rest as Omit<JoinOptions, 'nats' | 'clusterId'>);
  } catch (e) {
    await conn.close();
    throw e;
  }
}
