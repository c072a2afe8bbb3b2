/**
 * The options of `watch()` and of the WatchHub that serves it, their checks, the few facts about
 * change sets the hub relies on (which tables one touches), its COMPACTED messages and its queue.
 * Every options object is read once into a plain copy by `checkOptions` (unknown keys are
 * INVALID_ARGUMENT); only the checked copy is used.
 */
import { compacted, invalid, ioFailure, StateError } from '../errors.js';
import { checkIdList, checkOneOf, checkOptions } from '../validate/values.js';

/** The tables a change can belong to, in the contract's order. */
export type WatchTable = 'nodes' | 'tasks' | 'content';
/** Every table name `watch({ tables })` accepts. */
export const WATCH_TABLES: readonly WatchTable[] = ['nodes', 'tasks', 'content'];

/**
 * The shape of a change set the hub relies on — structurally the contract's `ChangeSet`
 * (src/changes/change-set.ts): one per committed revision, each change naming its table. The hub
 * reads `revision` on publish and `changes[i].table` only for watchers with `tables`; it never
 * changes a change set it was given.
 */
export interface ChangeSetLike {
  readonly revision: number;
  readonly updatedAt: number;
  readonly masterId: string | null;
  readonly changes: readonly { readonly table: WatchTable; readonly op: 'upsert' | 'delete'; readonly id: string }[];
}

/** What `watch(options)` accepts. */
export interface WatchOptions {
  /** Yield every revision after this one (default: the newest revision when `watch` is called). */
  afterRevision?: number;
  /** Only revisions that change one of these tables, and of them only these tables' changes. */
  tables?: readonly WatchTable[];
  /** Aborting it ends the iteration like `break` (pending and later `next()` calls give done). */
  signal?: AbortSignal;
  /** Change sets published after `watch()` that may wait unread before the watch fails with COMPACTED (default: the hub's). */
  maxBacklog?: number;
}

/** The watch options after the checks: whole values, defaults applied. */
export interface CheckedWatchOptions {
  afterRevision: number;
  /** Bit set of the watched tables (nodes 1, tasks 2, content 4); 0 when every table is watched. */
  mask: number;
  signal: AbortSignal | undefined;
  maxBacklog: number;
}

/**
 * History older than the hub's in-memory ring (a journal): `read(from, to)` returns the change
 * sets of revisions `from..to` in order, or a non-empty prefix of them (the hub asks again for
 * the rest); `oldestRevision()` is the oldest revision a watch may start after with this source.
 * The hub only asks for revisions after `oldestRevision()` that have already been published and
 * have left the ring, so the source must hold every revision before the ring's first one.
 */
export interface OlderSource<CS extends ChangeSetLike = ChangeSetLike> {
  oldestRevision(): number;
  read(fromRevision: number, toRevision: number): readonly CS[] | Promise<readonly CS[]>;
}

/** Options of `new WatchHub(options)`. */
export interface WatchHubOptions<CS extends ChangeSetLike = ChangeSetLike> {
  /** The current revision: the first published change set must be revision + 1. */
  revision: number;
  /** Change sets the in-memory ring keeps (default 10,000; 0 for none). */
  historySize?: number;
  /** Bytes the ring may keep, by the sizes given to `publish` (default: no byte bound). */
  historyBytes?: number;
  /** Default backlog bound of each watcher (default 10,000). */
  maxBacklog?: number;
  /** Where history older than the ring comes from (a journal). */
  olderSource?: OlderSource<CS>;
  /** What the hub serves, for messages: "state" (default) or "follower". */
  name?: string;
}

/** The hub's options after the checks, defaults applied. */
export interface CheckedHubOptions<CS extends ChangeSetLike> {
  revision: number;
  historySize: number;
  historyBytes: number;
  maxBacklog: number;
  olderSource: OlderSource<CS> | undefined;
  name: string;
}

export const DEFAULT_HISTORY_SIZE = 10_000;
export const DEFAULT_MAX_BACKLOG = 10_000;

const WATCH_KEYS = ['afterRevision', 'tables', 'signal', 'maxBacklog'] as const;
const HUB_KEYS = ['revision', 'historySize', 'historyBytes', 'maxBacklog', 'olderSource', 'name'] as const;

/** A revision: a whole number from 0 to 2^53 − 1. */
export function checkRevision(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(what, value, 'a revision: a whole number from 0 to 2^53 - 1');
  }
  return value;
}

function checkCount(value: unknown, what: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid(what, value, `a whole number of at least ${min}`);
  }
  return value;
}

/** Bit of one table in a table mask. */
export function tableBit(table: string): number {
  return table === 'nodes' ? 1 : table === 'tasks' ? 2 : table === 'content' ? 4 : 0;
}

/** The tables a change set touches, as a bit set (see CheckedWatchOptions.mask); reads each change's `table` once. */
export function tableMask(cs: ChangeSetLike): number {
  let mask = 0;
  for (const c of cs.changes) {
    mask |= tableBit(c.table);
    if (mask === 7) break;
  }
  return mask;
}

/**
 * Checks `watch(options)` against the hub's newest revision: afterRevision a revision no newer
 * than `newest` (default `newest`), tables a non-empty array of distinct table names, signal an
 * AbortSignal, maxBacklog a whole number ≥ 1. Every failure is INVALID_ARGUMENT naming the option.
 */
export function checkWatchOptions(value: unknown, newest: number, defaultBacklog: number): CheckedWatchOptions {
  const o = checkOptions(value, WATCH_KEYS, 'watch options');
  let afterRevision = newest;
  if (o.afterRevision !== undefined) {
    afterRevision = checkRevision(o.afterRevision, 'watch options.afterRevision');
    if (afterRevision > newest) {
      throw invalid('watch options.afterRevision', afterRevision, `at most the newest revision ${newest} (a revision in the future)`);
    }
  }
  let mask = 0;
  if (o.tables !== undefined) {
    const names = WATCH_TABLES.map((t) => `"${t}"`).join(', ');
    const tables = checkIdList(o.tables, 'watch options.tables');
    if (tables.length === 0) throw invalid('watch options.tables', tables, `a non-empty array of ${names}`);
    tables.forEach((t, i) => { mask |= tableBit(checkOneOf(t, WATCH_TABLES, `watch options.tables[${i}]`)); });
    if (mask === 7) mask = 0;
  }
  let signal: AbortSignal | undefined;
  if (o.signal !== undefined) {
    if (!(o.signal instanceof AbortSignal)) throw invalid('watch options.signal', o.signal, 'an AbortSignal');
    signal = o.signal;
  }
  const maxBacklog = o.maxBacklog === undefined ? defaultBacklog : checkCount(o.maxBacklog, 'watch options.maxBacklog', 1);
  return { afterRevision, mask, signal, maxBacklog };
}

/** Checks `new WatchHub(options)`: every failure is INVALID_ARGUMENT naming the option. */
export function checkHubOptions<CS extends ChangeSetLike>(value: unknown): CheckedHubOptions<CS> {
  const o = checkOptions(value, HUB_KEYS, 'watch hub options', false);
  const revision = checkRevision(o.revision, 'watch hub options.revision');
  const historySize = o.historySize === undefined ? DEFAULT_HISTORY_SIZE : checkCount(o.historySize, 'watch hub options.historySize', 0);
  let historyBytes = Infinity;
  if (o.historyBytes !== undefined) {
    if (typeof o.historyBytes !== 'number' || !(o.historyBytes >= 0)) {
      throw invalid('watch hub options.historyBytes', o.historyBytes, 'a number of bytes, at least 0 (Infinity for no bound)');
    }
    historyBytes = o.historyBytes;
  }
  const maxBacklog = o.maxBacklog === undefined ? DEFAULT_MAX_BACKLOG : checkCount(o.maxBacklog, 'watch hub options.maxBacklog', 1);
  let olderSource: OlderSource<CS> | undefined;
  if (o.olderSource !== undefined) {
    const s = o.olderSource as Partial<OlderSource<CS>> | null;
    if (s === null || typeof s !== 'object' || typeof s.read !== 'function' || typeof s.oldestRevision !== 'function') {
      throw invalid('watch hub options.olderSource', s, 'an object with read(from, to) and oldestRevision() methods');
    }
    olderSource = s as OlderSource<CS>;
  }
  let name = 'state';
  if (o.name !== undefined) {
    if (typeof o.name !== 'string' || o.name.length === 0) throw invalid('watch hub options.name', o.name, 'a non-empty string');
    name = o.name;
  }
  return { revision, historySize, historyBytes, maxBacklog, olderSource, name };
}

/** The relist pattern, for messages. */
function relistHint(name: string): string {
  return `relist: const s = ${name}.snapshot(); ${name}.watch({ afterRevision: s.revision })`;
}

/** COMPACTED: a watch needs the revisions after `after`, which the history (`h`) no longer holds. */
export function historyCompacted(name: string, after: number, h: { oldestRevision: number; newestRevision: number }): StateError {
  return compacted(
    `revision ${after + 1} is no longer in the history (watching after revision ${after}): the oldest revision that can still be `
    + `watched is ${h.oldestRevision} (newest ${h.newestRevision}); ${relistHint(name)}`,
  );
}

/** COMPACTED: a watch's unread change sets exceeded `maxBacklog` when revision `at` was published; it had delivered up to `last`. */
export function backlogCompacted(name: string, maxBacklog: number, at: number, last: number, h: { oldestRevision: number }): StateError {
  const resume = last >= h.oldestRevision
    ? `resume with watch({ afterRevision: ${last} }) while the history still holds it (oldest ${h.oldestRevision}), or ${relistHint(name)}`
    : relistHint(name);
  return compacted(
    `this watch fell more than maxBacklog = ${maxBacklog} change sets behind at revision ${at} and its backlog was dropped; `
    + `the last revision it delivered was ${last}; ${resume}`,
  );
}

/** What a failed read of `what` from the older source becomes: its StateError as it is, anything else IO. */
export function readError(e: unknown, what: string): StateError {
  return e instanceof StateError ? e : ioFailure(`reading ${what} failed: ${e instanceof Error ? e.message : String(e)}`, e);
}

/** A bounded-work FIFO: push and shift are amortised O(1), indexed reads O(1). */
export class Deque<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number { return this.items.length - this.head; }
  push(x: T): void { this.items.push(x); }
  /** The i-th item from the front (0 ≤ i < length). */
  at(i: number): T { return this.items[this.head + i] as T; }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) this.clear();
    else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  clear(): void { this.items = []; this.head = 0; }
}

/** How many leading change sets of `page` are usable for revisions from..to (consecutive from `from`), 0 if none. */
export function checkPage(page: unknown, from: number, to: number): number {
  if (!Array.isArray(page)) return 0;
  let n = 0;
  while (n < page.length && from + n <= to && (page[n] as { revision?: unknown } | null)?.revision === from + n) n++;
  // A page that is not a consecutive run from `from` (beyond the part after `to`) is refused whole.
  if (n < page.length && from + n <= to) return 0;
  return n;
}

export function describePage(page: unknown): string {
  if (!Array.isArray(page)) return `${typeof page} instead of an array`;
  if (page.length === 0) return 'no change sets';
  const revs = page.map((cs) => (cs as { revision?: unknown } | null)?.revision);
  return `revisions ${revs.slice(0, 5).join(', ')}${revs.length > 5 ? ', ...' : ''}`;
}
