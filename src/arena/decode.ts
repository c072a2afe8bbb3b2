/**
 * Decoding an arena — shared memory or the arena file, the same format — into Arrow tables,
 * re-decoding only what changed. A `ArenaDecoder` keeps the decoded prefix of each table and one
 * decoded record batch per (offset, version); for a new directory it decodes only the extents it
 * has not seen and reuses a table object when none of its batches changed.
 */
import { DataType, makeVector, RecordBatch, Schema, Table, Type, type Field, type Vector } from 'apache-arrow';
import { decodeDictionaryBatch, decodeRecordBatch, decodeSchemaMessage } from '../arrow/decode/ipc-message.js';
import { corrupt } from '../errors.js';
import { ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import type { DirEntry, Directory } from './directory.js';

/** Gets the bytes of an extent named by a directory entry (a view; may verify a checksum). */
export type ExtentSource = (entry: DirEntry, what: string) => Uint8Array;

interface Prefix {
  key: string;
  schema: Schema;
  fields: Field[];
  dictionaries: Map<number, Vector>;
}

interface TableState {
  prefix: Prefix | null;
  batchKeys: string[];
  table: Table | null;
}

const keyOf = (e: DirEntry) => `${e.offset}:${e.version}:${e.crc}`;

/** Options of an ArenaDecoder. */
export interface ArenaDecoderOptions {
  /** The schema each table must have: a prefix whose schema differs is CORRUPT (for shared memory). */
  schemaOf?: (kind: EntityKind) => Schema;
}

/** Decodes directories into tables, caching decoded batches by (offset, version, CRC): only new extents are decoded. */
export class ArenaDecoder {
  constructor(private readonly opts: ArenaDecoderOptions = {}) {}

  private readonly tables: Record<EntityKind, TableState> = {
    nodes: { prefix: null, batchKeys: [], table: null },
    tasks: { prefix: null, batchKeys: [], table: null },
    content: { prefix: null, batchKeys: [], table: null },
  };
  private batches = new Map<string, RecordBatch>();
  /** Batches decoded by the last `decode` call (for measurements). */
  lastDecoded = 0;

  /** Tables of the revision named by `dir`, decoding only new extents. */
  decode(dir: Directory, source: ExtentSource): Record<EntityKind, Table> {
    const next = new Map<string, RecordBatch>();
    const out = {} as Record<EntityKind, Table>;
    this.lastDecoded = 0;
    for (const kind of ENTITY_KINDS) {
      const t = dir.tables[kind];
      const st = this.tables[kind];
      const prefixKey = keyOf(t.prefix);
      if (!st.prefix || st.prefix.key !== prefixKey) {
        const decoded = decodePrefix(source(t.prefix, `${kind} prefix`), `${kind} prefix`);
        const want = this.opts.schemaOf?.(kind);
        if (want && !sameSchema(decoded.schema, want)) throw corrupt(`${kind} prefix: its schema is not this library's ${kind} schema`);
        st.prefix = { key: prefixKey, ...decoded };
      }
      const prefix = st.prefix;
      const keys = t.batches.map(keyOf);
      const sameTable = st.table && keys.length === st.batchKeys.length && keys.every((k, i) => k === st.batchKeys[i]) && st.table.schema === prefix.schema;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        let rb = this.batches.get(k);
        if (!rb || rb.schema !== prefix.schema) {
          const entry = t.batches[i]!;
          const data = decodeRecordBatch(source(entry, `${kind} batch ${i}`), prefix.fields, prefix.dictionaries, `${kind} batch ${i}`);
          if (data.length !== entry.rows) throw corrupt(`${kind} batch ${i}: ${data.length} rows, directory says ${entry.rows}`);
          rb = new RecordBatch(prefix.schema, data);
          (rb as { schema: Schema }).schema = prefix.schema; // one shared schema: no per-batch comparison
          this.lastDecoded++;
        }
        next.set(k, rb);
      }
      if (!sameTable) {
        const rbs = keys.map((k) => next.get(k)!);
        st.table = rbs.length ? new Table(prefix.schema, rbs) : new Table(prefix.schema);
        st.batchKeys = keys;
      }
      out[kind] = st.table!;
    }
    this.batches = next;
    return out;
  }

  /** Forgets everything decoded (after the underlying memory was replaced). */
  reset(): void {
    this.batches.clear();
    for (const k of ENTITY_KINDS) this.tables[k] = { prefix: null, batchKeys: [], table: null };
  }
}

/** A decoded table prefix: the schema and its dictionaries. */
export interface DecodedPrefix {
  schema: Schema;
  fields: Field[];
  dictionaries: Map<number, Vector>;
}

/** Decodes a prefix extent: a schema message followed by one dictionary message per dictionary. */
export function decodePrefix(bytes: Uint8Array, what: string): DecodedPrefix {
  const { schema, byteLength } = decodeSchemaMessage(bytes, `${what} schema`);
  const types = new Map<number, DataType>();
  for (const f of schema.fields) {
    const ty = f.type as { dictionary?: DataType; id?: number };
    if (f.typeId === Type.Dictionary && ty.dictionary && ty.id !== undefined) types.set(ty.id, ty.dictionary);
  }
  const dictionaries = new Map<number, Vector>();
  let at = byteLength;
  while (at < bytes.byteLength) {
    const { id, data, byteLength: n } = decodeDictionaryBatch(bytes.subarray(at), types, `${what} dictionary`);
    dictionaries.set(id, makeVector(data));
    at += n;
  }
  if (dictionaries.size !== types.size) throw corrupt(`${what}: ${dictionaries.size} of ${types.size} dictionaries present`);
  return { schema, fields: schema.fields, dictionaries };
}

/** Same field names, types (with children) and nullability, in the same order. */
export function sameSchema(a: Schema, b: Schema): boolean {
  return a.fields.length === b.fields.length && a.fields.every((f, i) => {
    const g = b.fields[i]!;
    return f.name === g.name && f.nullable === g.nullable && String(f.type) === String(g.type);
  });
}
