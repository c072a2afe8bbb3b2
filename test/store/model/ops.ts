// The model test's operations: each call of the writer's API as generated (raw arguments) with
// what the reference model makes of them (normalised values, or BAD), and transactions of them.
import type { NodeResources, TaskResources } from '../../../src/index.js';
import type { G, Json, NStatus, Role, TStatus } from './values.js';

/** Node resources as the friendly or the schema names (docs/writer.md; validate/nodes.ts nodeResourcesPatch). */
export interface ResGen {
  raw: unknown;
  bad: boolean;
  patch: Partial<NodeResources>;
}

export interface NodeNorm {
  bad: boolean;
  id?: string;
  role?: Role;
  status?: NStatus;
  peers?: string[];
  capabilities?: string[];
  res?: Partial<NodeResources>;
  address?: string | null;
  metadata?: Record<string, Json> | null;
}

export interface TaskResGen {
  raw: unknown;
  bad: boolean;
  value: TaskResources | null;
}

export interface TaskNorm {
  bad: boolean;
  id?: string;
  type?: string;
  priority?: number;
  payload?: Json;
  hasPayload?: boolean;
  resources?: TaskResources | null;
  hasResources?: boolean;
  input_cid?: string | null;
  output_cid?: string | null;
  input_cids?: string[];
  output_cids?: string[];
  // updates only
  status?: TStatus;
  assigned_to?: string | null;
  hasAssignee?: boolean;
  result?: Json;
  hasResult?: boolean;
  error?: string | null;
  hasError?: boolean;
}

export interface ContentNorm {
  bad: boolean;
  /** updateContent: errors found before the provider lookup. */
  preBad?: boolean;
  pinnedBad?: boolean;
  cid?: string;
  size?: number;
  providers?: string[];
  pinned?: boolean;
  replication?: number;
}

export type Id = G<string>;

export type Op =
  | { k: 'registerNode'; raw: unknown; n: NodeNorm }
  | { k: 'updateNode'; id: Id; raw: unknown; n: NodeNorm }
  | { k: 'updateNodeStatus'; id: Id; status: G<NStatus> }
  | { k: 'heartbeat'; id: Id; res?: ResGen }
  | { k: 'removeNode'; id: Id; opts: G<boolean> }
  | { k: 'addTask'; raw: unknown; n: TaskNorm }
  | { k: 'assignTask'; task: Id; node: Id }
  | { k: 'updateTask'; id: Id; raw: unknown; n: TaskNorm }
  | { k: 'removeTask'; id: Id }
  | { k: 'addContent'; raw: unknown; n: ContentNorm }
  | { k: 'updateContent'; cid: Id; raw: unknown; n: ContentNorm }
  | { k: 'addProvider'; cid: Id; node: Id }
  | { k: 'removeProvider'; cid: Id; node: Id }
  | { k: 'removeContent'; cid: Id }
  | { k: 'tx'; subs: Sub[]; end: TxEnd };

export type SingleOp = Exclude<Op, { k: 'tx' }>;

export type TxEnd = 'none' | 'error' | 'promise';

export interface Sub {
  op: SingleOp | { k: 'nested'; subs: Sub[]; end: TxEnd };
  /** The transaction function catches this sub-operation's failure and goes on. */
  catch: boolean;
  /** The clock while it runs. */
  at: number;
}

/** Thrown by a transaction function to abort it. */
export class Abort extends Error {
  constructor() {
    super('abort');
  }
}
