/**
 * What the writer needs from replication across machines, declared by the writer and implemented
 * by src/replicate/ (over NATS JetStream): the store never imports it. The package entry installs
 * the attacher; `ClusterState.open({ nats })` calls it after the state is open.
 */
import type { StateError } from '../errors.js';
import type { ChangeSet } from '../changes/change-set.js';
import type { WatchOptions } from '../changes/watch-options.js';
import type { Snapshot } from '../snapshot.js';
import type { CommitContent } from './durability.js';
import type { ContentInput, NodeInput, NodeResourcesInput, TaskRecord, TaskUpdate } from '../schema/records.js';

/** Figures of replication (see ClusterState.replicationStats). */
export interface ReplicationStats {
  /** The URL(s) of the NATS servers, and whether the connection is up now. */
  servers: string;
  connected: boolean;
  /** The newest revision acknowledged by JetStream (stored, replicated as the stream is). */
  replicatedRevision: number;
  /** The writer's revision minus replicatedRevision. */
  lagRevisions: number;
  /** How long the oldest revision not yet acknowledged has waited (ms; 0 when none waits). */
  lagMs: number;
  /** Messages and bytes published to the change stream (full and leecher subjects). */
  messages: number;
  bytes: number;
  leecherBytes: number;
  /** Snapshots written, and the newest one's revision and compressed size. */
  snapshots: number;
  snapshotRevision: number;
  snapshotBytes: number;
  /** Rebases: the log restarted from a snapshot (the writer's history did not reach back, or a change set was too large for one message). */
  rebases: number;
  /** Set when replication stopped for good (fenced: another master publishes). */
  failure: StateError | null;
}

/** The replication of one writer. */
export interface Replication {
  /** Resolves with `revision` once it (and every earlier one) is acknowledged by JetStream; UNAVAILABLE after `timeoutMs`. */
  replicated(revision: number, timeoutMs: number): Promise<number>;
  stats(): ReplicationStats;
  /** Publishes what is left (up to `timeoutMs`), gives up the lease, disconnects. */
  close(timeoutMs: number): Promise<void>;
}

/** What replication may use of the writer it serves. */
export interface ReplicationPort {
  readonly clusterId: string;
  readonly nodeId: string | null;
  revision(): number;
  /** The writer's change sets after `afterRevision` (durable ones on a state directory), as ClusterState.watch. */
  watch(options: WatchOptions): AsyncIterator<ChangeSet>;
  /** The oldest revision watch() can start after. */
  oldestRevision(): number;
  /** Resolves once the revision current at the call is durable (a state directory) or at once (in memory); the revision. */
  settle(): Promise<number>;
  /** The newest durable revision (a state directory), or the revision (in memory). */
  settledRevision(): number;
  /** The published revision's encoded batches (what a full snapshot holds) and its snapshot (for the leecher one), taken together. */
  content(): { content: CommitContent; snapshot: Snapshot };
  /** Stops the writer for good (fenced): every later mutation fails with `err`, reported through onFatal. */
  fail(err: StateError): void;
  /** What the agent service uses: the writer's own mutations (validated as local ones). */
  readonly agents: AgentTarget;
}

/** The writer as node agents' requests reach it (replicate/agent-service.ts). */
export interface AgentTarget {
  readonly revision: number;
  registerNode(input: NodeInput): unknown;
  reportHeartbeat(id: string, resources?: NodeResourcesInput): { coalesced: boolean };
  getTask(id: string): TaskRecord | undefined;
  updateTask(id: string, patch: TaskUpdate): unknown;
  addContent(input: ContentInput): unknown;
  addProvider(cid: string, nodeId: string): unknown;
  removeProvider(cid: string, nodeId: string): unknown;
  removeNode(id: string, options: { requeue: boolean }): void;
  watch(options: WatchOptions): AsyncIterator<ChangeSet>;
  snapshot(): { revision: number };
  /** The tasks assigned or running now. */
  activeTaskRecords(): TaskRecord[];
}

/** Options of replication (the `replication` option of ClusterState.open). */
export interface ReplicationOptions {
  /** Write a snapshot after this many revisions since the last (default 10,000). */
  snapshotEveryRevisions?: number;
  /** …or after this long with any change since the last (ms, default 300,000). */
  snapshotEveryMs?: number;
  /** Snapshots kept in the object store (default 2); the stream is trimmed behind the oldest. */
  keepSnapshots?: number;
  /** The master's lease: it expires this long after its last renewal (ms, default 10,000; renewed every third of it). */
  leaseMs?: number;
  /** Stream replicas when the server is a cluster (1, 3 or 5; default 1). */
  replicas?: number;
  /**
   * Agent requests waiting to be applied, at most (default 20,000): past it a request is answered
   * UNAVAILABLE at once (nothing applied; the agent retries) rather than held in memory.
   */
  maxAgentQueue?: number;
}

export type ReplicationAttacher = (port: ReplicationPort, nats: unknown, options: unknown) => Promise<Replication>;
