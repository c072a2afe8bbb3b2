/**
 * A whole stored record (from a file another tool wrote) checked with the rules the mutations
 * apply to the same values, so that nothing is imported that a later mutation could not address.
 */
import { invalid } from '../errors.js';
import { NODE_ROLES, NODE_STATUSES, TASK_STATUSES, type EntityKind } from '../schema/entities.js';
import { EMPTY_NODE_RESOURCES, nodeResourcesPatch } from './nodes.js';
import { parseSize } from './size.js';
import { EMPTY_TASK_RESOURCES, taskResources } from './tasks.js';
import {
  checkBool, checkFloat, checkId, checkIdList, checkInt32, checkJson, checkObject, checkOneOf, checkSignedInt32,
  checkText, checkTime, jsonText, MAX_TIME_MS,
} from './values.js';

export type FieldCheck = (value: unknown, what: string) => unknown;
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
export const RECORD_FIELDS: Record<EntityKind, Record<string, FieldCheck>> = {
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
