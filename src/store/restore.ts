/**
 * Bringing state back into the writer: from our arena file (the batches are adopted as they
 * are — no JS records are rebuilt, only the id index), or from foreign flat tables such as a
 * pyarrow-written Parquet file in the seed layout (rows are validated and imported).
 */
import { RecordBatch, Table } from 'apache-arrow';
import type { StringDictionary } from '../arrow/dictionary.js';
import type { FlatTables } from '../arrow/flat-tables.js';
import { decodeRecordBatch } from '../arrow/ipc-message.js';
import { readDict, readUtf8 } from '../arrow/row-reader.js';
import { corrupt } from '../errors.js';
import { readRecord } from '../helpers/columns.js';
import { ENTITIES, ENTITY_KINDS, NODE_ROLES, NODE_STATUSES, TASK_STATUSES, type EntityKind } from '../schema/entities.js';
import { flatSchema } from '../schema/state-schema.js';
import type { Arena } from '../shm/arena.js';
import { decodePrefix } from '../shm/decode.js';
import type { DirEntry, Directory } from '../shm/directory.js';
import type { EntityTable, Row } from './entity-table.js';

/** What restoring needs from the writer. */
export interface StoreInternals {
  tables: Record<EntityKind, EntityTable>;
  dicts: Map<number, StringDictionary>;
  arena: Arena;
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

const ENUMS: Record<string, readonly string[]> = { 'nodes.role': NODE_ROLES, 'nodes.status': NODE_STATUSES, 'tasks.status': TASK_STATUSES };

/**
 * Adopts the revision named by `dir` from an arena file: batches are decoded straight from the
 * bytes read (and checksummed) by `read`, copied into shared memory, and indexed by id. Tables
 * written with another schema (an older version) are imported row by row with defaults.
 */
export function restoreFromArena(st: StoreInternals, dir: Directory, read: (e: DirEntry, what: string) => Uint8Array): void {
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
        const extent = st.arena.alloc(master.byteLength);
        st.arena.bytes(extent, master.byteLength).set(master);
        return { data, master, extent, version: e.version, crc: e.crc }; // e.crc: verified against these bytes by `read`
      }));
    } else {
      // Another schema version: decode with the file's own schema, import with defaults.
      const batches = t.batches.map((e, i) => new RecordBatch(prefix.schema, decodeRecordBatch(read(e, `${kind} batch ${i}`), prefix.fields, prefix.dictionaries)));
      importTable(st, kind, batches.length ? new Table(prefix.schema, batches) : new Table(prefix.schema));
    }
  }
  st.raiseVersion(maxVersion);
  st.setHead(dir.revision, dir.updatedAt, (dir.meta.master_id as string | null) ?? null);
}

/** Imports foreign flat tables (e.g. from a pyarrow Parquet file); validates as it goes. */
export function importFlat(st: StoreInternals, flat: FlatTables, revision = 0): void {
  for (const kind of ENTITY_KINDS) importTable(st, kind, flat[kind]);
  st.setHead(revision, flat.updatedAt, flat.masterId);
}

function importTable(st: StoreInternals, kind: EntityKind, table: Table): void {
  const spec = ENTITIES[kind];
  const target = st.tables[kind];
  table.data.forEach((d, b) => {
    for (let i = 0; i < d.length; i++) {
      const rec = readRecord(kind, table, b, i) as Row;
      const where = `${kind}[${target.size}]`;
      const id = rec[spec.key];
      if (typeof id !== 'string' || id.length === 0) throw corrupt(`${where}: ${spec.key} is ${JSON.stringify(id)}, not an id`);
      if (target.has(id)) throw corrupt(`${where}: duplicate ${spec.key} ${JSON.stringify(id)}`);
      for (const [k, v] of Object.entries(DEFAULTS[kind])) if (rec[k] === null || rec[k] === undefined) rec[k] = Array.isArray(v) ? [] : v;
      for (const [key, allowed] of Object.entries(ENUMS)) {
        const [k, col] = key.split('.') as [string, string];
        if (k === kind && !allowed.includes(rec[col] as string)) throw corrupt(`${where} (${JSON.stringify(id)}): ${col} ${JSON.stringify(rec[col])} is not one of ${allowed.join(', ')}`);
      }
      if (kind === 'tasks' && typeof rec.type !== 'string') throw corrupt(`${where} (${JSON.stringify(id)}): type ${JSON.stringify(rec.type)} is not a string`);
      target.insert(rec);
    }
  });
}

/** Active (assigned or running) task ids per node, by a columnar scan of the tasks table. */
export function activeByNode(tasks: Table): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const k = (name: string) => tasks.schema.fields.findIndex((f) => f.name === name);
  const [ki, ks, ka] = [k('id'), k('status'), k('assigned_to')];
  for (const d of tasks.data) {
    const status = d.children[ks]!;
    for (let i = 0; i < d.length; i++) {
      const s = status.dictionary ? readDict(status, i) : readUtf8(status, i);
      if (s !== 'assigned' && s !== 'running') continue;
      const node = readUtf8(d.children[ka]!, i);
      if (!node) continue;
      let set = out.get(node);
      if (!set) out.set(node, (set = new Set()));
      set.add(readUtf8(d.children[ki]!, i)!);
    }
  }
  return out;
}
