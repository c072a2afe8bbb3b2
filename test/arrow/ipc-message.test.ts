// The IPC messages (src/arrow/encode/ipc-message.ts, src/arrow/decode/ipc-message.ts): random record
// batches, dictionary batches and schemas of every column type the schemas use round-trip, decode
// byte for byte as apache-arrow's own tableFromIPC does, and the internal apache-arrow modules they
// import still exist as the same classes.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Data, DataType, Dictionary, Field, makeData, makeVector, RecordBatch, Schema, Struct, Table, tableFromIPC, tableToIPC, Type, Utf8,
  type Vector,
} from 'apache-arrow';
import * as MessageModule from 'apache-arrow/ipc/metadata/message';
import { MessageHeader, MetadataVersion } from 'apache-arrow/enum';
import { VectorLoader } from 'apache-arrow/visitor/vectorloader';
import {
  encodeDictionaryBatch, encodeRecordBatch, encodeSchema, writeMessage, type EncodedMessage,
} from '../../src/arrow/encode/ipc-message.js';
import { decodeDictionaryBatch, decodeMessage, decodeRecordBatch, decodeSchemaMessage } from '../../src/arrow/decode/ipc-message.js';
import { CONTINUATION } from '../../src/arrow/ipc-format.js';
import { flatSchema, stateSchema } from '../../src/schema/state-schema.js';
import { ENTITY_KINDS } from '../../src/schema/entities.js';
import { StateError } from '../../src/index.js';
import { Rng } from '../fixtures/rng.js';

// ─────────────────────────── random data of any column type ───────────────────────────

const STRINGS = ['', 'a', 'worker', 'nö-ü', 'bafy😀', '中文', 'x'.repeat(70), 'tab\t', '{"json":[1,2]}', 'e\u0301'];
const encoder = new TextEncoder();

/** A validity bitmap for `length` rows (garbage in the padding bits), or none. */
function validity(r: Rng, length: number, nullP: number): { nullBitmap: Uint8Array | null; nullCount: number } {
  if (nullP === 0 || length === 0) return { nullBitmap: null, nullCount: 0 };
  const bm = r.bytes(Math.ceil(length / 8) + r.int(3));
  let nulls = 0;
  for (let i = 0; i < length; i++) {
    if (r.chance(nullP)) bm[i >> 3]! &= ~(1 << (i & 7));
    else bm[i >> 3]! |= 1 << (i & 7);
    if (!((bm[i >> 3]! >> (i & 7)) & 1)) nulls++;
  }
  return nulls ? { nullBitmap: bm, nullCount: nulls } : { nullBitmap: null, nullCount: 0 };
}

const isNull = (bm: Uint8Array | null, i: number) => bm !== null && !((bm[i >> 3]! >> (i & 7)) & 1);

/** Non-null Utf8 Data of `values` (how the writer's dictionaries are made). */
function utf8Of(values: readonly string[]): Data {
  const parts = values.map((v) => encoder.encode(v));
  const offsets = new Int32Array(values.length + 1);
  parts.forEach((p, i) => (offsets[i + 1] = offsets[i]! + p.length));
  const bytes = new Uint8Array(offsets[values.length]!);
  parts.forEach((p, i) => bytes.set(p, offsets[i]!));
  return makeData({ type: new Utf8(), length: values.length, nullCount: 0, valueOffsets: offsets, data: bytes });
}

/** Random Data of `type` with `length` rows; dictionary columns code into `dicts` (by id). */
function randomData(r: Rng, type: DataType, length: number, dicts: Map<number, Data>): Data {
  const nullP = r.pick([0, 0, 0.2, 0.6, 1]);
  const { nullBitmap, nullCount } = validity(r, length, nullP);
  switch (type.typeId) {
    case Type.Struct:
      return makeData({ type: type as Struct, length, nullCount, nullBitmap, children: type.children.map((f) => randomData(r, f.type, length, dicts)) });
    case Type.List: {
      const offsets = new Int32Array(length + 1);
      for (let i = 0; i < length; i++) offsets[i + 1] = offsets[i]! + (isNull(nullBitmap, i) && r.chance(0.7) ? 0 : r.int(4));
      const child = randomData(r, type.children[0]!.type, offsets[length]!, dicts);
      return makeData({ type, length, nullCount, nullBitmap, valueOffsets: offsets, child } as never);
    }
    case Type.Utf8: {
      const values = Array.from({ length }, (_, i) => (isNull(nullBitmap, i) && r.chance(0.8) ? '' : r.pick(STRINGS)));
      const d = utf8Of(values);
      // Values buffer longer than needed, as apache-arrow's builders make them.
      const bytes = new Uint8Array(d.values.length + r.int(16));
      bytes.set(d.values);
      return makeData({ type: type as Utf8, length, nullCount, nullBitmap, valueOffsets: d.valueOffsets, data: bytes });
    }
    case Type.Dictionary: {
      const t = type as Dictionary;
      let dict = dicts.get(t.id);
      if (!dict) {
        dict = utf8Of(r.subset(STRINGS, STRINGS.length).concat(['only-in-dictionary']));
        dicts.set(t.id, dict);
      }
      const Codes = t.indices.bitWidth === 8 ? Int8Array : t.indices.bitWidth === 16 ? Int16Array : Int32Array;
      const codes = new Codes(length);
      // A null row's code is never read: it may be anything, even outside the dictionary.
      for (let i = 0; i < length; i++) codes[i] = isNull(nullBitmap, i) && r.chance(0.3) ? r.pick([-1, 100, dict.length]) : r.int(dict.length);
      return makeData({ type: t, length, nullCount, nullBitmap, data: codes, dictionary: makeVector(dict) } as never);
    }
    case Type.Bool:
      return makeData({ type, length, nullCount, nullBitmap, data: r.bytes(Math.ceil(length / 8)) } as never);
    default: {
      // Int, Float, Timestamp: random bytes are random values (NaNs and -0 included).
      const width = (type as unknown as { ArrayType: { BYTES_PER_ELEMENT: number } }).ArrayType.BYTES_PER_ELEMENT;
      const bytes = r.bytes(length * width + 8);
      const ArrayType = (type as unknown as { ArrayType: new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView }).ArrayType;
      return makeData({ type, length, nullCount, nullBitmap, data: new ArrayType(bytes.buffer as ArrayBuffer, 0, length) } as never);
    }
  }
}

// ─────────────────────────── byte comparison of decoded data ───────────────────────────

const viewBytes = (v: ArrayBufferView, from: number, to: number) => new Uint8Array(v.buffer, v.byteOffset + from, to - from);

function bit(bm: Uint8Array | null | undefined, i: number): number {
  return bm ? (bm[i >> 3]! >> (i & 7)) & 1 : 1;
}

/**
 * The first difference between two Data (type, length, validity, values, offsets, children), or
 * null. `nullValues: false` ignores the fixed-width values and codes of null rows (which Arrow
 * leaves undefined: apache-arrow's writer zeroes the bits of an all-null bool column).
 */
function difference(a: Data, b: Data, path: string, nullValues = true): string | null {
  if (String(a.type) !== String(b.type)) return `${path}: type ${String(a.type)} vs ${String(b.type)}`;
  if (a.length !== b.length) return `${path}: length ${a.length} vs ${b.length}`;
  if (a.nullCount !== b.nullCount) return `${path}: nullCount ${a.nullCount} vs ${b.nullCount}`;
  const n = a.length;
  if (a.nullCount > 0) {
    for (let i = 0; i < n; i++) if (bit(a.nullBitmap, a.offset + i) !== bit(b.nullBitmap, b.offset + i)) return `${path}: validity of row ${i}`;
  }
  const same = (x: Uint8Array, y: Uint8Array, what: string) => (Buffer.compare(x, y) === 0 ? null : `${path}: ${what} bytes differ`);
  switch (a.typeId) {
    case Type.Struct:
      for (let c = 0; c < a.children.length; c++) {
        const d = difference(a.children[c]!, b.children[c]!, `${path}.${(a.type as Struct).children[c]!.name}`, nullValues);
        if (d) return d;
      }
      return null;
    case Type.List: {
      const d = same(viewBytes(a.valueOffsets, 0, (n + 1) * 4), viewBytes(b.valueOffsets, 0, (n + 1) * 4), 'offsets');
      return d ?? difference(a.children[0]!, b.children[0]!, `${path}[]`, nullValues);
    }
    case Type.Utf8: {
      const d = same(viewBytes(a.valueOffsets, 0, (n + 1) * 4), viewBytes(b.valueOffsets, 0, (n + 1) * 4), 'offsets');
      if (d) return d;
      const end = n ? a.valueOffsets[n]! : 0;
      return same(viewBytes(a.values, 0, end), viewBytes(b.values, 0, end), 'value');
    }
    case Type.Bool:
      for (let i = 0; i < n; i++) {
        if (!nullValues && a.nullCount > 0 && !bit(a.nullBitmap, a.offset + i)) continue;
        if (bit(a.values, a.offset + i) !== bit(b.values, b.offset + i)) return `${path}: value of row ${i}`;
      }
      return null;
    default: {
      // Dictionary codes, Int, Float, Timestamp: fixed-width values.
      const w = (a.values as ArrayBufferView & { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      if (nullValues || a.nullCount === 0) {
        const d = same(viewBytes(a.values, 0, n * w), viewBytes(b.values, 0, n * w), a.typeId === Type.Dictionary ? 'code' : 'value');
        if (d) return d;
      } else {
        for (let i = 0; i < n; i++) {
          if (!bit(a.nullBitmap, a.offset + i)) continue;
          if (Buffer.compare(viewBytes(a.values, i * w, (i + 1) * w), viewBytes(b.values, i * w, (i + 1) * w)) !== 0) return `${path}: value of row ${i}`;
        }
      }
      return a.typeId === Type.Dictionary ? difference(a.dictionary!.data[0]!, b.dictionary!.data[0]!, `${path} dictionary`) : null;
    }
  }
}

// ─────────────────────────── streams of our messages ───────────────────────────

/** Writes messages one after the other into a fresh buffer (each starts 8-aligned). */
function concat(msgs: readonly EncodedMessage[]): { bytes: Uint8Array; starts: number[] } {
  const total = msgs.reduce((s, m) => s + m.byteLength, 0);
  const bytes = new Uint8Array(total);
  const starts: number[] = [];
  let at = 0;
  for (const m of msgs) {
    starts.push(at);
    writeMessage(m, bytes.subarray(at));
    at += m.byteLength;
  }
  return { bytes, starts };
}

/** Dictionary ids and value types of a schema's dictionary fields (at any depth). */
function dictionaryTypes(schema: Schema): Map<number, DataType> {
  const out = new Map<number, DataType>();
  const walk = (t: DataType) => {
    if (t.typeId === Type.Dictionary) out.set((t as Dictionary).id, (t as Dictionary).dictionary);
    for (const c of t.children ?? []) walk(c.type);
  };
  for (const f of schema.fields) walk(f.type);
  return out;
}

const SCHEMAS: [string, Schema][] = [
  ...ENTITY_KINDS.map((k): [string, Schema] => [`flat ${k}`, flatSchema(k)]),
  ['single-row state', stateSchema(false)],
  ['single-row state, seed fields only', stateSchema(true)],
];

test('the schemas under test use every column type the library writes', (t) => {
  const kinds = new Set<string>();
  const walk = (ty: DataType) => {
    kinds.add(ty.typeId === Type.Dictionary ? `Dictionary<${String((ty as Dictionary).indices)}>` : DataType.isInt(ty) || DataType.isFloat(ty) ? String(ty) : Type[ty.typeId]!);
    for (const c of ty.children ?? []) walk(c.type);
  };
  for (const [, s] of SCHEMAS) for (const f of s.fields) walk(f.type);
  t.deepEqual([...kinds].sort(), ['Bool', 'Dictionary<Int32>', 'Dictionary<Int8>', 'Float32', 'Float64', 'Int32', 'Int64', 'List', 'Struct', 'Timestamp', 'Utf8'].sort());
});

for (const [name, schema] of SCHEMAS) {
  test(`IPC messages (${name}): 40 random streams round-trip and decode byte for byte as apache-arrow's tableFromIPC does`, (t) => {
    let batchesChecked = 0;
    const r = new Rng(name.length * 7919 + 1);
    for (let round = 0; round < 40; round++) {
      const where = `${name}, round ${round}`;
      const dicts = new Map<number, Data>();
      const batches: Data[][] = [];
      const lengths: number[] = [];
      for (let b = r.int(4); b >= 0; b--) {
        const length = r.chance(0.15) ? 0 : r.int(r.chance(0.2) ? 600 : 20);
        lengths.push(length);
        batches.push(schema.fields.map((f) => randomData(r, f.type, length, dicts)));
      }
      const types = dictionaryTypes(schema);
      for (const id of types.keys()) if (!dicts.has(id)) dicts.set(id, utf8Of(['never-used']));
      const msgs = [encodeSchema(schema), ...[...types.keys()].map((id) => encodeDictionaryBatch(id, dicts.get(id)!)), ...batches.map((cols, i) => encodeRecordBatch(lengths[i]!, cols))];
      for (const m of msgs) {
        if (m.byteLength % 8 !== 0 || m.bodyStart % 8 !== 0) return void t.fail(`${where}: a message of ${m.byteLength} bytes, body at ${m.bodyStart}`);
      }
      const { bytes, starts } = concat(msgs);

      // Ours: the schema, the dictionaries, the batches.
      const { schema: decodedSchema, byteLength: schemaBytes } = decodeSchemaMessage(bytes.subarray(0, msgs[0]!.byteLength), where);
      if (schemaBytes !== msgs[0]!.byteLength) return void t.fail(`${where}: schema message of ${schemaBytes} bytes`);
      if (String(decodedSchema.fields.map(String)) !== String(schema.fields.map(String))) return void t.deepEqual(decodedSchema.fields.map(String), schema.fields.map(String), where);
      const dictionaries = new Map<number, Vector>();
      for (let i = 1; i <= types.size; i++) {
        const { id, data, byteLength } = decodeDictionaryBatch(bytes.subarray(starts[i]!, starts[i]! + msgs[i]!.byteLength), types);
        if (byteLength !== msgs[i]!.byteLength) return void t.fail(`${where}: dictionary message of ${byteLength} bytes`);
        const d = difference(data, dicts.get(id)!, `${where}: dictionary ${id}`);
        if (d) return void t.fail(d);
        dictionaries.set(id, makeVector(data));
      }
      const ours = batches.map((_, i) => {
        const k = 1 + types.size + i;
        return decodeRecordBatch(bytes.subarray(starts[k]!, starts[k]! + msgs[k]!.byteLength), decodedSchema.fields, dictionaries, where);
      });
      const trusted = batches.map((_, i) => {
        const k = 1 + types.size + i;
        return decodeRecordBatch(bytes.subarray(starts[k]!), decodedSchema.fields, dictionaries, where, { trusted: true });
      });

      // apache-arrow's own decoding of the same bytes: prefix + batches as one stream.
      const table = tableFromIPC(bytes);
      if (table.batches.length !== batches.length) return void t.fail(`${where}: apache-arrow read ${table.batches.length} batches of ${batches.length}`);
      if (String(table.schema.fields.map(String)) !== String(schema.fields.map(String))) return void t.fail(`${where}: apache-arrow read another schema`);
      for (let i = 0; i < batches.length; i++) {
        if (ours[i]!.length !== lengths[i] || table.batches[i]!.numRows !== lengths[i]) return void t.fail(`${where}, batch ${i}: ${ours[i]!.length} / ${table.batches[i]!.numRows} rows of ${lengths[i]}`);
        for (let c = 0; c < schema.fields.length; c++) {
          const col = `${where}, batch ${i}, column ${schema.fields[c]!.name}`;
          const d = difference(ours[i]!.children[c]!, batches[i]![c]!, `${col} (ours vs written)`)
            ?? difference(ours[i]!.children[c]!, table.batches[i]!.data.children[c]!, `${col} (ours vs apache-arrow)`)
            ?? difference(trusted[i]!.children[c]!, ours[i]!.children[c]!, `${col} (trusted vs checked)`);
          if (d) return void t.fail(d);
        }
        // Zero-copy: every decoded buffer is a view on the message bytes.
        const k = 1 + types.size + i;
        for (const child of ours[i]!.children) {
          for (const buf of [child.values, child.valueOffsets, child.nullBitmap] as (ArrayBufferView | undefined)[]) {
            if (buf && buf.byteLength > 0 && (buf.buffer !== bytes.buffer || buf.byteOffset < starts[k]! || buf.byteOffset >= starts[k]! + msgs[k]!.byteLength)) {
              return void t.fail(`${where}, batch ${i}: a buffer of ${buf.byteLength} bytes is not a view on its message`);
            }
          }
        }
        // Re-encoding apache-arrow's decoding gives the very same message bytes.
        const again = concat([encodeRecordBatch(lengths[i]!, table.batches[i]!.data.children)]).bytes;
        if (Buffer.compare(again, bytes.subarray(starts[k]!, starts[k]! + msgs[k]!.byteLength)) !== 0) return void t.fail(`${where}, batch ${i}: re-encoded bytes differ`);
        batchesChecked++;
      }
    }
    t.true(batchesChecked >= 40, `${batchesChecked} record batches checked`);
  });
}

test('IPC messages: streams written by apache-arrow (tableToIPC) decode with our decoder to the same data', (t) => {
  const r = new Rng(4242);
  let batchesChecked = 0;
  for (const [name, schema] of SCHEMAS) {
    for (let round = 0; round < 10; round++) {
      const dicts = new Map<number, Data>();
      const rbs: RecordBatch[] = [];
      for (let b = 1 + r.int(3); b > 0; b--) {
        const length = r.int(50);
        rbs.push(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children: schema.fields.map((f) => randomData(r, f.type, length, dicts)) })));
      }
      const bytes = tableToIPC(new Table(schema, rbs), 'stream');
      // Walk the stream: schema, dictionaries, batches, end marker.
      let at = 0;
      let decodedSchema: Schema | null = null;
      const dictionaries = new Map<number, Vector>();
      let batch = 0;
      while (at < bytes.byteLength) {
        const view = bytes.subarray(at);
        if (new DataView(view.buffer, view.byteOffset, 8).getInt32(4, true) === 0) break; // end of stream
        const { message, byteLength } = decodeMessage(view, name);
        if (message.headerType === MessageHeader.Schema) decodedSchema = decodeSchemaMessage(view, name).schema;
        else if (message.headerType === MessageHeader.DictionaryBatch) {
          const { id, data } = decodeDictionaryBatch(view, dictionaryTypes(decodedSchema!), name);
          dictionaries.set(id, makeVector(data));
        } else {
          const data = decodeRecordBatch(view, decodedSchema!.fields, dictionaries, name);
          const d = difference(data, rbs[batch]!.data, `${name}, round ${round}, batch ${batch}`, false);
          if (d) return void t.fail(d);
          batch++;
          batchesChecked++;
        }
        at += byteLength;
      }
      if (batch !== rbs.length) return void t.fail(`${name}, round ${round}: ${batch} of ${rbs.length} batches`);
    }
  }
  t.true(batchesChecked >= SCHEMAS.length * 10, `${batchesChecked} record batches checked`);
});

test('IPC messages: the framing — continuation marker, metadata length, 8-aligned body — and zeroed padding', (t) => {
  const r = new Rng(7);
  const schema = flatSchema('nodes');
  const dicts = new Map<number, Data>();
  const cols = schema.fields.map((f) => randomData(r, f.type, 37, dicts));
  for (const msg of [encodeSchema(schema), encodeDictionaryBatch(0, dicts.get(0)!), encodeRecordBatch(37, cols)]) {
    const clean = new Uint8Array(msg.byteLength);
    writeMessage(msg, clean);
    const dv = new DataView(clean.buffer);
    t.is(dv.getUint32(0, true), CONTINUATION);
    t.is(dv.getInt32(4, true), msg.bodyStart - 8);
    t.is((msg.bodyStart - 8) % 8, 0);
    t.true(msg.metadata.byteLength <= msg.bodyStart - 8);
    // Written over garbage, the message has the same bytes: every padding byte is zeroed.
    const dirty = r.bytes(msg.byteLength + 16);
    writeMessage(msg, dirty);
    t.is(Buffer.compare(dirty.subarray(0, msg.byteLength), clean), 0);
    // The decoded header says what was encoded.
    const { message, byteLength, body } = decodeMessage(clean);
    t.is(byteLength, msg.byteLength);
    t.is(body.byteLength, msg.bodyLength);
    t.true(message.version === MetadataVersion.V5 || message.version === MetadataVersion.V4);
  }
});

test('IPC messages: every truncation of a schema, dictionary or record batch message is CORRUPT, never another error', (t) => {
  const r = new Rng(8);
  const schema = flatSchema('tasks');
  const dicts = new Map<number, Data>();
  const cols = schema.fields.map((f) => randomData(r, f.type, 25, dicts));
  const types = dictionaryTypes(schema);
  for (const id of types.keys()) if (!dicts.has(id)) dicts.set(id, utf8Of(['x']));
  const dictionaries = new Map([...dicts].map(([id, d]) => [id, makeVector(d)] as [number, Vector]));
  const cases: [string, EncodedMessage, (b: Uint8Array) => unknown][] = [
    ['schema', encodeSchema(schema), (b) => decodeSchemaMessage(b)],
    ['dictionary', encodeDictionaryBatch(2, dicts.get(2)!), (b) => decodeDictionaryBatch(b, types)],
    ['record batch', encodeRecordBatch(25, cols), (b) => decodeRecordBatch(b, schema.fields, dictionaries)],
  ];
  let n = 0;
  for (const [what, msg, decode] of cases) {
    const { bytes } = concat([msg]);
    t.notThrows(() => decode(bytes), what);
    for (let len = 0; len < bytes.byteLength; len++) {
      n++;
      try {
        decode(bytes.slice(0, len));
        return void t.fail(`${what} cut to ${len} of ${bytes.byteLength} bytes decoded`);
      } catch (e) {
        if (!(e instanceof StateError) || e.code !== 'CORRUPT') return void t.fail(`${what} cut to ${len} bytes: ${String(e)}`);
      }
    }
  }
  t.true(n > 1000, `${n} truncations`);
});

// ─────────────────────────── the internal apache-arrow modules ───────────────────────────

test('the internal apache-arrow modules the codec imports exist, as the same classes as the package entry', (t) => {
  // The pinned version: these are internal modules, and a new version may move them.
  const entry = fileURLToPath(import.meta.resolve('apache-arrow'));
  const pkg = JSON.parse(readFileSync(join(dirname(entry), 'package.json'), 'utf8')) as { version: string };
  t.is(pkg.version, '21.2.0');
  const { Message, RecordBatch: RecordBatchHeader, DictionaryBatch, FieldNode, BufferRegion } = MessageModule;
  for (const [name, c] of Object.entries({ Message, RecordBatchHeader, DictionaryBatch, FieldNode, BufferRegion, VectorLoader })) {
    t.is(typeof c, 'function', name);
  }
  for (const f of ['encode', 'decode', 'from'] as const) t.is(typeof Message[f], 'function', `Message.${f}`);
  t.is(typeof VectorLoader.prototype.visitMany, 'function');
  t.is(MessageHeader.Schema, 1);
  t.is(MessageHeader.DictionaryBatch, 2);
  t.is(MessageHeader.RecordBatch, 3);
  t.is(MetadataVersion.V4, 3);
  t.is(MetadataVersion.V5, 4);
  // One module graph: what the internal modules build is what the package entry exports.
  const schema = flatSchema('content');
  const bytes = concat([encodeSchema(schema)]).bytes;
  const message = Message.decode(bytes.subarray(8, 8 + new DataView(bytes.buffer).getInt32(4, true)));
  t.true(message.isSchema());
  t.true(message.header() instanceof Schema);
  const dicts = new Map<number, Data>();
  const cols = schema.fields.map((f) => randomData(new Rng(1), f.type, 3, dicts));
  const data = decodeRecordBatch(concat([encodeRecordBatch(3, cols)]).bytes, schema.fields, new Map());
  t.true(data instanceof Data);
  t.true(data.children.every((c) => c instanceof Data));
  t.true(new FieldNode(3, 1) instanceof FieldNode);
  t.is(new BufferRegion(8, 16).length, 16);
  t.true(Field.new({ name: 'x', type: new Utf8() }) instanceof Field);
});
