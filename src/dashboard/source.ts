/**
 * What the dashboard reads: any object that gives the newest snapshot and, ideally, the change
 * sets of each new revision — a ClusterState (the demo's writer), a Follower of a state
 * directory or a RemoteFollower of a NATS cluster fit as they are.
 */
import type { ChangeSet } from '../changes/change-set.js';
import type { WatchOptions } from '../changes/watch-options.js';
import type { Snapshot } from '../snapshot.js';

/** The revisions a source can vouch for beyond the one it shows. */
export interface SourceRevisions {
  /** The newest revision known durable on disk (null: the source cannot tell). */
  durable: number | null;
  /** The newest revision known replicated through NATS (null: the source cannot tell). */
  replicated: number | null;
}

/**
 * A state the dashboard serves. `snapshot()` is called for every API request and every update,
 * so it must be cheap when nothing changed (the writer's, a follower's and readState's are: they
 * are cached per revision); it may throw (a damaged directory): the request then gets 503 and the
 * page keeps its last update. `watch()` (ClusterState.watch, Follower.watch, with their
 * semantics: one change set per revision, COMPACTED when behind) feeds the live updates and the
 * feed; without it the server looks for a new snapshot on every tick instead (a Parquet file).
 */
export interface DashboardSource {
  snapshot(): Snapshot;
  watch?(options?: WatchOptions): AsyncIterable<ChangeSet>;
  /** Durable / replicated revisions for the header (absent: both unknown). */
  revisions?(): SourceRevisions;
  /**
   * Called before each API and /metrics request: resolves once snapshot() holds at least what a
   * reader could already see elsewhere (a follower of a directory waits for the journal's durable
   * mark). Absent: snapshot() is always current (a writer).
   */
  settle?(): Promise<void>;
}
