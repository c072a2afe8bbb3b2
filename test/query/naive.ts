// The query language written out plainly over row objects (the records the helpers return, in
// table order): the specification the columnar engine is tested against. Deliberately simple —
// no Arrow, no selection vectors, strings compared by code point lists.
import type { Query } from '../../src/index.js';

type Row = Record<string, unknown>;
const SECONDS = new Set(['started_at', 'completed_at']);
const TIMES = new Set(['last_seen', 'created_at', 'updated_at', 'pinned_at', 'started_at', 'completed_at']);

/** The value of a field path of a record: booleans as they are, lists as arrays, length(x) as a number. */
export function valueOf(row: Row, path: string): unknown {
  const m = /^length\((.+)\)$/.exec(path);
  if (m) return (row[m[1]!] as unknown[]).length;
  const dot = path.indexOf('.');
  if (dot < 0) return row[path];
  return (row[path.slice(0, dot)] as Row)[path.slice(dot + 1)];
}

function codePoints(s: string): number[] {
  return Array.from(s, (c) => c.codePointAt(0)!);
}

/** -1, 0, 1 comparing two non-null values of one type (text by code points). */
function order(a: unknown, b: unknown): number {
  if (typeof a === 'boolean') return Number(a) - Number(b as boolean);
  if (typeof a === 'number') return a < (b as number) ? -1 : a > (b as number) ? 1 : 0;
  const x = codePoints(a as string);
  const y = codePoints(b as string);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return x.length - y.length === 0 ? 0 : x.length < y.length ? -1 : 1;
}

function operand(row: Row, path: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object' && 'field' in (v as object)) return valueOf(row, (v as { field: string }).field);
  if (typeof v === 'string' && TIMES.has(path.replace(/^.*\./, '')) && /^\d{4}-\d{2}-\d{2}/.test(v)) {
    const ms = Date.parse(v);
    return SECONDS.has(path) ? ms / 1000 : ms;
  }
  return v;
}

function test(row: Row, path: string, op: string, v: unknown): boolean {
  const x = valueOf(row, path);
  switch (op) {
    case 'null': return (x === null) === v;
    case 'has': return (x as string[]).includes(v as string);
    case 'hasAny': return (v as string[]).some((s) => (x as string[]).includes(s));
    case 'prefix': return x !== null && (x as string).startsWith(v as string);
    case 'in':
      if (Array.isArray(x)) return (v as string[]).some((s) => x.includes(s));
      return (v as unknown[]).some((y) => (y === null ? x === null : x !== null && order(x, operand(row, path, y)) === 0));
    case 'nin': return !test(row, path, 'in', v);
    case 'ne': return !test(row, path, 'eq', v);
    default: {
      if (Array.isArray(x)) return (x as string[]).includes(v as string); // eq on a list: membership
      const y = operand(row, path, v);
      if (op === 'eq' && v === null) return x === null;
      if (x === null || y === null || y === undefined) return false;
      const d = order(x, y);
      return op === 'eq' ? d === 0 : op === 'lt' ? d < 0 : op === 'lte' ? d <= 0 : op === 'gt' ? d > 0 : d >= 0;
    }
  }
}

/** Does `row` pass filter `f`? */
export function matches(row: Row, f: Record<string, unknown>): boolean {
  return Object.entries(f).every(([k, v]) => {
    if (k === 'and') return (v as Record<string, unknown>[]).every((g) => matches(row, g));
    if (k === 'or') return (v as Record<string, unknown>[]).some((g) => matches(row, g));
    if (k === 'not') return !matches(row, v as Record<string, unknown>);
    if (Array.isArray(v)) return test(row, k, 'in', v);
    if (v !== null && typeof v === 'object' && !('field' in (v as object))) return Object.entries(v as object).every(([op, w]) => test(row, k, op, w));
    return test(row, k, 'eq', v);
  });
}

/** Compares two values for ordering: nulls last whatever the direction. */
function orderWithNulls(a: unknown, b: unknown, desc: boolean): number {
  if (a === null && b === null) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  const d = order(a, b);
  return desc ? -d : d;
}

const list = (x: string | readonly string[] | undefined): readonly string[] => (x === undefined ? [] : typeof x === 'string' ? [x] : x);

/** The answer to `q` over `rows` (records in table order), without cursors: { total, rows | groups }. */
export function naiveQuery(rows: Row[], q: Query, key: string): { total: number; rows?: Row[]; groups?: Row[] } {
  const hit = rows.filter((r) => matches(r, (q.where ?? {}) as Record<string, unknown>));
  const orderBy = list(q.orderBy).map((s) => ({ name: s.replace(/^[-+]/, ''), desc: s.startsWith('-') }));
  if (q.groupBy !== undefined || q.aggregates !== undefined) {
    const fields = list(q.groupBy);
    const aggs = q.aggregates ?? ['count'];
    const groups = new Map<string, Row[]>();
    if (fields.length === 0) groups.set('[]', []);
    for (const r of hit) {
      const k = JSON.stringify(fields.map((f) => valueOf(r, f)));
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k)!.push(r);
    }
    const out = [...groups.values()].map((members) => {
      const o: Row = {};
      for (const f of fields) o[f] = valueOf(members[0]!, f);
      for (const a of aggs) {
        if (a === 'count') { o[a] = members.length; continue; }
        const [, fn, f] = /^(\w+)\((.+)\)$/.exec(a)!;
        const raw = members.map((m) => valueOf(m, f!)).filter((v) => v !== null);
        const vs = raw.map((v) => (typeof v === 'boolean' ? Number(v) : v)) as number[];
        if (fn === 'count') o[a] = raw.length;
        else if (fn === 'sum') o[a] = vs.reduce((s, v) => s + v, 0);
        else if (fn === 'mean') o[a] = vs.length ? vs.reduce((s, v) => s + v, 0) / vs.length : null;
        else {
          const v = vs.length ? (fn === 'min' ? Math.min(...vs) : Math.max(...vs)) : null;
          o[a] = v !== null && typeof raw[0] === 'boolean' ? v === 1 : v;
        }
      }
      return o;
    });
    const keys = [...orderBy, ...fields.filter((f) => !orderBy.some((o) => o.name === f)).map((f) => ({ name: f, desc: false }))];
    out.sort((x, y) => {
      for (const k of keys) {
        const d = orderWithNulls(x[k.name] ?? null, y[k.name] ?? null, k.desc);
        if (d !== 0) return d;
      }
      return 0;
    });
    return { total: hit.length, groups: q.limit === undefined ? out : out.slice(0, q.limit) };
  }
  let ordered = hit;
  if (orderBy.length > 0 || (q.limit !== undefined && q.limit > 0)) {
    const keys = [...orderBy, { name: key, desc: false }];
    ordered = [...hit].sort((x, y) => {
      for (const k of keys) {
        const d = orderWithNulls(valueOf(x, k.name), valueOf(y, k.name), k.desc);
        if (d !== 0) return d;
      }
      return 0;
    });
  }
  const page = q.limit === undefined ? ordered : ordered.slice(0, q.limit);
  return { total: hit.length, rows: page.map((r) => project(r, q.select)) };
}

/** The selected fields of a record (nested for struct children; a struct selected whole wins). */
export function project(r: Row, select: readonly string[] | undefined): Row {
  if (!select) return r;
  const o: Row = {};
  const whole = new Set(select.filter((p) => !p.includes('.') && typeof r[p] === 'object' && r[p] !== null && !Array.isArray(r[p]) && ['resources'].includes(p)));
  for (const p of select) {
    const dot = p.startsWith('length(') ? -1 : p.indexOf('.');
    if (dot < 0) o[p] = structuredClone(valueOf(r, p));
    else if (!whole.has(p.slice(0, dot))) ((o[p.slice(0, dot)] ??= {}) as Row)[p.slice(dot + 1)] = valueOf(r, p);
  }
  return o;
}
