/**
 * Decoding a change batch (format: codec-format.ts; encoder: encode.ts). Decoding trusts nothing:
 * the header, the checksum, every IPC message (bounds-checked by src/arrow/decode/ipc-message.ts),
 * every section's schema and row count, the revision columns (ascending, within the batch), the
 * table codes, keys, roles and statuses, and "each entity at most once per revision" are all
 * checked before `decodeChangeBatch` returns (codec-checks.ts); any failure is CORRUPT naming
 * `what`. Records are made only when asked for, with the same row readers the store's getters
 * use (TableView), so they equal what the writer held: JSON fields parsed, float32 as its
 * shortest decimal, int64 and timestamps as numbers, lists as arrays ([] never null).
 */
import { RecordBatch, Table, type Data, type Struct } from 'apache-arrow';
import { StrChunk } from '../arrow/decode/str-chunk.js';
import { tableView } from '../arrow/decode/table-view.js';
import { corrupt, invalid, isStateError } from '../errors.js';
import { ENTITIES, ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import type { ContentRecord, NodeRecord, TaskRecord } from '../schema/records.js';
import type { Change, ChangeSet } from './change-set.js';
import { checkDeletes, checkOnce, checkRevisions, checkUpsertColumns, decodeSection, readHeader, revisionStarts } from './codec-checks.js';
import { HEADER_BYTES, SECTIONS, kindOfCode, sectionSchemas, type SectionName } from './codec-format.js';

type AnyRecord = NodeRecord | TaskRecord | ContentRecord;

/** Rows [start, end) of a section's table. */
export interface RowRange {
  readonly start: number;
  readonly end: number;
}

/**
 * A decoded, fully checked change batch. Its tables are zero-copy views on the bytes given to
 * `decodeChangeBatch` (or on one aligned copy of them when those bytes were not 8-aligned): they
 * stay valid as long as those bytes are not modified. Everything else it returns — change sets,
 * records, ids, ranges — is made fresh on each call and owned by the caller.
 */
export interface ChangeBatch {
  /** First revision of the batch: it holds one change set for each revision first..last. */
  readonly firstRevision: number;
  /** Last revision of the batch. */
  readonly lastRevision: number;
  /** Number of revisions (change sets) in the batch. */
  readonly revisionCount: number;
  /** Size of the encoded batch in bytes. */
  readonly byteLength: number;
  /** `revision` (int64), `updated_at` (timestamp[ms]), `master_id` (utf8): one row per revision, in order. A view. */
  readonly revisions: Table;
  /**
   * The upserted rows of `kind`: `revision` (int64) then the table's flat schema (flatSchema)
   * with role, status and type as plain utf8. Rows are grouped by revision, ascending (see
   * upsertRange); a table without upserts has 0 rows. A view.
   */
  upserts(kind: EntityKind): Table;
  /** `revision` (int64), `table` (int8: TABLE_CODES, 0 nodes, 1 tasks, 2 content), `id` (utf8), ascending revision. A view. */
  readonly deletes: Table;
  upsertRange(kind: EntityKind, revision: number): RowRange;
  deleteRange(revision: number): RowRange;
  /**
   * The change set of one revision of the batch: changes in table order (nodes, tasks, content),
   * each table's upserts in row order, then its deletes. Fresh objects on each call;
   * INVALID_ARGUMENT outside the batch; CORRUPT naming the batch for a record whose JSON text
   * does not parse (only from a faulty writer: the checksum held).
   */
  changeSet(revision: number): ChangeSet;
  /** Every change set of the batch, in revision order (as changeSet, fresh objects on each call). */
  changeSets(): ChangeSet[];
}

/** The ChangeBatch decodeChangeBatch returns (its checks done; records made on demand). */
class DecodedBatch implements ChangeBatch {
  readonly firstRevision: number;
  readonly lastRevision: number;
  readonly byteLength: number;
  private readonly sections: Record<SectionName, Data<Struct> | null>;
  private readonly tables: Partial<Record<SectionName, Table>> = {};
  private readonly what: string;
  private readonly times: Float64Array;
  private readonly upsertStarts: Record<EntityKind, Int32Array | null>;
  private readonly deleteStarts: Int32Array | null;
  private readonly deleteCodes: Int8Array | null;

  constructor(parts: {
    first: number; last: number; byteLength: number; sections: Record<SectionName, Data<Struct> | null>; times: Float64Array;
    upsertStarts: Record<EntityKind, Int32Array | null>; deleteStarts: Int32Array | null; deleteCodes: Int8Array | null; what: string;
  }) {
    this.what = parts.what;
    this.firstRevision = parts.first;
    this.lastRevision = parts.last;
    this.byteLength = parts.byteLength;
    this.sections = parts.sections;
    this.times = parts.times;
    this.upsertStarts = parts.upsertStarts;
    this.deleteStarts = parts.deleteStarts;
    this.deleteCodes = parts.deleteCodes;
  }

  private table(s: SectionName): Table {
    let t = this.tables[s];
    if (!t) {
      const schema = sectionSchemas()[s];
      const d = this.sections[s];
      t = this.tables[s] = d ? new Table(schema, [new RecordBatch(schema, d)]) : new Table(schema);
    }
    return t;
  }

  get revisions(): Table {
    return this.table('revisions');
  }

  upserts(kind: EntityKind): Table {
    return this.table(kind);
  }

  get deletes(): Table {
    return this.table('deletes');
  }

  get revisionCount(): number {
    return this.lastRevision - this.firstRevision + 1;
  }

  private index(revision: number): number {
    if (!Number.isInteger(revision) || revision < this.firstRevision || revision > this.lastRevision) {
      throw invalid('revision', revision, `a revision of the batch, ${this.firstRevision} to ${this.lastRevision}`);
    }
    return revision - this.firstRevision;
  }

  upsertRange(kind: EntityKind, revision: number): RowRange {
    const j = this.index(revision);
    const s = this.upsertStarts[kind];
    return s ? { start: s[j]!, end: s[j + 1]! } : { start: 0, end: 0 };
  }

  deleteRange(revision: number): RowRange {
    const j = this.index(revision);
    const s = this.deleteStarts;
    return s ? { start: s[j]!, end: s[j + 1]! } : { start: 0, end: 0 };
  }

  /**
   * Records of `kind` made by the store's row readers; JSON text that does not parse (only a
   * batch from a faulty writer, since the checksum held) is CORRUPT naming the batch.
   */
  private records(kind: EntityKind, rows: number[] | null): AnyRecord[] {
    try {
      const view = tableView(this.upserts(kind));
      return (rows ? view.records(kind, rows) : view.allRecords(kind)) as unknown as AnyRecord[];
    } catch (e) {
      if (isStateError(e, 'CORRUPT')) throw corrupt(`${this.what}: section ${kind}: ${e.message.replace(/^CORRUPT: /, '')}`, e);
      throw e;
    }
  }

  changeSet(revision: number): ChangeSet {
    const j = this.index(revision);
    const records = {} as Record<EntityKind, AnyRecord[]>;
    for (const kind of ENTITY_KINDS) {
      const s = this.upsertStarts[kind];
      const rows: number[] = [];
      if (s) for (let i = s[j]!; i < s[j + 1]!; i++) rows.push(i);
      records[kind] = rows.length ? this.records(kind, rows) : [];
    }
    return this.build(j, records, true);
  }

  changeSets(): ChangeSet[] {
    const records = {} as Record<EntityKind, AnyRecord[]>;
    for (const kind of ENTITY_KINDS) {
      records[kind] = this.upsertStarts[kind] ? this.records(kind, null) : [];
    }
    const out = new Array<ChangeSet>(this.revisionCount);
    for (let j = 0; j < out.length; j++) out[j] = this.build(j, records, false);
    return out;
  }

  /**
   * The change set of revision index j. `records[kind]` holds the upserted records: only those of
   * revision j (`local`) or all of the table's rows.
   */
  private build(j: number, records: Record<EntityKind, AnyRecord[]>, local: boolean): ChangeSet {
    const changes: Change[] = [];
    const masterIds = this.masterIds();
    const delIds = this.deleteIds();
    for (const kind of ENTITY_KINDS) {
      const key = ENTITIES[kind].key;
      const s = this.upsertStarts[kind];
      if (s) {
        const base = local ? s[j]! : 0;
        for (let i = s[j]!; i < s[j + 1]!; i++) {
          const record = records[kind][i - base]!;
          changes.push({ table: kind, op: 'upsert', id: (record as unknown as Record<string, string>)[key]!, record });
        }
      }
      const d = this.deleteStarts;
      if (d) {
        for (let i = d[j]!; i < d[j + 1]!; i++) {
          if (kindOfCode(this.deleteCodes![i]!) === kind) changes.push({ table: kind, op: 'delete', id: delIds!.get(i)! });
        }
      }
    }
    return { revision: this.firstRevision + j, updatedAt: this.times[j]!, masterId: masterIds.get(j), changes };
  }

  private masterIdChunk: StrChunk | null = null;
  private masterIds(): StrChunk {
    return (this.masterIdChunk ??= new StrChunk(this.sections.revisions!.children[2]!, null, this.revisionCount));
  }

  private deleteIdChunk: StrChunk | null = null;
  private deleteIds(): StrChunk | null {
    const d = this.sections.deletes;
    return d ? (this.deleteIdChunk ??= new StrChunk(d.children[2]!, null, d.length)) : null;
  }
}

/**
 * Decodes and checks a change batch. `what` names the bytes in error messages (e.g. "journal
 * record at byte 4096"). Any damage — truncation, extension, a flipped bit (the batch carries a
 * CRC32), a bad magic or version, counts or lengths that disagree, revisions not consecutive or
 * out of order, an unknown table, an entity changed twice in one revision — is
 * `StateError('CORRUPT')` naming `what`, never another exception, a hang or an allocation larger
 * than the bytes. Zero-copy when `bytes` starts 8-aligned in its buffer (the returned tables are
 * views on it: do not modify it afterwards); otherwise the bytes are copied once.
 */
export function decodeChangeBatch(bytes: Uint8Array, what: string): ChangeBatch {
  if (!(bytes instanceof Uint8Array)) throw invalid(`${what}`, bytes, 'a Uint8Array');
  let buf = bytes;
  if (buf.byteOffset % 8 !== 0) {
    buf = new Uint8Array(bytes.byteLength);
    buf.set(bytes);
  }
  const h = readHeader(buf, what);
  const sections = {} as Record<SectionName, Data<Struct> | null>;
  let at = HEADER_BYTES;
  SECTIONS.forEach((s, i) => {
    const len = h.lengths[i]!;
    const rows = s === 'revisions' ? h.lastRevision - h.firstRevision + 1 : h.rows[s];
    sections[s] = len > 0 ? decodeSection(buf.subarray(at, at + len), s, rows, what) : null;
    at += len;
  });
  const times = checkRevisions(sections.revisions!, h, what);
  const upsertStarts = {} as Record<EntityKind, Int32Array | null>;
  const checked = {} as Record<EntityKind, { data: Data<Struct>; starts: Int32Array } | null>;
  for (const kind of ENTITY_KINDS) {
    const d = sections[kind];
    upsertStarts[kind] = d ? revisionStarts(d, kind, h, what) : null;
    checked[kind] = d ? { data: d, starts: upsertStarts[kind]! } : null;
    if (d) checkUpsertColumns(d, kind, what);
  }
  const del = sections.deletes;
  const deleteStarts = del ? revisionStarts(del, 'deletes', h, what) : null;
  const deleteCodes = del ? checkDeletes(del, what) : null;
  const count = h.lastRevision - h.firstRevision + 1;
  checkOnce(checked, del ? { data: del, starts: deleteStarts!, codes: deleteCodes! } : null, count, h.firstRevision, what);
  return new DecodedBatch({ first: h.firstRevision, last: h.lastRevision, byteLength: buf.byteLength, sections, times, upsertStarts, deleteStarts, deleteCodes, what });
}
