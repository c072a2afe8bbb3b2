/**
 * The dashboard's JSON endpoints as thin mappings of URL parameters onto the query API
 * (docs/queries.md): `/api/nodes`, `/api/tasks`, `/api/content` take their table's own filters
 * plus `where` (the CLI's `--where` syntax, repeatable), `sort`, `select`, `limit` and `cursor`;
 * `/api/summary` takes none. Every parameter is checked before anything is read: an unknown,
 * repeated or bad one is INVALID_ARGUMENT naming the parameter and its value (HTTP 400).
 * Answers are cached per revision, so the pages open on the same view share one query.
 */
import { invalid, isStateError, show, StateError } from '../errors.js';
import { compileQuery, type Plan } from '../query/plan.js';
import { runPlan } from '../query/run.js';
import type { Filter, Query, QueryResult } from '../query/spec.js';
import { NODE_ROLES, NODE_STATUSES, TASK_STATUSES, type EntityKind } from '../schema/entities.js';
import type { Snapshot } from '../snapshot.js';
import { UsageError } from '../cli/command.js';
import { sortKeys, whereFilter } from '../cli/where.js';

/** Rows one page may hold at most (and the default). */
export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 50;

/** How one table-specific parameter becomes a filter. */
type ParamFilter = (value: string, name: string) => Filter;

/** A comma-separated list of names, each one of `allowed`. */
const oneOf = (field: string, allowed: readonly string[]): ParamFilter => (value, name) => {
  const list = items(value, name);
  for (const v of list) if (!allowed.includes(v)) throw invalid(`parameter ${name}`, v, `one of ${allowed.join(', ')} (comma-separated for several)`);
  return { [field]: list.length === 1 ? list[0]! : { in: list } } as Filter;
};
/** A comma-separated list of texts: the field equals one of them. */
const textIn = (field: string): ParamFilter => (value, name) => {
  const list = items(value, name);
  return { [field]: list.length === 1 ? list[0]! : { in: list } } as Filter;
};
/** A comma-separated list of texts: the list field holds one of them. */
const holds = (field: string): ParamFilter => (value, name) => ({ [field]: { hasAny: items(value, name) } }) as Filter;
const prefix = (field: string): ParamFilter => (value, name) => {
  if (value === '') throw invalid(`parameter ${name}`, value, 'a non-empty prefix');
  return { [field]: { prefix: value } } as Filter;
};
const bool = (name: string, value: string): boolean => {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw invalid(`parameter ${name}`, value, 'true or false');
};

function items(value: string, name: string): string[] {
  const list = value.split(',').map((x) => x.trim());
  if (list.some((x) => x === '')) throw invalid(`parameter ${name}`, value, 'a non-empty name, or names separated by commas');
  return list;
}

/** The table-specific parameters of each endpoint. */
export const TABLE_PARAMS: Record<EntityKind, Record<string, ParamFilter>> = {
  nodes: {
    role: oneOf('role', NODE_ROLES),
    status: oneOf('status', NODE_STATUSES),
    capability: holds('capabilities'),
    prefix: prefix('id'),
  },
  tasks: {
    status: oneOf('status', TASK_STATUSES),
    type: textIn('type'),
    node: textIn('assigned_to'),
    prefix: prefix('id'),
  },
  content: {
    provider: holds('providers'),
    pinned: (value, name) => ({ pinned: bool(name, value) }),
    under_replicated: (value, name) => (bool(name, value)
      ? { 'length(providers)': { lt: { field: 'replication' } } }
      : { not: { 'length(providers)': { lt: { field: 'replication' } } } }),
    prefix: prefix('cid'),
  },
};

/** Parameters every table endpoint takes. */
export const COMMON_PARAMS = ['where', 'sort', 'select', 'limit', 'cursor'] as const;

/** The query that `/api/<kind>?<params>` asks; INVALID_ARGUMENT naming the parameter when one is bad. */
export function tableQuery(kind: EntityKind, params: URLSearchParams): Query {
  const own = TABLE_PARAMS[kind];
  const seen = new Set<string>();
  const where: Filter[] = [];
  let limit = DEFAULT_LIMIT;
  let orderBy: string[] = [];
  let select: string[] | null = null;
  let cursor: string | null = null;
  for (const [name, value] of params) {
    if (name !== 'where' && seen.has(name)) throw invalid(`parameter ${name}`, params.getAll(name), 'given once');
    seen.add(name);
    if (name === 'where') {
      try {
        where.push(whereFilter(kind, value, 'parameter where') as Filter);
      } catch (e) {
        if (e instanceof UsageError) throw new StateError('INVALID_ARGUMENT', e.message);
        throw e;
      }
    } else if (name === 'sort') orderBy = sortKeys([value]);
    else if (name === 'select') select = items(value, name);
    else if (name === 'limit') {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n) || n > MAX_LIMIT) throw invalid('parameter limit', value, `a whole number from 0 to ${MAX_LIMIT} (0 counts without rows)`);
      limit = n;
    } else if (name === 'cursor') {
      if (value === '') throw invalid('parameter cursor', value, 'the cursor of the previous page');
      cursor = value;
    } else if (Object.prototype.hasOwnProperty.call(own, name)) where.push(own[name]!(value, name));
    else throw new StateError('INVALID_ARGUMENT', `unknown parameter ${show(name)} for /api/${kind}: the parameters are ${[...Object.keys(own), ...COMMON_PARAMS].join(', ')}`);
  }
  return {
    from: kind,
    ...(where.length ? { where: where.length === 1 ? where[0]! : { and: where } } : {}),
    ...(orderBy.length ? { orderBy } : {}),
    ...(select ? { select } : {}),
    limit,
    ...(cursor !== null ? { cursor } : {}),
  };
}

/** The query's plan; a bad query is INVALID_ARGUMENT naming the URL parameter that made it (`sort`, not `query.orderBy`). */
export function planOf(query: Query): Plan {
  try {
    return compileQuery(query);
  } catch (e) {
    if (!isStateError(e, 'INVALID_ARGUMENT')) throw e;
    const msg = e.message.replace(/^INVALID_ARGUMENT: /, '')
      .replace(/^query\.orderBy(\[\d+\])?/, 'parameter sort')
      .replace(/^query\.select(\[\d+\])?/, 'parameter select')
      .replace(/^query\.cursor/, 'parameter cursor')
      .replace(/^query\.limit/, 'parameter limit')
      .replace(/^query\.where/, 'the filter');
    throw new StateError('INVALID_ARGUMENT', msg);
  }
}

/** A page of a table, as `/api/nodes|tasks|content` answer it. */
export interface TablePage {
  cluster_id: string;
  revision: number;
  /** Rows matching the filters, whatever limit and cursor say. */
  total: number;
  items: Record<string, unknown>[];
  /** Give it as `cursor` for the next page; null on the last page. */
  cursor: string | null;
}

/**
 * Answers of table queries for one state at a time: a new state empties the cache; at most
 * `capacity` answers are kept. Guarantees: an answer is the query's result on the snapshot given,
 * whichever page asked first.
 */
export class PageCache {
  private snap: Snapshot | null = null;
  private readonly answers = new Map<string, TablePage>();

  constructor(readonly capacity = 64) {}

  page(snap: Snapshot, key: string, plan: Plan): TablePage {
    if (snap !== this.snap) {
      this.snap = snap;
      this.answers.clear();
    }
    const hit = this.answers.get(key);
    if (hit) return hit;
    const r: QueryResult = runPlan(snap, plan);
    const page: TablePage = { cluster_id: snap.clusterId, revision: r.revision, total: r.total, items: r.rows ?? [], cursor: r.cursor };
    if (this.answers.size >= this.capacity) this.answers.delete(this.answers.keys().next().value!);
    this.answers.set(key, page);
    return page;
  }
}

/** `/api/summary` takes no parameters: INVALID_ARGUMENT naming the first one given. */
export function noParams(path: string, params: URLSearchParams): void {
  for (const [name] of params) throw new StateError('INVALID_ARGUMENT', `unknown parameter ${show(name)}: ${path} takes no parameters`);
}

/** The kind an `/api/<kind>` path names, or null. */
export function tableOf(pathname: string): EntityKind | null {
  const m = /^\/api\/(nodes|tasks|content)$/.exec(pathname);
  return m ? (m[1] as EntityKind) : null;
}
