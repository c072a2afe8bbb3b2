/**
 * Column descriptions: one small vocabulary from which every Arrow type of the project is made
 * (the flat per-entity tables, the seed's single-row layout, the Parquet mirror). Keeping the
 * description in one place is what stops the Arrow schema and the record types from drifting.
 */
import {
  Bool, DataType, Dictionary, Field, Float32, Float64, Int32, Int64, Int8, List, Struct,
  TimestampMillisecond, Utf8,
} from 'apache-arrow';

/** The leaf kinds a column can have. `dict` is a low-cardinality string stored as codes. */
export type LeafKind =
  | 'utf8' | 'dict' | 'int32' | 'int64' | 'float32' | 'float64' | 'bool' | 'timestamp' | 'list';

/** One column (or struct child) of an entity table. */
export interface LeafSpec {
  readonly name: string;
  readonly kind: LeafKind;
  /** For `dict`: the values every table starts with (codes are append-only after that). */
  readonly values?: readonly string[];
  /** For `dict`: the Arrow dictionary id, unique across the whole state. */
  readonly dictId?: number;
  /** For `dict`: index width (Int8 for closed sets, Int32 for open ones such as task type). */
  readonly indexBits?: 8 | 32;
  /** For `utf8`: the record holds a JSON value, stored as its JSON text. */
  readonly json?: boolean;
}

/** A struct column, e.g. `resources`. Its children are leaves. */
export interface StructSpec {
  readonly name: string;
  readonly kind: 'struct';
  readonly children: readonly LeafSpec[];
}

/** Any column of an entity table. */
export type ColumnSpec = LeafSpec | StructSpec;

/** Arrow type of a leaf in our internal (flat, dictionary-encoded) tables. */
export function leafType(spec: LeafSpec, decodeDictionaries = false): DataType {
  switch (spec.kind) {
    case 'utf8': return new Utf8();
    case 'dict':
      return decodeDictionaries
        ? new Utf8()
        : new Dictionary(new Utf8(), spec.indexBits === 32 ? new Int32() : new Int8(), spec.dictId ?? 0, false);
    case 'int32': return new Int32();
    case 'int64': return new Int64();
    case 'float32': return new Float32();
    case 'float64': return new Float64();
    case 'bool': return new Bool();
    case 'timestamp': return new TimestampMillisecond();
    case 'list': return new List(new Field('item', new Utf8(), true));
  }
}

/** Arrow field for a column. `decodeDictionaries` gives the seed's utf8 instead of codes. */
export function columnField(spec: ColumnSpec, decodeDictionaries = false): Field {
  if (spec.kind === 'struct') {
    return new Field(spec.name, new Struct(spec.children.map((c) => columnField(c, decodeDictionaries))), true);
  }
  return new Field(spec.name, leafType(spec, decodeDictionaries), true);
}
