// State sources: the same state asked through the writer, its snapshot, a worker snapshot, a
// real worker thread (state.query), the single-row table and Parquet paths gives identical
// answers; paths are cached per file version; the directory-reader hook; zero-copy conversion;
// and the errors of bad sources.
import { readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import {
  Field, Int16, Int64, LargeList, LargeUtf8, List, makeBuilder, makeData, Null, RecordBatch, Schema, Struct, Table, tableFromIPC,
  TimestampMicrosecond, Utf8, type DataType,
} from 'apache-arrow';
import { ClusterState, StateError, stateSchema, type Snapshot } from '../../src/index.js';
import * as H from '../../src/helpers/index.js';
import { attachState } from '../../src/worker.js';
import { cases, run } from './cases.js';
import { rowModel, rowsOf } from './row-model.js';
import { fillRandom, parquetBytes, randomClock, randomState, tempDir, tickingClock, writeStateParquet } from './support.js';

const code = (t: { throws: (fn: () => unknown) => unknown }, fn: () => unknown): string | undefined => {
  const e = (t.throws as (fn: () => unknown, exp: object) => StateError | undefined)(fn, { instanceOf: StateError });
  return e?.code;
};

/** A Snapshot over three flat tables (to read tables a helper returned). */
const snapOf = (x: { nodes: Table; tasks: Table; content: Table }, clusterId: string, masterId: string | null, updatedAt: number): Snapshot =>
  ({ revision: 0, clusterId, masterId, updatedAt, ...x, source: 'table', release: () => undefined });

test('every helper answers identically from the writer, its snapshot, a worker snapshot, the state table, Parquet paths and a worker thread', async (t) => {
  const rs = randomState(11, { nodes: 60, tasks: 700, content: 250 });
  const s = rs.state;
  await s.published();
  const reader = attachState(s.shared());
  try {
    const dir = tempDir(t);
    const file = writeStateParquet(s.getState(), dir, s.clusterId);
    writeFileSync(join(dir, 'state_metadata.json'), JSON.stringify({ cluster_id: s.clusterId, parquet_path: basename(file) }));
    const sources: [string, unknown][] = [
      ['writer snapshot', s.snapshot()],
      ['worker snapshot (in-thread)', reader.snapshot()],
      ['worker reader', reader],
      ['single-row table', s.getState()],
      ['Parquet file', file],
      ['file: URL', pathToFileURL(file)],
      ['state directory', dir],
      ['state_metadata.json', join(dir, 'state_metadata.json')],
    ];
    t.is(reader.snapshot().source, 'worker');
    const all = cases(rs, 11);
    for (const c of all) {
      const expected = run(c, s);
      for (const [label, src] of sources) t.deepEqual(run(c, src), expected, `${label}: ${c.label}`);
      t.deepEqual(await s.query(c.helper, ...c.args), expected, `worker thread: ${c.label}`);
    }

    // Helpers returning tables: same state read back, whatever the source.
    const dict = H.getClusterStateAsDict(s);
    t.deepEqual(dict, rowModel.getClusterStateAsDict(rowsOf(s)));
    for (const [label, src] of [['writer', s], ...sources] as [string, unknown][]) {
      t.deepEqual(H.getClusterStateAsDict(H.getClusterState(src as H.StateSource)), dict, `getClusterState: ${label}`);
      t.deepEqual(H.getClusterStateAsDict(snapOf(H.getClusterStateAsTables(src as H.StateSource), s.clusterId, s.masterId, s.updatedAt)), dict, `getClusterStateAsTables: ${label}`);
    }
    t.deepEqual(H.getClusterStateAsDict(tableFromIPC(await s.query('getClusterState') as Uint8Array)), dict, 'getClusterState: worker thread (IPC bytes)');
    const ipc = await s.query('getClusterStateAsTables') as Record<'nodes' | 'tasks' | 'content', Uint8Array>;
    const fromIpc = { nodes: tableFromIPC(ipc.nodes), tasks: tableFromIPC(ipc.tasks), content: tableFromIPC(ipc.content) };
    t.deepEqual(H.getClusterStateAsDict(snapOf(fromIpc, s.clusterId, s.masterId, s.updatedAt)), dict, 'getClusterStateAsTables: worker thread (IPC bytes)');

    // The export is byte-identical from every source, and from the worker thread.
    const outDir = tempDir(t);
    const written = [['writer', s] as [string, unknown], ...sources].map(([label, src], k) => {
      const out = join(outDir, `e${k}.json`);
      t.true(H.exportStateToJson(src as H.StateSource, out), label);
      return readFileSync(out, 'utf8');
    });
    t.true(await s.query('exportStateToJson', join(outDir, 'worker.json')) as boolean);
    written.push(readFileSync(join(outDir, 'worker.json'), 'utf8'));
    for (const w of written) t.is(w, written[0]);
  } finally {
    reader.close();
    await s.close();
  }
});

test('the helpers that read no state also run in the pool; unknown queries and bad arguments come back as StateErrors', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'pool', clock: tickingClock(), queryThreads: 1 });
  try {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'state_metadata.json'), JSON.stringify({ cluster_id: 'pool' }));
    t.is(await s.query('getStatePathFromMetadata', dir, { standardLocations: false }), dir);
    t.is(((await s.query('connectToStateStore', dir)) as H.StateStoreInfo).metadata!.cluster_id, 'pool');
    const e = await t.throwsAsync(s.query('findNodesByRole', 42), { instanceOf: StateError });
    t.is(e!.code, 'INVALID_ARGUMENT');
    const e2 = await t.throwsAsync(s.query('findAvailableNodeForTask', { cpu: -1 }), { instanceOf: StateError });
    t.is(e2!.code, 'INVALID_ARGUMENT');
    t.is(await s.query('getNodeById', 'missing'), null);
  } finally {
    await s.close();
  }
});

test('a Parquet path is read once per file version: repeated calls reuse it, a replaced file is read again', async (t) => {
  const a = ClusterState.inMemory({ clusterId: 'cache', clock: tickingClock() });
  a.registerNode({ id: 'w1', role: 'worker' });
  const dir = tempDir(t);
  const file = writeStateParquet(a.getState(), dir, 'cache');
  const first = H.snapshotOf(file);
  t.is(H.snapshotOf(file), first, 'unchanged file: the same snapshot');
  t.is(H.snapshotOf(dir), first, 'the directory resolves to the same file');
  t.is(H.getClusterMetadata(file).node_count, 1);
  a.registerNode({ id: 'w2', role: 'worker' });
  writeFileSync(join(dir, 'next.tmp'), parquetBytes(a.getState()));
  renameSync(join(dir, 'next.tmp'), file); // atomic replace, as the writer does
  t.not(H.snapshotOf(file), first);
  t.is(H.getClusterMetadata(file).node_count, 2);
  t.deepEqual(H.getAllNodes(dir).map((n) => n.id), ['w1', 'w2']);
  H.clearSourceCache();
  t.not(H.snapshotOf(file), first);
  await a.close();
});

test('a directory without metadata uses its newest state_*.parquet; metadata parquet_path may be absolute', async (t) => {
  const dir = tempDir(t);
  const mk = (id: string, nodes: number) => {
    const s = ClusterState.inMemory({ clusterId: id, clock: tickingClock() });
    for (let i = 0; i < nodes; i++) s.registerNode({ id: `n${i}`, role: 'worker' });
    return writeStateParquet(s.getState(), dir, id);
  };
  const older = mk('old', 1);
  const newer = mk('new', 2);
  utimesSync(older, new Date(2_000_000_000_000), new Date(2_000_000_000_000));
  utimesSync(newer, new Date(1_000_000_000_000), new Date(1_000_000_000_000));
  t.is(H.getClusterMetadata(dir).cluster_id, 'old', 'newest by modification time');
  writeFileSync(join(dir, 'state_metadata.json'), JSON.stringify({ parquet_path: newer }));
  t.is(H.getClusterMetadata(dir).cluster_id, 'new', 'metadata parquet_path (absolute) wins');
  t.deepEqual(H.connectToStateStore(dir), { statePath: dir, metadata: { parquet_path: newer }, parquetPath: newer });
});

test('the directory-reader hook is asked first, released after each call, and falls back to Parquet on null', (t) => {
  const s = ClusterState.inMemory({ clusterId: 'hook', clock: tickingClock() });
  s.registerNode({ id: 'from-hook', role: 'master' });
  const dir = tempDir(t);
  const other = ClusterState.inMemory({ clusterId: 'parquet', clock: tickingClock() });
  other.registerNode({ id: 'from-parquet', role: 'worker' });
  writeStateParquet(other.getState(), dir, 'parquet');
  let asked: string[] = [];
  let released = 0;
  let answer = true;
  const installed = H.directoryReader; // the persistence layer's arena reader, if loaded
  H.setDirectoryReader((d) => {
    asked.push(d);
    if (!answer) return null;
    const snap = s.snapshot();
    return { ...snap, release: () => void released++ };
  });
  try {
    t.deepEqual(H.getAllNodes(dir).map((n) => n.id), ['from-hook']);
    t.deepEqual(asked, [dir]);
    t.is(released, 1);
    t.is(H.getClusterStatusSummary(dir).cluster_id, 'hook');
    t.is(released, 2, 'one snapshot per call, released when the call is done');
    t.deepEqual(H.getClusterStateAsDict(H.getClusterState(dir)).nodes.map((n) => n.id), ['from-hook']);
    answer = false;
    asked = [];
    t.deepEqual(H.getAllNodes(dir).map((n) => n.id), ['from-parquet']);
    t.deepEqual(asked, [dir], 'asked, then Parquet');
    t.deepEqual(H.getAllNodes(join(dir, 'state_parquet.parquet')).map((n) => n.id), ['from-parquet'], 'a file path never asks the hook');
    t.is(asked.length, 1);
    t.is(code(t, () => H.setDirectoryReader(42 as never)), 'INVALID_ARGUMENT');
    H.setDirectoryReader(null);
    t.is(H.directoryReader, null);
    t.deepEqual(H.getAllNodes(dir).map((n) => n.id), ['from-parquet'], 'no reader: Parquet');
  } finally {
    H.setDirectoryReader(installed);
  }
  t.is(H.directoryReader, installed);
});

test('a durable state directory (ClusterState.open) answers like its writer: through the arena reader, and from its Parquet mirror', async (t) => {
  const dir = tempDir(t);
  const clock = randomClock(41);
  const s = await ClusterState.open({ statePath: dir, clusterId: 'durable', clock: clock.fn, queryThreads: 1 });
  try {
    const rs = fillRandom(s, 41, { nodes: 50, tasks: 400, content: 150 }, clock);
    await s.flush();
    await s.exportParquet();
    t.is(typeof H.directoryReader, 'function', 'the persistence layer installs its reader when the package is loaded');
    const parquet = H.connectToStateStore(dir)!.parquetPath!;
    t.truthy(parquet);
    t.is(H.snapshotOf(dir).revision, s.revision, 'the directory is read from the arena file (a Parquet snapshot has no revision: -1)');
    t.is(H.snapshotOf(parquet).revision, -1);
    for (const c of cases(rs, 41)) {
      const expected = run(c, s);
      t.deepEqual(run(c, dir), expected, `state directory: ${c.label}`);
      t.deepEqual(run(c, parquet), expected, `Parquet mirror: ${c.label}`);
    }
  } finally {
    await s.close();
  }
});

test('the state table is converted without copying: flat columns are views on its buffers', (t) => {
  const rs = randomState(21, { nodes: 30, tasks: 50, content: 20 });
  const table = rs.state.getState();
  const snap = H.snapshotOf(table);
  t.is(H.snapshotOf(table), snap, 'cached per table');
  const listChild = (k: number) => table.data[0]!.children[k]!.children[0]!;
  for (const [k, kind] of [[3, 'nodes'], [4, 'tasks'], [5, 'content']] as const) {
    const src = listChild(k);
    const flat = snap[kind].data[0]!;
    src.children.forEach((c, j) => {
      const f = flat.children[j]!;
      const buf = (d: typeof c) => (d.values ?? d.valueOffsets ?? d.children[0]?.values)?.buffer;
      if (buf(c)) t.is(buf(f), buf(c), `${kind}.${String(snap[kind].schema.fields[j]!.name)} shares its buffer`);
    });
  }
  void rs.state.close();
});

test('a state table whose lists start mid-way (and mid-byte) reads the right rows', (t) => {
  const rs = randomState(22, { nodes: 40, tasks: 120, content: 60 });
  const rows = rowsOf(rs.state);
  const st = rs.state.getState();
  const b = st.data[0]!;
  // nodes list covering child rows 5..27 and tasks 3..80: offsets not at 0, bitmaps not byte-aligned.
  const relist = (k: number, from: number, to: number) => makeData({ type: b.children[k]!.type, length: 1, nullCount: 0, valueOffsets: new Int32Array([from, to]), child: b.children[k]!.children[0]! } as never);
  const children = [...b.children];
  children[3] = relist(3, 5, 27);
  children[4] = relist(4, 3, 80);
  const table = new Table(st.schema, [new RecordBatch(st.schema, makeData({ type: new Struct(st.schema.fields), length: 1, nullCount: 0, children }))]);
  const sub = { ...rows, nodes: rows.nodes.slice(5, 27), tasks: rows.tasks.slice(3, 80) };
  t.deepEqual(H.getAllNodes(table), sub.nodes);
  t.deepEqual(H.getAllTasks(table), sub.tasks);
  t.deepEqual(H.findNodesWithGpu(table), rowModel.findNodesWithGpu(sub));
  t.deepEqual(H.getClusterStatusSummary(table), rowModel.getClusterStatusSummary(sub));
  t.deepEqual(H.getNetworkTopology(table), rowModel.getNetworkTopology(sub));
  t.deepEqual(H.findTasksByResourceRequirements(table, { cpu_cores: 1 }), rowModel.findTasksByResourceRequirements(sub, { cpu_cores: 1 }));
  t.deepEqual(H.getTaskExecutionMetrics(table), rowModel.getTaskExecutionMetrics(sub));
  void rs.state.close();
});

test('foreign layouts: 64-bit offsets, fields in another order, missing extension fields, list<null> for an empty list', (t) => {
  // nodes: list<struct<role: utf8, id: large_utf8, peers: large_list<utf8>>> (no resources, no extensions)
  const ids = ['b', 'a', 'c'];
  const idBytes = new TextEncoder().encode(ids.join(''));
  const idData = makeData({ type: new LargeUtf8(), length: 3, nullCount: 0, valueOffsets: new BigInt64Array([0n, 1n, 2n, 3n]), data: idBytes });
  const roleData = makeData({ type: new Utf8(), length: 3, nullCount: 0, valueOffsets: new Int32Array([0, 6, 12, 19]), data: new TextEncoder().encode('workermasterleecher') });
  const peerValues = makeData({ type: new Utf8(), length: 2, nullCount: 0, valueOffsets: new Int32Array([0, 1, 2]), data: new TextEncoder().encode('ac') });
  const peers = makeData({ type: new LargeList(new Field('element', new Utf8(), true)), length: 3, nullCount: 0, valueOffsets: new BigInt64Array([0n, 2n, 2n, 2n]), child: peerValues });
  const nodeStruct = new Struct([new Field('role', new Utf8(), true), new Field('id', new LargeUtf8(), true), new Field('peers', peers.type, true)]);
  const nodes = makeData({ type: new List(new Field('element', nodeStruct, true)), length: 1, nullCount: 0, valueOffsets: new Int32Array([0, 3]), child: makeData({ type: nodeStruct, length: 3, nullCount: 0, children: [roleData, idData, peers] }) });
  // pyarrow infers list<null> for a column of empty lists.
  const nullList = () => makeData({ type: new List(new Field('element', new Null(), true)), length: 1, nullCount: 0, valueOffsets: new Int32Array([0, 0]), child: makeData({ type: new Null(), length: 0 }) });
  const cluster = makeData({ type: new Utf8(), length: 1, nullCount: 0, valueOffsets: new Int32Array([0, 1]), data: new TextEncoder().encode('f') });
  const fields = [new Field('cluster_id', new Utf8(), true), new Field('nodes', nodes.type, true), new Field('tasks', nullList().type, true), new Field('content', nullList().type, true)];
  const schema = new Schema(fields);
  const table = new Table(schema, [new RecordBatch(schema, makeData({ type: new Struct(fields), length: 1, nullCount: 0, children: [cluster, nodes, nullList(), nullList()] }))]);
  const all = H.getAllNodes(table);
  t.deepEqual(all.map((n) => [n.id, n.role, n.peers]), [['b', 'worker', ['a', 'c']], ['a', 'master', []], ['c', 'leecher', []]]);
  t.deepEqual(all[0]!.resources, { cpu_count: null, cpu_load: null, gpu_count: null, gpu_available: null, memory_total: null, memory_available: null, disk_total: null, disk_available: null });
  t.is(all[0]!.last_seen, null);
  t.deepEqual(H.getNetworkTopology(table).connections, [{ source: 'a', target: 'b' }, { source: 'b', target: 'c' }]);
  t.deepEqual(H.getClusterMetadata(table), { cluster_id: 'f', master_id: null, updated_at: null, node_count: 3, task_count: 0, content_count: 0 });
  t.is(H.findAvailableNodeForTask(table, {}), null, 'unknown resources never place');
  t.deepEqual(H.getClusterStatusSummary(table).resources, { cpu_cores: 0, gpu_cores: { total: 0, available: 0 }, memory_gb: { total: 0, available: 0 } });
});

test('bad sources: NOT_FOUND names the places searched, unreadable files are CORRUPT, bad arguments INVALID_ARGUMENT', (t) => {
  const missing = join(tempDir(t), 'nope');
  const e1 = t.throws(() => H.getAllNodes(missing), { instanceOf: StateError })!;
  t.is(e1.code, 'NOT_FOUND');
  t.true(e1.message.includes(missing));

  const empty = tempDir(t);
  const e2 = t.throws(() => H.getClusterMetadata(empty), { instanceOf: StateError })!;
  t.is(e2.code, 'NOT_FOUND');
  t.true(e2.message.includes('state_metadata.json (absent)') && e2.message.includes('state_*.parquet (none)'), e2.message);

  const dangling = tempDir(t);
  writeFileSync(join(dangling, 'state_metadata.json'), JSON.stringify({ parquet_path: 'state_gone.parquet' }));
  const e3 = t.throws(() => H.getClusterMetadata(dangling), { instanceOf: StateError })!;
  t.is(e3.code, 'NOT_FOUND');
  t.true(e3.message.includes(join(dangling, 'state_gone.parquet')), e3.message);

  const garbage = tempDir(t);
  writeFileSync(join(garbage, 'state_x.parquet'), 'PAR1 this is not parquet at all PAR1');
  t.is(code(t, () => H.getAllNodes(garbage)), 'CORRUPT');
  writeFileSync(join(garbage, 'state_x.parquet'), '');
  t.is(code(t, () => H.getAllNodes(join(garbage, 'state_x.parquet'))), 'CORRUPT');

  const badMd = tempDir(t);
  writeFileSync(join(badMd, 'state_metadata.json'), '{ not json');
  t.is(code(t, () => H.getAllNodes(badMd)), 'CORRUPT');
  t.is(code(t, () => H.connectToStateStore(badMd)), 'CORRUPT');
  writeFileSync(join(badMd, 'state_metadata.json'), '[1, 2]');
  t.is(code(t, () => H.getAllNodes(badMd)), 'CORRUPT');

  // A Parquet file that is not a cluster state.
  const s = ClusterState.inMemory({ clusterId: 'x', clock: tickingClock() });
  s.registerNode({ id: 'n', role: 'worker' });
  const notState = join(tempDir(t), 'flat.parquet');
  writeFileSync(notState, parquetBytes(s.getTables().nodes));
  const e4 = t.throws(() => H.getAllNodes(notState), { instanceOf: StateError })!;
  t.is(e4.code, 'CORRUPT');
  t.true(e4.message.includes('"nodes"'), e4.message);

  for (const bad of [42, {}, null, undefined, '', [], new URL('http://example.com/x')]) t.is(code(t, () => H.getAllNodes(bad as never)), 'INVALID_ARGUMENT', String(bad));
  t.is(code(t, () => H.getAllNodes(s.getTables().nodes)), 'INVALID_ARGUMENT', 'a flat table is not a state table');
  const two = s.getState().concat(s.getState());
  t.is(code(t, () => H.getAllNodes(two)), 'INVALID_ARGUMENT', 'two rows are not the single-row layout');
  t.is(code(t, () => H.getAllNodes({ snapshot: () => 42 } as never)), 'INVALID_ARGUMENT');
  void s.close();
});

test('an empty state: a 0-row table (the Python original before its first node) and a fresh writer', async (t) => {
  const zero = new Table(stateSchema());
  t.is(zero.numRows, 0);
  t.deepEqual(H.getAllNodes(zero), []);
  t.deepEqual(H.getClusterMetadata(zero), { cluster_id: '', master_id: null, updated_at: null, node_count: 0, task_count: 0, content_count: 0 });
  const s = ClusterState.inMemory({ clusterId: 'empty', clock: () => 1_700_000_000_000 });
  for (const src of [s, s.getState(), zero]) {
    t.deepEqual(H.findOrphanedContent(src), []);
    t.deepEqual(H.getNetworkTopology(src), { nodes: [], connections: [] });
    t.deepEqual(H.getContentAvailabilityMap(src), {});
    t.is(H.findAvailableNodeForTask(src, { cpu: 1 }), null);
    t.deepEqual(H.getTaskExecutionMetrics(src), {
      total_tasks: 0, completed_tasks: 0, failed_tasks: 0, pending_tasks: 0, running_tasks: 0, completion_rate: 0, average_execution_time: 0, task_types: {},
    });
  }
  await s.close();
});

test('foreign column types: timestamps in µs are converted, null-typed columns read as null, a text cpu_count is CORRUPT', (t) => {
  const nodeT = new Struct([
    new Field('id', new Utf8(), true),
    new Field('role', new Utf8(), true),
    new Field('status', new Null(), true), // pyarrow's type for a column of None
    new Field('last_seen', new TimestampMicrosecond(), true),
    new Field('resources', new Struct([new Field('cpu_count', new Int16(), true), new Field('memory_total', new Int64(), true)]), true),
  ]);
  const build = (type: DataType, value: unknown) => {
    const b = makeBuilder({ type, nullValues: [null] });
    b.append(value as never);
    return b.finish().flush();
  };
  const fields = [
    new Field('cluster_id', new Utf8(), true), new Field('updated_at', new TimestampMicrosecond(), true),
    new Field('nodes', new List(new Field('element', nodeT, true)), true),
    new Field('tasks', new List(new Field('element', new Null(), true)), true),
    new Field('content', new List(new Field('element', new Null(), true)), true),
  ];
  const children = [
    build(fields[0]!.type, 'us'), build(fields[1]!.type, 1_700_000_000_123.456) /* builders take epoch ms */,
    build(fields[2]!.type, [{ id: 'n1', role: 'worker', status: null, last_seen: 1_700_000_000_999.999, resources: { cpu_count: 6, memory_total: 2n ** 33n } }]),
    build(fields[3]!.type, []), build(fields[4]!.type, []),
  ];
  const schema = new Schema(fields);
  const table = new Table(schema, [new RecordBatch(schema, makeData({ type: new Struct(fields), length: 1, nullCount: 0, children }))]);
  t.is(H.getClusterMetadata(table).updated_at, 1_700_000_000_123);
  const [n] = H.getAllNodes(table);
  t.is(n!.last_seen, 1_700_000_000_999);
  t.is(n!.status as unknown, null);
  t.is(n!.resources.cpu_count, 6, 'int16 reads as a number');
  t.is(n!.resources.memory_total, 2 ** 33);
  t.is(H.getClusterStatusSummary(table).resources.cpu_cores, 6);

  const badT = new Struct([new Field('id', new Utf8(), true), new Field('resources', new Struct([new Field('cpu_count', new Utf8(), true)]), true)]);
  const badFields = [new Field('cluster_id', new Utf8(), true), new Field('nodes', new List(new Field('element', badT, true)), true), fields[3]!, fields[4]!];
  const badSchema = new Schema(badFields);
  const bad = new Table(badSchema, [new RecordBatch(badSchema, makeData({
    type: new Struct(badFields), length: 1, nullCount: 0,
    children: [build(badFields[0]!.type, 'bad'), build(badFields[1]!.type, [{ id: 'n', resources: { cpu_count: 'eight' } }]), children[3]!, children[4]!],
  }))]);
  const e = t.throws(() => H.getAllNodes(bad), { instanceOf: StateError })!;
  t.is(e.code, 'CORRUPT');
  t.true(e.message.includes('"resources.cpu_count"') && e.message.includes('Utf8'), e.message);
  t.is(code(t, () => H.getClusterStatusSummary(bad)), 'CORRUPT');
  t.deepEqual(H.findNodesByRole(bad, 'worker'), [], 'columns that are fine still answer');
});
