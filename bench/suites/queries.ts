/**
 * Ours beside SQLite (better-sqlite3: WAL, synchronous=FULL, the queried fields as indexed
 * columns beside the record as JSON) and lmdb-js (one entry per entity, msgpack; no secondary
 * indexes, so its questions are scans) on the same records in the same run (issue 13, item 6):
 *
 * 1. load the cluster's records, durable: ours opens a state directory holding the cluster's
 *    seed-layout Parquet file (the import), the peers insert the records in transactions of
 *    10,000 and sync;
 * 2. point lookup by id → the full record, warm, in a worker thread;
 * 3. tasks counted by status; 4. the placement question (online workers with ≥ 4 CPUs and
 *    ≥ 4 GiB free); 5. under-replicated content — each asked in the main thread, ours on a
 *    snapshot of the loaded writer (every store answers alike: checked);
 * 6. a cold reader process: open the store, answer (3), from after its modules are loaded.
 *
 * The peers are native, so dev dependencies for the benchmark only; a peer that cannot be
 * loaded is reported as skipped with the reason.
 */
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { tableToIPC } from 'apache-arrow';
import { ClusterState } from '../../src/index.js';
import { getAllContent, getAllNodes, getAllTasks } from '../../src/helpers/index.js';
import { encodeParquet } from '../../src/persist/parquet-codec.js';
import { taskId, type SyntheticScale } from '../../src/demo/synthetic.js';
import { Child } from '../lib/child.js';
import type { Report } from '../lib/report.js';
import { spread } from '../lib/stats.js';
import {
  lmdbCountByStatus, lmdbPlacement, lmdbUnderReplicated, oursCountByStatus, oursPlacement, oursUnderReplicated, sameCounts, SQL, sqliteCounts,
} from '../lib/peer-queries.js';

const lib = (name: string) => new URL(`../lib/${name}.js`, import.meta.url);
const require = createRequire(import.meta.url);

interface Sqlite {
  pragma(s: string): unknown;
  exec(s: string): void;
  prepare(s: string): { run(...a: unknown[]): unknown; all(...a: unknown[]): unknown[]; pluck(): { get(...a: unknown[]): unknown } };
  transaction<A extends unknown[]>(fn: (...a: A) => void): (...a: A) => void;
  close(): void;
}
interface LmdbDb { putSync(k: string, v: unknown): void; getRange(o?: object): Iterable<{ key: unknown; value: Record<string, unknown> }> }
interface LmdbEnv { openDB(o: object): LmdbDb; transactionSync<T>(fn: () => T): T; flushed: Promise<void>; close(): Promise<void> }

/** Median ms of `runs` calls of fn (after one warm-up call), and the last answer. */
function timed<T>(runs: number, fn: () => T): { ms: number; answer: T } {
  let answer = fn();
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    answer = fn();
    ms.push(performance.now() - t0);
  }
  return { ms: spread(ms).median, answer };
}

function worker(data: object): Promise<{ us: number; missing: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(lib('lookup-worker'), { workerData: data });
    w.once('message', (m) => { resolve(m as { us: number; missing: number }); void w.terminate(); });
    w.once('error', reject);
  });
}

async function cold(kind: string, path: string): Promise<{ ms: number; answer: Record<string, number> }> {
  const c = new Child(lib('cold-query'), [kind, path]);
  const f = await c.next('COLD', () => true, 120_000);
  c.proc.stdin?.end();
  return { ms: Number(f[0]), answer: JSON.parse(f.slice(1).join(' ')) as Record<string, number> };
}

export async function queriesSuite(report: Report, state: ClusterState, scale: string, loaded: SyntheticScale, opts: { runs: number; lookups: number }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `acs-queries-${scale}-`));
  try {
    const snap = state.snapshot();
    const records = { nodes: getAllNodes(snap), tasks: getAllTasks(snap), content: getAllContent(snap) };
    const total = records.nodes.length + records.tasks.length + records.content.length;
    const loadName = `load the cluster (${total.toLocaleString('en-US')} records), durable`;

    // 1. Ours: a state directory holding the cluster's seed-layout Parquet file, opened (imported; durable when open resolves).
    const ourDir = join(dir, 'ours');
    const pq = encodeParquet(tableToIPC(state.getState(), 'stream'), 'zstd');
    mkdirSync(ourDir);
    writeFileSync(join(ourDir, `state_${state.clusterId}.parquet`), pq);
    let t0 = performance.now();
    const imported = await ClusterState.open({ statePath: ourDir, clusterId: state.clusterId, parquet: false });
    const oursLoad = performance.now() - t0;
    report.check(`${scale} queries: the imported directory holds every record`, imported.counts.tasks === records.tasks.length && imported.counts.content === records.content.length, JSON.stringify(imported.counts));
    await imported.close();

    const peers: { name: string; load: number; kind: 'sqlite' | 'lmdb'; path: string; countByStatus: () => Record<string, number>; placement: () => number; underReplicated: () => number; close: () => Promise<void> }[] = [];
    // SQLite: the record as JSON beside the queried fields, indexed.
    try {
      const Database = require('better-sqlite3') as new (f: string) => Sqlite;
      const file = join(dir, 'state.db');
      const db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec(`CREATE TABLE nodes (id TEXT PRIMARY KEY, role TEXT, status TEXT, cpu_count INTEGER, memory_available INTEGER, data TEXT NOT NULL);
        CREATE INDEX nodes_place ON nodes (status, role, cpu_count, memory_available);
        CREATE TABLE tasks (id TEXT PRIMARY KEY, status TEXT, data TEXT NOT NULL);
        CREATE INDEX tasks_status ON tasks (status);
        CREATE TABLE content (id TEXT PRIMARY KEY, deficit INTEGER, data TEXT NOT NULL);
        CREATE INDEX content_deficit ON content (deficit);`);
      const ins = {
        nodes: db.prepare('INSERT INTO nodes VALUES (?, ?, ?, ?, ?, ?)'),
        tasks: db.prepare('INSERT INTO tasks VALUES (?, ?, ?)'),
        content: db.prepare('INSERT INTO content VALUES (?, ?, ?)'),
      };
      const put = db.transaction((rows: unknown[], kind: 'nodes' | 'tasks' | 'content') => {
        for (const r of rows as Record<string, never>[]) {
          const data = JSON.stringify(r);
          if (kind === 'nodes') ins.nodes.run(r.id, r.role, r.status, (r.resources as { cpu_count: number | null }).cpu_count, (r.resources as { memory_available: number | null }).memory_available, data);
          else if (kind === 'tasks') ins.tasks.run(r.id, r.status, data);
          else ins.content.run(r.cid, (r.replication as number) - (r.providers as string[]).length, data);
        }
      });
      t0 = performance.now();
      for (const kind of ['nodes', 'tasks', 'content'] as const) {
        const rows = records[kind];
        for (let a = 0; a < rows.length; a += 10_000) put(rows.slice(a, a + 10_000), kind);
      }
      const load = performance.now() - t0;
      const q = { count: db.prepare(SQL.countByStatus), place: db.prepare(SQL.placement).pluck(), under: db.prepare(SQL.underReplicated).pluck() };
      peers.push({
        name: 'SQLite', load, kind: 'sqlite', path: file,
        countByStatus: () => sqliteCounts(q.count.all() as { status: string; n: number }[]),
        placement: () => q.place.get() as number,
        underReplicated: () => q.under.get() as number,
        close: async () => db.close(),
      });
    } catch (e) {
      report.skip(`SQLite in the queries suite at ${scale}`, `better-sqlite3 could not be loaded or used: ${(e as Error).message.slice(0, 160)}`);
    }
    // lmdb-js: one entry per entity (msgpack), no secondary index.
    try {
      const lmdb = require('lmdb') as { open(o: object): LmdbEnv };
      const path = join(dir, 'lmdb');
      const env = lmdb.open({ path, compression: false });
      const dbs = { nodes: env.openDB({ name: 'nodes' }), tasks: env.openDB({ name: 'tasks' }), content: env.openDB({ name: 'content' }) };
      t0 = performance.now();
      for (const kind of ['nodes', 'tasks', 'content'] as const) {
        const rows = records[kind] as unknown as Record<string, string>[];
        for (let a = 0; a < rows.length; a += 10_000) {
          env.transactionSync(() => {
            for (const r of rows.slice(a, a + 10_000)) dbs[kind].putSync(kind === 'content' ? r.cid! : r.id!, r);
          });
        }
      }
      await env.flushed;
      const load = performance.now() - t0;
      peers.push({
        name: 'lmdb-js', load, kind: 'lmdb', path,
        countByStatus: () => lmdbCountByStatus(dbs.tasks),
        placement: () => lmdbPlacement(dbs.nodes),
        underReplicated: () => lmdbUnderReplicated(dbs.content),
        close: () => env.close(),
      });
    } catch (e) {
      report.skip(`lmdb-js in the queries suite at ${scale}`, `lmdb could not be loaded or used: ${(e as Error).message.slice(0, 160)}`);
    }
    report.add({ suite: 'queries', scale, name: loadName, unit: 'ms', better: 'lower', runs: [oursLoad], peers: peers.map((p) => ({ name: p.name, runs: [p.load] })), target: scale === 'M' ? '≤ 2 s' : scale === 'L' ? '≤ 20 s' : undefined, note: 'ours: open a state directory holding the cluster\'s seed-layout Parquet file (imported, checked row by row, checkpointed)' });

    // 1b. The same records given to a new in-memory writer at once (options.import of getTables()).
    const tables = state.getTables();
    t0 = performance.now();
    const fromTables = ClusterState.inMemory({ clusterId: state.clusterId, import: tables });
    const importMs = performance.now() - t0;
    report.check(`${scale} queries: an import of getTables() holds every record`, fromTables.counts.tasks === records.tasks.length, JSON.stringify(fromTables.counts));
    await fromTables.close();
    report.add({ suite: 'queries', scale, name: `import getTables() into a new writer (in memory, ${total.toLocaleString('en-US')} records)`, unit: 'ms', better: 'lower', runs: [importMs], peers: peers.map((p) => ({ name: `${p.name} load`, runs: [p.load] })), target: scale === 'M' ? '≤ 2 s' : scale === 'L' ? '≤ 20 s' : undefined });

    // 2. Point lookups in a worker thread.
    const ids = Array.from({ length: 1000 }, (_, i) => taskId((i * 7919) % loaded.tasks));
    const rounds = Math.max(1, Math.round(opts.lookups / ids.length));
    const ours = await worker({ kind: 'ours', handle: state.shared(), ids, rounds });
    const peerLookups = [];
    for (const p of peers) peerLookups.push({ name: p.name, r: await worker({ kind: p.kind, path: p.path, ids, rounds }) });
    report.check(`${scale} queries: every store found every looked-up id`, ours.missing === 0 && peerLookups.every((x) => x.r.missing === 0), JSON.stringify([ours.missing, ...peerLookups.map((x) => x.r.missing)]));
    report.add({ suite: 'queries', scale, name: 'point lookup by id → full record, in a worker thread, warm', unit: 'µs', better: 'lower', runs: [ours.us], peers: peerLookups.map((x) => ({ name: x.name, runs: [x.r.us] })), target: scale === 'M' ? '≤ 1 µs' : scale === 'L' ? '≤ 1.5 µs' : undefined });

    // 3–5. The questions, in the main thread.
    const questions: [string, () => unknown, (p: (typeof peers)[number]) => unknown, (a: unknown, b: unknown) => boolean][] = [
      ['count tasks by status', () => oursCountByStatus(snap.tasks), (p) => p.countByStatus(), (a, b) => sameCounts(a as Record<string, number>, b as Record<string, number>)],
      ['placement: online workers with ≥ 4 CPUs and ≥ 4 GiB free', () => oursPlacement(snap.nodes), (p) => p.placement(), (a, b) => a === b],
      ['content with fewer providers than its replication', () => oursUnderReplicated(snap.content), (p) => p.underReplicated(), (a, b) => a === b],
    ];
    for (const [name, mine, theirs, same] of questions) {
      const o = timed(opts.runs, mine);
      const ps = peers.map((p) => ({ name: p.name, ...timed(opts.runs, () => theirs(p)) }));
      report.check(`${scale} queries: ${name}: every store gives the same answer`, ps.every((p) => same(o.answer, p.answer)), JSON.stringify([o.answer, ...ps.map((p) => p.answer)]).slice(0, 300));
      report.add({ suite: 'queries', scale, name, unit: 'ms', better: 'lower', runs: [o.ms], peers: ps.map((p) => ({ name: p.name, runs: [p.ms] })) });
    }

    // 6. A cold reader process: open, first answer.
    const coldRuns = Math.max(1, Math.min(3, opts.runs));
    const oursCold: number[] = [];
    const peerCold = peers.map(() => [] as number[]);
    const expected = oursCountByStatus(snap.tasks);
    for (let r = 0; r < coldRuns; r++) {
      const o = await cold('ours', ourDir);
      report.check(`${scale} queries: a cold reader of ours counts as the writer`, sameCounts(o.answer, expected), JSON.stringify(o.answer));
      oursCold.push(o.ms);
      for (let k = 0; k < peers.length; k++) {
        const c = await cold(peers[k]!.kind, peers[k]!.path);
        report.check(`${scale} queries: a cold reader of ${peers[k]!.name} counts as the writer`, sameCounts(c.answer, expected), JSON.stringify(c.answer));
        peerCold[k]!.push(c.ms);
      }
    }
    report.add({ suite: 'queries', scale, name: 'cold reader process: open, count tasks by status', unit: 'ms', better: 'lower', runs: oursCold, peers: peers.map((p, k) => ({ name: p.name, runs: peerCold[k]! })), target: scale === 'M' ? '≤ 30 ms' : scale === 'L' ? '≤ 200 ms' : undefined });
    for (const p of peers) await p.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
