/**
 * Task inputs (new tasks and updates) turned into records and patches. Each function validates
 * its whole input first and returns new objects; none touches the store. Unknown fields are
 * errors, never dropped.
 */
import { invalid } from '../errors.js';
import { TASK_STATUSES, type TaskStatus } from '../schema/entities.js';
import type { TaskInput, TaskRecord, TaskResources, TaskResourcesInput } from '../schema/records.js';
import { alias } from './alias.js';
import { bytesToMiB, parseSize } from './size.js';
import { checkId, checkIdList, checkInt32, checkJson, checkKeys, checkObject, checkOneOf, checkSignedInt32, checkText, jsonText } from './values.js';

export const EMPTY_TASK_RESOURCES: Readonly<TaskResources> = Object.freeze({ cpu_cores: null, gpu_cores: null, memory_mb: null });

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


/** The fields `updateTask` may change. */
export const TASK_UPDATE_KEYS = [
  'status', 'assigned_to', 'result', 'error', 'priority', 'payload', 'resources',
  ...CID_FIELDS, ...CID_LIST_FIELDS,
] as const;

/** A validated task update: the plain fields to set, plus the requested status and node (checked against the lifecycle by the store). */
export interface TaskPatch {
  fields: Partial<TaskRecord>;
  status?: TaskStatus;
  /** undefined: not given; null: unassign. */
  assignedTo?: string | null;
}

/** Validates a whole task update (`what`.field names the offending part); touches nothing. */
export function taskPatch(input: unknown, what = 'patch'): TaskPatch {
  const p = checkObject(input, what);
  checkKeys(p, TASK_UPDATE_KEYS, what);
  const fields: Partial<TaskRecord> = taskCidFields(p, what);
  if (p.result !== undefined) {
    fields.result = checkJson(p.result, `${what}.result`);
    if (fields.result !== null) jsonText(fields.result, `${what}.result`);
  }
  if (p.payload !== undefined) {
    fields.payload = checkJson(p.payload, `${what}.payload`);
    if (fields.payload !== null) jsonText(fields.payload, `${what}.payload`);
  }
  if (p.error !== undefined) fields.error = checkText(p.error, `${what}.error`);
  if (p.priority !== undefined) fields.priority = checkSignedInt32(p.priority, `${what}.priority`);
  if (p.resources !== undefined) fields.resources = taskResources(p.resources, `${what}.resources`) ?? { ...EMPTY_TASK_RESOURCES };
  const out: TaskPatch = { fields };
  if (p.status !== undefined) out.status = checkOneOf(p.status, TASK_STATUSES, `${what}.status`);
  if (p.assigned_to !== undefined) out.assignedTo = p.assigned_to === null ? null : checkId(p.assigned_to, `${what}.assigned_to`);
  return out;
}
