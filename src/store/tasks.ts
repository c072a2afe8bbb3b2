/**
 * The rules of tasks: adding, assigning, updating (the lifecycle of lifecycle.ts) and removing.
 * Each function runs inside a mutation (transactions.ts) on the model, validates its whole input
 * before changing anything, and throws a StateError naming the offending value otherwise.
 */
import { alreadyExists, badTransition, invalid, refusedTransition, show } from '../errors.js';
import type { NodeRecord, TaskRecord, TaskUpdate } from '../schema/records.js';
import { newTaskRecord, taskPatch } from '../validate/tasks.js';
import { canTransition, transitionHint, transitionStamps } from './lifecycle.js';
import type { Model } from '../tables/model.js';

/** The dictionary id of the task `type` column (its codes are bounded). */
const TYPE_DICTIONARY = 2;

/** Adds a pending task (ALREADY_EXISTS if the id is taken). */
export function addTask(m: Model, input: unknown): TaskRecord {
  const rec = newTaskRecord(input, m.now());
  if (m.tables.tasks.has(rec.id)) throw alreadyExists('task', rec.id);
  const dict = m.dicts.get(TYPE_DICTIONARY)!;
  if (!dict.canCode(rec.type)) throw invalid('task.type', rec.type, `one of the ${dict.size} known types (the type dictionary is full)`);
  return m.insert('tasks', rec);
}

/**
 * Assigns a pending (or re-assigns an assigned) task to a known, online node that is not a
 * leecher. Status becomes `assigned`.
 */
export function assignTask(m: Model, taskId: unknown, nodeId: unknown): TaskRecord {
  const task = m.requireTask(taskId);
  const node = m.requireNode(nodeId);
  checkAssignable(task, node);
  const now = m.now();
  return m.update('tasks', task, { ...task, ...transitionStamps(task, 'assigned', now), assigned_to: node.id, updated_at: now });
}

/**
 * Updates a task. A `status` change follows the lifecycle (lifecycle.ts: what is legal and what
 * each change stamps). The node (`assigned_to`) can only be given with `assigned` (a known,
 * online, non-leecher node) or as null with `pending`.
 */
export function updateTask(m: Model, id: unknown, patch: TaskUpdate | unknown): TaskRecord {
  const task = m.requireTask(id);
  const p = taskPatch(patch, 'patch');
  const now = m.now();
  const to = p.status ?? task.status;
  const assignee = p.assignedTo === undefined ? task.assigned_to : p.assignedTo;
  if (to !== task.status && !canTransition(task.status, to)) throw badTransition('task', task.id, task.status, to, transitionHint(task.status));
  const next: Partial<TaskRecord> = { updated_at: now, ...p.fields };
  if (to === 'assigned') {
    if (assignee === null) throw invalid('patch.assigned_to', null, 'a node id when the status is assigned');
    if (assignee !== task.assigned_to || task.status !== 'assigned') checkAssignable(task, m.requireNode(assignee));
    next.assigned_to = assignee;
  } else if (to === 'pending') {
    if (p.assignedTo !== undefined && assignee !== null) throw invalid('patch.assigned_to', assignee, 'null when the status is pending');
  } else if (p.assignedTo !== undefined && assignee !== task.assigned_to) {
    throw refusedTransition(`task ${show(task.id)} is ${task.status}: its node (assigned_to ${show(assignee)}) can only change while it is assigned (assign it, or requeue it to pending)`);
  }
  Object.assign(next, transitionStamps(task, to, now));
  return m.update('tasks', task, { ...task, ...next });
}

/** Removes a task (any status). */
export function removeTask(m: Model, id: unknown): void {
  m.remove('tasks', m.requireTask(id));
}

/** A task can be assigned while pending or assigned, to an online node that is not a leecher. */
function checkAssignable(task: TaskRecord, node: NodeRecord): void {
  if (task.status !== 'pending' && task.status !== 'assigned') {
    throw badTransition('task', task.id, task.status, 'assigned', transitionHint(task.status));
  }
  if (node.role === 'leecher') throw badTransition('task', task.id, task.status, 'assigned', `node ${show(node.id)} is a leecher (leechers do not run tasks)`);
  if (node.status !== 'online') throw badTransition('task', task.id, task.status, 'assigned', `node ${show(node.id)} is ${node.status}, not online`);
}
