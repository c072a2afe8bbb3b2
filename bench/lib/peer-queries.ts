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

export const SQL = {
  countByStatus: 'SELECT status, count(*) AS n FROM tasks GROUP BY status',
  placement: `SELECT count(*) FROM nodes WHERE status = 'online' AND role = 'worker' AND cpu_count >= 4 AND memory_available >= ${PLACEMENT_MEMORY}`,
  underReplicated: 'SELECT count(*) FROM content WHERE deficit > 0',
  lookup: 'SELECT data FROM tasks WHERE id = ?',
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

/** The same counts, compared in a stable order (for the checks that every store answered alike). */
export function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const ka = Object.keys(a).filter((k) => a[k]).sort();
  const kb = Object.keys(b).filter((k) => b[k]).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}
