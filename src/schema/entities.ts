/**
 * The three entities and their columns, in the seed's order with our extension fields appended
 * (docs/writer.md, "Records"). This list is the single description of the data model: the flat
 * tables, the single-row seed layout and the Parquet mirror are all derived from it.
 */
import type { ColumnSpec, LeafSpec } from './columns.js';

export const NODE_ROLES = ['master', 'worker', 'leecher'] as const;
export const NODE_STATUSES = ['online', 'offline', 'degraded'] as const;
export const TASK_STATUSES = ['pending', 'assigned', 'running', 'completed', 'failed', 'cancelled'] as const;
/** Task statuses in which a task occupies its node (assigned or running). */
export const ACTIVE_STATUSES = ['assigned', 'running'] as const;

/** True for a status in which a task occupies its node. */
export function isActive(status: string): boolean {
  return status === 'assigned' || status === 'running';
}
/** Task types the dictionary starts with; any other type is appended on first use. */
export const COMMON_TASK_TYPES = ['process', 'analyze', 'transfer'] as const;

export type NodeRole = (typeof NODE_ROLES)[number];
export type NodeStatus = (typeof NODE_STATUSES)[number];
export type TaskStatus = (typeof TASK_STATUSES)[number];

export type EntityKind = 'nodes' | 'tasks' | 'content';

/** Description of one entity table. */
export interface EntitySpec {
  readonly kind: EntityKind;
  /** Singular noun used in error messages. */
  readonly noun: string;
  /** Name of the key column. */
  readonly key: string;
  /** Columns in seed order; fields from `seedFields` on are our appended extensions. */
  readonly columns: readonly ColumnSpec[];
  /** How many of `columns` belong to the seed layout (the rest are extensions). */
  readonly seedColumns: number;
  /** Rows per record batch: the unit of copy-on-write publishing. */
  readonly batchRows: number;
}

const leaf = (name: string, kind: LeafSpec['kind'], extra: Partial<LeafSpec> = {}): LeafSpec => ({ name, kind, ...extra });

/** Rows per batch. 4096 balances publish cost against cold-attach cost (measured: docs/performance.md). */
export const BATCH_ROWS = 4096;

export const NODE_RESOURCES: readonly LeafSpec[] = [
  leaf('cpu_count', 'int32'),
  leaf('cpu_load', 'float32'),
  leaf('gpu_count', 'int32'),
  leaf('gpu_available', 'bool'),
  leaf('memory_total', 'int64'),
  leaf('memory_available', 'int64'),
  leaf('disk_total', 'int64'),
  leaf('disk_available', 'int64'),
];

export const TASK_RESOURCES: readonly LeafSpec[] = [
  leaf('cpu_cores', 'int32'),
  leaf('gpu_cores', 'int32'),
  leaf('memory_mb', 'int32'),
];

export const NODES: EntitySpec = {
  kind: 'nodes',
  noun: 'node',
  key: 'id',
  seedColumns: 6,
  batchRows: BATCH_ROWS,
  columns: [
    leaf('id', 'utf8'),
    leaf('role', 'dict', { values: NODE_ROLES, dictId: 0, indexBits: 8 }),
    leaf('status', 'dict', { values: NODE_STATUSES, dictId: 1, indexBits: 8 }),
    leaf('peers', 'list'),
    leaf('capabilities', 'list'),
    { name: 'resources', kind: 'struct', children: NODE_RESOURCES },
    // extensions
    leaf('last_seen', 'timestamp'),
    leaf('address', 'utf8'),
    leaf('metadata', 'utf8', { json: true }),
  ],
};

export const TASKS: EntitySpec = {
  kind: 'tasks',
  noun: 'task',
  key: 'id',
  seedColumns: 11,
  batchRows: BATCH_ROWS,
  columns: [
    leaf('id', 'utf8'),
    leaf('type', 'dict', { values: COMMON_TASK_TYPES, dictId: 2, indexBits: 32 }),
    leaf('status', 'dict', { values: TASK_STATUSES, dictId: 3, indexBits: 8 }),
    leaf('created_at', 'timestamp'),
    leaf('updated_at', 'timestamp'),
    leaf('assigned_to', 'utf8'),
    { name: 'resources', kind: 'struct', children: TASK_RESOURCES },
    leaf('input_cid', 'utf8'),
    leaf('output_cid', 'utf8'),
    leaf('input_cids', 'list'),
    leaf('output_cids', 'list'),
    // extensions
    leaf('priority', 'int32'),
    leaf('payload', 'utf8', { json: true }),
    leaf('result', 'utf8', { json: true }),
    leaf('error', 'utf8'),
    leaf('started_at', 'float64'),
    leaf('completed_at', 'float64'),
    leaf('attempts', 'int32'),
  ],
};

export const CONTENT: EntitySpec = {
  kind: 'content',
  noun: 'content',
  key: 'cid',
  seedColumns: 6,
  batchRows: BATCH_ROWS,
  columns: [
    leaf('cid', 'utf8'),
    leaf('size', 'int64'),
    leaf('created_at', 'timestamp'),
    leaf('providers', 'list'),
    leaf('pinned', 'bool'),
    leaf('replication', 'int32'),
    // extensions
    leaf('pinned_at', 'timestamp'),
  ],
};

export const ENTITIES: Readonly<Record<EntityKind, EntitySpec>> = { nodes: NODES, tasks: TASKS, content: CONTENT };
export const ENTITY_KINDS: readonly EntityKind[] = ['nodes', 'tasks', 'content'];
