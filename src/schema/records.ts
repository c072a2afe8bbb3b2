/**
 * Record types: what the getters and helpers return and what mutations take. Field names are
 * the schema's (snake_case, as the seeds' Python API and the files use). Times are epoch
 * milliseconds (numbers), except task `started_at`/`completed_at`, which are epoch seconds
 * (docs/writer.md). Every record a getter returns is a fresh plain object: a copy, never a view.
 */
import type { NodeRole, NodeStatus, TaskStatus } from './entities.js';

export type { NodeRole, NodeStatus, TaskStatus } from './entities.js';

/** A JSON value as stored in `payload`, `result` and `metadata`. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A node's resources. `null` means unknown (never reported), not zero. */
export interface NodeResources {
  cpu_count: number | null;
  /** Percent, 0..100. */
  cpu_load: number | null;
  gpu_count: number | null;
  gpu_available: boolean | null;
  /** Bytes. */
  memory_total: number | null;
  memory_available: number | null;
  disk_total: number | null;
  disk_available: number | null;
}

/** A node as getters and helpers return it. */
export interface NodeRecord {
  id: string;
  role: NodeRole;
  status: NodeStatus;
  peers: string[];
  capabilities: string[];
  resources: NodeResources;
  /** Epoch ms of the last registration or heartbeat. */
  last_seen: number | null;
  address: string | null;
  metadata: { [key: string]: Json } | null;
}

/** What a task needs. `null` means not stated. `memory_mb` is MiB (2^20 bytes). */
export interface TaskResources {
  cpu_cores: number | null;
  gpu_cores: number | null;
  memory_mb: number | null;
}

/** A task as getters and helpers return it. */
export interface TaskRecord {
  id: string;
  type: string;
  status: TaskStatus;
  /** Epoch ms. */
  created_at: number;
  updated_at: number;
  assigned_to: string | null;
  resources: TaskResources;
  input_cid: string | null;
  output_cid: string | null;
  input_cids: string[];
  output_cids: string[];
  priority: number;
  payload: Json;
  result: Json;
  error: string | null;
  /** Epoch seconds (float) when the current attempt started. */
  started_at: number | null;
  /** Epoch seconds (float) when the task reached completed, failed or cancelled. */
  completed_at: number | null;
  /** How many times the task has started running. */
  attempts: number;
}

/** A content item as getters and helpers return it. */
export interface ContentRecord {
  cid: string;
  /** Bytes. */
  size: number;
  /** Epoch ms. */
  created_at: number;
  providers: string[];
  pinned: boolean;
  /** Desired number of replicas. */
  replication: number;
  /** Epoch ms of the last pin; null when not pinned. */
  pinned_at: number | null;
}

/** A size: bytes as a number, or a string such as '512MiB', '8GB', '1.5TB', '1024'. */
export type SizeInput = number | string;

/**
 * Node resources on input: the schema's names, plus the seeds' friendly forms
 * (`cpu` → cpu_count, `memory` → memory_total, `disk` → disk_total, `gpu` → gpu_count).
 */
export interface NodeResourcesInput {
  cpu_count?: number | null;
  cpu_load?: number | null;
  gpu_count?: number | null;
  gpu_available?: boolean | null;
  memory_total?: SizeInput | null;
  memory_available?: SizeInput | null;
  disk_total?: SizeInput | null;
  disk_available?: SizeInput | null;
  cpu?: number;
  gpu?: number;
  memory?: SizeInput;
  disk?: SizeInput;
}

/** `registerNode` input: id and role required; the rest optional. */
export interface NodeInput {
  id: string;
  role: NodeRole;
  status?: NodeStatus;
  peers?: string[];
  capabilities?: string[];
  resources?: NodeResourcesInput;
  address?: string | null;
  metadata?: { [key: string]: Json } | null;
}

/** Partial node update; `resources` is merged field by field. */
export interface NodeUpdate {
  role?: NodeRole;
  status?: NodeStatus;
  peers?: string[];
  capabilities?: string[];
  resources?: NodeResourcesInput;
  address?: string | null;
  metadata?: { [key: string]: Json } | null;
}

/** Task requirements on input: the schema's names or `{ cpu, gpu, memory: '4GB' }`. */
export interface TaskResourcesInput {
  cpu_cores?: number | null;
  gpu_cores?: number | null;
  memory_mb?: number | null;
  cpu?: number;
  gpu?: number;
  memory?: SizeInput;
}

/** `addTask` input: id and type required. */
export interface TaskInput {
  id: string;
  type: string;
  priority?: number;
  payload?: Json;
  resources?: TaskResourcesInput | null;
  input_cid?: string | null;
  output_cid?: string | null;
  input_cids?: string[];
  output_cids?: string[];
}

/** Partial task update. A `status` change is validated against the lifecycle. */
export interface TaskUpdate {
  status?: TaskStatus;
  assigned_to?: string | null;
  result?: Json;
  error?: string | null;
  priority?: number;
  payload?: Json;
  resources?: TaskResourcesInput | null;
  input_cid?: string | null;
  output_cid?: string | null;
  input_cids?: string[];
  output_cids?: string[];
}

/** `addContent` input: cid and size required. */
export interface ContentInput {
  cid: string;
  size: SizeInput;
  providers?: string[];
  pinned?: boolean;
  replication?: number;
}

/** `updateContent` patch. */
export interface ContentUpdate {
  size?: SizeInput;
  pinned?: boolean;
  replication?: number;
  providers?: string[];
}
