/**
 * The seed's single-row layout built from the three flat tables: one row with `cluster_id`,
 * `master_id`, `updated_at` and `nodes`/`tasks`/`content` as list<struct>, dictionary columns
 * decoded to utf8, exactly the seed's types. Built column-wise: each struct child is one copy
 * of the flat column's runs (no row objects). The result lives on the JS heap (a copy), so it
 * stays valid whatever happens to the shared memory afterwards.
 */
import { Data, Field, List, makeData, RecordBatch, Schema, Struct, Table } from 'apache-arrow';
import { columnWriter, type ColumnWriter } from './column-writer.js';
import type { FlatTables } from '../decode/flat-tables.js';
import { StringDictionary } from './dictionary.js';
import { readDict } from '../decode/row-reader.js';
import type { ColumnSpec } from '../../schema/columns.js';
import { ENTITIES, ENTITY_KINDS, type EntityKind } from '../../schema/entities.js';
import { stateSchema } from '../../schema/state-schema.js';

/** Cluster fields plus the flat tables. */
export type FlatState = FlatTables;

/** Copies a whole flat column (all its chunks) into a writer, decoding dictionaries to utf8. */
function copyColumn(spec: ColumnSpec, w: ColumnWriter, chunks: readonly Data[]): void {
  for (const d of chunks) {
    if (spec.kind === 'dict' && d.dictionary) {
      for (let i = 0; i < d.length; i++) w.push(readDict(d, i));
    } else {
      w.copy(d, 0, d.length);
    }
  }
}

/** Builds list<struct> Data of one entity in the seed's (decoded) types. */
function entityList(kind: EntityKind, table: Table, seedOnly: boolean): Data {
  const spec = ENTITIES[kind];
  const cols = seedOnly ? spec.columns.slice(0, spec.seedColumns) : spec.columns;
  // Decoded layout: dict columns become plain utf8 writers.
  const noDicts = (): StringDictionary => {
    throw new Error('internal: decoded layout has no dictionaries');
  };
  const children: Data[] = cols.map((c) => {
    const decoded: ColumnSpec = c.kind === 'dict' ? { name: c.name, kind: 'utf8' } : c;
    const w = columnWriter(decoded, noDicts);
    w.reset();
    const k = table.schema.fields.findIndex((f) => f.name === c.name);
    if (k < 0) {
      for (let i = 0; i < table.numRows; i++) w.push(c.kind === 'list' ? [] : null);
    } else {
      copyColumn(c, w, table.data.map((b) => b.children[k]!));
    }
    return copyData(w.finish());
  });
  const fields = children.map((d, i) => new Field(cols[i]!.name, d.type, true));
  const struct = makeData({ type: new Struct(fields), length: table.numRows, nullCount: 0, children });
  return makeData({
    type: new List(new Field('item', struct.type, true)),
    length: 1,
    nullCount: 0,
    valueOffsets: new Int32Array([0, table.numRows]),
    child: struct,
  });
}

/** Deep-copies Data out of a writer's scratch buffers. */
function copyData(d: Data): Data {
  const clone = (a: ArrayBufferView | undefined) => (a ? (a as Uint8Array).slice() : undefined);
  return makeData({
    type: d.type,
    length: d.length,
    nullCount: d.nullCount,
    nullBitmap: clone(d.nullBitmap),
    valueOffsets: clone(d.valueOffsets),
    data: clone(d.values),
    children: d.children.map(copyData),
    child: d.children[0] ? copyData(d.children[0]) : undefined,
  } as never);
}

/**
 * The single-row state table. `seedOnly` leaves out our extension fields (exactly the seed's
 * schema); by default they are appended at the end of each struct.
 */
export function singleRowTable(state: FlatState, seedOnly = false): Table {
  const schema: Schema = stateSchema(seedOnly);
  const utf8 = (s: string | null) => {
    const d = new StringDictionary(0, s === null ? [] : [s], 32).vector().data[0]!;
    return s === null
      ? makeData({ type: d.type, length: 1, nullCount: 1, nullBitmap: new Uint8Array([0]), valueOffsets: new Int32Array([0, 0]), data: new Uint8Array(0) })
      : d;
  };
  const columns: Data[] = [
    utf8(state.clusterId),
    utf8(state.masterId),
    makeData({ type: schema.fields[2]!.type, length: 1, nullCount: 0, data: new BigInt64Array([BigInt(state.updatedAt)]) }),
    ...ENTITY_KINDS.map((k) => entityList(k, state[k], seedOnly)),
  ];
  const fields = schema.fields.map((f, i) => new Field(f.name, columns[i]!.type, true));
  const finalSchema = new Schema(fields);
  const batch = new RecordBatch(finalSchema, makeData({ type: new Struct(fields), length: 1, nullCount: 0, children: columns }));
  return new Table(finalSchema, [batch]);
}

