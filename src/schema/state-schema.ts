/**
 * The Arrow schemas: the seed's single-row state layout (interchange format, Parquet mirror) and
 * the flat per-entity tables the store holds internally. Both derive from `entities.ts`.
 */
import { Field, List, Schema, Struct, TimestampMillisecond, Utf8 } from 'apache-arrow';
import { columnField } from './columns.js';
import { ENTITIES, type EntityKind, type EntitySpec } from './entities.js';

/**
 * Version of our layout. 1 = the seed fields plus the extensions documented in docs/writer.md. Files of an
 * older version load with defaults (null) for the extension columns they lack.
 */
export const SCHEMA_VERSION = 1;

/** Arrow struct type of one entity's row, as in the seed (dictionaries decoded to utf8). */
export function entityStruct(spec: EntitySpec, decodeDictionaries = true, seedOnly = false): Struct {
  const cols = seedOnly ? spec.columns.slice(0, spec.seedColumns) : spec.columns;
  return new Struct(cols.map((c) => columnField(c, decodeDictionaries)));
}

/**
 * The single-row state schema: `cluster_id`, `master_id`, `updated_at`, then `nodes`, `tasks`,
 * `content` as list<struct>, with exactly the seed's names, order and types (timestamp[ms]
 * without zone), extension fields appended at the end of each struct. `seedOnly` drops the
 * extensions, giving exactly the seed's schema.
 */
export function stateSchema(seedOnly = false): Schema {
  const list = (kind: EntityKind) =>
    new Field(kind, new List(new Field('item', entityStruct(ENTITIES[kind], true, seedOnly), true)), true);
  return new Schema([
    new Field('cluster_id', new Utf8(), true),
    new Field('master_id', new Utf8(), true),
    new Field('updated_at', new TimestampMillisecond(), true),
    list('nodes'),
    list('tasks'),
    list('content'),
  ]);
}

/** Schema of one flat entity table as held in memory and shared memory (dictionary-coded). */
export function flatSchema(kind: EntityKind): Schema {
  return new Schema(ENTITIES[kind].columns.map((c) => columnField(c, false)));
}
