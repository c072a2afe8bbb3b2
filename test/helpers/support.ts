// Shared by the helper tests: deterministic clocks, seeded random states with every oddity the
// helpers must survive (unknown resources, zero memory totals, peers that are not nodes,
// non-ASCII ids, deletions, many task types across several record batches), a Parquet writer
// for the file source, and the location of the pyarrow fixtures.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataType, makeBuilder, makeData, RecordBatch, Struct, Table, tableToIPC, type Field } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import { ClusterState, stateSchema, type NodeResourcesInput, type TaskResourcesInput } from '../../src/index.js';
import { prng } from '../../src/demo/synthetic.js';

export const GiB = 2 ** 30;

/** A clock the test moves by hand: `clock.now` is epoch ms. */
export function manualClock(start = 1_700_000_000_000): { fn: () => number; now: number; advance(ms: number): void } {
  const c = {
    now: start,
    fn: () => c.now,
    advance(ms: number) {
      c.now += ms;
    },
  };
  return c;
}

/** A clock ticking 1 s per call. */
export function tickingClock(start = 1_700_000_000_000): () => number {
  let t = start;
  return () => (t += 1000);
}

/** A fresh temporary directory, removed when the test `t` ends (passed or failed). */
export function tempDir(t: { teardown(fn: () => void): void }, prefix = 'acs-helpers-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Parquet bytes (zstd) of a table, written by parquet-wasm. */
export function parquetBytes(table: Table): Uint8Array {
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), new WriterPropertiesBuilder().setCompression(Compression.ZSTD).build());
}

/** Writes the single-row table as `dir/state_<id>.parquet` and returns the file path. */
export function writeStateParquet(table: Table, dir: string, clusterId: string): string {
  const file = join(dir, `state_${clusterId}.parquet`);
  writeFileSync(file, parquetBytes(table));
  return file;
}

/** The repository's golden corpus written by pyarrow (test/fixtures/pyarrow; see its README). */
export function pyarrowFixtures(): string {
  return join(repoRoot(), 'test', 'fixtures', 'pyarrow');
}

/** The repository root: the nearest directory above this file holding our package.json (tests run from dist/test). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test', 'fixtures'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`the repository root (package.json beside test/fixtures) is not above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export const TYPES = ['process', 'analyze', 'transfer', 'model_training', 'embedding_generation', 'pin', 'index', 'résumé-ü', 'type-9', 'type-10'];
export const CAPABILITIES = ['gpu', 'pinning', 'model_training', 'storage', 'transcode'];
export const ROLES = ['master', 'worker', 'leecher'] as const;

export interface RandomState {
  state: ClusterState;
  nodeIds: string[];
  taskIds: string[];
  cids: string[];
  clock: ReturnType<typeof manualClock>;
}

/**
 * A seeded random state. Sizes are approximate targets; with `tasks` above 4096 the tasks
 * table spans several record batches, and task types first appear in later batches.
 */
export function randomState(seed: number, size: { nodes: number; tasks: number; content: number }): RandomState {
  const clock = randomClock(seed);
  return fillRandom(ClusterState.inMemory({ clusterId: `prop-${seed}`, clock: clock.fn }), seed, size, clock);
}

/** The clock randomState uses for `seed` (give it to a state you fill with fillRandom). */
export function randomClock(seed: number): ReturnType<typeof manualClock> {
  return manualClock(1_700_000_000_000 + seed * 1000);
}

/** Fills an empty `state` (made with `clock`) like randomState does. */
export function fillRandom(state: ClusterState, seed: number, size: { nodes: number; tasks: number; content: number }, clock: ReturnType<typeof manualClock>): RandomState {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const nodeIds: string[] = [];
  for (let i = 0; i < size.nodes; i++) nodeIds.push(i % 17 === 5 ? `nœud-${i}-ü` : i % 23 === 7 ? `n-${i}-😀` : `n-${String(i).padStart(4, '0')}`);
  state.transaction(() => {
    for (let i = 0; i < nodeIds.length; i++) {
      const id = nodeIds[i]!;
      const role = i === 0 ? 'master' : rnd() < 0.8 ? 'worker' : pick(ROLES);
      const status = pick(['online', 'online', 'online', 'offline', 'degraded'] as const);
      const kind = rnd();
      let resources: NodeResourcesInput | undefined;
      if (kind < 0.15) resources = undefined; // all unknown
      else if (kind < 0.3) resources = { cpu: pick([1, 2, 4, 8]), memory: pick(['4GB', '8GiB', '512MiB']) };
      else if (kind < 0.35) resources = { cpu_count: pick([2, 4]), memory_total: 0, memory_available: 0, cpu_load: 10 };
      else {
        const total = pick([4, 8, 16, 64]) * GiB;
        const gpus = rnd() < 0.4 ? pick([1, 2, 4]) : 0;
        resources = {
          cpu_count: rnd() < 0.9 ? pick([1, 2, 4, 8, 16, 32]) : null,
          cpu_load: rnd() < 0.8 ? Math.round(rnd() * 1000) / 10 : null,
          gpu_count: rnd() < 0.9 ? gpus : null,
          gpu_available: gpus > 0 ? (rnd() < 0.5 ? true : rnd() < 0.5 ? false : null) : rnd() < 0.5 ? false : null,
          memory_total: rnd() < 0.9 ? total : null,
          memory_available: rnd() < 0.85 ? Math.floor(total * rnd()) : null,
          disk_total: rnd() < 0.7 ? 1000 * GiB : null,
          disk_available: rnd() < 0.7 ? Math.floor(1000 * GiB * rnd()) : null,
        };
      }
      const peers = new Set<string>();
      const np = Math.floor(rnd() * 5);
      for (let k = 0; k < np; k++) {
        const p = rnd() < 0.1 ? `ghost-${Math.floor(rnd() * 5)}` : pick(nodeIds);
        if (p !== id) peers.add(p);
      }
      state.registerNode({
        id, role, status, peers: [...peers], capabilities: CAPABILITIES.filter(() => rnd() < 0.3), ...(resources ? { resources } : {}),
        ...(rnd() < 0.5 ? { address: `10.0.0.${i % 250}`, metadata: { zone: `z${i % 3}` } } : {}),
      });
    }
  });
  const cids: string[] = [];
  state.transaction(() => {
    for (let i = 0; i < size.content; i++) {
      const cid = `bafy${String(i).padStart(6, '0')}${i % 11 === 3 ? 'é' : ''}`;
      cids.push(cid);
      const providers = new Set<string>();
      const np = Math.floor(rnd() * 4);
      for (let k = 0; k < np; k++) providers.add(pick(nodeIds));
      clock.advance(1000);
      state.addContent({ cid, size: Math.floor(rnd() * 4 * GiB), providers: [...providers], pinned: rnd() < 0.5, replication: Math.floor(rnd() * 5) });
    }
  });
  const runners = () => nodeIds.filter((id) => {
    const n = state.getNode(id)!;
    return n.status === 'online' && n.role !== 'leecher';
  });
  const taskIds: string[] = [];
  const someCid = () => (rnd() < 0.85 && cids.length ? pick(cids) : `bafy-unknown-${Math.floor(rnd() * 10)}`);
  const chunk = 1000;
  for (let start = 0; start < size.tasks; start += chunk) {
    state.transaction(() => {
      const online = runners();
      for (let i = start; i < Math.min(size.tasks, start + chunk); i++) {
        const id = `task-${String(i).padStart(6, '0')}`;
        taskIds.push(id);
        // Later batches introduce types the earlier ones never used.
        const type = TYPES[Math.floor(rnd() * Math.min(TYPES.length, 3 + Math.floor(i / 1500)))]!;
        const rk = rnd();
        const resources: TaskResourcesInput | undefined = rk < 0.2 ? undefined : rk < 0.3 ? { cpu: pick([1, 2]), memory: pick(['1GB', '256MiB']) }
          : { cpu_cores: rnd() < 0.9 ? pick([0, 1, 2, 4, 8]) : null, gpu_cores: rnd() < 0.8 ? pick([0, 0, 1, 2]) : null, memory_mb: rnd() < 0.8 ? pick([128, 512, 1024, 4096]) : null };
        clock.advance(Math.floor(rnd() * 5000));
        state.addTask({
          id, type, priority: Math.floor(rnd() * 10), ...(resources ? { resources } : {}),
          ...(rnd() < 0.5 ? { input_cid: someCid() } : {}),
          ...(rnd() < 0.5 ? { input_cids: [...new Set([someCid(), someCid()])] } : {}),
          ...(rnd() < 0.4 ? { output_cid: someCid() } : {}),
          ...(rnd() < 0.3 ? { output_cids: [someCid()] } : {}),
          payload: { i },
        });
        const fate = rnd();
        if (fate < 0.25 || !online.length) continue;
        if (fate < 0.3) {
          state.updateTask(id, { status: 'cancelled' });
          continue;
        }
        state.assignTask(id, pick(online));
        if (fate < 0.45) continue;
        clock.advance(Math.floor(rnd() * 100_000));
        state.updateTask(id, { status: 'running' });
        if (fate < 0.6) continue;
        clock.advance(Math.floor(rnd() * 300_000));
        if (fate < 0.9) state.updateTask(id, { status: 'completed', result: { ok: i } });
        else if (fate < 0.97) state.updateTask(id, { status: 'failed', error: 'boom' });
        else state.updateTask(id, { status: 'pending' }); // requeued: times cleared
      }
    });
  }
  // Deletions (rows are compacted) and a node removal that requeues its tasks.
  state.transaction(() => {
    for (let k = 0; k < Math.floor(size.tasks / 20); k++) {
      const i = Math.floor(rnd() * taskIds.length);
      state.removeTask(taskIds[i]!);
      taskIds.splice(i, 1);
    }
    for (let k = 0; k < Math.floor(size.content / 20); k++) {
      const i = Math.floor(rnd() * cids.length);
      state.removeContent(cids[i]!);
      cids.splice(i, 1);
    }
    const victim = nodeIds.findIndex((id, i) => i > 0 && state.getNode(id)!.role === 'worker');
    if (victim > 0) {
      state.removeNode(nodeIds[victim]!, { requeue: true });
      nodeIds.splice(victim, 1);
    }
  });
  return { state, nodeIds, taskIds, cids, clock };
}

/**
 * A single-row state table in exactly the seed's layout (no extension fields) built from plain
 * values, as another tool would write it — including values our writer refuses (duplicate
 * peers, memory_available above a zero memory_total, null structs). Numbers for int64 and
 * timestamp fields are given as numbers.
 */
export function seedTable(state: { cluster_id: string; master_id?: string | null; updated_at?: number; nodes?: unknown[]; tasks?: unknown[]; content?: unknown[] }): Table {
  const schema = stateSchema(true);
  const big = (v: unknown, type: DataType): unknown => {
    if (v === null || v === undefined) return null;
    if (DataType.isInt(type) && type.bitWidth === 64) return BigInt(v as number);
    if (DataType.isTimestamp(type)) return BigInt(v as number);
    if (DataType.isList(type)) return (v as unknown[]).map((x) => big(x, type.children[0]!.type));
    if (DataType.isStruct(type)) return Object.fromEntries(type.children.map((f: Field) => [f.name, big((v as Record<string, unknown>)[f.name], f.type)]));
    return v;
  };
  const row: Record<string, unknown> = {
    cluster_id: state.cluster_id, master_id: state.master_id ?? null, updated_at: state.updated_at ?? 1_700_000_000_000,
    nodes: state.nodes ?? [], tasks: state.tasks ?? [], content: state.content ?? [],
  };
  const children = schema.fields.map((f) => {
    const b = makeBuilder({ type: f.type, nullValues: [null, undefined] });
    b.append(big(row[f.name], f.type) as never);
    return b.finish().flush();
  });
  return new Table(schema, [new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 1, nullCount: 0, children }))]);
}
