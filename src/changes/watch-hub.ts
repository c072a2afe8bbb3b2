/**
 * The watch machinery of the writer and of followers: one WatchHub per state. The state publishes
 * each committed revision's change set to it, once, in revision order; every `watch()` is an async
 * iterator over the change sets after a revision — ordered, no gap, no duplicate — served from a
 * bounded in-memory history (the ring), from an optional older source (a journal) before that,
 * then live.
 *
 * How a watcher is fed, and why it cannot skip or repeat a revision: at `watch()` it notes the
 * newest revision N. Every revision after N is pushed into its own queue by `publish` (a reference;
 * O(1) per watcher, never blocking). Revisions afterRevision+1..N are its catch-up range, read on
 * demand by revision number: from the ring while they are in it, else from the older source page
 * by page — each revision exactly once, because the watcher's cursor only moves forward one
 * revision at a time and the catch-up range ends where the queue begins. The ring may move on
 * while a watcher catches up (or awaits the older source): the cursor then falls back to the older
 * source, or, when that no longer holds it either, the watch fails with COMPACTED.
 *
 * Semantics decided here (docs: the "Change sets and watch" section of the contract):
 * - Done means the consumer asked to stop: `break`/`return()` or its `signal` aborting (also an
 *   abort while a `next()` is pending: it resolves with done, it does not reject).
 * - A rejection means the feed stopped on its own: COMPACTED (history or backlog exceeded; the
 *   message says from which revision to resume or how to relist), CLOSED (the hub was closed), the
 *   error given to `close(err)`, or an older source's failure. It is given to the first `next()`
 *   pending or made afterwards; later calls give done. What the watcher held unread is dropped.
 * - maxBacklog counts the change sets published after `watch()` that the watcher has not taken
 *   yet; the history it replays does not count (it is the hub's ring or the older source, read
 *   page by page, not a copy). A pending `next()` takes a published change set at once.
 * - With `tables`, a watcher gets the revisions that change one of them, each with only their
 *   changes (the published object itself when nothing is left out, else a new one with the four
 *   contract fields). Change sets are shared by all watchers and the history: read-only.
 */
import { closed, corrupt, invalid } from '../errors.js';
import {
  backlogCompacted, checkHubOptions, checkPage, checkWatchOptions, Deque, describePage, historyCompacted, readError, tableBit, tableMask,
  type ChangeSetLike, type CheckedHubOptions, type CheckedWatchOptions, type OlderSource, type WatchHubOptions, type WatchOptions,
} from './watch-options.js';

export type { ChangeSetLike, OlderSource, WatchHubOptions, WatchOptions, WatchTable } from './watch-options.js';

/** Revisions asked of the older source per read (it may return fewer). */
export const OLDER_PAGE = 1024;

/** What `history` reports: `watch({ afterRevision: r })` works for oldestRevision ≤ r ≤ newestRevision. */
export interface WatchHistory {
  oldestRevision: number;
  newestRevision: number;
}

/** Figures of a hub, for metrics and tests. */
export interface WatchHubStats {
  /** Watchers attached (not ended, failed or closed). */
  watchers: number;
  /** Change sets waiting in all watchers' queues. */
  queued: number;
  /** Change sets in the ring, and their bytes as given to `publish`. */
  historySize: number;
  historyBytes: number;
}

/**
 * One `watch()`: an async iterator (and iterable: it returns itself) of change sets in revision
 * order. `next()` calls may overlap; they are answered in call order. `return()` ends it and frees
 * its queue at once; it is idempotent.
 */
export interface Watch<CS extends ChangeSetLike = ChangeSetLike> {
  next(): Promise<IteratorResult<CS, undefined>>;
  return(): Promise<IteratorResult<CS, undefined>>;
  [Symbol.asyncIterator](): Watch<CS>;
}

interface Entry<CS> {
  cs: CS;
  /** Tables touched (bit set), −1 until needed. */
  mask: number;
  bytes: number;
}

/** What a watcher sees of its hub. */
interface HubView<CS extends ChangeSetLike> {
  readonly name: string;
  readonly older: OlderSource<CS> | undefined;
  /** First revision in the ring (newest + 1 when it is empty). */
  ringFirst(): number;
  entry(revision: number): Entry<CS>;
  maskOf(e: Entry<CS>): number;
  history(): WatchHistory;
  detach(w: Watcher<CS>): void;
}

interface Waiter<CS> {
  resolve(r: IteratorResult<CS, undefined>): void;
  reject(e: unknown): void;
}

const DONE: IteratorResult<never, undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The in-memory watch service of one state. Guarantees: `publish` never blocks, never awaits and
 * never runs consumer code (O(1) per watcher plus O(changes) once when a watcher filters by
 * table); every watcher sees each revision after its start exactly once, in order, or fails with
 * an error saying why; a watcher that stops reading holds at most its `maxBacklog` change sets and
 * is dropped from the hub when it exceeds them; watchers never affect one another.
 */
export class WatchHub<CS extends ChangeSetLike = ChangeSetLike> {
  private readonly o: CheckedHubOptions<CS>;
  private newest: number;
  private readonly ring = new Deque<Entry<CS>>();
  private ringBytes = 0;
  private readonly watchers = new Set<Watcher<CS>>();
  /** Attached watchers with `tables`: while there are some, publish computes each change set's tables. */
  private filtered = 0;
  private closedWith: Error | undefined;
  private readonly view: HubView<CS>;

  /** A hub at revision `options.revision` (see WatchHubOptions); INVALID_ARGUMENT for bad options. */
  constructor(options: WatchHubOptions<CS>) {
    this.o = checkHubOptions<CS>(options);
    this.newest = this.o.revision;
    const hub = this;
    this.view = {
      name: this.o.name,
      older: this.o.olderSource,
      ringFirst: () => hub.newest - hub.ring.length + 1,
      entry: (revision) => hub.ring.at(revision - (hub.newest - hub.ring.length + 1)),
      maskOf: (e) => (e.mask >= 0 ? e.mask : (e.mask = tableMask(e.cs))),
      history: () => {
        try {
          return hub.history;
        } catch {
          return { oldestRevision: hub.newest - hub.ring.length, newestRevision: hub.newest }; // the older source failed: the ring's
        }
      },
      detach: (w) => {
        if (hub.watchers.delete(w) && w.filtered) hub.filtered--;
      },
    };
  }

  /**
   * The revisions a watch can start after: oldestRevision is the older of the ring's and the older
   * source's; newestRevision is the last published (or the initial) revision. After close, the
   * history is empty (oldestRevision = newestRevision).
   */
  get history(): WatchHistory {
    let oldest = this.newest - this.ring.length;
    if (this.closedWith === undefined && this.o.olderSource) {
      const o = this.o.olderSource.oldestRevision();
      if (o < oldest) oldest = o;
    }
    return { oldestRevision: oldest, newestRevision: this.newest };
  }

  /**
   * Publishes the change set of the next committed revision: `cs.revision` must be the newest + 1
   * (else INVALID_ARGUMENT, nothing changes). `bytes` is its size for `historyBytes` (default: an
   * estimate from the number of changes). The hub keeps a reference and hands the same object to
   * every watcher: the caller must not change it afterwards. After `close()` it does nothing.
   */
  publish(cs: CS, bytes?: number): void {
    if (this.closedWith !== undefined) return;
    const revision = (cs as { revision?: unknown } | null)?.revision;
    if (revision !== this.newest + 1) {
      throw invalid('the published change set\'s revision', revision, `${this.newest + 1}, the revision after ${this.newest}`);
    }
    if (bytes !== undefined && !(typeof bytes === 'number' && bytes >= 0 && bytes < Infinity)) {
      throw invalid('the published change set\'s bytes', bytes, 'a finite number of at least 0');
    }
    const entry: Entry<CS> = { cs, mask: this.filtered > 0 ? tableMask(cs) : -1, bytes: bytes ?? (this.o.historyBytes < Infinity ? 128 + 256 * cs.changes.length : 0) };
    this.newest = revision;
    if (this.o.historySize > 0) {
      this.ring.push(entry);
      this.ringBytes += entry.bytes;
      while (this.ring.length > this.o.historySize || (this.ringBytes > this.o.historyBytes && this.ring.length > 1)) {
        this.ringBytes -= this.ring.shift()!.bytes;
      }
    }
    for (const w of this.watchers) w.offer(cs, entry.mask);
  }

  /**
   * A watch of every revision after `options.afterRevision` (see WatchOptions). Throws, before
   * anything is attached: CLOSED after close(); INVALID_ARGUMENT for bad options or an
   * afterRevision newer than the newest revision; COMPACTED when afterRevision is older than
   * `history.oldestRevision` (the message names it). A signal already aborted gives a watch that
   * is done at once.
   */
  watch(options?: WatchOptions): Watch<CS> {
    if (this.closedWith !== undefined) throw closed(this.o.name);
    const w = checkWatchOptions(options, this.newest, this.o.maxBacklog);
    const { oldestRevision } = this.history;
    if (w.afterRevision < oldestRevision) {
      throw historyCompacted(this.o.name, w.afterRevision, this.history);
    }
    const watcher = new Watcher<CS>(this.view, w, this.newest);
    if (w.signal?.aborted) return watcher; // done at once, never attached
    this.watchers.add(watcher);
    if (watcher.filtered) this.filtered++;
    watcher.listen();
    return watcher;
  }

  /**
   * Closes the hub: every watcher fails with `err` (default CLOSED) at its pending or next
   * `next()` and frees its queue; later `watch()` calls throw CLOSED; `publish` does nothing; the
   * ring is freed. Idempotent (the first call's error stays).
   */
  close(err?: Error): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = err ?? closed(this.o.name);
    for (const w of [...this.watchers]) w.fail(this.closedWith);
    this.watchers.clear();
    this.filtered = 0;
    this.ring.clear();
    this.ringBytes = 0;
  }

  /** Current figures (O(watchers)). */
  stats(): WatchHubStats {
    let queued = 0;
    for (const w of this.watchers) queued += w.queued;
    return { watchers: this.watchers.size, queued, historySize: this.ring.length, historyBytes: this.ringBytes };
  }
}

/** One watch; see the module comment for how it is fed. */
class Watcher<CS extends ChangeSetLike> implements Watch<CS> {
  readonly filtered: boolean;
  private readonly mask: number;
  private readonly maxBacklog: number;
  private readonly signal: AbortSignal | undefined;
  /** The next revision to take or skip; revisions before it were delivered or skipped. */
  private cursor: number;
  /** The first revision `publish` pushes into the queue (the newest at watch() + 1). */
  private readonly queuedFrom: number;
  private readonly queue = new Deque<CS>();
  private page: CS[] = [];
  private pageAt = 0;
  private fetching = false;
  private readonly waiters = new Deque<Waiter<CS>>();
  private state: 'active' | 'failed' | 'done' = 'active';
  private failure: unknown;
  /** The last revision delivered (afterRevision before the first). */
  private last: number;
  private readonly onAbort = (): void => { this.finish(); };

  constructor(private readonly hub: HubView<CS>, o: CheckedWatchOptions, newest: number) {
    this.mask = o.mask;
    this.filtered = o.mask !== 0;
    this.maxBacklog = o.maxBacklog;
    this.signal = o.signal;
    this.cursor = o.afterRevision + 1;
    this.last = o.afterRevision;
    this.queuedFrom = newest + 1;
    if (o.signal?.aborted) this.state = 'done';
  }

  /** Starts listening to the signal (once attached). */
  listen(): void {
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get queued(): number { return this.queue.length; }

  [Symbol.asyncIterator](): Watch<CS> { return this; }

  next(): Promise<IteratorResult<CS, undefined>> {
    if (this.state === 'done') return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.pump();
    });
  }

  return(): Promise<IteratorResult<CS, undefined>> {
    this.finish();
    return Promise.resolve(DONE);
  }

  /** From publish: a new revision (O(1); `mask` is its tables when this watcher filters). */
  offer(cs: CS, mask: number): void {
    if (this.state !== 'active' || (this.filtered && (mask & this.mask) === 0)) return;
    if (this.queue.length >= this.maxBacklog) {
      this.fail(backlogCompacted(this.hub.name, this.maxBacklog, cs.revision, this.last, this.hub.history()));
      return;
    }
    this.queue.push(cs);
    if (this.waiters.length > 0) this.pump();
  }

  /** Ends the watch with `err` (given to the pending or next `next()`), frees its queue. */
  fail(err: unknown): void {
    if (this.state !== 'active') return;
    this.state = 'failed';
    this.failure = err;
    this.release();
    this.pump();
  }

  /** Ends the watch as the consumer asked: pending and later `next()` calls give done. */
  private finish(): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.failure = undefined;
    this.release();
    this.pump();
  }

  private release(): void {
    this.queue.clear();
    this.page = [];
    this.pageAt = 0;
    this.hub.detach(this);
    this.signal?.removeEventListener('abort', this.onAbort);
  }

  /** Answers waiting `next()` calls, in order, with what is available now. Never runs consumer code. */
  private pump(): void {
    while (this.waiters.length > 0) {
      if (this.state === 'failed') {
        const e = this.failure;
        this.state = 'done';
        this.failure = undefined;
        this.waiters.shift()!.reject(e);
      } else if (this.state === 'done') {
        this.waiters.shift()!.resolve(DONE);
      } else {
        const cs = this.take();
        if (cs === undefined) {
          if (this.state === 'active') return;
        } else {
          this.last = cs.revision;
          this.waiters.shift()!.resolve({ value: this.narrow(cs), done: false });
        }
      }
    }
  }

  /** The next change set to deliver, if one is available now; may fail the watch or start a read of older history. */
  private take(): CS | undefined {
    for (;;) {
      if (this.pageAt < this.page.length) { // a page of older history
        const cs = this.page[this.pageAt++]!;
        if (this.pageAt === this.page.length) this.page = [];
        this.cursor = cs.revision + 1;
        if (!this.filtered || (tableMask(cs) & this.mask) !== 0) return cs;
        continue;
      }
      if (this.cursor < this.queuedFrom) {
        const first = this.hub.ringFirst();
        if (this.cursor >= first) {
          const e = this.hub.entry(this.cursor++);
          if (!this.filtered || (this.hub.maskOf(e) & this.mask) !== 0) return e.cs;
          continue;
        }
        if (this.fetching) return undefined;
        const older = this.hub.older;
        try {
          if (older === undefined || this.cursor - 1 < older.oldestRevision()) {
            this.fail(historyCompacted(this.hub.name, this.cursor - 1, this.hub.history()));
            return undefined;
          }
        } catch (e) {
          this.fail(readError(e, `the oldest revision of the older history`));
          return undefined;
        }
        this.fetch(older, this.cursor, Math.min(first, this.queuedFrom, this.cursor + OLDER_PAGE) - 1);
        return undefined;
      }
      return this.queue.shift();
    }
  }

  /** Reads revisions from..to (or a prefix) from the older source into the page, then pumps. */
  private fetch(older: OlderSource<CS>, from: number, to: number): void {
    this.fetching = true;
    const failed = (e: unknown): void => {
      if (this.state !== 'active') return;
      this.fetching = false;
      this.fail(readError(e, `revisions ${from}..${to} of the older history`));
    };
    const got = (page: readonly CS[]): void => {
      if (this.state !== 'active') return;
      this.fetching = false;
      const n = checkPage(page, from, to);
      if (n === 0) {
        this.fail(from - 1 < older.oldestRevision()
          ? historyCompacted(this.hub.name, from - 1, this.hub.history())
          : corrupt(`the older history returned ${describePage(page)} when asked for revisions ${from}..${to}`));
        return;
      }
      this.page = page.slice(0, n);
      this.pageAt = 0;
      this.pump();
    };
    try {
      Promise.resolve(older.read(from, to)).then(got, failed).catch(failed);
    } catch (e) {
      failed(e);
    }
  }

  /** The change set as this watcher delivers it: with `tables`, only their changes (a new object when some are left out). */
  private narrow(cs: CS): CS {
    if (!this.filtered) return cs;
    const kept = cs.changes.filter((c) => (tableBit(c.table) & this.mask) !== 0);
    if (kept.length === cs.changes.length) return cs;
    return { revision: cs.revision, updatedAt: cs.updatedAt, masterId: cs.masterId, changes: kept } as unknown as CS;
  }
}
