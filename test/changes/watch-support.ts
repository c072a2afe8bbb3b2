// Shared by the watch-hub tests: change sets of the contract's shape, a journal-like older
// source whose reads the test resolves when it chooses, and one event-loop turn.
import type { ExecutionContext } from 'ava';
import { isStateError } from '../../src/errors.js';
import type { OlderSource, WatchTable } from '../../src/changes/watch-hub.js';

export const TABLES: readonly WatchTable[] = ['nodes', 'tasks', 'content'];

export type TestChange =
  | { table: WatchTable; op: 'upsert'; id: string; record: { revision: number } }
  | { table: WatchTable; op: 'delete'; id: string };

export interface TestCs {
  revision: number;
  updatedAt: number;
  masterId: string | null;
  changes: TestChange[];
}

/** A change set of `revision` changing one entity in each of `tables` (an upsert, or a delete when `del`). */
export function makeCs(revision: number, tables: readonly WatchTable[] = ['tasks'], del = false): TestCs {
  return {
    revision,
    updatedAt: 1_700_000_000_000 + revision,
    masterId: revision % 2 ? 'master-1' : null,
    changes: tables.map((table) => (del
      ? { table, op: 'delete' as const, id: `${table}-${revision}` }
      : { table, op: 'upsert' as const, id: `${table}-${revision}`, record: { revision } })),
  };
}

/** A random change set: a random subset of the tables (sometimes none), sometimes two changes in one table. */
export function randomCs(rnd: () => number, revision: number): TestCs {
  const tables = TABLES.filter(() => rnd() < 0.4);
  if (tables.length && rnd() < 0.2) tables.push(tables[0]!);
  const cs = makeCs(revision, tables, rnd() < 0.3);
  cs.changes.forEach((c, i) => { c.id = `${c.table}-${revision}-${i}`; });
  return cs;
}

/** Bit set of tables, as the hub counts them (0 = every table). */
export function maskOf(tables: readonly WatchTable[] | undefined): number {
  if (!tables) return 0;
  const m = tables.reduce((a, t) => a | (t === 'nodes' ? 1 : t === 'tasks' ? 2 : 4), 0);
  return m === 7 ? 0 : m;
}

/** Whether a watcher of `mask` is given `cs`, and what it is given of it. */
export function matches(cs: TestCs, mask: number): boolean {
  return mask === 0 || cs.changes.some((c) => (maskOf([c.table]) & mask) !== 0);
}
export function narrowed(cs: TestCs, mask: number): TestChange[] {
  return mask === 0 ? cs.changes : cs.changes.filter((c) => (maskOf([c.table]) & mask) !== 0);
}

/** One turn of the event loop: every promise settled so far has run its reactions. */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Asserts that `e` is a StateError with `code` whose message contains each of `parts`. */
export function assertStateError(t: ExecutionContext, e: unknown, code: string, ...parts: string[]): void {
  t.true(isStateError(e), `a StateError, got ${String(e)}`);
  t.is((e as { code?: string }).code, code, String(e));
  for (const p of parts) t.true(String((e as Error).message).includes(p), `message ${JSON.stringify((e as Error).message)} contains ${JSON.stringify(p)}`);
}

/** Runs `fn`, which must throw; returns what it threw. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/**
 * A journal as an older source: it holds every published revision after `cut` (its
 * oldestRevision). Reads return at most `maxPage` change sets; in 'deferred' mode they wait until
 * the test calls `resolve…`, and the page is taken at that moment (a cut made meanwhile shows as
 * an empty page, as a real journal cut between the call and the read would).
 */
export class Journal implements OlderSource<TestCs> {
  readonly log: TestCs[] = [];
  cut: number;
  mode: 'sync' | 'deferred' = 'sync';
  maxPage = Infinity;
  readonly calls: { from: number; to: number }[] = [];
  private readonly pending: (() => void)[] = [];
  /** Called at each read with its range, to check what the hub may ask. */
  onRead: ((from: number, to: number) => void) | undefined;

  constructor(cut = 0) {
    this.cut = cut;
  }
  append(cs: TestCs): void {
    this.log[cs.revision] = cs;
  }
  oldestRevision(): number {
    return this.cut;
  }
  read(from: number, to: number): TestCs[] | Promise<TestCs[]> {
    this.calls.push({ from, to });
    this.onRead?.(from, to);
    const page = (): TestCs[] => (from - 1 < this.cut ? [] : this.log.slice(from, Math.min(to, from + this.maxPage - 1) + 1));
    if (this.mode === 'sync') return page();
    return new Promise((resolve) => this.pending.push(() => resolve(page())));
  }
  get waiting(): number {
    return this.pending.length;
  }
  /** Resolves the oldest waiting read. */
  resolveOne(): void {
    this.pending.shift()?.();
  }
  resolveAll(): void {
    while (this.pending.length) this.resolveOne();
  }
}
