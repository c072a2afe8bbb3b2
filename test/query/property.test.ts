// Property test: random queries over seeded random states (nulls, empty lists, non-ASCII ids,
// 64-bit sizes, dictionary-coded and plain text, several record batches), the columnar engine
// against the row-object evaluator of naive.ts — on every kind of state source, and page by page
// through cursors.
import test from 'ava';
import { join } from 'node:path';
import { ClusterState, followState, queryState, queryFields, type Query, type QueryResult } from '../../src/index.js';
import { attachState } from '../../src/worker.js';
import { prng } from '../../src/demo/synthetic.js';
import { fillRandom, randomClock, randomState, tempDir, writeStateParquet } from '../helpers/support.js';
import { naiveQuery, valueOf } from './naive.js';

type Kind = 'nodes' | 'tasks' | 'content';
type Row = Record<string, unknown>;
const KEY: Record<Kind, string> = { nodes: 'id', tasks: 'id', content: 'cid' };

function recordsOf(state: ClusterState): Record<Kind, Row[]> {
  return {
    nodes: queryState(state, { from: 'nodes' }).rows!,
    tasks: queryState(state, { from: 'tasks' }).rows!,
    content: queryState(state, { from: 'content' }).rows!,
  };
}

/** Field types as the query engine sees them, found from the records themselves. */
function typeOf(rows: Row[], path: string): 'str' | 'num' | 'bool' | 'list' | 'json' | 'struct' {
  if (path.startsWith('length(')) return 'num';
  if (['metadata', 'payload', 'result'].includes(path)) return 'json';
  if (path === 'resources') return 'struct';
  for (const r of rows) {
    const v = valueOf(r, path);
    if (v === null || v === undefined) continue;
    if (Array.isArray(v)) return 'list';
    return typeof v === 'string' ? 'str' : typeof v === 'boolean' ? 'bool' : 'num';
  }
  return ['peers', 'capabilities', 'providers', 'input_cids', 'output_cids'].includes(path) ? 'list' : 'num';
}

const TIME_S = new Set(['started_at', 'completed_at']);
const TIME_MS = new Set(['last_seen', 'created_at', 'updated_at', 'pinned_at']);
const unit = (p: string) => (TIME_S.has(p) ? 's' : TIME_MS.has(p) ? 'ms' : '');

/** A random query generator over one state's records. */
function generator(seed: number, records: Record<Kind, Row[]>) {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const sample = (rows: Row[], path: string): unknown => {
    if (rows.length === 0 || rnd() < 0.1) return null;
    return valueOf(pick(rows), path);
  };
  const fieldsOf = (kind: Kind) => queryFields(kind);

  function leaf(kind: Kind): Record<string, unknown> {
    const rows = records[kind];
    const path = pick(fieldsOf(kind));
    const type = typeOf(rows, path);
    if (type === 'struct') return leaf(kind);
    if (type === 'json') return { [path]: rnd() < 0.5 ? null : { null: rnd() < 0.5 } };
    if (type === 'list') {
      const items = rows.flatMap((r) => valueOf(r, path) as string[]);
      const item = items.length && rnd() < 0.8 ? pick(items) : 'nothing-😀';
      const r = rnd();
      return r < 0.4 ? { [path]: { has: item } } : r < 0.7 ? { [path]: [item, items.length ? pick(items) : 'x'] } : r < 0.85 ? { [path]: item } : { [path]: { ne: item } };
    }
    let v = sample(rows, path);
    if (type === 'num' && typeof v === 'number' && rnd() < 0.3) v = v + pick([-1, 1, 0.5]);
    if (type === 'num' && unit(path) && typeof v === 'number' && rnd() < 0.2) v = new Date(unit(path) === 's' ? v * 1000 : v).toISOString();
    if (type === 'str' && typeof v === 'string' && rnd() < 0.2) return { [path]: { prefix: v.slice(0, 1 + Math.floor(rnd() * Math.max(1, v.length - 1))) } };
    const r = rnd();
    if (r < 0.1) return { [path]: { null: rnd() < 0.5 } };
    if (r < 0.25) {
      // field against field of the same type (and time unit)
      const others = fieldsOf(kind).filter((p) => typeOf(rows, p) === type && unit(p) === unit(path) && p !== path);
      if (others.length) return { [path]: { [type === 'bool' ? pick(['eq', 'ne']) : pick(['eq', 'ne', 'lt', 'lte', 'gt', 'gte'])]: { field: pick(others) } } };
    }
    if (r < 0.4) return { [path]: { [rnd() < 0.7 ? 'in' : 'nin']: [v, sample(rows, path), sample(rows, path)].filter((x, i) => i === 0 || x !== null || rnd() < 0.5).map((x) => (x === undefined ? null : x)) } };
    if (v === null) return { [path]: rnd() < 0.5 ? null : { ne: null } };
    if (type === 'bool') return { [path]: rnd() < 0.5 ? v : { ne: v } };
    const op = pick(['eq', 'ne', 'lt', 'lte', 'gt', 'gte']);
    if (rnd() < 0.3) return { [path]: { [op]: v, [pick(['lt', 'gte', 'ne'])]: sample(rows, path) ?? v } };
    return { [path]: { [op]: v } };
  }

  function filter(kind: Kind, depth: number): Record<string, unknown> {
    const r = rnd();
    if (depth > 2 || r < 0.4) return leaf(kind);
    if (r < 0.6) return { and: [filter(kind, depth + 1), filter(kind, depth + 1)] };
    if (r < 0.8) return { or: [filter(kind, depth + 1), filter(kind, depth + 1), filter(kind, depth + 1)].slice(0, 2 + Math.floor(rnd() * 2)) };
    if (r < 0.9) return { not: filter(kind, depth + 1) };
    return { ...leaf(kind), ...leaf(kind) };
  }

  return function query(): Query {
    const kind = pick(['nodes', 'tasks', 'content'] as const);
    const rows = records[kind];
    const q: Query = { from: kind };
    if (rnd() < 0.9) q.where = filter(kind, 0) as Query['where'];
    const orderable = fieldsOf(kind).filter((p) => ['str', 'num', 'bool'].includes(typeOf(rows, p)));
    if (rnd() < 0.3) {
      const groupable = orderable.filter((p) => !['id', 'cid', 'created_at', 'updated_at', 'last_seen', 'pinned_at', 'payload'].includes(p));
      const g = rnd() < 0.15 ? [] : [pick(groupable), ...(rnd() < 0.3 ? [pick(groupable)] : [])].filter((x, i, a) => a.indexOf(x) === i);
      const numeric = fieldsOf(kind).filter((p) => ['num', 'bool'].includes(typeOf(rows, p)));
      q.groupBy = g;
      q.aggregates = ['count', `${pick(['sum', 'min', 'max', 'mean', 'count'])}(${pick(numeric)})`, ...(rnd() < 0.5 ? [`${pick(['sum', 'min', 'max', 'mean'])}(${pick(numeric)})`] : [])].filter((x, i, a) => a.indexOf(x) === i);
      if (rnd() < 0.5) q.orderBy = rnd() < 0.5 ? '-count' : [`${rnd() < 0.5 ? '-' : ''}${q.aggregates[1]}`];
      if (rnd() < 0.3) q.limit = Math.floor(rnd() * 5);
      return q;
    }
    if (rnd() < 0.4) q.select = [...new Set([pick(fieldsOf(kind)), pick(fieldsOf(kind)), KEY[kind]])];
    if (rnd() < 0.6) q.orderBy = [`${rnd() < 0.5 ? '-' : ''}${pick(orderable)}`, ...(rnd() < 0.3 ? [`-${pick(orderable)}`] : [])];
    if (rnd() < 0.6) q.limit = Math.floor(rnd() * 30);
    return q;
  };
}

/** Every row of a query through its cursor pages. */
function allPages(source: Parameters<typeof queryState>[0], q: Query): { rows: Row[]; pages: number } {
  const rows: Row[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const r: QueryResult = queryState(source, { ...q, ...(cursor ? { cursor } : {}) });
    rows.push(...r.rows!);
    pages++;
    if (r.cursor === null) return { rows, pages };
    cursor = r.cursor;
  }
}

const SEEDS: [number, { nodes: number; tasks: number; content: number }, number][] = [
  [11, { nodes: 60, tasks: 300, content: 120 }, 300],
  [12, { nodes: 7, tasks: 20, content: 6 }, 150],
  [13, { nodes: 150, tasks: 9000, content: 5000 }, 100], // several record batches; types first seen in later batches
];

for (const [seed, size, n] of SEEDS) {
  test(`seed ${seed}: ${n} random queries equal the row-object evaluator on the writer, the state table, a Parquet file and a worker snapshot`, async (t) => {
    const rs = randomState(seed, size);
    await rs.state.published();
    const reader = attachState(rs.state.shared());
    try {
      const records = recordsOf(rs.state);
      const file = writeStateParquet(rs.state.getState(), tempDir(t), 'p');
      const sources: [string, Parameters<typeof queryState>[0]][] = [
        ['writer', rs.state], ['state table', rs.state.getState()], ['parquet file', file], ['worker snapshot', reader.snapshot()],
      ];
      const next = generator(seed, records);
      let nonEmpty = 0;
      let paged = 0;
      for (let k = 0; k < n; k++) {
        const q = next();
        const want = naiveQuery(records[q.from], q, KEY[q.from]);
        if (want.total > 0) nonEmpty++;
        for (const [label, source] of sources) {
          const got = queryState(source, q);
          const what = `${label}: ${JSON.stringify(q)}`;
          t.is(got.total, want.total, what);
          if (want.groups) t.deepEqual(got.groups, want.groups, what);
          else t.deepEqual(got.rows, want.rows, what);
        }
        // Paging through with cursors gives every row once, in order.
        if (!q.groupBy && !q.aggregates && q.limit && want.total / q.limit <= 30) {
          const { rows, pages } = allPages(rs.state, q);
          const whole = naiveQuery(records[q.from], { ...q, limit: undefined, orderBy: q.orderBy ?? KEY[q.from] }, KEY[q.from]);
          t.deepEqual(rows, whole.rows, `pages of ${JSON.stringify(q)}`);
          if (pages > 1) paged++;
        }
      }
      t.true(nonEmpty > n / 3, `queries that matched something: ${nonEmpty} of ${n}`);
      if (size.tasks > 100) t.true(paged > 5, `queries paged through more than one page: ${paged}`);
    } finally {
      reader.close();
      await rs.state.close();
    }
  });
}

test('random queries equal the row-object evaluator on a state directory, its follower and a worker thread', async (t) => {
  const dir = tempDir(t);
  const seed = 14;
  const clock = randomClock(seed);
  const state = await ClusterState.open({ statePath: dir, clusterId: 'q', clock: clock.fn });
  const follower = await followState(dir);
  try {
    fillRandom(state, seed, { nodes: 40, tasks: 500, content: 200 }, clock);
    await state.flush();
    await follower.waitFor(state.revision);
    const records = recordsOf(state);
    const next = generator(seed, records);
    for (let k = 0; k < 60; k++) {
      const q = next();
      const want = naiveQuery(records[q.from], q, KEY[q.from]);
      for (const [label, got] of [
        ['directory path', queryState(dir, q)], ['follower', queryState(follower, q)],
        ['metadata path', queryState(join(dir, 'state_metadata.json'), q)], ['worker thread', await state.query('queryState', q) as QueryResult],
      ] as const) {
        t.is(got.total, want.total, `${label}: ${JSON.stringify(q)}`);
        t.deepEqual(want.groups ? got.groups : got.rows, want.groups ?? want.rows, `${label}: ${JSON.stringify(q)}`);
      }
    }
  } finally {
    await follower.close();
    await state.close();
  }
});
