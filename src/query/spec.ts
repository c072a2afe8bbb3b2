/**
 * The query language: a small, JSON-serialisable object (it crosses to worker threads and is what
 * `cluster-state query` takes). Reference with examples: docs/queries.md.
 *
 * ```js
 * queryState(state, {
 *   from: 'nodes',
 *   where: { status: 'online', role: 'worker', 'resources.cpu_count': { gte: 4 } },
 *   select: ['id', 'resources.memory_available'],
 *   orderBy: '-resources.memory_available',
 *   limit: 20,
 * })
 * ```
 */

/** A value a filter compares with; `{ field }` names another field of the same row. */
export type Operand = string | number | boolean | null | { field: string };

/**
 * Tests of one field. Several tests in one object must all hold. `eq`/`ne` with `null` test for
 * null; a comparison with a null field value is false (so `ne` — "not eq" — matches nulls).
 */
export interface FieldTests {
  eq?: Operand;
  ne?: Operand;
  lt?: Operand;
  lte?: Operand;
  gt?: Operand;
  gte?: Operand;
  /** The value is one of these (`null` in the list matches nulls). */
  in?: readonly (string | number | boolean | null)[];
  /** The value is none of these (nulls match unless `null` is listed). */
  nin?: readonly (string | number | boolean | null)[];
  /** `true`: the value is null; `false`: it is not. */
  null?: boolean;
  /** Text starting with this (code points, case-sensitive). */
  prefix?: string;
  /** A list field holding this item. */
  has?: string;
  /** A list field holding at least one of these items. */
  hasAny?: readonly string[];
}

/**
 * A filter: field names (`status`, `resources.cpu_count`, `length(providers)`) mapped to a value
 * (equality; for a list field: membership; an array: one of), or to {@link FieldTests}; plus
 * `and`, `or`, `not`. Every entry of one object must hold.
 */
export interface Filter {
  and?: readonly Filter[];
  or?: readonly Filter[];
  not?: Filter;
  [field: string]: Operand | readonly (string | number | boolean | null)[] | FieldTests | Filter | readonly Filter[] | undefined;
}

/** A query of one entity table. */
export interface Query {
  from: 'nodes' | 'tasks' | 'content';
  /** Which rows (all when absent). */
  where?: Filter;
  /** Row queries: the fields each row has (the whole record when absent). */
  select?: readonly string[];
  /**
   * Fields to order by, `-` for descending; nulls come last either way; ties are broken by the
   * key (`id` / `cid`). Group queries order by group fields and aggregate names.
   */
  orderBy?: string | readonly string[];
  /** At most this many rows (or groups); 0 counts without returning rows. */
  limit?: number;
  /** The `cursor` of the previous page of the same query: rows after that page. */
  cursor?: string;
  /** Group the matching rows by these fields (text, number or boolean fields). */
  groupBy?: string | readonly string[];
  /** `count`, `count(f)`, `sum(f)`, `min(f)`, `max(f)`, `mean(f)` per group (default `['count']`). */
  aggregates?: readonly string[];
}

/** What a query returns: plain JSON-serialisable values, read from one snapshot. */
export interface QueryResult {
  /** The revision of the snapshot the answer was read from. */
  revision: number;
  /** How many rows match `where` (whatever `limit` and `cursor` say). */
  total: number;
  /** Row queries: the matching records (or the selected fields of them), in order. */
  rows?: Record<string, unknown>[];
  /** Group queries: one object per group, its group fields and its aggregates by name. */
  groups?: Record<string, unknown>[];
  /** Give this as `cursor` for the next page; null when there are no more rows. */
  cursor: string | null;
}
