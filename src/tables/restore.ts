/**
 * Bringing state back into the writer: from our arena file (the batches are adopted as they
 * are — no JS records are rebuilt, only the id index), or from foreign flat tables such as a
 * pyarrow-written Parquet file in the seed layout (rows are validated and imported).
 */
import { RecordBatch, Table } from 'apache-arrow';
import type { StringDictionary } from '../arrow/encode/dictionary.js';
import type { FlatTables } from '../arrow/decode/flat-tables.js';
import { decodeRecordBatch } from '../arrow/decode/ipc-message.js';
import { tableView } from '../arrow/decode/table-view.js';
import { corrupt, show, type ErrorCode } from '../errors.js';
import { ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import { encodeTable, type BulkContext } from './bulk-import.js';
import { refused } from './import-rows.js';
import { checkId, checkTime } from '../validate/values.js';
import { flatSchema } from '../schema/state-schema.js';
import type { Arena } from '../shm/arena.js';
import { decodePrefix } from '../arena/decode.js';
import type { DirEntry, Directory } from '../arena/directory.js';
import type { EncodedBatch, EntityTable } from './entity-table.js';
import type { Model } from './model.js';

/** What restoring needs from the writer (ClusterState.restored hands it to recovery). */
export interface RestoreTarget {
  /** The model being restored (change sets are applied to it: apply.ts). */
  model: Model;
  tables: Record<EntityKind, EntityTable>;
  dicts: Map<number, StringDictionary>;
  /** Shared memory to copy the batches into (a writer's); absent for a replica that does not share. */
  arena?: Arena;
  /** Extent versions continue above this. */
  raiseVersion(v: number): void;
  setHead(revision: number, updatedAt: number, masterId: string | null): void;
}

/**
 * Adopts the revision named by `dir` from an arena file: batches are decoded straight from the
 * bytes read (and checksummed) by `read`, copied into shared memory, and indexed by id. Tables
 * written with another schema (an older version) are imported row by row with defaults.
 */
export function restoreFromArena(st: RestoreTarget, dir: Directory, read: (e: DirEntry, what: string) => Uint8Array): void {
  let maxVersion = 0;
  for (const kind of ENTITY_KINDS) {
    const t = dir.tables[kind];
    const prefix = decodePrefix(read(t.prefix, `${kind} prefix`), `${kind} prefix`);
    maxVersion = Math.max(maxVersion, t.prefix.version, ...t.batches.map((b) => b.version));
    const current = flatSchema(kind);
    const same = prefix.fields.length === current.fields.length && prefix.fields.every((f, i) => f.name === current.fields[i]!.name && String(f.type) === String(current.fields[i]!.type));
    if (same) {
      for (const [id, vec] of prefix.dictionaries) st.dicts.get(id)?.restore(vec.toArray() as string[]);
      const vectors = new Map([...prefix.dictionaries.keys()].map((id) => [id, st.dicts.get(id)!.vector()]));
      st.tables[kind].adopt(t.batches.map((e, i) => {
        const master = read(e, `${kind} batch ${i}`);
        const data = decodeRecordBatch(master, current.fields, vectors, `${kind} batch ${i}`);
        if (data.length !== e.rows) throw corrupt(`${kind} batch ${i}: ${data.length} rows, the directory says ${e.rows}`);
        const extent = st.arena ? st.arena.alloc(master.byteLength) : null;
        if (extent) st.arena!.bytes(extent, master.byteLength).set(master);
        return { data, master, extent, version: e.version, crc: e.crc }; // e.crc: verified against these bytes by `read`
      }));
    } else {
      // Another schema version: decode with the file's own schema, import with defaults.
      const batches = t.batches.map((e, i) => new RecordBatch(prefix.schema, decodeRecordBatch(read(e, `${kind} batch ${i}`), prefix.fields, prefix.dictionaries)));
      const table = batches.length ? new Table(prefix.schema, batches) : new Table(prefix.schema);
      st.tables[kind].adopt(encodeTable(kind, table, bulkContext(st), 'the arena file (an older schema version)'));
    }
  }
  st.raiseVersion(maxVersion);
  st.setHead(dir.revision, storedTime(dir.updatedAt, dir.revision), (dir.meta.master_id as string | null) ?? null);
}

/**
 * The commit time stored with a revision, as whole epoch ms. Writers before the clock was
 * validated could store a fractional reading (performance.now()-based clocks): it is floored, as
 * the writer now floors readings; a stored time that is not a number of epoch ms at all (NaN, ±∞,
 * out of the Date range) is CORRUPT.
 */
function storedTime(t: number, revision: number): number {
  try {
    return checkTime(Number.isFinite(t) ? Math.floor(t) : t, 'updated_at');
  } catch (e) {
    throw corrupt(`revision ${revision} of the arena file has updated_at ${show(t)}, not epoch milliseconds in the Date range`, e);
  }
}

/**
 * Imports foreign flat tables (e.g. from a pyarrow Parquet file, or tables given to
 * `options.import`) column by column (bulk-import.ts): every value is checked with the rules
 * mutations apply (checkRecord: ids, roles, statuses, numbers, times, JSON, sizes; keys
 * distinct), so a row no mutation could have written — an id holding ESC or a newline, JSON text
 * that does not parse, a time past the Date range — is refused with a StateError of `code`
 * (CORRUPT for a file, INVALID_ARGUMENT for an argument) naming the row, the field and the value,
 * and nothing is imported: the tables and dictionaries are as before. Timestamps in s, µs or ns
 * are converted to ms (floored); missing extension columns take their defaults. `what` names the
 * source in messages (e.g. the file). The batches are adopted on the heap (shared at the next
 * publish); the head becomes (`revision`, the tables' updated_at or epoch 0, their master_id).
 */
export function importFlat(st: RestoreTarget, flat: FlatTables, revision = 0, what = 'the imported state', code: ErrorCode = 'CORRUPT'): void {
  const ctx = bulkContext(st);
  const sizes = new Map([...st.dicts].map(([id, d]) => [id, d.size]));
  const head = (f: () => unknown) => {
    try {
      return f();
    } catch (e) {
      throw refused(e, `${what}: the cluster fields`, code);
    }
  };
  let batches: EncodedBatch[][];
  let updatedAt: number;
  let masterId: string | null;
  try {
    batches = ENTITY_KINDS.map((kind) => encodeTable(kind, flat[kind], ctx, what, code));
    // A table without updated_at (NaN) counts as changed at epoch 0.
    updatedAt = head(() => checkTime(Number.isNaN(flat.updatedAt) ? 0 : Math.floor(flat.updatedAt), 'updated_at')) as number;
    masterId = head(() => (flat.masterId === null ? null : checkId(flat.masterId, 'master_id'))) as string | null;
  } catch (e) {
    // Nothing imported: task types a refused import coded are taken back.
    for (const [id, d] of st.dicts) if (d.size > sizes.get(id)!) d.restore(d.list().slice(0, sizes.get(id)!));
    throw e;
  }
  ENTITY_KINDS.forEach((kind, i) => st.tables[kind].adopt(batches[i]!));
  st.setHead(revision, updatedAt, masterId);
}

/** The dictionaries and extent versions of a restore target, for the column-wise encoder. */
function bulkContext(st: RestoreTarget): BulkContext {
  return { dictionary: (id) => st.dicts.get(id)!, nextVersion: () => ++st.model.version };
}

/**
 * Active (assigned or running) task ids per node, by a columnar scan of the tasks table: the
 * status column is compared on its dictionary codes; strings are made only for active rows.
 */
export function activeByNode(tasks: Table): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const v = tableView(tasks);
  const status = v.str('status');
  const node = v.str('assigned_to');
  const id = v.str('id');
  status.chunks.forEach((sc, b) => {
    const assigned = sc.equals('assigned');
    const running = sc.equals('running');
    const nc = node.chunks[b]!;
    const ic = id.chunks[b]!;
    for (let i = 0; i < sc.length; i++) {
      if (!assigned(i) && !running(i)) continue;
      const n = nc.get(i);
      if (!n) continue;
      let set = out.get(n);
      if (!set) out.set(n, (set = new Set()));
      set.add(ic.get(i)!);
    }
  });
  return out;
}
