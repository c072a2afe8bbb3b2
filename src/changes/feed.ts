/**
 * The writer's change feed: each commit's change set (change-set.ts) published to a WatchHub, in
 * revision order — by the writer once the revision is durable on a state directory, as it commits
 * in memory. A state directory adds the journal as the history older than the hub's ring.
 */
import { changeSetOf, type ChangeSet, type RevisionChanges } from './change-set.js';
import { WatchHub, type WatchHistory } from './watch-hub.js';
import type { OlderSource, WatchOptions } from './watch-options.js';

/** How much history the feed keeps in memory, and how far a watcher may fall behind. */
export interface FeedSettings {
  revisions: number;
  /** Memory the ring may hold, estimated at CHANGE_BYTES per change. */
  bytes: number;
  maxBacklog: number;
}

/** What one change set is taken to hold in memory per changed entity (its record), for `bytes`. */
const CHANGE_BYTES = 1024;

/** The change sets of one writer. */
export class ChangeFeed {
  private hub: WatchHub<ChangeSet>;

  /** A feed whose next change set is the one after `revision`. */
  constructor(private readonly settings: FeedSettings, revision: number) {
    this.hub = this.make(revision, null);
  }

  /** Serves history older than the ring from `older` (a journal); before anything was published or watched. */
  useOlder(revision: number, older: OlderSource<ChangeSet> | null): void {
    this.hub.close();
    this.hub = this.make(revision, older);
  }

  /** Publishes the change set of a commit (the revision after the last one published). */
  publish(changes: RevisionChanges): void {
    const cs = changeSetOf(changes);
    this.hub.publish(cs, 128 + CHANGE_BYTES * cs.changes.length);
  }

  /** See ClusterState.watch. */
  watch(options?: WatchOptions): AsyncIterable<ChangeSet> & AsyncIterator<ChangeSet> {
    return this.hub.watch(options);
  }

  get history(): WatchHistory {
    return this.hub.history;
  }

  /** Ends every watch (CLOSED). */
  close(): void {
    this.hub.close();
  }

  private make(revision: number, older: OlderSource<ChangeSet> | null): WatchHub<ChangeSet> {
    const s = this.settings;
    return new WatchHub<ChangeSet>({ revision, historySize: s.revisions, historyBytes: s.bytes, maxBacklog: s.maxBacklog, ...(older ? { olderSource: older } : {}) });
  }
}
