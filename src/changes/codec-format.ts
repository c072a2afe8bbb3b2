/**
 * The change-batch format (format version 1), shared by encode.ts and decode.ts: a run of
 * consecutive change sets as one self-contained byte string — a fixed 72-byte header, then up to
 * five sections, each an Arrow IPC stream (a schema message and one record batch, no
 * dictionaries, no end-of-stream marker: the header gives each section's length).
 *
 * ```
 * header (little-endian)
 *  0  4  magic "ACSC"
 *  4  2  format version (1)
 *  6  2  header length (72)
 *  8  4  total length of the batch in bytes (header included)
 * 12  4  CRC32 (zlib) of bytes [16, total)
 * 16  8  first revision (uint64, ≤ 2^53 − 1, ≥ 1)
 * 24  8  last revision (uint64, ≥ first): the batch holds every revision first..last
 * 32 16  rows of the nodes, tasks, content and deletes sections (4 × uint32)
 * 48 20  byte length of each section in SECTIONS order, 0 when absent (5 × uint32, multiples of 8)
 * 68  4  reserved, zero
 * 72     the sections present, in SECTIONS order, back to back (each starts 8-aligned)
 * ```
 * Sections: `revisions` (always; one row per revision, in order: revision, updated_at,
 * master_id); `nodes`, `tasks`, `content` (present when the batch upserts rows of that table:
 * `revision` then the table's flat schema with role/status/type as plain utf8; rows grouped by
 * revision in ascending order); `deletes` (present when the batch deletes anything: revision,
 * table code — TABLE_CODES —, id; ascending revision).
 */
import { Field, Int8, Int64, Schema, TimestampMillisecond, Utf8 } from 'apache-arrow';
import { encodeSchema, writeMessage } from '../arrow/encode/ipc-message.js';
import { columnField, type ColumnSpec } from '../schema/columns.js';
import { ENTITIES, ENTITY_KINDS, type EntityKind } from '../schema/entities.js';

/** "ACSC" read as a little-endian uint32. */
export const MAGIC = 0x43534341;
/** The format version this code writes and reads. */
export const FORMAT_VERSION = 1;
/** Bytes of the fixed header. */
export const HEADER_BYTES = 72;

/** Header field offsets. */
export const H = {
  magic: 0,
  version: 4,
  headerLength: 6,
  totalLength: 8,
  crc: 12,
  firstRevision: 16,
  lastRevision: 24,
  /** 4 × uint32: rows of nodes, tasks, content, deletes. */
  rows: 32,
  /** 5 × uint32: byte lengths of the sections, in SECTIONS order. */
  sectionLengths: 48,
  reserved: 68,
} as const;

/** The sections, in the order they appear. */
export const SECTIONS = ['revisions', 'nodes', 'tasks', 'content', 'deletes'] as const;
export type SectionName = (typeof SECTIONS)[number];

/** Table codes of the deletes section's `table` column (position in ENTITY_KINDS). */
export const TABLE_CODES: Readonly<Record<EntityKind, number>> = { nodes: 0, tasks: 1, content: 2 };

/** Largest revision a batch may name (revisions are JS numbers). */
export const MAX_REVISION = Number.MAX_SAFE_INTEGER;
/** Largest commit time (the end of the Date range, as the writer's clock allows). */
export const MAX_TIME_MS = 8.64e15;

/** An entity column as the change batch holds it: dictionary columns as plain utf8. */
export function plainSpec(spec: ColumnSpec): ColumnSpec {
  return spec.kind === 'dict' ? { name: spec.name, kind: 'utf8' } : spec;
}

const revisionField = new Field('revision', new Int64(), false);

/** The column specs of an upsert section after its leading `revision` column. */
export function upsertSpecs(kind: EntityKind): readonly ColumnSpec[] {
  return ENTITIES[kind].columns.map(plainSpec);
}

function buildSchemas(): Record<SectionName, Schema> {
  const upsert = (kind: EntityKind) => new Schema([revisionField, ...upsertSpecs(kind).map((c) => columnField(c, true))]);
  return {
    revisions: new Schema([revisionField, new Field('updated_at', new TimestampMillisecond(), false), new Field('master_id', new Utf8(), true)]),
    nodes: upsert('nodes'),
    tasks: upsert('tasks'),
    content: upsert('content'),
    deletes: new Schema([revisionField, new Field('table', new Int8(), false), new Field('id', new Utf8(), false)]),
  };
}

let schemas: Record<SectionName, Schema> | null = null;
let schemaBytes: Record<SectionName, Uint8Array> | null = null;

/** The Arrow schema of each section (built once; shared, never modify). */
export function sectionSchemas(): Readonly<Record<SectionName, Schema>> {
  return (schemas ??= buildSchemas());
}

/** Each section's encoded schema message, as this code writes it (built once; shared, never modify). */
export function sectionSchemaBytes(): Readonly<Record<SectionName, Uint8Array>> {
  if (!schemaBytes) {
    const s = sectionSchemas();
    const out = {} as Record<SectionName, Uint8Array>;
    for (const name of SECTIONS) {
      const msg = encodeSchema(s[name]);
      const bytes = new Uint8Array(msg.byteLength);
      writeMessage(msg, bytes);
      out[name] = bytes;
    }
    schemaBytes = out;
  }
  return schemaBytes;
}

/** Entity kind of a table code, or undefined for an unknown code. */
export const kindOfCode = (code: number): EntityKind | undefined => ENTITY_KINDS[code];
