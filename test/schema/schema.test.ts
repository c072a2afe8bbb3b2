// The Arrow schemas: the seed layout field by field, millisecond timestamps, extensions appended, flat tables dictionary-coded.
import test from 'ava';
import { DataType, Field, Schema } from 'apache-arrow';
import { flatSchema, SCHEMA_VERSION, stateSchema } from '../../src/index.js';

// The seed's schema (the seed layout, docs/writer.md), written out independently of src/.
const SEED: [string, string][] = [
  ['cluster_id', 'Utf8'],
  ['master_id', 'Utf8'],
  ['updated_at', 'Timestamp<MILLISECOND>'],
  ['nodes', 'List<Struct<{id:Utf8, role:Utf8, status:Utf8, peers:List<Utf8>, capabilities:List<Utf8>, resources:Struct<{cpu_count:Int32, cpu_load:Float32, gpu_count:Int32, gpu_available:Bool, memory_total:Int64, memory_available:Int64, disk_total:Int64, disk_available:Int64}>}>>'],
  ['tasks', 'List<Struct<{id:Utf8, type:Utf8, status:Utf8, created_at:Timestamp<MILLISECOND>, updated_at:Timestamp<MILLISECOND>, assigned_to:Utf8, resources:Struct<{cpu_cores:Int32, gpu_cores:Int32, memory_mb:Int32}>, input_cid:Utf8, output_cid:Utf8, input_cids:List<Utf8>, output_cids:List<Utf8>}>>'],
  ['content', 'List<Struct<{cid:Utf8, size:Int64, created_at:Timestamp<MILLISECOND>, providers:List<Utf8>, pinned:Bool, replication:Int32}>>'],
];

const EXTENSIONS: Record<string, [string, string][]> = {
  nodes: [['last_seen', 'Timestamp<MILLISECOND>'], ['address', 'Utf8'], ['metadata', 'Utf8']],
  tasks: [['priority', 'Int32'], ['payload', 'Utf8'], ['result', 'Utf8'], ['error', 'Utf8'], ['started_at', 'Float64'], ['completed_at', 'Float64'], ['attempts', 'Int32']],
  content: [['pinned_at', 'Timestamp<MILLISECOND>']],
};

function walk(f: Field, out: string[], path = f.name): void {
  out.push(`${path}:${String(f.type)}:${f.nullable}`);
  for (const c of (f.type as DataType).children ?? []) walk(c, out, `${path}.${c.name}`);
}

test('the seed-only schema equals the seed field by field (names, order, types, nullability)', (t) => {
  const s: Schema = stateSchema(true);
  t.deepEqual(s.fields.map((f) => f.name), SEED.map(([n]) => n));
  s.fields.forEach((f, i) => {
    t.is(String(f.type), SEED[i]![1], `type of ${f.name}`);
    t.true(f.nullable, `${f.name} is nullable`);
  });
  const leaves: string[] = [];
  for (const f of s.fields) walk(f, leaves);
  t.true(leaves.every((l) => l.endsWith(':true')), 'every field at every depth is nullable');
});

test('timestamps are millisecond timestamps without a time zone', (t) => {
  const s = stateSchema();
  const ts = s.fields[2]!.type as unknown as { unit: number; timezone: string | null };
  t.is(ts.unit, 1); // TimeUnit.MILLISECOND
  t.falsy(ts.timezone);
});

test('extension fields are appended at the end of each struct, after the seed fields', (t) => {
  const full = stateSchema(false);
  const seed = stateSchema(true);
  for (const [i, kind] of ['nodes', 'tasks', 'content'].entries()) {
    const fullStruct = (full.fields[3 + i]!.type as DataType).children[0]!.type as DataType;
    const seedStruct = (seed.fields[3 + i]!.type as DataType).children[0]!.type as DataType;
    const names = fullStruct.children.map((c) => c.name);
    const seedNames = seedStruct.children.map((c) => c.name);
    t.deepEqual(names.slice(0, seedNames.length), seedNames, `${kind}: seed fields first, unchanged`);
    t.deepEqual(
      fullStruct.children.slice(seedNames.length).map((c) => [c.name, String(c.type)]),
      EXTENSIONS[kind],
      `${kind}: extensions`,
    );
    seedStruct.children.forEach((c, k) => t.is(String(fullStruct.children[k]!.type), String(c.type), `${kind}.${c.name} not retyped`));
  }
});

test('flat entity schemas hold the same fields with role/status/type dictionary-coded', (t) => {
  const nodes = flatSchema('nodes');
  t.is(String(nodes.fields[1]!.type), 'Dictionary<Int8, Utf8>');
  t.is(String(nodes.fields[2]!.type), 'Dictionary<Int8, Utf8>');
  const tasks = flatSchema('tasks');
  t.is(String(tasks.fields[1]!.type), 'Dictionary<Int32, Utf8>');
  t.is(String(tasks.fields[2]!.type), 'Dictionary<Int8, Utf8>');
  const seedNodes = (stateSchema().fields[3]!.type as DataType).children[0]!.type as DataType;
  t.deepEqual(nodes.fields.map((f) => f.name), seedNodes.children.map((c) => c.name));
  t.is(SCHEMA_VERSION, 1);
});
