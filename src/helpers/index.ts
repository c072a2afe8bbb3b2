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
  findAvailableNodeForTask, getTaskExecutionMetrics, estimateTimeToCompletion, placementScore,
  DEFAULT_REQUIREMENTS, UNKNOWN_CPU_LOAD, type TaskExecutionMetrics,
} from './tasks.js';
export {
  getAllContent, findContentByCid, findContentByProvider, findOrphanedContent, getContentAvailabilityMap,
  type ContentAvailability,
} from './content.js';
export {
  getClusterStatusSummary, getNetworkTopology, exportStateToJson, compareCodePoints,
  type ClusterStatusSummary, type TopologyNode, type TopologyLink,
} from './analysis.js';

// Helpers given a state directory read its arena file (newest durable revision; no lock, no
// writes) before falling back to Parquet. Installed here so that every entry point (the main
// one, `arrow-cluster-state/helpers`, the pool's workers) gets it.
import { setDirectoryReader as installDirectoryReader } from './source.js';
import { readStateSnapshot } from '../statedir/arena-reader.js';
installDirectoryReader(readStateSnapshot);
