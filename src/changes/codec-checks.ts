/**
 * The checks of a change batch's bytes (format: codec-format.ts) before anything is decoded from
 * them: the header, the checksum, each section's IPC messages (through our bounds-checking
 * decoder, src/arrow/decode/ipc-message.ts) and what the sections' columns must hold. Every
 * failure is CORRUPT naming `what`; nothing here allocates more than the bytes' own size allows.
 */
import { crc32 } from 'node:zlib';
import type { Data, Struct } from 'apache-arrow';
import { decodeMessage, decodeRecordBatch, decodeSchemaMessage } from '../arrow/decode/ipc-message.js';
import { NumChunk } from '../arrow/decode/num-chunk.js';
import { StrChunk } from '../arrow/decode/str-chunk.js';
import { sameSchema } from '../arena/decode.js';
import { corrupt, show } from '../errors.js';
import { ENTITIES, ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import {
  FORMAT_VERSION, H, HEADER_BYTES, MAGIC, MAX_REVISION, MAX_TIME_MS, SECTIONS, kindOfCode,
  sectionSchemaBytes, sectionSchemas, type SectionName,
} from './codec-format.js';

/** What the header says. */
export interface Header {
  firstRevision: number;
  lastRevision: number;
  /** Rows of the nodes, tasks, content and deletes sections. */
  rows: Record<EntityKind | 'deletes', number>;
  /** Byte length of each section (0: absent), in SECTIONS order. */
  lengths: number[];
}

/** Reads and checks the header and the checksum of a whole batch (`bytes`: exactly the batch). */
export function readHeader(bytes: Uint8Array, what: string): Header {
  const n = bytes.byteLength;
  if (n < HEADER_BYTES) throw corrupt(`${what}: ${n} bytes is too short for a change batch (its header alone is ${HEADER_BYTES})`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const magic = dv.getUint32(H.magic, true);
  if (magic !== MAGIC) throw corrupt(`${what}: not a change batch (magic 0x${magic.toString(16).padStart(8, '0')})`);
  const version = dv.getUint16(H.version, true);
  if (version !== FORMAT_VERSION) throw corrupt(`${what}: change batch format version ${version}, this library reads version ${FORMAT_VERSION}`);
  const headerLength = dv.getUint16(H.headerLength, true);
  if (headerLength !== HEADER_BYTES) throw corrupt(`${what}: change batch header of ${headerLength} bytes, format ${FORMAT_VERSION} has ${HEADER_BYTES}`);
  const total = dv.getUint32(H.totalLength, true);
  if (total !== n) throw corrupt(`${what}: the change batch says it is ${total} bytes long, but ${n} bytes were given (${n < total ? 'truncated' : 'extended'})`);
  const stored = dv.getUint32(H.crc, true);
  const actual = crc32(bytes.subarray(H.firstRevision)) >>> 0;
  if (stored !== actual) throw corrupt(`${what}: change batch checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)})`);
  if (dv.getUint32(H.reserved, true) !== 0) throw corrupt(`${what}: reserved header bytes are not zero`);
  const firstRevision = uint64(dv, H.firstRevision, 'first revision', what);
  const lastRevision = uint64(dv, H.lastRevision, 'last revision', what);
  if (firstRevision < 1 || lastRevision < firstRevision) throw corrupt(`${what}: revisions ${firstRevision}..${lastRevision} are not a run of committed revisions`);
  const rows = {
    nodes: dv.getUint32(H.rows, true),
    tasks: dv.getUint32(H.rows + 4, true),
    content: dv.getUint32(H.rows + 8, true),
    deletes: dv.getUint32(H.rows + 12, true),
  };
  const lengths = SECTIONS.map((_, i) => dv.getUint32(H.sectionLengths + 4 * i, true));
  let sum = HEADER_BYTES;
  SECTIONS.forEach((s, i) => {
    const len = lengths[i]!;
    const present = s === 'revisions' || rows[s] > 0;
    if (len % 8 !== 0) throw corrupt(`${what}: section ${s} of ${len} bytes is not a multiple of 8`);
    if (present !== len > 0) throw corrupt(`${what}: section ${s} is ${len > 0 ? 'present' : 'absent'} although the header counts ${s === 'revisions' ? 'revisions' : rows[s]} rows`);
    sum += len;
  });
  if (sum !== total) throw corrupt(`${what}: the sections' lengths add up to ${sum} bytes, the batch has ${total}`);
  return { firstRevision, lastRevision, rows, lengths };
}

function uint64(dv: DataView, at: number, name: string, what: string): number {
  const lo = dv.getUint32(at, true);
  const hi = dv.getUint32(at + 4, true);
  const v = hi * 4294967296 + lo;
  if (hi > 0x1fffff || v > MAX_REVISION) throw corrupt(`${what}: ${name} ${hi}:${lo} (hi:lo) exceeds 2^53 - 1`);
  return v;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/**
 * Decodes one section (an 8-aligned view of exactly its bytes): its schema must be the section's
 * schema, its record batch must fill the rest exactly and hold `rows` rows. The columns are
 * views on `bytes`.
 */
export function decodeSection(bytes: Uint8Array, section: SectionName, rows: number, what: string): Data<Struct> {
  const where = `${what}: section ${section}`;
  const canonical = sectionSchemaBytes()[section];
  const expected = sectionSchemas()[section];
  let schemaLength = canonical.byteLength;
  if (!(bytes.byteLength >= schemaLength && sameBytes(bytes.subarray(0, schemaLength), canonical))) {
    const { schema, byteLength } = decodeSchemaMessage(bytes, `${where} schema`);
    if (!sameSchema(schema, expected)) throw corrupt(`${where}: its schema is not the ${section} section's (${schema.fields.map((f) => `${f.name}: ${String(f.type)}`).join(', ')})`);
    schemaLength = byteLength;
  }
  const batch = bytes.subarray(schemaLength);
  const { byteLength } = decodeMessage(batch, `${where} batch`);
  if (byteLength !== batch.byteLength) throw corrupt(`${where}: ${batch.byteLength - byteLength} bytes after its record batch`);
  const data = decodeRecordBatch(batch, expected.fields, new Map(), `${where} batch`);
  if (data.length !== rows) throw corrupt(`${where}: ${data.length} rows, the header says ${rows}`);
  return data;
}

/** Fails unless column `k` of `data` has no nulls. */
export function noNulls(data: Data<Struct>, k: number, section: SectionName, what: string): void {
  const c = data.children[k]!;
  if (c.nullCount !== 0) throw corrupt(`${what}: section ${section}: column ${show(sectionSchemas()[section].fields[k]?.name ?? k)} has ${c.nullCount} nulls`);
}

/**
 * Checks the revisions section (row i is revision first + i, commit times are whole epoch ms)
 * and returns the commit times.
 */
export function checkRevisions(data: Data<Struct>, h: Header, what: string): Float64Array {
  noNulls(data, 0, 'revisions', what);
  noNulls(data, 1, 'revisions', what);
  const n = data.length;
  const rev = new NumChunk(data.children[0]!, null, n);
  const at = new NumChunk(data.children[1]!, null, n);
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = rev.get(i);
    if (r !== h.firstRevision + i) throw corrupt(`${what}: section revisions: row ${i} is revision ${r}, expected ${h.firstRevision + i}`);
    const t = at.get(i);
    if (!Number.isInteger(t) || t < 0 || t > MAX_TIME_MS) throw corrupt(`${what}: revision ${r}: updated_at ${t} is not whole epoch ms`);
    times[i] = t;
  }
  return times;
}

/**
 * Checks a section's `revision` column (column 0: no nulls, ascending, within the batch) and
 * returns where each revision's rows start: rows [starts[j], starts[j + 1]) belong to revision
 * first + j.
 */
export function revisionStarts(data: Data<Struct>, section: SectionName, h: Header, what: string): Int32Array {
  noNulls(data, 0, section, what);
  const count = h.lastRevision - h.firstRevision + 1;
  const starts = new Int32Array(count + 1);
  const col = new NumChunk(data.children[0]!, null, data.length);
  let j = 0; // revision index the next row may start
  for (let i = 0; i < data.length; i++) {
    const r = col.get(i);
    const idx = r - h.firstRevision;
    if (!Number.isInteger(idx) || idx < j || idx >= count) {
      throw corrupt(`${what}: section ${section}: row ${i} belongs to revision ${r}, ${idx < j && idx >= 0 ? 'out of order' : `outside ${h.firstRevision}..${h.lastRevision}`}`);
    }
    while (j < idx) starts[++j] = i;
    starts[j + 1] = i + 1;
  }
  while (j < count) starts[++j] = data.length;
  return starts;
}

/**
 * Checks the deletes section beyond its revision column: table codes known, ids present.
 * Returns the entity kind of each row.
 */
export function checkDeletes(data: Data<Struct>, what: string): Int8Array {
  noNulls(data, 1, 'deletes', what);
  noNulls(data, 2, 'deletes', what);
  const codes = data.children[1]!.values as Int8Array;
  for (let i = 0; i < data.length; i++) {
    if (kindOfCode(codes[i]!) === undefined) throw corrupt(`${what}: section deletes: row ${i} names unknown table code ${codes[i]}`);
  }
  return codes;
}

/**
 * Checks the columns the store dictionary-codes (role, status, type): never null, and a closed
 * set (Int8 codes: role, node and task status) holds one of its values. The key must be present.
 */
export function checkUpsertColumns(data: Data<Struct>, kind: EntityKind, what: string): void {
  noNulls(data, keyColumn(kind), kind, what);
  ENTITIES[kind].columns.forEach((c, k) => {
    if (c.kind !== 'dict') return;
    noNulls(data, k + 1, kind, what);
    if (c.indexBits !== 8 || !c.values) return;
    const allowed = new Set(c.values);
    const col = new StrChunk(data.children[k + 1]!, null, data.length);
    for (let i = 0; i < data.length; i++) {
      const v = col.get(i)!;
      if (!allowed.has(v)) throw corrupt(`${what}: section ${kind}: row ${i} has ${c.name} ${show(v)}, not one of ${c.values.join(', ')}`);
    }
  });
}

/** The key column of an upsert section (after `revision`). */
export function keyColumn(kind: EntityKind): number {
  return 1 + ENTITIES[kind].columns.findIndex((c) => c.name === ENTITIES[kind].key);
}

/**
 * Checks that no revision changes an entity twice (two upserts, two deletes, or an upsert and a
 * delete of the same key in one table). Revisions with a single change are not read at all.
 */
export function checkOnce(
  upserts: Record<EntityKind, { data: Data<Struct>; starts: Int32Array } | null>,
  deletes: { data: Data<Struct>; starts: Int32Array; codes: Int8Array } | null,
  count: number,
  first: number,
  what: string,
): void {
  const keys = ENTITY_KINDS.map((k) => {
    const u = upserts[k];
    return u ? new StrChunk(u.data.children[keyColumn(k)]!, null, u.data.length) : null;
  });
  const delIds = deletes ? new StrChunk(deletes.data.children[2]!, null, deletes.data.length) : null;
  const seen = ENTITY_KINDS.map(() => new Set<string>());
  const dup = (t: number, id: string, r: number): never => {
    throw corrupt(`${what}: revision ${first + r} changes ${ENTITIES[ENTITY_KINDS[t]!].noun} ${show(id)} more than once`);
  };
  for (let r = 0; r < count; r++) {
    let changes = deletes ? deletes.starts[r + 1]! - deletes.starts[r]! : 0;
    for (const k of ENTITY_KINDS) {
      const u = upserts[k];
      if (u) changes += u.starts[r + 1]! - u.starts[r]!;
    }
    if (changes < 2) continue;
    for (const s of seen) s.clear();
    for (let t = 0; t < ENTITY_KINDS.length; t++) {
      const u = upserts[ENTITY_KINDS[t]!];
      if (!u) continue;
      for (let i = u.starts[r]!; i < u.starts[r + 1]!; i++) {
        const id = keys[t]!.get(i)!;
        if (seen[t]!.has(id)) dup(t, id, r);
        seen[t]!.add(id);
      }
    }
    if (!deletes) continue;
    for (let i = deletes.starts[r]!; i < deletes.starts[r + 1]!; i++) {
      const t = deletes.codes[i]!;
      const id = delIds!.get(i)!;
      if (seen[t]!.has(id)) dup(t, id, r);
      seen[t]!.add(id);
    }
  }
}
