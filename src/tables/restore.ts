/**
 * Bringing state back into the writer: from our arena file (the batches are adopted as they
 * are — no JS records are rebuilt, only the id index), or from foreign flat tables such as a
 * pyarrow-written Parquet file in the seed layout (rows are validated and imported).
 */
import { RecordBatch, Table, type Data } from 'apache-arrow';
import type { StringDictionary } from '../arrow/encode/dictionary.js';
import { epochMs, type FlatTables } from '../arrow/decode/flat-tables.js';
import { decodeRecordBatch } from '../arrow/decode/ipc-message.js';
import { readValue } from '../arrow/decode/row-reader.js';
import { tableView } from '../arrow/decode/table-view.js';
import { corrupt, show, StateError } from '../errors.js';
import type { ColumnSpec } from '../schema/columns.js';
import { ENTITIES, ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import { checkRecord } from '../validate/stored-record.js';
import { checkId, checkTime } from '../validate/values.js';
import { flatSchema } from '../schema/state-schema.js';
import type { Arena } from '../shm/arena.js';
import { decodePrefix } from '../arena/decode.js';
import type { DirEntry, Directory } from '../arena/directory.js';
import type { EntityTable, Row } from './entity-table.js';
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

/** Defaults of our extension columns for rows from files that lack them. */
const DEFAULTS: Record<EntityKind, Record<string, unknown>> = {
  nodes: { peers: [], capabilities: [] },
  tasks: { priority: 0, attempts: 0, input_cids: [], output_cids: [] },
  content: { providers: [], pinned: false, replication: 1 },
};


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
      importTable(st, kind, batches.length ? new Table(prefix.schema, batches) : new Table(prefix.schema), 'the arena file (an older schema version)');
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
 * Imports foreign flat tables (e.g. from a pyarrow Parquet file). Every row is checked with the
 * rules mutations apply (checkRecord: ids, roles, statuses, numbers, times, JSON, sizes), so a
 * row no mutation could have written — an id holding ESC or a newline, JSON text that does not
 * parse, a time past the Date range — is refused with CORRUPT naming the row, the field and the
 * value, and nothing is imported that a later mutation could not address. Timestamps in s, µs or
 * ns are converted to ms (floored). `what` names the source in messages (e.g. the file).
 */
export function importFlat(st: RestoreTarget, flat: FlatTables, revision = 0, what = 'the imported state'): void {
  for (const kind of ENTITY_KINDS) importTable(st, kind, flat[kind], what);
  const head = (f: () => unknown) => {
    try {
      return f();
    } catch (e) {
      throw refused(e, `${what}: the cluster fields`);
    }
  };
  // A table without updated_at (NaN) counts as changed at epoch 0.
  const updatedAt = head(() => checkTime(Number.isNaN(flat.updatedAt) ? 0 : Math.floor(flat.updatedAt), 'updated_at')) as number;
  const masterId = head(() => (flat.masterId === null ? null : checkId(flat.masterId, 'master_id'))) as string | null;
  st.setHead(revision, updatedAt, masterId);
}

/** A refused imported value as CORRUPT (a file another tool wrote is damaged for us, not our caller's argument). */
function refused(e: unknown, where: string): StateError {
  const detail = e instanceof StateError ? e.message.replace(/^[A-Z_]+: /, '') : `${(e as Error)?.name ?? 'Error'}: ${(e as Error)?.message ?? show(e)}`;
  return corrupt(`${where}: ${detail}`, e);
}

function importTable(st: RestoreTarget, kind: EntityKind, table: Table, what: string): void {
  const spec = ENTITIES[kind];
  const target = st.tables[kind];
  const names = table.schema.fields.map((f) => f.name);
  const columnAt = spec.columns.map((c) => names.indexOf(c.name));
  const defaults = Object.entries(DEFAULTS[kind]);
  table.data.forEach((d) => {
    const children = columnAt.map((k) => (k < 0 ? undefined : d.children[k]));
    for (let i = 0; i < d.length; i++) {
      const raw: Row = {};
      for (let c = 0; c < spec.columns.length; c++) {
        const col = spec.columns[c]!;
        try {
          raw[col.name] = readImported(col, children[c], i);
        } catch (e) {
          const where = `${what}: ${kind} row ${target.size}`;
          throw refused(e, e instanceof StateError ? where : `${where}: column ${col.name}`); // (our errors name the column)
        }
      }
      for (const [k, v] of defaults) if (raw[k] === null || raw[k] === undefined) raw[k] = Array.isArray(v) ? [] : v;
      const where = `${what}: ${kind} row ${target.size}`;
      let rec: Row;
      try {
        rec = checkRecord(kind, raw, kind === 'nodes' ? 'node' : kind === 'tasks' ? 'task' : 'content');
      } catch (e) {
        throw refused(e, `${where}${typeof raw[spec.key] === 'string' ? ` (${spec.key} ${show(raw[spec.key])})` : ''}`);
      }
      const id = rec[spec.key] as string;
      if (target.has(id)) throw corrupt(`${where}: duplicate ${spec.key} ${show(id)}`);
      target.insert(rec, true);
    }
  });
}

/** One value of a foreign column: as readValue reads it, with timestamps in s/µs/ns converted to ms. */
function readImported(spec: ColumnSpec, data: Data | undefined, i: number): unknown {
  const v = readValue(spec, data, i);
  return spec.kind === 'timestamp' && typeof v === 'number' && data ? epochMs(data, v) : v;
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
