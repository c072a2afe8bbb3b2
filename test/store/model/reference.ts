// The model test's reference model: the documented semantics of the writer (cluster-state.ts doc
// comments, lifecycle.ts, docs/writer.md) over plain objects — validation outcome, records,
// master_id, revision and updated_at of every operation and transaction.
import { StateError, type ContentRecord, type NodeRecord, type NodeResources, type TaskRecord, type TaskResources } from '../../../src/index.js';
import { Abort, type Id, type Op, type SingleOp, type Sub, type TxEnd } from './ops.js';
import { BAD, LEGAL, type Code, type NStatus, type Role, type TStatus } from './values.js';

export class ModelError extends Error {
  constructor(readonly code: Code) {
    super(code);
  }
}
export const fail = (code: Code): never => {
  throw new ModelError(code);
};

export interface World {
  nodes: Map<string, NodeRecord>;
  tasks: Map<string, TaskRecord>;
  content: Map<string, ContentRecord>;
  masterId: string | null;
}

export const EMPTY_RES: NodeResources = {
  cpu_count: null, cpu_load: null, gpu_count: null, gpu_available: null,
  memory_total: null, memory_available: null, disk_total: null, disk_available: null,
};
export const EMPTY_TASK_RES: TaskResources = { cpu_cores: null, gpu_cores: null, memory_mb: null };

/** Merges reported resources; available may not exceed total, gpu_available may not be true with 0 GPUs. */
export function mergeRes(old: NodeResources, patch: Partial<NodeResources>): NodeResources {
  const r = { ...old, ...patch };
  if (r.memory_available !== null && r.memory_total !== null && r.memory_available > r.memory_total) fail('INVALID_ARGUMENT');
  if (r.disk_available !== null && r.disk_total !== null && r.disk_available > r.disk_total) fail('INVALID_ARGUMENT');
  if (r.gpu_available === true && r.gpu_count === 0) fail('INVALID_ARGUMENT');
  return r;
}

export const isActive = (s: TStatus) => s === 'assigned' || s === 'running';

export class Model {
  w: World = { nodes: new Map(), tasks: new Map(), content: new Map(), masterId: null };
  revision = 0;
  updatedAt: number;
  now: number;
  constructor(readonly nodeId: string | null, now: number) {
    this.now = now;
    this.updatedAt = now;
  }

  save(): World {
    return structuredClone(this.w);
  }
  restore(w: World): void {
    this.w = w;
  }

  private node(g: Id): NodeRecord {
    if (g[1] === BAD) fail('INVALID_ARGUMENT');
    return this.w.nodes.get(g[1] as string) ?? fail('NOT_FOUND');
  }
  private task(g: Id): TaskRecord {
    if (g[1] === BAD) fail('INVALID_ARGUMENT');
    return this.w.tasks.get(g[1] as string) ?? fail('NOT_FOUND');
  }
  private item(g: Id): ContentRecord {
    if (g[1] === BAD) fail('INVALID_ARGUMENT');
    return this.w.content.get(g[1] as string) ?? fail('NOT_FOUND');
  }
  private activeOn(id: string): TaskRecord[] {
    return [...this.w.tasks.values()].filter((t) => isActive(t.status) && t.assigned_to === id);
  }
  private checkDemotion(old: NodeRecord, role: Role): void {
    if (role === 'leecher' && old.role !== 'leecher' && this.activeOn(old.id).length > 0) fail('INVALID_TRANSITION');
  }
  /** master_id: the writer's own node if it is a master, else the current master if still one, else the first master. */
  private followMaster(): void {
    const isMaster = (id: string | null) => id !== null && this.w.nodes.get(id)?.role === 'master';
    if (this.nodeId !== null && isMaster(this.nodeId)) this.w.masterId = this.nodeId;
    else if (!isMaster(this.w.masterId)) this.w.masterId = [...this.w.nodes.values()].find((n) => n.role === 'master')?.id ?? null;
  }
  private assignable(task: TaskRecord, node: NodeRecord): void {
    if (task.status !== 'pending' && task.status !== 'assigned') fail('INVALID_TRANSITION');
    if (node.role === 'leecher') fail('INVALID_TRANSITION');
    if (node.status !== 'online') fail('INVALID_TRANSITION');
  }

  /** One operation: validates completely, then applies; returns the record the call returns. */
  apply(op: SingleOp): unknown {
    const now = this.now;
    switch (op.k) {
      case 'registerNode': {
        const n = op.n;
        if (n.bad) fail('INVALID_ARGUMENT');
        const id = n.id!;
        if (n.peers?.includes(id)) fail('INVALID_ARGUMENT');
        const fresh = mergeRes(EMPTY_RES, n.res ?? {});
        const old = this.w.nodes.get(id);
        let rec: NodeRecord;
        if (!old) {
          rec = {
            id, role: n.role!, status: n.status ?? 'online', peers: n.peers ?? [], capabilities: n.capabilities ?? [],
            resources: fresh, last_seen: now, address: 'address' in n ? n.address! : null, metadata: 'metadata' in n ? n.metadata! : null,
          };
        } else {
          rec = {
            ...old, role: n.role!, status: n.status ?? 'online', peers: n.peers ?? old.peers, capabilities: n.capabilities ?? old.capabilities,
            resources: n.res ? mergeRes(old.resources, n.res) : old.resources,
            address: 'address' in n ? n.address! : old.address, metadata: 'metadata' in n ? n.metadata! : old.metadata, last_seen: now,
          };
          this.checkDemotion(old, rec.role);
        }
        this.w.nodes.set(id, rec);
        this.followMaster();
        return rec;
      }
      case 'updateNode': {
        const old = this.node(op.id);
        const n = op.n;
        if (n.bad) fail('INVALID_ARGUMENT');
        const rec: NodeRecord = {
          ...old,
          ...(n.role !== undefined ? { role: n.role } : {}),
          ...(n.status !== undefined ? { status: n.status } : {}),
          ...(n.peers !== undefined ? { peers: n.peers } : {}),
          ...(n.capabilities !== undefined ? { capabilities: n.capabilities } : {}),
          ...('address' in n ? { address: n.address! } : {}),
          ...('metadata' in n ? { metadata: n.metadata! } : {}),
          resources: n.res ? mergeRes(old.resources, n.res) : old.resources,
        };
        if (rec.peers.includes(rec.id)) fail('INVALID_ARGUMENT');
        this.checkDemotion(old, rec.role);
        this.w.nodes.set(rec.id, rec);
        this.followMaster();
        return rec;
      }
      case 'updateNodeStatus': {
        const old = this.node(op.id);
        if (op.status[1] === BAD) fail('INVALID_ARGUMENT');
        const rec = { ...old, status: op.status[1] as NStatus };
        this.w.nodes.set(rec.id, rec);
        return rec;
      }
      case 'heartbeat': {
        const old = this.node(op.id);
        if (op.res?.bad) fail('INVALID_ARGUMENT');
        const rec: NodeRecord = {
          ...old,
          status: old.status === 'offline' ? 'online' : old.status,
          resources: op.res ? mergeRes(old.resources, op.res.patch) : old.resources,
          last_seen: now,
        };
        this.w.nodes.set(rec.id, rec);
        return rec;
      }
      case 'removeNode': {
        const old = this.node(op.id);
        if (op.opts[1] === BAD) fail('INVALID_ARGUMENT');
        const active = this.activeOn(old.id);
        if (active.length && !op.opts[1]) fail('INVALID_TRANSITION');
        for (const t of active) {
          this.w.tasks.set(t.id, { ...t, status: 'pending', assigned_to: null, started_at: null, completed_at: null, updated_at: now });
        }
        for (const c of this.w.content.values()) {
          if (c.providers.includes(old.id)) this.w.content.set(c.cid, { ...c, providers: c.providers.filter((p) => p !== old.id) });
        }
        this.w.nodes.delete(old.id);
        this.followMaster();
        return undefined;
      }
      case 'addTask': {
        const n = op.n;
        if (n.bad) fail('INVALID_ARGUMENT');
        if (this.w.tasks.has(n.id!)) fail('ALREADY_EXISTS');
        const rec: TaskRecord = {
          id: n.id!, type: n.type!, status: 'pending', created_at: now, updated_at: now, assigned_to: null,
          resources: n.resources ?? { ...EMPTY_TASK_RES },
          input_cid: n.input_cid ?? null, output_cid: n.output_cid ?? null, input_cids: n.input_cids ?? [], output_cids: n.output_cids ?? [],
          priority: n.priority ?? 0, payload: n.hasPayload ? n.payload! : null, result: null, error: null,
          started_at: null, completed_at: null, attempts: 0,
        };
        this.w.tasks.set(rec.id, rec);
        return rec;
      }
      case 'assignTask': {
        const task = this.task(op.task);
        const node = this.node(op.node);
        this.assignable(task, node);
        const rec: TaskRecord = { ...task, status: 'assigned', assigned_to: node.id, updated_at: now };
        this.w.tasks.set(rec.id, rec);
        return rec;
      }
      case 'updateTask': {
        const task = this.task(op.id);
        const n = op.n;
        if (n.bad) fail('INVALID_ARGUMENT');
        const rec: TaskRecord = { ...task, updated_at: now };
        for (const k of ['input_cid', 'output_cid', 'input_cids', 'output_cids', 'priority'] as const) {
          if (n[k] !== undefined) (rec as unknown as Record<string, unknown>)[k] = n[k];
        }
        if (n.hasResult) rec.result = n.result!;
        if (n.hasPayload) rec.payload = n.payload!;
        if (n.hasError) rec.error = n.error!;
        if (n.hasResources) rec.resources = n.resources ?? { ...EMPTY_TASK_RES };
        const to = n.status ?? task.status;
        const assignee = n.hasAssignee ? n.assigned_to! : task.assigned_to;
        if (to !== task.status && !LEGAL[task.status].includes(to)) fail('INVALID_TRANSITION');
        if (to === 'assigned') {
          if (assignee === null) fail('INVALID_ARGUMENT');
          if (assignee !== task.assigned_to || task.status !== 'assigned') {
            this.assignable(task, this.w.nodes.get(assignee!) ?? fail('NOT_FOUND'));
          }
          rec.assigned_to = assignee;
        } else if (to === 'pending') {
          if (n.hasAssignee && assignee !== null) fail('INVALID_ARGUMENT');
          rec.assigned_to = null;
          rec.started_at = null;
          rec.completed_at = null;
        } else if (n.hasAssignee && assignee !== task.assigned_to) {
          fail('INVALID_TRANSITION'); // the node only changes while the task is assigned
        }
        if (to !== task.status) {
          const seconds = now / 1000;
          // Entering running counts an attempt; finishing an assigned task stamps its start as well.
          if (to === 'running' || ((to === 'completed' || to === 'failed') && task.status === 'assigned')) {
            rec.started_at = seconds;
            rec.attempts = task.attempts + 1;
          }
          if (to === 'completed' || to === 'failed' || to === 'cancelled') rec.completed_at = seconds;
          rec.status = to;
        }
        this.w.tasks.set(rec.id, rec);
        return rec;
      }
      case 'removeTask': {
        const task = this.task(op.id);
        this.w.tasks.delete(task.id);
        return undefined;
      }
      case 'addContent': {
        const n = op.n;
        if (n.bad) fail('INVALID_ARGUMENT');
        if (this.w.content.has(n.cid!)) fail('ALREADY_EXISTS');
        for (const p of n.providers ?? []) if (!this.w.nodes.has(p)) fail('NOT_FOUND');
        const pinned = n.pinned ?? false;
        const rec: ContentRecord = {
          cid: n.cid!, size: n.size!, created_at: now, providers: n.providers ?? [], pinned,
          replication: n.replication ?? 1, pinned_at: pinned ? now : null,
        };
        this.w.content.set(rec.cid, rec);
        return rec;
      }
      case 'updateContent': {
        const old = this.item(op.cid);
        const n = op.n;
        // The patch is validated whole (INVALID_ARGUMENT) before the providers are looked up (NOT_FOUND).
        if (n.preBad || n.pinnedBad || n.bad) fail('INVALID_ARGUMENT');
        for (const p of n.providers ?? []) if (!this.w.nodes.has(p)) fail('NOT_FOUND');
        const rec: ContentRecord = { ...old };
        if (n.size !== undefined) rec.size = n.size;
        if (n.replication !== undefined) rec.replication = n.replication;
        if (n.providers !== undefined) rec.providers = n.providers;
        if (n.pinned !== undefined) {
          rec.pinned = n.pinned;
          if (n.pinned && !old.pinned) rec.pinned_at = now; // pinning stamps pinned_at
          if (!n.pinned) rec.pinned_at = null; // unpinning clears it
        }
        this.w.content.set(rec.cid, rec);
        return rec;
      }
      case 'addProvider': {
        const c = this.item(op.cid);
        const node = this.node(op.node);
        if (c.providers.includes(node.id)) fail('ALREADY_EXISTS');
        const rec = { ...c, providers: [...c.providers, node.id] };
        this.w.content.set(rec.cid, rec);
        return rec;
      }
      case 'removeProvider': {
        const c = this.item(op.cid);
        if (op.node[1] === BAD) fail('INVALID_ARGUMENT');
        if (!c.providers.includes(op.node[1] as string)) fail('NOT_FOUND');
        const rec = { ...c, providers: c.providers.filter((p) => p !== op.node[1]) };
        this.w.content.set(rec.cid, rec);
        return rec;
      }
      case 'removeContent': {
        const c = this.item(op.cid);
        this.w.content.delete(c.cid);
        return undefined;
      }
    }
  }

  /** Runs sub-operations as a transaction: all or nothing. Returns whether anything changed. */
  private tx(subs: Sub[], end: TxEnd, log: string[]): boolean {
    const saved = this.save();
    let changed = false;
    try {
      for (const sub of subs) {
        this.now = sub.at;
        try {
          if (sub.op.k === 'nested') {
            changed = this.tx(sub.op.subs, sub.op.end, log) || changed;
          } else {
            this.apply(sub.op);
            changed = true;
          }
          log.push('ok');
        } catch (e) {
          log.push(outcomeOf(e));
          if (!sub.catch) throw e;
        }
      }
      if (end === 'error') throw new Abort();
      if (end === 'promise') fail('INVALID_ARGUMENT');
    } catch (e) {
      this.restore(saved);
      throw e;
    }
    return changed;
  }

  /** A top-level call: one revision per successful mutation or non-empty transaction. */
  run(op: Op, now: number, log: string[]): unknown {
    this.now = now;
    let changed = true;
    let ret: unknown;
    if (op.k === 'tx') changed = this.tx(op.subs, op.end, log);
    else ret = this.apply(op);
    if (changed) {
      this.revision++;
      this.updatedAt = Math.max(this.updatedAt, this.now);
    }
    return ret;
  }
}

/** The outcome of a call as the comparison sees it: a StateError (or model) code, ABORT, or a crash. */
export function outcomeOf(e: unknown): string {
  if (e instanceof ModelError) return e.code;
  if (e instanceof StateError) return e.code;
  if (e instanceof Abort) return 'ABORT';
  return `CRASH: ${e instanceof Error ? e.stack : String(e)}`;
}
