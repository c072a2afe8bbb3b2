// Importing a Parquet file another tool wrote (the seed's single-row layout): every row is checked
// with the rules mutations apply. A row no mutation could have written — an id holding ESC, a
// newline or NUL, JSON text that does not parse, a time past the Date range — is CORRUPT naming
// the row, the field and the value (never a raw SyntaxError, never imported to be stuck forever).
// The helpers reading such a file directly say CORRUPT for JSON that does not parse.
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataType, Field, makeBuilder, makeData, RecordBatch, Schema, Struct, Table, TimestampMicrosecond, TimestampSecond, TimeUnit, type Field as F,
} from 'apache-arrow';
import { ClusterState, StateError, stateSchema } from '../../src/index.js';
import * as H from '../../src/helpers/index.js';
import { writeStateParquet } from '../helpers/support.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'acs-import-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A single-row state table with our full schema (extensions included), or `schema`, built from plain values. */
function stateTable(row: Record<string, unknown>, schema: Schema = stateSchema(false)): Table {
  const conv = (v: unknown, type: DataType): unknown => {
    if (v === null || v === undefined) return null;
    if (DataType.isInt(type) && type.bitWidth === 64) return BigInt(v as number);
    if (DataType.isTimestamp(type)) return type.unit === TimeUnit.MILLISECOND ? BigInt(v as number) : v; // other units: the builder takes epoch ms
    if (DataType.isList(type)) return (v as unknown[]).map((x) => conv(x, type.children[0]!.type));
    if (DataType.isStruct(type)) return Object.fromEntries(type.children.map((f: F) => [f.name, conv((v as Record<string, unknown>)[f.name], f.type)]));
    return v;
  };
  const full = { master_id: null, updated_at: 1_700_000_000_000, nodes: [], tasks: [], content: [], ...row };
  const children = schema.fields.map((f) => {
    const b = makeBuilder({ type: f.type, nullValues: [null, undefined] });
    b.append(conv((full as Record<string, unknown>)[f.name], f.type) as never);
    return b.finish().flush();
  });
  return new Table(schema, [new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 1, nullCount: 0, children }))]);
}

const node = (id: string, extra: Record<string, unknown> = {}) => ({ id, role: 'worker', status: 'online', peers: [], capabilities: [], resources: null, ...extra });
const task = (id: string, extra: Record<string, unknown> = {}) => ({
  id, type: 'process', status: 'pending', created_at: 1_700_000_000_000, updated_at: 1_700_000_000_000, assigned_to: null, resources: null,
  input_cid: null, output_cid: null, input_cids: [], output_cids: [], priority: 0, payload: null, result: null, error: null,
  started_at: null, completed_at: null, attempts: 0, ...extra,
});
const item = (cid: string, extra: Record<string, unknown> = {}) => ({ cid, size: 1, created_at: 1_700_000_000_000, providers: [], pinned: false, replication: 1, ...extra });

const BAD_ROWS: { name: string; row: Record<string, unknown>; message: string[] }[] = [
  { name: 'a task payload that is not JSON', row: { tasks: [task('t0'), task('t1', { payload: '{"oops": ' })] }, message: ['tasks row 1', 'column payload', 'not JSON', '"{\\"oops\\": "'] },
  { name: 'node metadata that is not JSON', row: { nodes: [node('n0', { metadata: 'zone=a' })] }, message: ['nodes row 0', 'column metadata', '"zone=a"'] },
  { name: 'a node id holding ESC', row: { nodes: [node('n0'), node('evil\u001b[2J')] }, message: ['nodes row 1', 'node.id', '"evil\\u001b[2J"', 'control characters'] },
  { name: 'a task id holding a newline', row: { tasks: [task('t\nx')] }, message: ['tasks row 0', 'task.id', '"t\\nx"'] },
  { name: 'a CID holding NUL', row: { content: [item('Qm\u0000')] }, message: ['content row 0', 'content.cid', '"Qm\\u0000"'] },
  { name: 'an id with trailing whitespace', row: { nodes: [node('n0 ')] }, message: ['node.id', '"n0 "'] },
  { name: 'an id over 512 characters', row: { tasks: [task('t'.repeat(600))] }, message: ['task.id', 'at most 512'] },
  { name: 'a peer holding ESC', row: { nodes: [node('n0', { peers: ['ok', 'p\u001b]0;x\u0007'] })] }, message: ['node.peers[1]', '"p\\u001b]0;x\\u0007"'] },
  { name: 'assigned_to holding a C1 control', row: { tasks: [task('t0', { assigned_to: 'n\u009b1' })] }, message: ['task.assigned_to', '"n\\u009b1"'] },
  { name: 'a task type holding NUL', row: { tasks: [task('t0', { type: 'pro\u0000cess' })] }, message: ['task.type', '"pro\\u0000cess"'] },
  { name: 'an unknown role', row: { nodes: [node('n0', { role: 'king' })] }, message: ['node.role', '"king"'] },
  { name: 'an unknown task status', row: { tasks: [task('t0', { status: 'done' })] }, message: ['task.status', '"done"'] },
  { name: 'a duplicate id', row: { content: [item('c0'), item('c0')] }, message: ['content row 1', 'duplicate cid "c0"'] },
  { name: 'a provider listed twice', row: { content: [item('c0', { providers: ['n1', 'n1'] })] }, message: ['content.providers[1]', '"n1"'] },
  { name: 'a node that is its own peer', row: { nodes: [node('n0', { peers: ['n0'] })] }, message: ['node.peers', '"n0"'] },
  { name: 'a time past the Date range', row: { content: [item('c0', { created_at: 9e15 })] }, message: ['content.created_at', 'got 9000000000000000'] },
  { name: 'a negative cpu_count', row: { nodes: [node('n0', { resources: { cpu_count: -4 } })] }, message: ['node.resources.cpu_count', 'got -4'] },
  { name: 'a cpu_load above 100 %', row: { nodes: [node('n0', { resources: { cpu_load: 250 } })] }, message: ['node.resources.cpu_load', 'got 250'] },
  { name: 'a negative size', row: { content: [item('c0', { size: -1 })] }, message: ['content.size', 'got -1'] },
  { name: 'NaN started_at', row: { tasks: [task('t0', { started_at: NaN })] }, message: ['task.started_at', 'got NaN'] },
  { name: 'a master_id holding ESC', row: { master_id: 'm\u001b', nodes: [node('n0')] }, message: ['cluster fields', 'master_id', '"m\\u001b"'] },
];

for (const c of BAD_ROWS) {
  test(`opening a directory whose foreign Parquet file has ${c.name}: CORRUPT naming the row, the field and the value`, async (t) => {
    const dir = tempDir(t);
    writeStateParquet(stateTable({ cluster_id: 'foreign', ...c.row }), dir, 'foreign');
    const err = await t.throwsAsync(ClusterState.open({ statePath: dir, clusterId: 'foreign', parquet: false }));
    t.true(err instanceof StateError, `a StateError, not ${err?.name}: ${err?.message}`);
    t.is((err as StateError).code, 'CORRUPT', err?.message);
    for (const m of c.message) t.true(err!.message.includes(m), `${JSON.stringify(err!.message)} should include ${JSON.stringify(m)}`);
    t.false(/[\u0000-\u001f\u007f-\u009f]/.test(err!.message), 'the message holds no raw control character');
    t.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.arena')), [], 'nothing was imported');
  });
}

test('a foreign file with valid rows imports; ids that mutations accept can be changed afterwards', async (t) => {
  const dir = tempDir(t);
  writeStateParquet(stateTable({
    cluster_id: 'foreign', master_id: 'm0',
    nodes: [node('m0', { role: 'master' }), node('w0', { resources: { cpu_count: 4, memory_total: 2 ** 33, memory_available: 2 ** 32, gpu_count: 0, gpu_available: true } })],
    tasks: [task('t0', { payload: '{"a":[1,2]}', assigned_to: '' /* the original's "none" */ })],
    content: [item('c0', { providers: ['w0'] })],
  }), dir, 'foreign');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'foreign', parquet: false });
  t.is(s.masterId, 'm0');
  t.deepEqual(s.getTask('t0')!.payload, { a: [1, 2] });
  t.is(s.getTask('t0')!.assigned_to, '');
  // Reported figures another tool wrote are kept (not the mutations' cross-field rules).
  t.is(s.getNode('w0')!.resources.gpu_available, true);
  s.assignTask('t0', 'w0');
  s.removeContent('c0');
  s.removeNode('w0', { requeue: true });
  t.is(s.getTask('t0')!.status, 'pending');
  await s.close();
});

test('timestamps in seconds or microseconds are imported as epoch ms', async (t) => {
  const dir = tempDir(t);
  const base = stateSchema(false);
  // updated_at in seconds; every task timestamp in microseconds (as pyarrow writes datetime64[us]).
  const retype = (f: Field, type: DataType) => new Field(f.name, type, true);
  const taskStruct = (base.fields[4]!.type.children[0]!.type as Struct).children.map((f) => (DataType.isTimestamp(f.type) ? retype(f, new TimestampMicrosecond()) : f));
  const schema = new Schema([
    base.fields[0]!, base.fields[1]!, retype(base.fields[2]!, new TimestampSecond()), base.fields[3]!,
    new Field('tasks', new (base.fields[4]!.type.constructor as new (f: Field) => DataType)(new Field('item', new Struct(taskStruct), true)), true),
    base.fields[5]!,
  ]);
  // (Arrow JS builders take epoch ms for every unit and scale them.)
  writeStateParquet(stateTable({ cluster_id: 'units', updated_at: 1_700_000_123_000, tasks: [task('t0', { created_at: 1_700_000_000_456, updated_at: 1_700_000_001_789 })] }, schema), dir, 'units');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'units', parquet: false });
  t.is(s.updatedAt, 1_700_000_123_000);
  t.is(s.getTask('t0')!.created_at, 1_700_000_000_456);
  t.is(s.getTask('t0')!.updated_at, 1_700_000_001_789);
  await s.close();
});

test('the helpers reading a foreign file whose JSON does not parse: CORRUPT naming the column, not a SyntaxError', (t) => {
  const dir = tempDir(t);
  const file = writeStateParquet(stateTable({ cluster_id: 'foreign', tasks: [task('t0', { result: 'not json' })] }), dir, 'foreign');
  for (const read of [() => H.getTaskById(file, 't0'), () => H.getAllTasks(file), () => H.getClusterStateAsDict(file)]) {
    const err = t.throws(read);
    t.true(err instanceof StateError, `${err?.name}: ${err?.message}`);
    t.is((err as StateError).code, 'CORRUPT');
    t.regex(err!.message, /column result holds text that is not JSON, "not json"/);
  }
  // Helpers that do not read the JSON column still answer.
  t.is(H.getClusterMetadata(file).task_count, 1);
});
