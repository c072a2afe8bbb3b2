/**
 * `arrow-cluster-state/helpers`: the query helpers. Each takes a state source first (a
 * ClusterState, a Snapshot, the single-row Arrow Table, or a path to a state directory or
 * .parquet file), reads one snapshot of it, scans Arrow columns in place and returns plain
 * JSON-serialisable values. See docs/helpers.md.
 */
export {
  directoryReader, setDirectoryReader, snapshotOf, withSnapshot, stateTableOf, clearSourceCache, METADATA_FILE,
  type StateSource, type SnapshotProvider,
} from './source.js';
export { snapshotFromStateTable } from './state-table.js';
export {
  getStatePathFromMetadata, stateSearchPath, connectToStateStore, getClusterState, getClusterStateAsDict,
  getClusterStateAsTables, getClusterMetadata,
  type DiscoveryOptions, type StateStoreInfo, type ClusterStateDict, type ClusterMetadata,
} from './access.js';
export {
  getAllNodes, getNodeById, findNodesByRole, findNodesByCapability, findNodesWithGpu, getNodeResourceUtilization,
  type NodeUtilization,
} from './nodes.js';
export {
  getAllTasks, getTaskById, findTasksByStatus, findTasksByType, findTasksByNode, findTasksByResourceRequirements,
} from './tasks.js';
export { findAvailableNodeForTask, placementScore, DEFAULT_REQUIREMENTS, UNKNOWN_CPU_LOAD } from './placement.js';
export { getTaskExecutionMetrics, estimateTimeToCompletion, type TaskExecutionMetrics } from './task-metrics.js';
export {
  getAllContent, findContentByCid, findContentByProvider, findOrphanedContent, getContentAvailabilityMap,
  type ContentAvailability,
} from './content.js';
export {
  getClusterStatusSummary, getNetworkTopology, exportStateToJson, compareCodePoints,
  type ClusterStatusSummary, type TopologyNode, type TopologyLink,
} from './analysis.js';
export { queryState, compileQuery, queryFields, type Query, type QueryResult, type Filter, type FieldTests, type Operand } from '../query/index.js';

// Helpers given a state directory read its arena file (newest durable revision; no lock, no
// writes) before falling back to Parquet. Installed here so that every entry point (the main
// one, `arrow-cluster-state/helpers`, the pool's workers) gets it.
import { setDirectoryReader as installDirectoryReader } from './source.js';
import { readStateSnapshot } from '../statedir/replica.js';
installDirectoryReader(readStateSnapshot);

import * as access from './access.js';
import * as nodes from './nodes.js';
import * as tasks from './tasks.js';
import * as placement from './placement.js';
import * as metrics from './task-metrics.js';
import * as content from './content.js';
import * as analysis from './analysis.js';
import { queryState } from '../query/run.js';

/**
 * Every helper of the contract by name (the seeds' helpers in camelCase) and `queryState`, each
 * taking a state source first — one list, used by the query pool (pool/queries.ts) to run any of
 * them by name.
 */
export const HELPERS = {
  getStatePathFromMetadata: access.getStatePathFromMetadata, connectToStateStore: access.connectToStateStore,
  getClusterState: access.getClusterState, getClusterStateAsDict: access.getClusterStateAsDict,
  getClusterStateAsTables: access.getClusterStateAsTables, getClusterMetadata: access.getClusterMetadata,
  getAllNodes: nodes.getAllNodes, getNodeById: nodes.getNodeById, findNodesByRole: nodes.findNodesByRole,
  findNodesByCapability: nodes.findNodesByCapability, findNodesWithGpu: nodes.findNodesWithGpu,
  getNodeResourceUtilization: nodes.getNodeResourceUtilization,
  getAllTasks: tasks.getAllTasks, getTaskById: tasks.getTaskById, findTasksByStatus: tasks.findTasksByStatus,
  findTasksByType: tasks.findTasksByType, findTasksByNode: tasks.findTasksByNode,
  findTasksByResourceRequirements: tasks.findTasksByResourceRequirements,
  findAvailableNodeForTask: placement.findAvailableNodeForTask,
  getTaskExecutionMetrics: metrics.getTaskExecutionMetrics, estimateTimeToCompletion: metrics.estimateTimeToCompletion,
  getAllContent: content.getAllContent, findContentByCid: content.findContentByCid,
  findContentByProvider: content.findContentByProvider, findOrphanedContent: content.findOrphanedContent,
  getContentAvailabilityMap: content.getContentAvailabilityMap,
  getClusterStatusSummary: analysis.getClusterStatusSummary, getNetworkTopology: analysis.getNetworkTopology,
  exportStateToJson: analysis.exportStateToJson,
  queryState,
} as const;
