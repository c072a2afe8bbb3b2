/**
 * Turning mutation inputs into records. Each function validates its whole input first and
 * returns new objects; none touches the store. Unknown fields are errors, never dropped.
 */
import { invalid } from '../errors.js';
import { NODE_ROLES, NODE_STATUSES, TASK_STATUSES, type EntityKind } from '../schema/entities.js';
import type {
  ContentInput, ContentRecord, Json, NodeInput, NodeRecord, NodeResources,
  TaskInput, TaskRecord, TaskResources, TaskResourcesInput,
} from '../schema/records.js';
import { bytesToMiB, parseSize } from './size.js';
import { shortFloat32 } from '../arrow/decode/row-reader.js';
import {
  checkBool, checkFloat, checkId, checkIdList, checkInt32, checkJson, checkKeys, checkObject,
  checkOneOf, checkSignedInt32, checkText, checkTime, jsonText, MAX_TIME_MS,
} from './values.js';

export const EMPTY_NODE_RESOURCES: Readonly<NodeResources> = Object.freeze({
  cpu_count: null, cpu_load: null, gpu_count: null, gpu_available: null,
  memory_total: null, memory_available: null, disk_total: null, disk_available: null,
});

export const EMPTY_TASK_RESOURCES: Readonly<TaskResources> = Object.freeze({ cpu_cores: null, gpu_cores: null, memory_mb: null });

const NODE_RESOURCE_KEYS = [
  'cpu_count', 'cpu_load', 'gpu_count', 'gpu_available', 'memory_total', 'memory_available',
  'disk_total', 'disk_available', 'cpu', 'gpu', 'memory', 'disk',
] as const;

/** One friendly alias and the schema field it stands for. */
function alias(obj: Record<string, unknown>, friendly: string, field: string, what: string): unknown {
  if (obj[friendly] !== undefined && obj[field] !== undefined) {
    throw invalid(`${what}.${friendly}`, obj[friendly], `given alone (${what}.${field} is also given)`);
  }
  return obj[friendly] !== undefined ? obj[friendly] : obj[field];
}

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

const TASK_RESOURCE_KEYS = ['cpu_cores', 'gpu_cores', 'memory_mb', 'cpu', 'gpu', 'memory'] as const;

/**
 * Task requirements: `{ cpu_cores, gpu_cores, memory_mb }` or the friendly `{ cpu, gpu, memory }`
 * where memory is a size ('4GB') converted to whole MiB, rounded up. Returns null for null.
 */
export function taskResources(input: TaskResourcesInput | null | unknown, what = 'task.resources'): TaskResources | null {
  if (input === null) return null;
  const obj = checkObject(input, what);
  checkKeys(obj, TASK_RESOURCE_KEYS, what);
  const cpu = alias(obj, 'cpu', 'cpu_cores', what);
  const gpu = alias(obj, 'gpu', 'gpu_cores', what);
  const out: TaskResources = { ...EMPTY_TASK_RESOURCES };
  if (cpu != null) out.cpu_cores = checkInt32(cpu, `${what}.cpu_cores`);
  if (gpu != null) out.gpu_cores = checkInt32(gpu, `${what}.gpu_cores`);
  if (obj.memory !== undefined && obj.memory_mb !== undefined) throw invalid(`${what}.memory`, obj.memory, `given alone (${what}.memory_mb is also given)`);
  if (obj.memory != null) out.memory_mb = checkInt32(bytesToMiB(parseSize(obj.memory, `${what}.memory`)), `${what}.memory (in MiB)`);
  else if (obj.memory_mb != null) out.memory_mb = checkInt32(obj.memory_mb, `${what}.memory_mb`);
  return out;
}

const CID_FIELDS = ['input_cid', 'output_cid'] as const;
const CID_LIST_FIELDS = ['input_cids', 'output_cids'] as const;

/** The CID link fields of a task input or update (only those present). */
export function taskCidFields(input: Record<string, unknown>, what: string): Partial<TaskRecord> {
  const out: Partial<TaskRecord> = {};
  for (const k of CID_FIELDS) if (input[k] !== undefined) out[k] = input[k] === null ? null : checkId(input[k], `${what}.${k}`);
  for (const k of CID_LIST_FIELDS) if (input[k] !== undefined) out[k] = checkIdList(input[k], `${what}.${k}`);
  return out;
}

const TASK_KEYS = ['id', 'type', 'priority', 'payload', 'resources', ...CID_FIELDS, ...CID_LIST_FIELDS] as const;

/** A complete new (pending) task record. */
export function newTaskRecord(input: TaskInput | unknown, now: number): TaskRecord {
  const obj = checkObject(input, 'task');
  checkKeys(obj, TASK_KEYS, 'task');
  const payload = obj.payload === undefined ? null : checkJson(obj.payload, 'task.payload');
  if (payload !== null) jsonText(payload, 'task.payload');
  const resources = obj.resources === undefined ? null : taskResources(obj.resources, 'task.resources');
  return {
    id: checkId(obj.id, 'task.id'),
    type: checkId(obj.type, 'task.type'),
    status: 'pending',
    created_at: now,
    updated_at: now,
    assigned_to: null,
    resources: resources ?? { ...EMPTY_TASK_RESOURCES },
    input_cid: null,
    output_cid: null,
    input_cids: [],
    output_cids: [],
    ...taskCidFields(obj, 'task'),
    priority: obj.priority === undefined ? 0 : checkSignedInt32(obj.priority, 'task.priority'),
    payload,
    result: null,
    error: null,
    started_at: null,
    completed_at: null,
    attempts: 0,
  };
}

const CONTENT_KEYS = ['cid', 'size', 'providers', 'pinned', 'replication'] as const;

/** A complete new content record. Providers are checked against the nodes by the store. */
export function newContentRecord(input: ContentInput | unknown, now: number): ContentRecord {
  const obj = checkObject(input, 'content');
  checkKeys(obj, CONTENT_KEYS, 'content');
  const pinned = obj.pinned === undefined ? false : checkBool(obj.pinned, 'content.pinned');
  return {
    cid: checkId(obj.cid, 'content.cid'),
    size: parseSize(obj.size, 'content.size'),
    created_at: now,
    providers: obj.providers === undefined ? [] : checkIdList(obj.providers, 'content.providers'),
    pinned,
    replication: obj.replication === undefined ? 1 : checkInt32(obj.replication, 'content.replication'),
    pinned_at: pinned ? now : null,
  };
}

type FieldCheck = (value: unknown, what: string) => unknown;
const orNull = (f: FieldCheck): FieldCheck => (v, w) => (v === null || v === undefined ? null : f(v, w));
// The Python original writes "" for "no node" / "no CID": kept as it is (it addresses nothing).
const ref: FieldCheck = (v, w) => (v === null || v === undefined ? null : v === '' ? '' : checkId(v, w));
const ids: FieldCheck = (v, w) => (v === null || v === undefined ? [] : checkIdList(v, w));
const json: FieldCheck = (v, w) => {
  const j = checkJson(v, w);
  jsonText(j, w);
  return j;
};
const seconds: FieldCheck = (v, w) => checkFloat(v, w, 0, MAX_TIME_MS / 1000);

/** The check of every field of a stored record (the rules mutations apply, field by field). */
const RECORD_FIELDS: Record<EntityKind, Record<string, FieldCheck>> = {
  nodes: {
    id: checkId,
    role: (v, w) => checkOneOf(v, NODE_ROLES, w),
    status: (v, w) => checkOneOf(v, NODE_STATUSES, w),
    peers: ids,
    capabilities: ids,
    // Each value as a mutation checks it; the cross-field rules (available <= total, no available
    // GPU without GPUs) are facts another tool reported and are kept as they are.
    resources: (v, w) => ({ ...EMPTY_NODE_RESOURCES, ...(v === null || v === undefined ? {} : nodeResourcesPatch(v, w)) }),
    last_seen: orNull(checkTime),
    address: orNull(checkText),
    metadata: orNull((v, w) => json(checkObject(v, w), w)),
  },
  tasks: {
    id: checkId,
    type: checkId,
    status: (v, w) => checkOneOf(v, TASK_STATUSES, w),
    created_at: orNull(checkTime),
    updated_at: orNull(checkTime),
    assigned_to: ref,
    resources: (v, w) => taskResources(v ?? null, w) ?? { ...EMPTY_TASK_RESOURCES },
    input_cid: ref,
    output_cid: ref,
    input_cids: ids,
    output_cids: ids,
    priority: (v, w) => checkSignedInt32(v, w),
    payload: orNull(json),
    result: orNull(json),
    error: orNull(checkText),
    started_at: orNull(seconds),
    completed_at: orNull(seconds),
    attempts: (v, w) => checkInt32(v, w),
  },
  content: {
    cid: checkId,
    size: orNull((v, w) => parseSize(v, w)),
    created_at: orNull(checkTime),
    providers: ids,
    pinned: (v, w) => checkBool(v, w),
    replication: (v, w) => checkInt32(v, w),
    pinned_at: orNull(checkTime),
  },
};

/**
 * A whole stored record (as read from a file another tool wrote) checked with the rules the
 * mutations apply to the same values: ids (no control characters, no surrounding whitespace,
 * at most 512 characters, valid Unicode), roles and statuses, numbers that fit their columns,
 * sizes, times (whole epoch ms from 1970 to the end of the Date range), JSON within its size
 * limit, id lists without duplicates, a node that is not its own peer (not the cross-field rules
 * of node resources: a foreign file's reported figures are kept). Fields a mutation always
 * sets but a foreign file may leave null (times, sizes, a task's resources) may be null: unknown.
 * Returns a new record of exactly the schema's fields; throws INVALID_ARGUMENT naming the field
 * (`what`.field) and the value. Cross-record rules (e.g. that `assigned_to` names a registered
 * node) are not checked here.
 */
export function checkRecord(kind: EntityKind, rec: Record<string, unknown>, what: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, check] of Object.entries(RECORD_FIELDS[kind])) out[name] = check(rec[name], `${what}.${name}`);
  if (kind === 'nodes' && (out.peers as string[]).includes(out.id as string)) throw invalid(`${what}.peers`, out.id, 'other nodes (a node is not its own peer)');
  return out;
}
