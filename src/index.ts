/**
 * arrow-cluster-state: cluster state (nodes, tasks, content) as Apache Arrow, with one writer,
 * zero-copy worker threads over a SharedArrayBuffer, and the helpers that answer operators'
 * questions.
 */
import { ClusterState, setDirectoryOpener, setReplicationAttacher, setStandbyOpener } from './store/cluster-state.js';
import { openStandby } from './replicate/standby.js';
import { attachReplication, checkReplication } from './replicate/replicator.js';
import { checkOpenOptions, openStateDirectory } from './persist/open.js';

// The writer reaches its files through the opener installed here: the store never imports persist/.
setDirectoryOpener({ open: openStateDirectory, check: checkOpenOptions });
setReplicationAttacher({ check: checkReplication, attach: attachReplication });
setStandbyOpener(openStandby);

export { ClusterState };
export type { InMemoryOptions, OpenOptions, ParquetOptions, ReplicatedOpenOptions } from './store/options.js';
export type { ReplicationOptions, ReplicationStats } from './store/replication.js';
export type { NatsOptions } from './nats/connect.js';
export type { RemoveNodeOptions } from './store/nodes.js';
export type { FilesInfo } from './store/durability.js';
export { StateError, ERROR_CODES, isStateError, type ErrorCode } from './errors.js';
export * from './schema/records.js';
export {
  NODE_ROLES, NODE_STATUSES, TASK_STATUSES, NODES, TASKS, CONTENT, ENTITIES, ENTITY_KINDS, BATCH_ROWS,
  type EntityKind, type EntitySpec,
} from './schema/entities.js';
export { SCHEMA_VERSION, stateSchema, flatSchema, entityStruct } from './schema/state-schema.js';
export { parseSize } from './validate/size.js';
export { canTransition, ACTIVE_STATUSES, FINAL_STATUSES } from './store/lifecycle.js';
export type { Snapshot, SnapshotSource } from './snapshot.js';
export * from './helpers/index.js';
export { followState, Follower, type FollowOptions } from './follower/index.js';
export { readStateSnapshot } from './statedir/replica.js';
export type { SharedHandle } from './shm/reader.js';
export type { ScrubOptions, ScrubResult } from './shm/scrub.js';
export type { ChangeSet, Change } from './changes/change-set.js';
export { WATCH_TABLES, type WatchOptions, type WatchTable } from './changes/watch-options.js';
export type { WatchHistory } from './changes/watch-hub.js';
