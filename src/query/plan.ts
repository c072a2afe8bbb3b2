/**
 * Checking a query and turning it into a plan, before any state is read: every part is checked
 * against the entity's fields and their types, and a bad part is INVALID_ARGUMENT naming it
 * (`query.where.or[1]["resources.cpu_count"].gte`), the value, and what was expected.
 */
import { invalid, unreadable } from '../errors.js';
import { ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import { fieldNames, fieldOf, keyField, type Field } from './fields.js';

/** A comparison operator. */
export type Cmp = 'eq' | 'lt' | 'lte' | 'gt' | 'gte';

/** A value a plan compares with. */
export type Scalar = string | number;

/** A checked filter. */
export type Cond =
  | { op: 'all' }
  | { op: 'none' }
  | { op: 'and' | 'or'; kids: Cond[] }
  | { op: 'not'; kid: Cond }
  /** `field cmp value`; a null field value is false. Booleans are 0/1. */
  | { op: 'cmp'; field: Field; cmp: Cmp; value: Scalar }
  /** `field cmp other` on the same row; false when either is null. */
  | { op: 'cmpField'; field: Field; cmp: Cmp; other: Field }
  /** The value is one of `values`, or null when `nulls`. */
  | { op: 'in'; field: Field; values: Scalar[]; nulls: boolean }
  | { op: 'null'; field: Field }
  | { op: 'prefix'; field: Field; value: string }
  /** A list holding any of `values`. */
  | { op: 'has'; field: Field; values: string[] };

/** One key of an ordering. `field` null: an aggregate (group queries). */
export interface OrderKey {
  name: string;
  field: Field | null;
  desc: boolean;
}

export type AggFn = 'count' | 'sum' | 'min' | 'max' | 'mean';

/** One aggregate: its name as written (`sum(resources.cpu_count)`), function and field. */
export interface Agg {
  name: string;
  fn: AggFn;
  field: Field | null;
}

/** A checked query. */
export interface Plan {
  kind: EntityKind;
  where: Cond;
  /** Row queries: the selected fields, or null for whole records. */
  select: Field[] | null;
  /** The ordering; for row queries with an order it ends with the key. Empty: table order. */
  order: OrderKey[];
  limit: number | null;
  /** The decoded cursor: the order values of the last row of the previous page. */
  after: unknown[] | null;
  /** Group queries: the group fields (possibly none: one group of every match). */
  group: Field[] | null;
  aggs: Agg[];
  /** Identifies (from, where, order) — what a cursor must continue (computed when a cursor is read or made). */
  fingerprint(): string;
}

const QUERY_KEYS = ['from', 'where', 'select', 'orderBy', 'limit', 'cursor', 'groupBy', 'aggregates'];
const TESTS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'nin', 'null', 'prefix', 'has', 'hasAny'];
const AGG_FNS: readonly AggFn[] = ['count', 'sum', 'min', 'max', 'mean'];

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const key = (at: string, k: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${at}.${k}` : `${at}[${JSON.stringify(k)}]`);

/** A plain copy of the query, read once (getters and Proxies run here, never later). */
function readOnce(query: unknown): unknown {
  try {
    return structuredClone(query);
  } catch (e) {
    throw unreadable('query', e);
  }
}

/**
 * Checks `query` without reading any state and returns its plan (what `queryState` runs): a
 * bad query is INVALID_ARGUMENT naming the offending part. The query is read once (a structured
 * clone); the plan keeps nothing of the caller's object.
 */
export function compileQuery(query: unknown): Plan {
  const q = readOnce(query);
  if (!isObject(q)) throw invalid('query', q, "an object such as { from: 'nodes', where: { status: 'online' } }");
  for (const k of Object.keys(q)) if (!QUERY_KEYS.includes(k)) throw invalid(`query key ${JSON.stringify(k)}`, q[k], `absent: a query has only ${QUERY_KEYS.join(', ')}`);
  const kind = q.from as EntityKind;
  if (!ENTITY_KINDS.includes(kind)) throw invalid('query.from', q.from, `one of ${ENTITY_KINDS.join(', ')}`);
  const where = q.where === undefined ? ({ op: 'all' } as Cond) : filter(kind, q.where, 'query.where');
  const limit = q.limit === undefined ? null : q.limit;
  if (limit !== null && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0)) throw invalid('query.limit', limit, 'a whole number ≥ 0 (0 counts without returning rows)');
  const grouped = q.groupBy !== undefined || q.aggregates !== undefined;
  let group: Field[] | null = null;
  let aggs: Agg[] = [];
  let select: Field[] | null = null;
  if (grouped) {
    if (q.select !== undefined) throw invalid('query.select', q.select, 'absent in a group query (groups hold their group fields and aggregates)');
    if (q.cursor !== undefined) throw invalid('query.cursor', q.cursor, 'absent in a group query (use limit; cursors page through rows)');
    group = names(q.groupBy ?? [], 'query.groupBy').map((p, i) => {
      const f = fieldOf(kind, p, `query.groupBy[${i}]`);
      if (f.type !== 'str' && f.type !== 'num' && f.type !== 'bool') throw invalid(`query.groupBy[${i}]`, p, `a text, number or boolean field (${f.path} is ${describe(f)})`);
      return f;
    });
    aggs = names(q.aggregates ?? ['count'], 'query.aggregates').map((a, i) => aggregate(kind, a, `query.aggregates[${i}]`));
    const seen = new Set<string>();
    for (const n of [...group.map((f) => f.path), ...aggs.map((a) => a.name)]) {
      if (seen.has(n)) throw invalid('query.aggregates', n, 'names that appear once among the group fields and aggregates');
      seen.add(n);
    }
  } else if (q.select !== undefined) {
    const list = q.select;
    if (!Array.isArray(list) || list.length === 0) throw invalid('query.select', list, 'a non-empty array of field names');
    select = list.map((p, i) => fieldOf(kind, p, `query.select[${i}]`));
  }
  const order = ordering(kind, q.orderBy, group, aggs);
  if (!grouped && order.length === 0 && limit !== null && limit > 0) order.push({ name: keyField(kind).path, field: keyField(kind), desc: false });
  if (!grouped && order.length > 0 && !order.some((o) => o.field?.key)) order.push({ name: keyField(kind).path, field: keyField(kind), desc: false });
  let known: string | null = null;
  const fingerprint = () => (known ??= fingerprintOf(kind, where, order));
  let after: unknown[] | null = null;
  if (q.cursor !== undefined && q.cursor !== null) after = decodeCursor(q.cursor, fingerprint(), order);
  if (after && order.length === 0) throw invalid('query.cursor', q.cursor, 'used with limit or orderBy (a page needs an order)');
  return { kind, where, select, order, limit, after, group, aggs, fingerprint };
}

/** A string or array of strings, as an array. */
function names(x: unknown, at: string): string[] {
  const list = typeof x === 'string' ? [x] : x;
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s.trim() !== '')) throw invalid(at, x, 'a field name or an array of field names');
  return list.map((s: string) => s.trim());
}

function describe(f: Field): string {
  return f.type === 'str' ? 'text' : f.type === 'num' ? 'a number' : f.type === 'bool' ? 'a boolean' : f.type === 'list' ? 'a list' : f.type === 'json' ? 'JSON' : 'a struct';
}

// ───────────────────────────── filters ─────────────────────────────

function filter(kind: EntityKind, x: unknown, at: string): Cond {
  if (!isObject(x)) throw invalid(at, x, 'a filter object such as { status: "online" }');
  const kids: Cond[] = [];
  for (const [k, v] of Object.entries(x)) {
    const here = key(at, k);
    if (k === 'and' || k === 'or') {
      if (!Array.isArray(v)) throw invalid(here, v, 'an array of filters');
      const parts = v.map((f, i) => filter(kind, f, `${here}[${i}]`));
      kids.push(parts.length === 0 ? { op: k === 'and' ? 'all' : 'none' } : parts.length === 1 ? parts[0]! : { op: k, kids: parts });
    } else if (k === 'not') {
      kids.push({ op: 'not', kid: filter(kind, v, here) });
    } else {
      const f = fieldOf(kind, k, `${at}: field ${JSON.stringify(k)}`);
      kids.push(fieldTests(kind, f, v, here));
    }
  }
  return kids.length === 0 ? { op: 'all' } : kids.length === 1 ? kids[0]! : { op: 'and', kids };
}

const isFieldRef = (v: unknown): v is { field: unknown } => isObject(v) && Object.keys(v).length === 1 && 'field' in v;

function fieldTests(kind: EntityKind, f: Field, v: unknown, at: string): Cond {
  if (Array.isArray(v)) return inTest(f, v, at, false);
  if (!isObject(v) || isFieldRef(v)) return test(kind, f, 'eq', v, at);
  const ops = Object.keys(v);
  if (ops.length === 0) throw invalid(at, v, `a value or an object of tests (${TESTS.join(', ')})`);
  const kids = ops.map((op) => {
    if (!TESTS.includes(op)) throw invalid(`${at}: test ${JSON.stringify(op)}`, v[op], `one of ${TESTS.join(', ')}`);
    return test(kind, f, op, v[op], `${at}.${op}`);
  });
  return kids.length === 1 ? kids[0]! : { op: 'and', kids };
}

const not = (c: Cond): Cond => ({ op: 'not', kid: c });

function test(kind: EntityKind, f: Field, op: string, v: unknown, at: string): Cond {
  if (f.type === 'struct') throw invalid(at, v, `a test of one of ${f.path}'s fields (${f.children.map((c) => c.path).join(', ')}): a struct is not compared whole`);
  switch (op) {
    case 'null':
      if (typeof v !== 'boolean') throw invalid(at, v, 'true (the value is null) or false (it is not)');
      return nullTest(f, v);
    case 'in':
    case 'nin':
      if (!Array.isArray(v)) throw invalid(at, v, 'an array of values');
      return inTest(f, v, at, op === 'nin');
    case 'has':
    case 'hasAny': {
      if (f.type !== 'list') throw invalid(at, v, `a test of a list field (${f.path} is ${describe(f)}; use eq or in)`);
      const items = op === 'has' ? [v] : v;
      if (!Array.isArray(items) || !items.every((s) => typeof s === 'string')) throw invalid(at, v, op === 'has' ? 'a string' : 'an array of strings');
      items.forEach((s, i) => wellFormed(s as string, op === 'has' ? at : `${at}[${i}]`));
      return { op: 'has', field: f, values: items as string[] };
    }
    case 'prefix':
      if (f.type !== 'str') throw invalid(at, v, `a test of a text field (${f.path} is ${describe(f)})`);
      if (typeof v !== 'string') throw invalid(at, v, 'a string');
      return { op: 'prefix', field: f, value: wellFormed(v, at) };
    default: {
      // eq, ne, lt, lte, gt, gte
      if (f.type === 'list') {
        if (op === 'eq' || op === 'ne') {
          if (typeof v !== 'string') throw invalid(at, v, `an item (a string): a list field matches the rows holding it (or test length(${f.column}))`);
          const c: Cond = { op: 'has', field: f, values: [wellFormed(v, at)] };
          return op === 'ne' ? not(c) : c;
        }
        throw invalid(at, v, `a test a list supports (has, hasAny; compare length(${f.column}) for sizes)`);
      }
      if (v === null) {
        if (op === 'eq' || op === 'ne') return nullTest(f, op === 'eq');
        throw invalid(at, v, `a value to compare with (null is tested with eq, ne or null)`);
      }
      if (f.type === 'json') throw invalid(at, v, `null: ${f.path} holds JSON, which can only be tested for null`);
      if (f.type === 'bool' && op !== 'eq' && op !== 'ne') throw invalid(at, v, `a test of a boolean (eq, ne, in, null; ${f.path} is a boolean)`);
      const cmp: Cmp = op === 'ne' ? 'eq' : (op as Cmp);
      let c: Cond;
      if (isFieldRef(v)) {
        const other = fieldOf(kind, v.field, `${at}.field`);
        comparable(f, other, at);
        if ((f.type === 'bool' || other.type === 'bool') && cmp !== 'eq') throw invalid(at, v, 'eq or ne between booleans');
        c = { op: 'cmpField', field: f, cmp, other };
      } else {
        c = { op: 'cmp', field: f, cmp, value: scalar(f, v, at) };
      }
      return op === 'ne' ? not(c) : c;
    }
  }
}

function nullTest(f: Field, isNull: boolean): Cond {
  // A list and its length are never null (records show [] and 0): the answer is known.
  if (f.type === 'list' || f.length) return { op: isNull ? 'none' : 'all' };
  const c: Cond = { op: 'null', field: f };
  return isNull ? c : not(c);
}

function inTest(f: Field, v: unknown[], at: string, negate: boolean): Cond {
  if (f.type === 'list') {
    if (negate) throw invalid(at, v, `a test a list supports (has, hasAny; ${f.path} is a list)`);
    if (!v.every((s) => typeof s === 'string')) throw invalid(at, v, 'an array of strings (the items, any of which a row holds)');
    v.forEach((s, i) => wellFormed(s as string, `${at}[${i}]`));
    return { op: 'has', field: f, values: v as string[] };
  }
  if (f.type === 'json' || f.type === 'struct') throw invalid(at, v, `a test of a text, number or boolean field (${f.path} is ${describe(f)})`);
  let nulls = false;
  const values: Scalar[] = [];
  v.forEach((x, i) => {
    if (x === null) nulls = true;
    else values.push(scalar(f, x, `${at}[${i}]`));
  });
  const c: Cond = { op: 'in', field: f, values, nulls };
  return negate ? not(c) : c;
}

/** A constant for field f: text for text fields, a finite number (or an ISO time for time fields), a boolean as 0/1. */
function scalar(f: Field, v: unknown, at: string): Scalar {
  if (f.type === 'str') {
    if (typeof v !== 'string') throw invalid(at, v, `a string (${f.path} is text)`);
    return wellFormed(v, at);
  }
  if (f.type === 'bool') {
    if (typeof v !== 'boolean') throw invalid(at, v, `true or false (${f.path} is a boolean)`);
    return v ? 1 : 0;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (f.time && typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v)) {
    const ms = Date.parse(v);
    if (Number.isFinite(ms)) return f.time === 's' ? ms / 1000 : ms;
  }
  throw invalid(at, v, f.time ? `a finite number (epoch ${f.time === 's' ? 'seconds' : 'milliseconds'}) or an ISO-8601 time` : `a finite number (${f.path} is a number)`);
}

function wellFormed(s: string, at: string): string {
  if (!(s as string & { isWellFormed(): boolean }).isWellFormed()) throw invalid(at, s, 'well-formed Unicode (it holds a lone surrogate)');
  return s;
}

/** Two fields of one row that can be compared: both text, both numbers (times in the same unit), or both booleans. */
function comparable(a: Field, b: Field, at: string): void {
  const ok = (a.type === b.type && (a.type === 'str' || a.type === 'num' || a.type === 'bool')) && a.time === b.time;
  if (!ok) {
    const why = a.type === b.type && a.time !== b.time ? `${a.path} holds ${a.time ? `epoch ${a.time}` : 'a plain number'} and ${b.path} ${b.time ? `epoch ${b.time}` : 'a plain number'}` : `${a.path} is ${describe(a)} and ${b.path} is ${describe(b)}`;
    throw invalid(at, { field: b.path }, `a field comparable with ${a.path} (${why})`);
  }
}

// ───────────────────────────── order, aggregates ─────────────────────────────

function aggregate(kind: EntityKind, text: string, at: string): Agg {
  if (text === 'count') return { name: 'count', fn: 'count', field: null };
  const m = /^(count|sum|min|max|mean)\((.+)\)$/.exec(text);
  if (!m) throw invalid(at, text, `count, or one of ${AGG_FNS.join(', ')} of a field, such as sum(resources.cpu_count)`);
  const fn = m[1] as AggFn;
  const f = fieldOf(kind, m[2], at);
  if (fn === 'count' ? f.type === 'struct' : f.type !== 'num' && f.type !== 'bool') {
    throw invalid(at, text, fn === 'count' ? 'count of a field that is not a struct' : `${fn} of a number or boolean field (${f.path} is ${describe(f)})`);
  }
  return { name: `${fn}(${f.path})`, fn, field: f };
}

function ordering(kind: EntityKind, x: unknown, group: Field[] | null, aggs: Agg[]): OrderKey[] {
  if (x === undefined) return [];
  const list = names(x, 'query.orderBy');
  const out: OrderKey[] = [];
  list.forEach((s, i) => {
    const desc = s.startsWith('-');
    const name = s.replace(/^[-+]/, '').trim();
    const at = `query.orderBy[${i}]`;
    if (group) {
      const f = group.find((g) => g.path === name);
      const a = aggs.find((g) => g.name === name);
      if (!f && !a) throw invalid(at, s, `a group field or aggregate of the query (one of ${[...group.map((g) => g.path), ...aggs.map((g) => g.name)].join(', ')})`);
      out.push({ name, field: f ?? null, desc });
      return;
    }
    const f = fieldOf(kind, name, at);
    if (f.type !== 'str' && f.type !== 'num' && f.type !== 'bool') throw invalid(at, s, `a text, number or boolean field (${f.path} is ${describe(f)})`);
    out.push({ name: f.path, field: f, desc });
  });
  return out;
}

// ───────────────────────────── cursors ─────────────────────────────

/** FNV-1a of what a cursor continues: the table, the filter and the order. */
function fingerprintOf(kind: EntityKind, where: Cond, order: OrderKey[]): string {
  const text = JSON.stringify([kind, where, order.map((o) => [o.name, o.desc])], (k, v) => (k === 'field' || k === 'other' ? (v as Field).path : v));
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

/** The cursor continuing after a row whose order values are `values`. */
export function encodeCursor(fingerprint: string, values: unknown[]): string {
  return Buffer.from(JSON.stringify([fingerprint, values]), 'utf8').toString('base64url');
}

function decodeCursor(text: unknown, fingerprint: string, order: OrderKey[]): unknown[] {
  const bad = (why: string) => invalid('query.cursor', text, why);
  if (typeof text !== 'string') throw bad('the cursor string of a previous page');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad('the cursor string of a previous page (this one does not decode)');
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || !Array.isArray(parsed[1])) throw bad('the cursor string of a previous page (this one does not decode)');
  if (parsed[0] !== fingerprint) throw bad('a cursor of this query (same from, where and orderBy): it belongs to another query');
  const values = parsed[1] as unknown[];
  if (values.length !== order.length || !values.every((v, i) => v === null || typeof v === (order[i]!.field!.type === 'str' ? 'string' : 'number'))) {
    throw bad('a cursor of this query (its values do not fit the order)');
  }
  return values;
}

/** Every field name a query of `kind` can use (fields, struct children, `length(list)`). */
export function queryFields(kind: EntityKind): string[] {
  return fieldNames(kind);
}
