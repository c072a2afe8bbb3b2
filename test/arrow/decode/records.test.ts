// The per-batch record readers (src/arrow/decode/records.ts batchReader) and the string decoding
// under them (str-chunk.ts: short ASCII strings made in JS, long ones by Latin-1, others UTF-8):
// records equal the row reader's (row-reader.ts, TextDecoder and JSON.parse) on our own tables,
// and the column accessors' on foreign ones (plain utf8, missing columns, float32, timestamps in
// s and ns, int64, struct nulls, null list items, sliced batches); small JSON read from the bytes
// equals JSON.parse (or is left to it); lookups return fresh objects.
import test from 'ava';
import {
  Bool, Dictionary, Field, Float32, Float64, Int32, Int64, Int8, List, makeData, makeVector, RecordBatch, Schema, Struct, Table, TimestampNanosecond,
  TimestampSecond, Utf8, vectorFromArray, type Data,
} from 'apache-arrow';
import { readRecord, tableView } from '../../../src/arrow/decode/table-view.js';
import { smallJson } from '../../../src/arrow/decode/records.js';
import { StrChunk } from '../../../src/arrow/decode/str-chunk.js';
import { ENTITIES, type EntityKind } from '../../../src/schema/entities.js';
import type { ColumnSpec, LeafSpec } from '../../../src/schema/columns.js';
import { ClusterState, isStateError } from '../../../src/index.js';
import { randomState } from '../../helpers/support.js';
import { Rng } from '../../fixtures/rng.js';

const encoder = new TextEncoder();

/** Strings of every length around the JS/native boundaries, ASCII and not. */
function strings(r: Rng): string[] {
  const out = ['', 'a', 'é', '😀', 'a😀', 'nœud-ü', '\u0000', '\u007f', '\u0080', 'tab\there', '中文'];
  for (let n = 0; n <= 80; n++) {
    out.push(Array.from({ length: n }, () => String.fromCharCode(32 + r.int(95))).join(''));
    out.push(Array.from({ length: n }, () => String.fromCharCode(r.int(128))).join(''));
  }
  for (let n = 1; n <= 40; n++) out.push(`${'x'.repeat(n)}${r.pick(['é', '😀', 'ß', '\u07ff', '\uffff'])}${'y'.repeat(r.int(20))}`);
  return out;
}

test('StrChunk.get gives every string as written, in all-ASCII and mixed chunks, nulls and slices', (t) => {
  const r = new Rng(11);
  const all = strings(r);
  const ascii = all.filter((s) => /^[\x00-\x7f]*$/.test(s));
  for (const values of [ascii, all]) {
    const withNulls = values.map((s, i) => (i % 7 === 3 ? null : s));
    for (const col of [values, withNulls]) {
      const data = vectorFromArray(col, new Utf8()).data[0]!;
      const c = new StrChunk(data, null, data.length);
      t.is(c.ascii(), values === ascii);
      for (let i = 0; i < col.length; i++) t.is(c.get(i), col[i], `row ${i}`);
      const sliced = data.slice(5, 40) as Data;
      const s = new StrChunk(sliced, null, sliced.length);
      for (let i = 0; i < sliced.length; i++) t.is(s.get(i), col[i + 5], `sliced row ${i}`);
    }
  }
});

test('smallJson: the value JSON.parse gives, or left to JSON.parse', (t) => {
  const texts = [
    '{}', '{"a":1}', '{"shard":43}', '{"ok":true}', '{"ok":false,"x":null}', '{"a":-0}', '{"a":0}', '{"a":-12}', '{"a":123456789012345}',
    '{"a":1234567890123456}', '{"a":1.5}', '{"a":1e3}', '{"a":01}', '{"a":-}', '{"a":"}"}', '{"a":"x","b":"y z"}', '{"a":"é"}',
    '{"a":"\\n"}', '{"a":"\\u00e9"}', '{"a":[1]}', '{"a":{"b":1}}', '{"__proto__":1}', '{"_a":1}', '{"0":1,"b":2}', '{"b":1,"a":2}',
    '{"a":1,"a":2}', '{ "a":1}', '{"a" :1}', '{"a":1,}', '{"a":1}}', '{"a":tru}', '{"a":nul}', '{"a":fals}', '{"a":truex}', '[1]', '1',
    '"x"', 'null', '{', '}', '', '{"a"}', '{"a":}', '{"a1_B":"' + 'v'.repeat(60) + '"}', '{"zone":"zone-5","n":7,"f":false}',
  ];
  for (const text of texts) {
    // Inside a larger buffer, with bytes after the text that would complete it.
    const before = encoder.encode('xx');
    const body = encoder.encode(text);
    const after = encoder.encode('"}":1}');
    const b = new Uint8Array(before.length + body.length + after.length);
    b.set(before);
    b.set(body, before.length);
    b.set(after, before.length + body.length);
    const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    const v = smallJson(b, buf, before.length, before.length + body.length);
    if (typeof v === 'symbol') continue; // left to JSON.parse
    const expected = JSON.parse(text) as unknown;
    t.deepEqual(v, expected, text);
    t.deepEqual(Object.keys(v as object), Object.keys(expected as object), text);
    for (const k of Object.keys(expected as object)) t.true(Object.is((v as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k]), text);
    t.is(Object.getPrototypeOf(v), Object.prototype, text);
  }
  t.is(typeof smallJson(encoder.encode('{"a":1}'), Buffer.from('{"a":1}'), 0, 7), 'object');
});

/** A state with every oddity of randomState, plus JSON values small and not, and long and non-ASCII strings. */
function oddState(): ClusterState {
  const { state } = randomState(5, { nodes: 60, tasks: 9000, content: 300 });
  const payloads: unknown[] = [
    { a: 1 }, {}, { s: '}' }, { s: 'é' }, { s: 'quote"d' }, { n: 1.5 }, { n: -3 }, { big: 2 ** 60 }, { nested: [1, { x: 'é' }] }, [1, 2], 'text', 7, true,
    { ['__proto__']: 1 }, { _u: 1 }, { 0: 'z', b: 1 }, { long: 'v'.repeat(100) },
  ];
  state.transaction(() => {
    payloads.forEach((payload, k) => {
      const id = k % 3 === 0 ? `odd-é-${k}` : `odd-${'x'.repeat(k * 5)}-${k}`;
      state.addTask({ id, type: 'process', payload: payload as never, input_cids: ['é', 'x'.repeat(k * 4 + 1)], input_cid: k % 2 ? 'ß'.repeat(k * 9) : 'e\u0301' });
    });
  });
  return state;
}

test('records of our own tables equal the row reader\'s, for record, records, allRecords and lookup', (t) => {
  const state = oddState();
  const snap = state.snapshot();
  for (const kind of ['nodes', 'tasks', 'content'] as EntityKind[]) {
    const table = snap[kind];
    const v = tableView(table);
    const expected: Record<string, unknown>[] = [];
    table.data.forEach((d, b) => {
      for (let i = 0; i < d.length; i++) expected.push(readRecord(kind, table, b, i));
    });
    t.true(expected.length > 0);
    t.deepEqual(v.allRecords(kind), expected, kind);
    const rows = expected.map((_, g) => g).filter((g) => g % 3 !== 1).reverse();
    t.deepEqual(v.records(kind, rows), rows.map((g) => expected[g]), kind);
    const key = ENTITIES[kind].key;
    for (let g = 0; g < expected.length; g += 7) {
      t.deepEqual(v.record(kind, g), expected[g], `${kind} row ${g}`);
      const id = expected[g]![key] as string;
      const a = v.lookup(kind, id);
      const b = v.lookup(kind, id);
      t.deepEqual(a, expected[g], `${kind} lookup ${id}`);
      t.not(a, b, 'a fresh object per call');
      if (kind === 'tasks') t.not(a!.resources, b!.resources);
    }
    t.is(v.lookup(kind, 'no-such-key'), null);
  }
});

/** The record as the column accessors give it (StrChunk/NumChunk/ListChunk.get): the reference for foreign tables. */
function viaColumns(kind: EntityKind, table: Table, g: number): Record<string, unknown> {
  const v = tableView(table);
  const leaf = (spec: LeafSpec | ColumnSpec, path: string): unknown => {
    if (spec.kind === 'utf8' || spec.kind === 'dict') {
      const s = v.str(path).at(g);
      return spec.json && s !== null ? JSON.parse(s) : s;
    }
    if (spec.kind === 'list') return v.list(path).at(g);
    const x = v.num(path).at(g);
    if (x !== x) return null;
    return spec.kind === 'bool' ? x === 1 : x;
  };
  const out: Record<string, unknown> = {};
  for (const c of ENTITIES[kind].columns) {
    if (c.kind === 'struct') {
      const o: Record<string, unknown> = {};
      for (const k of c.children) o[k.name] = leaf(k, `${c.name}.${k.name}`);
      out[c.name] = o;
    } else out[c.name] = leaf(c, c.name);
  }
  return out;
}

/** Int64 data re-typed (a timestamp in another unit: apache-arrow's builders take ms). */
function asType(d: Data, type: TimestampSecond | TimestampNanosecond): Data {
  return makeData({ type, length: d.length, nullCount: d.nullCount, nullBitmap: d.nullBitmap, data: d.values as BigInt64Array }) as Data;
}

/** A foreign tasks table: plain utf8 ids and statuses, a dictionary type, timestamps in s and ns, float32, int64, struct nulls, null list items, missing columns. */
function foreignTasks(r: Rng, n: number): Table {
  const pool = strings(r);
  const ids = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? `t-é-${i}` : `t-${i}`));
  const statuses = Array.from({ length: n }, (_, i) => (i % 9 === 4 ? null : r.pick(['pending', 'running', 'completed'])));
  const types = makeVector({ data: Int8Array.from({ length: n }, (_, i) => i % 3), dictionary: vectorFromArray(['process', 'analyze', 'ü-type'], new Utf8()), type: new Dictionary(new Utf8(), new Int8()) });
  const resKids = [
    vectorFromArray(Array.from({ length: n }, (_, i) => (i % 4 === 0 ? null : i % 8)), new Int32()).data[0]!,
    vectorFromArray(Array.from({ length: n }, (_, i) => (i % 6 === 0 ? null : 256 * (i % 5))), new Int32()).data[0]!,
  ];
  const resType = new Struct([new Field('memory_mb', new Int32(), true), new Field('cpu_cores', new Int32(), true)]);
  const resNulls = new Uint8Array(Math.ceil(n / 8)).fill(0xff);
  for (let i = 0; i < n; i += 11) resNulls[i >> 3]! &= ~(1 << (i & 7));
  const resources = makeData({ type: resType, length: n, nullCount: Math.ceil(n / 11), nullBitmap: resNulls, children: resKids });
  const lists = Array.from({ length: n }, (_, i) => (i % 10 === 0 ? null : Array.from({ length: r.int(4) }, () => (r.chance(0.2) ? null : r.pick(pool)))));
  const payload = Array.from({ length: n }, (_, i) => (i % 6 === 0 ? null : JSON.stringify(r.pick([{ a: i }, { s: r.pick(pool) }, [i], { n: i / 3 }, 'x', { k: 'v', b: true }]))));
  const cols: Record<string, Data> = {
    id: vectorFromArray(ids, new Utf8()).data[0]!,
    status: vectorFromArray(statuses, new Utf8()).data[0]!,
    type: types.data[0]!,
    created_at: asType(vectorFromArray(Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : 1_700_000_000n + BigInt(i))), new Int64()).data[0]!, new TimestampSecond()),
    updated_at: asType(vectorFromArray(Array.from({ length: n }, (_, i) => 1_700_000_000_123_456_789n + BigInt(i) * 1_000_001n), new Int64()).data[0]!, new TimestampNanosecond()),
    resources,
    assigned_to: vectorFromArray(Array.from({ length: n }, () => (r.chance(0.3) ? null : r.pick(pool))), new Utf8()).data[0]!,
    input_cids: vectorFromArray(lists, new List(new Field('item', new Utf8(), true))).data[0]!,
    payload: vectorFromArray(payload, new Utf8()).data[0]!,
    priority: vectorFromArray(Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : i * 0.1)), new Float32()).data[0]!,
    attempts: vectorFromArray(Array.from({ length: n }, (_, i) => BigInt(i) * 3n), new Int64()).data[0]!,
    started_at: vectorFromArray(Array.from({ length: n }, (_, i) => (i % 2 ? NaN : i / 7)), new Float64()).data[0]!,
    completed_at: vectorFromArray(Array.from({ length: n }, (_, i) => (i % 2 ? null : i % 3 === 0)), new Bool()).data[0]!, // a bool read as a number
  };
  const schema = new Schema(Object.entries(cols).map(([name, d]) => new Field(name, d.type, true)));
  const struct = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: Object.values(cols) });
  const whole = new Table(schema, [new RecordBatch(schema, struct)]);
  // Several batches, some of them slices of one batch's data.
  const a = whole.slice(0, 100);
  const b = whole.slice(100, 157);
  const c = whole.slice(157);
  return new Table(schema, [...a.batches, ...b.batches, ...c.batches]);
}

test('records of foreign tables equal the column accessors\' values', (t) => {
  const table = foreignTasks(new Rng(3), 400);
  const v = tableView(table);
  t.true(table.batches.length >= 3);
  const all = v.allRecords('tasks');
  t.is(all.length, 400);
  for (let g = 0; g < 400; g++) {
    const expected = viaColumns('tasks', table, g);
    t.deepEqual(all[g], expected, `row ${g}`);
    t.deepEqual(v.record('tasks', g), expected, `row ${g}`);
  }
  t.deepEqual(v.lookup('tasks', 't-é-5'), viaColumns('tasks', table, 5));
  t.is((v.record('tasks', 3) as { created_at: number }).created_at, 1_700_000_003_000, 'seconds read as ms');
  t.is((v.record('tasks', 0) as { result: unknown }).result, null, 'a missing column reads as null');
});

test('a JSON column holding text that is not JSON is CORRUPT, read from a batch reader', (t) => {
  const n = 3;
  const payload = vectorFromArray(['{"a":1}', '{"a":1', '{"a":}'], new Utf8()).data[0]!;
  const id = vectorFromArray(['x', 'y', 'z'], new Utf8()).data[0]!;
  const schema = new Schema([new Field('id', id.type, true), new Field('payload', payload.type, true)]);
  const table = new Table(schema, [new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: [id, payload] }))]);
  const v = tableView(table);
  t.deepEqual((v.record('tasks', 0) as { payload: unknown }).payload, { a: 1 });
  for (const g of [1, 2]) {
    const e = t.throws(() => v.record('tasks', g));
    t.true(isStateError(e) && e.code === 'CORRUPT', String(e));
    t.regex((e as Error).message, /payload/);
  }
});
