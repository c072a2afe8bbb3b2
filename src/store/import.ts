/**
 * `options.import`: a whole state given to a new writer at once — a seed-layout Parquet file (a
 * path), the single-row state Table (another writer's `getState()`, or pyarrow's), the flat
 * tables `{ nodes, tasks, content }` (another writer's `getTables()`), or plain records
 * `{ nodes: [...], tasks: [...], content: [...] }` in the shape the getters return. Every row is
 * checked with the rules a stored record must meet (restore.ts, stored-record.ts); the first
 * that fails is refused naming the row, the field and the value, and nothing is imported. The
 * import is the writer's revision 1: one revision, not one per record, and no change set per row.
 */
import { Table } from 'apache-arrow';
import type { FlatTables } from '../arrow/decode/flat-tables.js';
import { flatFromSingleRow } from '../arrow/decode/flat-tables.js';
import { invalid, show, StateError } from '../errors.js';
import { readSeedParquet } from '../persist/seed-parquet.js';
import { ENTITIES, ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import { importFlat, type RestoreTarget } from '../tables/restore.js';
import type { Row } from '../tables/entity-table.js';
import { checkRecord } from '../validate/stored-record.js';

/** What `options.import` accepts. */
export type ImportSource =
  | string
  | Table
  | { nodes?: Table; tasks?: Table; content?: Table }
  | { nodes?: readonly object[]; tasks?: readonly object[]; content?: readonly object[] };

/** A checked import source. */
export type ParsedImport =
  | { kind: 'parquet'; path: string }
  | { kind: 'flat'; flat: FlatTables }
  | { kind: 'records'; records: Record<EntityKind, readonly unknown[]> };

const WHAT = 'options.import';

/** Checks the shape of `options.import` (not its rows: applyImport does). INVALID_ARGUMENT naming what is wrong. */
export function checkImportSource(v: unknown): ParsedImport {
  if (typeof v === 'string') {
    if (!v.length) throw invalid(WHAT, v, 'a Parquet file path, a state Table, { nodes, tasks, content } tables or record arrays');
    return { kind: 'parquet', path: v };
  }
  if (v instanceof Table) return { kind: 'flat', flat: flatFromSingleRow(v, WHAT, 'INVALID_ARGUMENT') };
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid(WHAT, v, 'a Parquet file path, a state Table, { nodes, tasks, content } tables or record arrays');
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !(ENTITY_KINDS as readonly string[]).includes(k));
  if (extra.length) throw invalid(`${WHAT}.${extra[0]}`, o[extra[0]!], `absent: the keys are ${ENTITY_KINDS.join(', ')}`);
  const given = ENTITY_KINDS.filter((k) => o[k] !== undefined);
  if (!given.length) throw invalid(WHAT, v, 'at least one of nodes, tasks, content');
  if (given.every((k) => o[k] instanceof Table)) {
    const empty = (k: EntityKind) => (o[k] as Table | undefined) ?? new Table();
    return { kind: 'flat', flat: { clusterId: '', masterId: null, updatedAt: Number.NaN, nodes: empty('nodes'), tasks: empty('tasks'), content: empty('content') } };
  }
  if (given.every((k) => Array.isArray(o[k]))) {
    return { kind: 'records', records: { nodes: (o.nodes as unknown[]) ?? [], tasks: (o.tasks as unknown[]) ?? [], content: (o.content as unknown[]) ?? [] } };
  }
  // Something that is neither, or tables mixed with record arrays: name the first that breaks the pattern.
  const first = given[0]!;
  const kindOf = (x: unknown) => (x instanceof Table ? 'table' : Array.isArray(x) ? 'array' : 'other');
  const bad = given.find((k) => kindOf(o[k]) === 'other') ?? given.find((k) => kindOf(o[k]) !== kindOf(o[first]))!;
  throw invalid(`${WHAT}.${bad}`, o[bad], 'an Arrow Table (when the others are tables) or an array of records (when the others are arrays)');
}

/**
 * Fills the empty writer of `t` with the import as revision 1, committed at `now`; the master is
 * the writer's own node when it is an imported master, else the source's (a seed-layout file
 * names it), else the first imported master. Refuses (nothing kept: the writer is discarded)
 * with INVALID_ARGUMENT for rows given in memory, CORRUPT for a file, naming the row, the field
 * and the value; ALREADY_EXISTS for an id given twice.
 */
export function applyImport(t: RestoreTarget, src: ParsedImport, now: number, nodeId: string | null): void {
  let sourceMaster: string | null = null;
  if (src.kind === 'records') {
    for (const kind of ENTITY_KINDS) {
      const spec = ENTITIES[kind];
      const table = t.tables[kind];
      src.records[kind].forEach((r, i) => {
        const where = `${WHAT}.${kind}[${i}]`;
        if (r === null || typeof r !== 'object' || Array.isArray(r)) throw invalid(where, r, `a ${kind === 'content' ? 'content' : kind.slice(0, -1)} record`);
        const rec = checkRecord(kind, r as Record<string, unknown>, where) as Row;
        const id = rec[spec.key] as string;
        if (table.has(id)) throw new StateError('ALREADY_EXISTS', `${where}.${spec.key}: ${show(id)} is given twice`);
        table.insert(rec);
      });
    }
  } else {
    const flat = src.kind === 'parquet' ? readSeedParquet(src.path) : src.flat;
    try {
      importFlat(t, flat, 1, src.kind === 'parquet' ? `Parquet file ${show(src.path)}` : WHAT);
    } catch (e) {
      // Tables given in memory are the caller's argument, not a damaged file.
      if (src.kind === 'flat' && e instanceof StateError && e.code === 'CORRUPT') throw new StateError('INVALID_ARGUMENT', e.message.replace(/^CORRUPT: /, ''), { cause: e });
      throw e;
    }
    sourceMaster = flat.masterId;
  }
  const isMaster = (id: string | null) => id !== null && t.tables.nodes.has(id) && t.tables.nodes.field(id, 'role') === 'master';
  const master = isMaster(nodeId) ? nodeId : isMaster(sourceMaster) ? sourceMaster : (t.tables.nodes.ids().find((id) => isMaster(id)) ?? null);
  t.setHead(1, now, master);
}
