/**
 * Following a state directory from another process. A chokidar watcher on the directory (never
 * on a file: a watch on a file that gets renamed over can die) wakes the follower; bursts of
 * events are coalesced into one check, and a trailing re-check after the last event makes sure
 * the final revision of a burst is seen (chokidar throttles change events). A check reads the
 * arena file's two meta slots; when a newer durable revision is there, it preads only the
 * extents it has not decoded before, verifies their CRC32s and decodes them zero-copy. A torn or
 * garbage read never replaces the last good state: it is retried, then reported as `error`.
 */
import { EventEmitter } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { closed, compacted, invalid, isStateError, ioFailure, missing, show } from '../errors.js';
import { checkBool, checkInt32, checkOptions } from '../validate/values.js';
import { JOURNAL_SUFFIX, METADATA_FILE } from '../statedir/names.js';
import type { Snapshot } from '../snapshot.js';
import { Replica } from '../statedir/replica.js';
import type { ChangeSet } from '../changes/change-set.js';
import { WatchHub } from '../changes/watch-hub.js';
import { waitForRevision, type FollowerEvents } from './events.js';
import { isRemoteFollowOptions, RemoteFollower, type RemoteFollowOptions } from './remote.js';
import type { OlderSource, WatchOptions } from '../changes/watch-options.js';

const FOLLOW_KEYS = ['polling', 'intervalMs', 'trailingMs', 'safetyPollMs'] as const;

/** How a follower watches. */
export interface FollowOptions {
  /** Poll the directory instead of using inotify (for network file systems). */
  polling?: boolean;
  /** Polling interval (ms, default 100). */
  intervalMs?: number;
  /** Re-check this long after the last event of a burst (ms, default 100). */
  trailingMs?: number;
  /** A cheap safety check runs this often even without events (ms, default 1000; 0 = off). */
  safetyPollMs?: number;
}

/** A follower of a state directory; create one with `followState()`. Its snapshots are immutable heap copies. */
export class Follower extends EventEmitter<FollowerEvents> {
  readonly dir: string;
  private watcher: FSWatcher | null = null;
  private readonly replica: Replica;
  private hub: WatchHub<ChangeSet> | null = null;
  private checking = false;
  private again = false;
  private trailing: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private closedFlag = false;
  /** Journal bytes read by the last refresh (for measurements). */
  lastReadBytes = 0;
  /** Loads performed. */
  loads = 0;

  constructor(dir: string, private readonly opts: FollowOptions = {}) {
    super();
    this.dir = resolve(dir);
    this.replica = new Replica(this.dir, 'follower', (e) => {
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
  }

  /** The loaded revision (-1 before the first). */
  get revision(): number {
    return this.replica.revision;
  }

  /**
   * The change sets of every durable revision after `afterRevision` (default: the loaded one),
   * in order, one per revision, without gaps or duplicates, served from the journal's retained
   * history and then live as the follower loads them; the same guarantees and options as
   * ClusterState.watch (COMPACTED past the history or the backlog; also when the follower has to
   * reload from a checkpoint). Change sets are shared by every watcher: treat them as read-only.
   * NOT_FOUND until a state has been loaded.
   */
  watch(options?: WatchOptions): AsyncIterable<ChangeSet> & AsyncIterator<ChangeSet> {
    if (this.closedFlag) throw closed('follower');
    return this.requireHub().watch(options);
  }

  /** The revisions `watch({ afterRevision })` can start after (the journal's history up to the loaded revision). */
  get history(): { oldestRevision: number; newestRevision: number } {
    return this.requireHub().history;
  }

  /**
   * The newest revision loaded: immutable tables on this process's heap (valid for as long as
   * you hold them). NOT_FOUND until a state has been loaded.
   */
  snapshot(): Snapshot {
    if (this.closedFlag) throw closed('follower');
    return this.replica.snapshot();
  }

  /** Resolves with the loaded revision once it is at least `revision` (NOT_FOUND after timeoutMs). */
  waitFor(revision: number, timeoutMs = 30_000): Promise<number> {
    return waitForRevision(this, () => this.revision, revision, timeoutMs, show(this.dir));
  }

  /** @internal Starts watching and loads the current state. */
  async start(): Promise<void> {
    if (!existsSync(this.dir) || !statSync(this.dir).isDirectory()) {
      throw missing(`state directory ${show(this.dir)} does not exist`);
    }
    const usePolling = this.opts.polling ?? false;
    this.watcher = watch(this.dir, {
      depth: 0,
      ignoreInitial: true,
      usePolling,
      interval: this.opts.intervalMs ?? 100,
      binaryInterval: this.opts.intervalMs ?? 100,
      atomic: false,
      persistent: true,
    });
    // The journal's appends (every flush), checkpoints (.arena) and the metadata wake a check.
    const relevant = (name: string) => name === METADATA_FILE || name.endsWith('.arena') || name.endsWith(JOURNAL_SUFFIX);
    const onEvent = (path: string) => {
      if (relevant(basename(path))) this.schedule();
    };
    this.watcher.on('add', onEvent).on('change', onEvent).on('unlink', onEvent);
    // chokidar throttles `change` per file (50 ms); its raw events arrive unthrottled, so they
    // wake the follower at once (the throttled ones and the trailing check are the safety net).
    this.watcher.on('raw', (_event: string, path: string) => {
      if (relevant(basename(String(path ?? '')))) this.schedule();
    });
    this.watcher.on('error', (e) => this.emit('error', ioFailure(`watching ${show(this.dir)} failed: ${(e as Error).message}`, e)));
    await new Promise<void>((r) => this.watcher!.once('ready', () => r()));
    // The first load reports its failure to the caller (no listener can be attached yet).
    try {
      this.loadNewer();
    } catch (e) {
      await this.close();
      throw e;
    }
    const safety = this.opts.safetyPollMs ?? 1000;
    if (safety > 0) {
      this.poll = setInterval(() => this.schedule(false), safety);
      this.poll.unref();
    }
    this.check();
  }

  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.trailing) clearTimeout(this.trailing);
    if (this.poll) clearInterval(this.poll);
    await this.watcher?.close();
    this.hub?.close();
    this.replica.close();
  }

  /** Coalesces bursts of events into one check now and one trailing re-check. */
  private schedule(trailing = true): void {
    if (this.closedFlag) return;
    if (this.checking) this.again = true;
    else setImmediate(() => this.check());
    if (trailing) {
      if (this.trailing) clearTimeout(this.trailing);
      this.trailing = setTimeout(() => {
        this.trailing = null;
        this.check();
      }, this.opts.trailingMs ?? 100);
      this.trailing.unref();
    }
  }

  private check(): void {
    if (this.closedFlag || this.checking) {
      this.again = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.again = false;
        this.tryLoad();
      } while (this.again && !this.closedFlag);
    } finally {
      this.checking = false;
    }
  }

  /** Loads a newer durable revision if there is one; on failure keeps the last good state. */
  private tryLoad(): void {
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        this.loadNewer();
        return;
      } catch (e) {
        lastError = e;
        // The file may have been replaced (compaction) or be mid-write: reopen and retry.
        this.reopen();
      }
    }
    const err = isStateError(lastError) ? lastError : ioFailure(`reading ${show(this.dir)} failed: ${(lastError as Error)?.message}`, lastError);
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private reopen(): void {
    this.replica.close();
  }

  private loadNewer(): void {
    const before = this.replica.revision;
    const r = this.replica.refresh();
    this.lastReadBytes = this.replica.lastReadBytes;
    if (r.reloaded) {
      // The state was replaced, not continued: watchers cannot go on without a gap.
      this.hub?.close(compacted(`follower of ${show(this.dir)} reloaded its state at revision ${this.replica.revision} from a checkpoint (it fell behind the journal's history, or the directory was taken over); relist: const s = follower.snapshot(); follower.watch({ afterRevision: s.revision })`));
      this.hub = new WatchHub<ChangeSet>({ revision: this.replica.revision, name: 'follower', olderSource: this.older() });
      this.loads++;
      if (before >= 0) this.emit('reload', this.replica.revision);
      this.emit('change', this.replica.revision);
      return;
    }
    if (!r.applied.length) return;
    for (const cs of r.applied) this.hub!.publish(cs);
    this.loads++;
    this.emit('change', this.replica.revision);
  }

  private older(): OlderSource<ChangeSet> {
    return { oldestRevision: () => this.replica.oldestRevision, read: (from, to) => this.replica.readChangeSets(from, to) };
  }

  private requireHub(): WatchHub<ChangeSet> {
    if (!this.hub) throw missing(`no state has been found in ${show(this.dir)} yet`);
    return this.hub;
  }
}

/**
 * Follows the state directory `statePath` from any process: resolves once the current state
 * (if any) is loaded; then emits `change` with each newer durable revision, and `error` when
 * files are missing or damaged (the last good state is kept).
 *
 * `followState({ nats, clusterId, projection? })` follows a cluster on any machine through NATS
 * JetStream instead (follower/remote.ts): the same API, a RemoteFollower.
 */
export async function followState(options: RemoteFollowOptions): Promise<RemoteFollower>;
export async function followState(statePath: string, options?: FollowOptions): Promise<Follower>;
export async function followState(statePath: string | RemoteFollowOptions, options: FollowOptions = {}): Promise<Follower | RemoteFollower> {
  if (isRemoteFollowOptions(statePath)) {
    if (arguments.length > 1) throw invalid('followState(options, …)', options, 'nothing after the options object');
    return RemoteFollower.open(statePath);
  }
  if (typeof statePath !== 'string' || statePath.length === 0) throw invalid('statePath', statePath, 'a state directory path');
  const o = checkOptions(options, FOLLOW_KEYS, 'options');
  if (o.polling !== undefined) checkBool(o.polling, 'options.polling');
  for (const k of ['intervalMs', 'trailingMs', 'safetyPollMs'] as const) if (o[k] !== undefined) checkInt32(o[k], `options.${k}`);
  const f = new Follower(statePath, o as FollowOptions);
  await f.start();
  return f;
}
