/**
 * The questions of the peers comparison (bench/suites/queries.ts), asked the same way of each
 * store, so that the benchmark, its worker threads and its child processes ask exactly the same
 * thing: ours column-wise on a snapshot's Arrow tables (the hand-written column scans the query
 * issue will make public), SQLite through SQL on indexed columns, lmdb-js by a scan of its
 * entries (it has no secondary indexes).
 */
import type { Table } from 'apache-arrow';
import { tableView } from '../../src/arrow/decode/table-view.js';

/** 4 GiB: the placement question's memory floor. */
export const PLACEMENT_MEMORY = 4 * 1024 ** 3;

/** Ours: tasks counted by status. */
export function oursCountByStatus(tasks: Table): Record<string, number> {
  return Object.fromEntries(tableView(tasks).str('status').counts());
}

/** Ours: online workers with cpu_count ≥ 4 and memory_available ≥ 4 GiB (how many). */
export function oursPlacement(nodes: Table): number {
  const v = tableView(nodes);
  const status = v.str('status');
  const role = v.str('role');
  const cpu = v.num('resources.cpu_count');
  const mem = v.num('resources.memory_available');
  let n = 0;
  status.chunks.forEach((sc, b) => {
    const online = sc.equals('online');
    const worker = role.chunks[b]!.equals('worker');
    const c = cpu.chunks[b]!;
    const m = mem.chunks[b]!;
    for (let i = 0; i < sc.length; i++) if (online(i) && worker(i) && c.get(i) >= 4 && m.get(i) >= PLACEMENT_MEMORY) n++;
  });
  return n;
}

/** Ours: content with fewer providers than its replication target (how many). */
export function oursUnderReplicated(content: Table): number {
  const v = tableView(content);
  const providers = v.list('providers');
  const replication = v.num('replication');
  let n = 0;
  providers.chunks.forEach((pc, b) => {
    const r = replication.chunks[b]!;
    for (let i = 0; i < pc.length; i++) if (pc.end(i) - pc.start(i) < r.get(i)) n++;
  });
  return n;
}

/** The statuses in which a task occupies its node. */
const ACTIVE = new Set(['assigned', 'running']);

/** Ours, by hand: active tasks per node — how many and their CPU cores (node → [count, cores]). */
export function oursLoadByNode(tasks: Table): Record<string, [number, number]> {
  const v = tableView(tasks);
  const status = v.str('status');
  const node = v.str('assigned_to');
  const cores = v.num('resources.cpu_cores');
  const out: Record<string, [number, number]> = {};
  status.chunks.forEach((sc, b) => {
    const nc = node.chunks[b]!;
    const cc = cores.chunks[b]!;
    for (let i = 0; i < sc.length; i++) {
      const st = sc.get(i);
      if (st === null || !ACTIVE.has(st)) continue;
      const n = nc.get(i);
      if (n === null) continue;
      const e = (out[n] ??= [0, 0]);
      e[0]++;
      const c = cc.get(i);
      if (c === c) e[1] += c;
    }
  });
  return out;
}

/** The query language's questions (docs/queries.md), asked of our query API. */
export const QUERIES = {
  countByStatus: { from: 'tasks', groupBy: 'status' },
  placement: { from: 'nodes', where: { status: 'online', role: 'worker', 'resources.cpu_count': { gte: 4 }, 'resources.memory_available': { gte: PLACEMENT_MEMORY } }, limit: 0 },
  underReplicated: { from: 'content', where: { 'length(providers)': { lt: { field: 'replication' } } }, limit: 0 },
  loadByNode: { from: 'tasks', where: { status: { in: ['assigned', 'running'] } }, groupBy: 'assigned_to', aggregates: ['count', 'sum(resources.cpu_cores)'] },
} as const;

/** A group query's groups as node → [count, sum] (the shape the other stores give). */
export function loadFromGroups(groups: Record<string, unknown>[]): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const g of groups) if (g.assigned_to !== null) out[g.assigned_to as string] = [g.count as number, g['sum(resources.cpu_cores)'] as number];
  return out;
}

/** Two node → [count, sum] maps holding the same figures. */
export function sameLoad(a: Record<string, [number, number]>, b: Record<string, [number, number]>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k]![0] === b[k]![0] && a[k]![1] === b[k]![1]);
}

/**
 * SQLite's schema: every queried field a column, each indexed on its own — what a schema built
 * before the questions were known has; the second set of indexes is built for exactly these
 * questions (a composite index for placement, an expression index for the replica deficit, a
 * covering index for the load per node): SQLite at its best, when the question was foreseen.
 */
export const SQL_SCHEMA = `CREATE TABLE nodes (id TEXT PRIMARY KEY, role TEXT, status TEXT, cpu_count INTEGER, memory_available INTEGER, data TEXT NOT NULL);
  CREATE INDEX nodes_status ON nodes (status); CREATE INDEX nodes_role ON nodes (role);
  CREATE INDEX nodes_cpu ON nodes (cpu_count); CREATE INDEX nodes_mem ON nodes (memory_available);
  CREATE TABLE tasks (id TEXT PRIMARY KEY, status TEXT, assigned_to TEXT, cpu_cores INTEGER, data TEXT NOT NULL);
  CREATE INDEX tasks_status ON tasks (status); CREATE INDEX tasks_node ON tasks (assigned_to);
  CREATE TABLE content (id TEXT PRIMARY KEY, replication INTEGER, providers TEXT NOT NULL, data TEXT NOT NULL);
  CREATE INDEX content_replication ON content (replication);`;

/** The indexes built for exactly these questions (made after the load is timed). */
export const SQL_TAILORED = `CREATE INDEX nodes_place ON nodes (status, role, cpu_count, memory_available);
  CREATE INDEX content_deficit ON content (replication - json_array_length(providers));
  CREATE INDEX tasks_load ON tasks (status, assigned_to, cpu_cores);`;

export const SQL = {
  countByStatus: 'SELECT status, count(*) AS n FROM tasks GROUP BY status',
  placement: `SELECT count(*) FROM nodes INDEXED BY nodes_status WHERE status = 'online' AND role = 'worker' AND cpu_count >= 4 AND memory_available >= ${PLACEMENT_MEMORY}`,
  placementTailored: `SELECT count(*) FROM nodes INDEXED BY nodes_place WHERE status = 'online' AND role = 'worker' AND cpu_count >= 4 AND memory_available >= ${PLACEMENT_MEMORY}`,
  underReplicated: 'SELECT count(*) FROM content NOT INDEXED WHERE json_array_length(providers) < replication',
  underReplicatedTailored: 'SELECT count(*) FROM content INDEXED BY content_deficit WHERE replication - json_array_length(providers) > 0',
  lookup: 'SELECT data FROM tasks WHERE id = ?',
  loadByNode: "SELECT assigned_to, count(*) AS n, coalesce(sum(cpu_cores), 0) AS cpu FROM tasks INDEXED BY tasks_status WHERE status IN ('assigned', 'running') AND assigned_to IS NOT NULL GROUP BY assigned_to",
  loadByNodeTailored: "SELECT assigned_to, count(*) AS n, coalesce(sum(cpu_cores), 0) AS cpu FROM tasks INDEXED BY tasks_load WHERE status IN ('assigned', 'running') AND assigned_to IS NOT NULL GROUP BY assigned_to",
};

/** SQLite's answer as ours: an object of counts by status. */
export function sqliteCounts(rows: { status: string; n: number }[]): Record<string, number> {
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

interface LmdbScan {
  getRange(o?: object): Iterable<{ key: unknown; value: Record<string, unknown> }>;
}

export function lmdbCountByStatus(tasks: LmdbScan): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { value } of tasks.getRange()) out[value.status as string] = (out[value.status as string] ?? 0) + 1;
  return out;
}

export function lmdbPlacement(nodes: LmdbScan): number {
  let n = 0;
  for (const { value } of nodes.getRange()) {
    const r = value.resources as { cpu_count: number | null; memory_available: number | null };
    if (value.status === 'online' && value.role === 'worker' && (r.cpu_count ?? -1) >= 4 && (r.memory_available ?? -1) >= PLACEMENT_MEMORY) n++;
  }
  return n;
}

export function lmdbUnderReplicated(content: LmdbScan): number {
  let n = 0;
  for (const { value } of content.getRange()) if ((value.providers as string[]).length < (value.replication as number)) n++;
  return n;
}

export function lmdbLoadByNode(tasks: LmdbScan): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const { value } of tasks.getRange()) {
    if (!ACTIVE.has(value.status as string) || value.assigned_to === null) continue;
    const e = (out[value.assigned_to as string] ??= [0, 0]);
    e[0]++;
    e[1] += (value.resources as { cpu_cores: number | null }).cpu_cores ?? 0;
  }
  return out;
}

/** The same counts, compared in a stable order (for the checks that every store answered alike). */
export function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const ka = Object.keys(a).filter((k) => a[k]).sort();
  const kb = Object.keys(b).filter((k) => b[k]).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}
