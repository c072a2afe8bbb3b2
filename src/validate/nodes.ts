/**
 * Node inputs (registration, updates, heartbeats) turned into records and patches. Each function
 * validates its whole input first and returns new objects; none touches the store. Unknown fields
 * are errors, never dropped.
 */
import { invalid } from '../errors.js';
import { NODE_ROLES, NODE_STATUSES } from '../schema/entities.js';
import type { Json, NodeInput, NodeRecord, NodeResources } from '../schema/records.js';
import { shortFloat32 } from '../arrow/decode/row-reader.js';
import { alias } from './alias.js';
import { parseSize } from './size.js';
import { checkBool, checkFloat, checkId, checkIdList, checkInt32, checkJson, checkKeys, checkObject, checkOneOf, checkText, jsonText } from './values.js';

export const EMPTY_NODE_RESOURCES: Readonly<NodeResources> = Object.freeze({
  cpu_count: null, cpu_load: null, gpu_count: null, gpu_available: null,
  memory_total: null, memory_available: null, disk_total: null, disk_available: null,
});

const NODE_RESOURCE_KEYS = [
  'cpu_count', 'cpu_load', 'gpu_count', 'gpu_available', 'memory_total', 'memory_available',
  'disk_total', 'disk_available', 'cpu', 'gpu', 'memory', 'disk',
] as const;

/**
 * Validates node resources and returns only the fields that were given. Friendly forms:
 * `cpu` → cpu_count, `gpu` → gpu_count, `memory` → memory_total, `disk` → disk_total. When a
 * total is given in friendly form without its `_available`, the node is taken to have all of it
 * available (a node that just reported its capacity has no load recorded yet); likewise
 * `gpu_available` follows `gpu > 0`.
 */
export function nodeResourcesPatch(input: unknown, what = 'resources'): Partial<NodeResources> {
  const obj = checkObject(input, what);
  checkKeys(obj, NODE_RESOURCE_KEYS, what);
  const out: Partial<NodeResources> = {};
  const size = (v: unknown, name: string) => (v === null ? null : parseSize(v, `${what}.${name}`));
  const cpu = alias(obj, 'cpu', 'cpu_count', what);
  if (cpu !== undefined) out.cpu_count = cpu === null ? null : checkInt32(cpu, `${what}.cpu_count`);
  if (obj.cpu_load !== undefined) out.cpu_load = obj.cpu_load === null ? null : shortFloat32(checkFloat(obj.cpu_load, `${what}.cpu_load`, 0, 100));
  const gpu = alias(obj, 'gpu', 'gpu_count', what);
  if (gpu !== undefined) out.gpu_count = gpu === null ? null : checkInt32(gpu, `${what}.gpu_count`);
  if (obj.gpu_available !== undefined) out.gpu_available = obj.gpu_available === null ? null : checkBool(obj.gpu_available, `${what}.gpu_available`);
  else if (obj.gpu !== undefined) out.gpu_available = (out.gpu_count ?? 0) > 0;
  const mem = alias(obj, 'memory', 'memory_total', what);
  if (mem !== undefined) out.memory_total = size(mem, 'memory_total');
  if (obj.memory_available !== undefined) out.memory_available = size(obj.memory_available, 'memory_available');
  else if (obj.memory !== undefined) out.memory_available = out.memory_total ?? null;
  const disk = alias(obj, 'disk', 'disk_total', what);
  if (disk !== undefined) out.disk_total = size(disk, 'disk_total');
  if (obj.disk_available !== undefined) out.disk_available = size(obj.disk_available, 'disk_available');
  else if (obj.disk !== undefined) out.disk_available = out.disk_total ?? null;
  return out;
}

/** Merges a resources patch into old resources and checks available <= total where both are known. */
export function mergeNodeResources(old: Readonly<NodeResources>, patch: Partial<NodeResources>, what = 'resources'): NodeResources {
  const r: NodeResources = { ...old, ...patch };
  for (const [avail, total] of [['memory_available', 'memory_total'], ['disk_available', 'disk_total']] as const) {
    const a = r[avail];
    const t = r[total];
    if (a !== null && t !== null && a > t) throw invalid(`${what}.${avail}`, a, `at most ${what}.${total} (${t})`);
  }
  if (r.gpu_available === true && r.gpu_count === 0) throw invalid(`${what}.gpu_available`, true, 'false when gpu_count is 0');
  return r;
}

const NODE_KEYS = ['id', 'role', 'status', 'peers', 'capabilities', 'resources', 'address', 'metadata'] as const;
const NODE_UPDATE_KEYS = NODE_KEYS.filter((k) => k !== 'id');

/** Validated fields of a node input or update (only the fields present). */
export function nodeFields(input: Record<string, unknown>, what: string, isUpdate: boolean): Partial<Omit<NodeRecord, 'resources'>> & { resources?: Partial<NodeResources> } {
  checkKeys(input, isUpdate ? NODE_UPDATE_KEYS : NODE_KEYS, what);
  const out: Partial<Omit<NodeRecord, 'resources'>> & { resources?: Partial<NodeResources> } = {};
  if (!isUpdate) out.id = checkId(input.id, `${what}.id`);
  if (input.role !== undefined || !isUpdate) out.role = checkOneOf(input.role, NODE_ROLES, `${what}.role`);
  if (input.status !== undefined) out.status = checkOneOf(input.status, NODE_STATUSES, `${what}.status`);
  if (input.peers !== undefined) out.peers = checkIdList(input.peers, `${what}.peers`);
  if (input.capabilities !== undefined) out.capabilities = checkIdList(input.capabilities, `${what}.capabilities`);
  if (input.resources !== undefined) out.resources = nodeResourcesPatch(input.resources, `${what}.resources`);
  if (input.address !== undefined) out.address = checkText(input.address, `${what}.address`);
  if (input.metadata !== undefined) {
    if (input.metadata === null) out.metadata = null;
    else {
      const m = checkJson(checkObject(input.metadata, `${what}.metadata`), `${what}.metadata`);
      jsonText(m, `${what}.metadata`);
      out.metadata = m as { [key: string]: Json };
    }
  }
  if (out.peers && out.id !== undefined && out.peers.includes(out.id)) throw invalid(`${what}.peers`, out.id, 'other nodes (a node is not its own peer)');
  return out;
}

/** A complete new node record from a registration input. */
export function newNodeRecord(input: NodeInput | unknown, now: number): NodeRecord {
  return newNodeRecordFrom(nodeFields(checkObject(input, 'node'), 'node', false), now);
}

/** A complete new node record from validated registration fields (nodeFields of a registration). */
export function newNodeRecordFrom(f: ReturnType<typeof nodeFields>, now: number): NodeRecord {
  return {
    id: f.id!,
    role: f.role!,
    status: f.status ?? 'online',
    peers: f.peers ?? [],
    capabilities: f.capabilities ?? [],
    resources: mergeNodeResources(EMPTY_NODE_RESOURCES, f.resources ?? {}, 'node.resources'),
    last_seen: now,
    address: f.address ?? null,
    metadata: f.metadata ?? null,
  };
}

