/**
 * Finding and reading the state: discovery of a state directory, its metadata, and the state
 * as a whole (single-row table, flat tables, plain records, cluster metadata).
 */
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Table } from 'apache-arrow';
import { invalid, ioError } from '../errors.js';
import type { ContentRecord, NodeRecord, TaskRecord } from '../schema/records.js';
import { options, text } from './args.js';
import { tableView } from '../arrow/decode/table-view.js';
import {
  METADATA_FILE, parquetFileOfDirectory, readMetadata, stateTableOf, withSnapshot, type StateSource,
} from './source.js';

/** Options of getStatePathFromMetadata. */
export interface DiscoveryOptions {
  /** Also look in ~/.ipfs/cluster_state, ~/.ipfs_cluster_state and /var/lib/ipfs/cluster_state (default true). */
  standardLocations?: boolean;
  /** Home directory for `~` and the standard locations (default os.homedir()). */
  home?: string;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Expands a leading `~` to `home`. */
function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return join(home, p.slice(2));
  return p;
}

/**
 * The places getStatePathFromMetadata looks, in order: `baseDir` itself, `baseDir/.ipfs_cluster_state`,
 * `baseDir/cluster_state`, then (unless disabled) `~/.ipfs/cluster_state`, `~/.ipfs_cluster_state`,
 * `/var/lib/ipfs/cluster_state`.
 */
export function stateSearchPath(baseDir?: string | null, opts?: DiscoveryOptions): string[] {
  const o = options(opts, ['standardLocations', 'home']);
  if (o.home !== undefined) text(o.home, 'options.home');
  if (o.standardLocations !== undefined && typeof o.standardLocations !== 'boolean') throw invalid('options.standardLocations', o.standardLocations, 'true or false');
  const home = (o.home as string | undefined) ?? homedir();
  const out: string[] = [];
  if (baseDir !== undefined && baseDir !== null) {
    const b = resolve(expandHome(text(baseDir, 'baseDir'), home));
    out.push(b, join(b, '.ipfs_cluster_state'), join(b, 'cluster_state'));
  }
  if (o.standardLocations !== false) {
    out.push(join(home, '.ipfs', 'cluster_state'), join(home, '.ipfs_cluster_state'), '/var/lib/ipfs/cluster_state');
  }
  return out;
}

/**
 * The first directory of the search path (see stateSearchPath) that contains a
 * `state_metadata.json`, as an absolute path; null when none does.
 */
export function getStatePathFromMetadata(baseDir?: string | null, opts?: DiscoveryOptions): string | null {
  for (const dir of stateSearchPath(baseDir, opts)) if (isFile(join(dir, METADATA_FILE))) return dir;
  return null;
}

/** What connectToStateStore finds at a path. */
export interface StateStoreInfo {
  /** The state directory (absolute). */
  statePath: string;
  /** The parsed `state_metadata.json`, or null when the directory has none. */
  metadata: Record<string, unknown> | null;
  /** The Parquet file the helpers read for this path (absolute), or null when there is none. */
  parquetPath: string | null;
}

/**
 * Reads the metadata of a state directory (or of the directory of a given .parquet or
 * state_metadata.json file) and where its Parquet state is. Null when the path does not exist
 * or holds neither metadata nor a state file. A metadata file that is not a JSON object is
 * CORRUPT. (The Python original returned `(None, metadata)`; there is no client to return.)
 */
export function connectToStateStore(statePath: string): StateStoreInfo | null {
  const abs = resolve(text(statePath, 'statePath'));
  let isDir: boolean;
  try {
    isDir = statSync(abs).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw ioError('reading', abs, e);
  }
  if (!isDir) {
    const dir = dirname(abs);
    const isMd = basename(abs) === METADATA_FILE;
    const metadata = readMetadata(dir);
    return { statePath: dir, metadata, parquetPath: isMd ? parquetFileOfDirectory(dir).file : abs };
  }
  const metadata = readMetadata(abs);
  const { file } = parquetFileOfDirectory(abs);
  if (!metadata && !file) return null;
  return { statePath: abs, metadata, parquetPath: file };
}

/**
 * The state as the seed's single-row Arrow Table: the writer's `getState()`, the table itself,
 * the table as read from a Parquet file, or one built (copied) from a snapshot.
 */
export function getClusterState(source: StateSource): Table {
  return stateTableOf(source);
}

/** The whole state as plain records. */
export interface ClusterStateDict {
  cluster_id: string;
  master_id: string | null;
  /** Epoch ms (UTC) of the state's last change; null when the source has none. */
  updated_at: number | null;
  nodes: NodeRecord[];
  tasks: TaskRecord[];
  content: ContentRecord[];
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** The whole state as plain records (every row materialised: prefer the finders for large states). */
export function getClusterStateAsDict(source: StateSource): ClusterStateDict {
  return withSnapshot(source, (s) => ({
    cluster_id: s.clusterId,
    master_id: s.masterId,
    updated_at: finite(s.updatedAt),
    nodes: tableView(s.nodes).allRecords('nodes') as unknown as NodeRecord[],
    tasks: tableView(s.tasks).allRecords('tasks') as unknown as TaskRecord[],
    content: tableView(s.content).allRecords('content') as unknown as ContentRecord[],
  }));
}

/**
 * One flat Arrow table per entity (the pandas analogue). For a worker or follower snapshot these
 * are views that are valid while that snapshot is; for every other source they stay valid.
 */
export function getClusterStateAsTables(source: StateSource): { nodes: Table; tasks: Table; content: Table } {
  return withSnapshot(source, (s) => ({ nodes: s.nodes, tasks: s.tasks, content: s.content }));
}

/** Cluster fields and entity counts. */
export interface ClusterMetadata {
  cluster_id: string;
  master_id: string | null;
  /** Epoch ms, UTC (the Python original read it as local time; this does not). */
  updated_at: number | null;
  node_count: number;
  task_count: number;
  content_count: number;
}

/** Cluster id, master id, last change and entity counts (O(1): no row is read). */
export function getClusterMetadata(source: StateSource): ClusterMetadata {
  return withSnapshot(source, (s) => ({
    cluster_id: s.clusterId,
    master_id: s.masterId,
    updated_at: finite(s.updatedAt),
    node_count: s.nodes.numRows,
    task_count: s.tasks.numRows,
    content_count: s.content.numRows,
  }));
}
