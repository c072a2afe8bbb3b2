/**
 * The rules of nodes: registration (an upsert), updates, status, heartbeats and removal. Each
 * function runs inside a mutation (transactions.ts) on the model, validates its whole input
 * before changing anything, and throws a StateError naming the offending value otherwise.
 */
import { badTransition, invalid, show } from '../errors.js';
import { NODE_STATUSES, type NodeRole } from '../schema/entities.js';
import type { NodeRecord, NodeResourcesInput, NodeUpdate } from '../schema/records.js';
import { mergeNodeResources, newNodeRecordFrom, nodeFields, nodeResourcesPatch } from '../validate/nodes.js';
import { checkBool, checkObject, checkOptions } from '../validate/values.js';
import { transitionStamps } from './lifecycle.js';
import type { Model } from '../tables/model.js';

/** Options of `removeNode`. */
export interface RemoveNodeOptions {
  /** Put the node's assigned and running tasks back to pending instead of refusing. */
  requeue?: boolean;
}

const REMOVE_NODE_OPTION_KEYS = ['requeue'] as const satisfies readonly (keyof RemoveNodeOptions)[];

/**
 * Registers a node, or updates it if the id exists (upsert): given fields replace, omitted ones
 * keep their values, `resources` merge field by field, the node's task assignments are kept,
 * `status` becomes the given one or `online`, and `last_seen` is refreshed.
 */
export function registerNode(m: Model, input: unknown): NodeRecord {
  const now = m.now();
  const f = nodeFields(checkObject(input, 'node'), 'node', false); // one read of the input, validated whole
  const fresh = newNodeRecordFrom(f, now);
  const old = m.get('nodes', fresh.id);
  let rec: NodeRecord;
  if (!old) {
    rec = m.insert('nodes', fresh);
  } else {
    rec = {
      ...old,
      role: fresh.role,
      status: fresh.status,
      peers: f.peers ?? old.peers,
      capabilities: f.capabilities ?? old.capabilities,
      resources: f.resources ? mergeNodeResources(old.resources, f.resources, 'node.resources') : old.resources,
      address: f.address !== undefined ? f.address : old.address,
      metadata: f.metadata !== undefined ? f.metadata : old.metadata,
      last_seen: now,
    };
    checkRoleChange(m, old, rec.role);
    m.update('nodes', old, rec);
  }
  m.followMaster(rec.id);
  return rec;
}

/** Partially updates a node (NOT_FOUND if absent); `resources` merge field by field. */
export function updateNode(m: Model, id: unknown, patch: NodeUpdate | unknown): NodeRecord {
  const old = m.requireNode(id);
  const f = nodeFields(checkObject(patch, 'patch'), 'patch', true);
  const rec: NodeRecord = {
    ...old,
    ...(f.role !== undefined ? { role: f.role } : {}),
    ...(f.status !== undefined ? { status: f.status } : {}),
    ...(f.peers !== undefined ? { peers: f.peers } : {}),
    ...(f.capabilities !== undefined ? { capabilities: f.capabilities } : {}),
    ...(f.address !== undefined ? { address: f.address } : {}),
    ...(f.metadata !== undefined ? { metadata: f.metadata } : {}),
    resources: f.resources ? mergeNodeResources(old.resources, f.resources, 'patch.resources') : old.resources,
  };
  if (rec.peers.includes(rec.id)) throw invalid('patch.peers', rec.id, 'other nodes (a node is not its own peer)');
  checkRoleChange(m, old, rec.role);
  m.update('nodes', old, rec);
  m.followMaster(rec.id);
  return rec;
}

/** Sets a node's status (`online`, `offline`, `degraded`). Its tasks stay assigned. */
export function updateNodeStatus(m: Model, id: unknown, status: unknown): NodeRecord {
  m.requireNode(id);
  if (status === undefined) throw invalid('patch.status', status, `one of ${NODE_STATUSES.map((x) => show(x)).join(', ')}`);
  return updateNode(m, id, { status });
}

/**
 * Records that a node is alive: refreshes `last_seen`, optionally merges reported resources
 * (e.g. `{ cpu_load, memory_available }`), and brings an `offline` node back `online`.
 */
export function heartbeat(m: Model, id: unknown, resources?: NodeResourcesInput | unknown): NodeRecord {
  const old = m.requireNode(id);
  const patch = resources === undefined ? undefined : nodeResourcesPatch(resources, 'resources');
  const rec: NodeRecord = {
    ...old,
    status: old.status === 'offline' ? 'online' : old.status,
    resources: patch ? mergeNodeResources(old.resources, patch) : old.resources,
    last_seen: m.now(),
  };
  return m.update('nodes', old, rec);
}

/**
 * Removes a node. Refuses (INVALID_TRANSITION) while tasks are assigned to or running on it,
 * unless `{ requeue: true }`, which puts them back to pending. The node is also removed from the
 * provider lists of content; `master_id` moves to another master or becomes null.
 */
export function removeNode(m: Model, id: unknown, options: RemoveNodeOptions | unknown = {}): void {
  const node = m.requireNode(id);
  const o = checkOptions(options, REMOVE_NODE_OPTION_KEYS, 'options');
  const requeue = o.requeue === undefined ? false : checkBool(o.requeue, 'options.requeue');
  const tasks = m.activeTasks(node.id);
  if (tasks.length && !requeue) {
    throw badTransition('node', node.id, 'registered', 'removed', `${tasks.length} task(s) are assigned to it (${tasks.slice(0, 3).join(', ')}${tasks.length > 3 ? ', ...' : ''}); pass { requeue: true }`);
  }
  const now = m.now();
  for (const t of tasks) {
    const task = m.get('tasks', t)!;
    m.update('tasks', task, { ...task, ...transitionStamps(task, 'pending', now), updated_at: now });
  }
  for (const cid of m.contentProvidedBy(node.id)) {
    const c = m.get('content', cid)!;
    m.update('content', c, { ...c, providers: c.providers.filter((p) => p !== node.id) });
  }
  m.remove('nodes', node);
  m.followMaster(node.id);
}

/** A node with active tasks cannot become a leecher (leechers do not run tasks). */
function checkRoleChange(m: Model, old: NodeRecord, role: NodeRole): void {
  const n = m.activeTasks(old.id).length;
  if (role === 'leecher' && old.role !== 'leecher' && n > 0) {
    throw badTransition('node', old.id, old.role, role, `${n} task(s) are assigned to it and leechers do not run tasks`);
  }
}
