/**
 * The Snapshot: one immutable revision of the state as three flat Arrow tables plus the cluster
 * fields. Every source of state — the writer, a worker thread, a follower process, a Parquet file,
 * a single-row Arrow table — yields one, and the helpers, the CLI and the metrics know only this.
 */
import type { Table } from 'apache-arrow';

/**
 * Where a snapshot came from: the writer, a worker thread (shared memory), a follower process,
 * a single-row table given as an argument, a one-shot read of a state directory's arena file
 * ('file'), or a Parquet file ('parquet': a file given by path, or a directory without arena
 * files — one written by another tool — read through its Parquet file; the Parquet mirror of our
 * own directories may lag, so they are never read that way).
 */
export type SnapshotSource = 'writer' | 'worker' | 'follower' | 'table' | 'file' | 'parquet';

export interface Snapshot {
  /** The revision these tables hold (0 for a state that has never changed). */
  readonly revision: number;
  readonly clusterId: string;
  readonly masterId: string | null;
  /** Epoch ms of the revision's commit. */
  readonly updatedAt: number;
  /** One row per node / task / content item, columns as in the seed (role/status/type may be dictionary-coded). */
  readonly nodes: Table;
  readonly tasks: Table;
  readonly content: Table;
  readonly source: SnapshotSource;
  /**
   * Ends the snapshot. For sources backed by shared memory the tables are views that must not be
   * used after release (reading them through the snapshot then throws CLOSED); for others it is
   * a no-op. Idempotent.
   */
  release(): void;
  /**
   * Shared-memory snapshots: throws COMPACTED if the writer revoked this snapshot's memory (or
   * CLOSED if it was released), so values read from its tables up to now may not be its own.
   * Call it after copying values out of tables you took from the snapshot earlier; the helpers
   * and the query pool call it after computing. Absent (or a no-op) for other sources.
   */
  verify?(): void;
}

/** True for objects shaped like a Snapshot. */
export function isSnapshot(x: unknown): x is Snapshot {
  const s = x as Snapshot;
  return !!s && typeof s === 'object' && typeof s.revision === 'number' && !!s.nodes && !!s.tasks && !!s.content && typeof s.release === 'function';
}
