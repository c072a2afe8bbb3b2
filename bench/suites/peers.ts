/**
 * The peers of the journal figures, on the same data in the same run: SQLite through
 * better-sqlite3 (WAL, synchronous=FULL: a commit is durable when it returns; one row per entity,
 * its record as JSON) and lmdb-js (`lmdb`; overlappingSync, its default on Linux: a write is
 * visible at commit and durable once `flushed` resolves; one entry per entity, its record as
 * msgpack). Both are native, so they are dev dependencies for the benchmark only. A mutation is
 * what an application does with them: read the task, change its priority, write it back.
 * `peer-follower.ts` is the other process following each.
 */
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterState } from '../../src/index.js';
import { cid, nodeId, taskId, type SyntheticScale } from '../../src/demo/synthetic.js';
import type { Report } from '../lib/report.js';

export interface Peer {
  /** Short name, used in the figures' baseline column. */
  readonly name: string;
  /** What the follower child is given: `sqlite <file>` or `lmdb <dir>`. */
  readonly follow: [kind: string, path: string];
  /** One task mutation (read, change, write back) in its own transaction; resolves once durable. */
  mutateDurable(i: number, priority: number): Promise<void>;
  /** `count` task mutations in one transaction; resolves once durable. */
  transactionDurable(i: number, count: number, priority: number): Promise<void>;
  /**
   * One task mutation together with the `meta` row naming it as revision `rev`, in one
   * transaction; resolves once it is visible to other processes (for SQLite that is its durable
   * commit; for lmdb-js its commit, before it is flushed).
   */
  mutateVisible(rev: number, i: number, priority: number): Promise<void>;
  /** Bytes of its write-ahead log for the writes of `fn` (SQLite: WAL growth with auto-checkpoints off), or null. */
  logBytes?(fn: () => Promise<void>): Promise<number>;
  close(): Promise<void>;
}

interface SqliteDb {
  pragma(s: string, o?: { simple: boolean }): unknown;
  exec(sql: string): void;
  prepare(sql: string): { run(...a: unknown[]): unknown; get(...a: unknown[]): unknown; pluck(): { get(...a: unknown[]): unknown } };
  transaction<A extends unknown[]>(fn: (...a: A) => void): (...a: A) => void;
  close(): void;
}
interface LmdbDb {
  get(k: string): unknown;
  put(k: string, v: unknown): Promise<boolean>;
  putSync(k: string, v: unknown): boolean;
}
interface LmdbRoot extends LmdbDb {
  openDB(o: { name: string }): LmdbDb;
  transaction<T>(fn: () => T): Promise<T>;
  transactionSync<T>(fn: () => T): T;
  flushed: Promise<void>;
  close(): Promise<void>;
}

const KINDS = [
  { kind: 'nodes', id: nodeId, count: (s: SyntheticScale) => s.nodes, get: (st: ClusterState, id: string) => st.getNode(id) },
  { kind: 'tasks', id: taskId, count: (s: SyntheticScale) => s.tasks, get: (st: ClusterState, id: string) => st.getTask(id) },
  { kind: 'content', id: cid, count: (s: SyntheticScale) => s.content, get: (st: ClusterState, id: string) => st.getContent(id) },
] as const;

/** Every record of `state` (the synthetic cluster `loaded`), in chunks of 10,000 of one kind. */
function* chunks(state: ClusterState, loaded: SyntheticScale): Generator<{ kind: string; rows: [string, unknown][] }> {
  for (const k of KINDS) {
    const n = k.count(loaded);
    for (let a = 0; a < n; a += 10_000) {
      const rows: [string, unknown][] = [];
      for (let i = a; i < Math.min(n, a + 10_000); i++) {
        const id = k.id(i);
        const r = k.get(state, id);
        if (r) rows.push([id, r]);
      }
      yield { kind: k.kind, rows };
    }
  }
}

const bigintSafe = (_k: string, v: unknown) => (typeof v === 'bigint' ? Number(v) : v);

async function sqlitePeer(state: ClusterState, loaded: SyntheticScale): Promise<Peer> {
  const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => SqliteDb;
  const dir = mkdtempSync(join(tmpdir(), 'acs-sqlite-'));
  const file = join(dir, 'state.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF'); // for the load only
  for (const k of KINDS) db.exec(`CREATE TABLE ${k.kind} (id TEXT PRIMARY KEY, data TEXT NOT NULL)`);
  db.exec('CREATE TABLE meta (k INTEGER PRIMARY KEY, rev INTEGER NOT NULL, task TEXT NOT NULL)');
  db.prepare('INSERT INTO meta VALUES (0, 0, ?)').run(taskId(0));
  const inserts = Object.fromEntries(KINDS.map((k) => [k.kind, db.prepare(`INSERT INTO ${k.kind} VALUES (?, ?)`)]));
  const load = db.transaction((kind: string, rows: [string, unknown][]) => {
    for (const [id, r] of rows) inserts[kind]!.run(id, JSON.stringify(r, bigintSafe));
  });
  for (const c of chunks(state, loaded)) load(c.kind, c.rows);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.pragma('synchronous = FULL');
  const get = db.prepare('SELECT data FROM tasks WHERE id = ?').pluck();
  const put = db.prepare('UPDATE tasks SET data = ? WHERE id = ?');
  const setMeta = db.prepare('UPDATE meta SET rev = ?, task = ? WHERE k = 0');
  const n = loaded.tasks;
  const one = (i: number, priority: number) => {
    const id = taskId(i % n);
    const r = JSON.parse(get.get(id) as string) as { priority: number; updated_at: number };
    r.priority = priority;
    r.updated_at = Date.now();
    put.run(JSON.stringify(r), id);
    return id;
  };
  const many = db.transaction((i: number, count: number, priority: number) => {
    for (let k = 0; k < count; k++) one(i + k * 7919, priority);
  });
  const visible = db.transaction((rev: number, i: number, priority: number) => {
    setMeta.run(rev, one(i, priority));
  });
  return {
    name: 'SQLite',
    follow: ['sqlite', file],
    mutateDurable: async (i, p) => void one(i, p),
    transactionDurable: async (i, count, p) => many(i, count, p),
    mutateVisible: async (rev, i, p) => visible(rev, i, p),
    logBytes: async (fn) => {
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.pragma('wal_autocheckpoint = 0');
      const before = statSync(`${file}-wal`).size;
      await fn();
      const bytes = statSync(`${file}-wal`).size - before;
      db.pragma('wal_autocheckpoint = 1000');
      db.pragma('wal_checkpoint(TRUNCATE)');
      return bytes;
    },
    close: async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function lmdbPeer(state: ClusterState, loaded: SyntheticScale): Promise<Peer> {
  const lmdb = (await import('lmdb' as string)) as { open(o: object): LmdbRoot };
  const dir = mkdtempSync(join(tmpdir(), 'acs-lmdb-'));
  const root = lmdb.open({ path: dir, compression: false });
  const dbs = Object.fromEntries(KINDS.map((k) => [k.kind, root.openDB({ name: k.kind })]));
  const meta = root.openDB({ name: 'meta' });
  for (const c of chunks(state, loaded)) {
    root.transactionSync(() => {
      for (const [id, r] of c.rows) dbs[c.kind]!.putSync(id, r);
    });
  }
  await root.flushed;
  const tasks = dbs.tasks!;
  const n = loaded.tasks;
  const one = (i: number, priority: number) => {
    const id = taskId(i % n);
    const r = tasks.get(id) as Record<string, unknown>;
    void tasks.put(id, { ...r, priority, updated_at: Date.now() });
    return id;
  };
  return {
    name: 'lmdb-js',
    follow: ['lmdb', dir],
    mutateDurable: async (i, p) => {
      const id = taskId(i % n);
      const r = tasks.get(id) as Record<string, unknown>;
      await tasks.put(id, { ...r, priority: p, updated_at: Date.now() });
      await root.flushed;
    },
    transactionDurable: async (i, count, p) => {
      await root.transaction(() => {
        for (let k = 0; k < count; k++) one(i + k * 7919, p);
      });
      await root.flushed;
    },
    mutateVisible: async (rev, i, p) => {
      await root.transaction(() => {
        void meta.put('rev', { rev, task: one(i, p) });
      });
    },
    close: async () => {
      await root.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The peers that could be opened and loaded with `state`'s records (a peer that cannot is reported as skipped). */
export async function openPeers(report: Report, scale: string, state: ClusterState, loaded: SyntheticScale): Promise<Peer[]> {
  const out: Peer[] = [];
  for (const [name, make] of [['SQLite (better-sqlite3)', sqlitePeer], ['lmdb-js', lmdbPeer]] as const) {
    const t0 = performance.now();
    try {
      out.push(await make(state, loaded));
      process.stdout.write(`  ${scale.padEnd(3)} (${name} loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    } catch (e) {
      report.skip(`${name} peer at ${scale}`, `it could not be opened or loaded: ${(e as Error).message.slice(0, 160)}`);
    }
  }
  return out;
}
