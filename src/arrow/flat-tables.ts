/**
 * From the single-row layout to flat tables, zero-copy: the `nodes`/`tasks`/`content` list of
 * row 0 is a struct array; slicing it by the list offsets gives one flat table per entity whose
 * columns are views on the single-row table's buffers. Works for tables read from any Parquet
 * file in the seed layout (pyarrow names list children `element`; fields may be plain utf8).
 */
import { Data, DataType, RecordBatch, Schema, Struct, Table, TimeUnit } from 'apache-arrow';
import { corrupt } from '../errors.js';
import { ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import { readNumber, readUtf8 } from './row-reader.js';

/** The cluster fields and one flat table per entity (views on the source table). */
export interface FlatTables {
  clusterId: string;
  masterId: string | null;
  updatedAt: number;
  nodes: Table;
  tasks: Table;
  content: Table;
}

/** A timestamp column's value in epoch ms (s, µs and ns converted; floored), other numbers as they are. */
export function epochMs(d: Data, v: number): number {
  if (!DataType.isTimestamp(d.type)) return v;
  const unit = (d.type as { unit: TimeUnit }).unit;
  return unit === TimeUnit.SECOND ? v * 1000 : unit === TimeUnit.MICROSECOND ? Math.floor(v / 1000) : unit === TimeUnit.NANOSECOND ? Math.floor(v / 1e6) : v;
}

/** The flat tables inside a single-row state table (CORRUPT if it is not one). */
export function flatFromSingleRow(table: Table, what = 'state table'): FlatTables {
  const names = table.schema.fields.map((f) => f.name);
  for (const n of ['cluster_id', ...ENTITY_KINDS]) if (!names.includes(n)) throw corrupt(`${what}: no ${JSON.stringify(n)} column (not the single-row state layout)`);
  const chunk = table.data.find((d) => d.length > 0);
  if (!chunk) throw corrupt(`${what}: it has no rows`);
  const col = (name: string): Data | undefined => {
    const k = names.indexOf(name);
    return k < 0 ? undefined : chunk.children[k];
  };
  const flat = (kind: EntityKind): Table => {
    const list = col(kind)!;
    const structType = list.type.children?.[0]?.type as Struct | undefined;
    if (!structType || !(structType.children?.length >= 0) || list.children.length !== 1) throw corrupt(`${what}: ${kind} is not a list of structs`);
    const schema = new Schema(structType.children);
    if (list.nullCount > 0 && list.nullBitmap && ((list.nullBitmap[list.offset >> 3]! >> (list.offset & 7)) & 1) === 0) {
      return new Table(schema); // a null list: no entities
    }
    const vo = list.valueOffsets as Int32Array;
    const start = vo[list.offset]!;
    const end = vo[list.offset + 1]!;
    const rows = (list.children[0] as Data<Struct>).slice(start, end - start);
    const rb = new RecordBatch(schema, rows);
    return new Table(schema, [rb]);
  };
  const master = col('master_id');
  const updated = col('updated_at');
  return {
    clusterId: readUtf8(col('cluster_id')!, 0) ?? '',
    masterId: master ? readUtf8(master, 0) : null,
    updatedAt: updated ? epochMs(updated, readNumber(updated, 0) ?? 0) : 0,
    nodes: flat('nodes'),
    tasks: flat('tasks'),
    content: flat('content'),
  };
}
