/**
 * The row-by-row reading of an imported flat table: the reference semantics of an import (each
 * row read as a record, missing extension columns defaulted, then checked with the rules the
 * mutations apply) and the one place its refusal messages are made. The column-wise importer
 * (bulk-import.ts) builds the same batches without rows; when it meets a value it refuses, it
 * asks `firstRefusal` here for the message, so that a refusal names the same row, column and
 * value whichever way the table was read.
 */
import type { Data, Table } from 'apache-arrow';
import { epochMs } from '../arrow/decode/flat-tables.js';
import { readValue } from '../arrow/decode/row-reader.js';
import { show, StateError, withCode, type ErrorCode } from '../errors.js';
import type { ColumnSpec } from '../schema/columns.js';
import { ENTITIES, type EntityKind } from '../schema/entities.js';
import { checkRecord } from '../validate/stored-record.js';

/** Defaults of our extension columns for rows from files that lack them (or hold null there). */
export const DEFAULTS: Record<EntityKind, Record<string, unknown>> = {
  nodes: { peers: [], capabilities: [] },
  tasks: { priority: 0, attempts: 0, input_cids: [], output_cids: [] },
  content: { providers: [], pinned: false, replication: 1 },
};

/** The singular noun of a kind as checkRecord names fields (`node.role`, `task.id`, `content.cid`). */
export function recordNoun(kind: EntityKind): string {
  return kind === 'nodes' ? 'node' : kind === 'tasks' ? 'task' : 'content';
}

/**
 * A refused imported value as a StateError of `code` (CORRUPT for a file another tool wrote: it
 * is damaged for us, not our caller's argument; INVALID_ARGUMENT for an argument), `where` first.
 */
export function refused(e: unknown, where: string, code: ErrorCode = 'CORRUPT'): StateError {
  const detail = e instanceof StateError ? e.message.replace(/^[A-Z_]+: /, '') : `${(e as Error)?.name ?? 'Error'}: ${(e as Error)?.message ?? show(e)}`;
  const err = withCode(code, `${where}: ${detail}`);
  return Object.assign(err, { cause: e });
}

/** One value of a foreign column: as readValue reads it, with timestamps in s/µs/ns converted to ms. */
export function readImported(spec: ColumnSpec, data: Data | undefined, i: number): unknown {
  const v = readValue(spec, data, i);
  return spec.kind === 'timestamp' && typeof v === 'number' && data ? epochMs(data, v) : v;
}

/**
 * The first row of `table` (in row order; within a row, the first column in schema order) that
 * the import refuses, as the error naming the row, the column and the value — e.g. `the
 * imported state: tasks row 7 (id "t7"): task.status must be one of …, got "done"` — or a
 * duplicate key; null when every row is accepted. Reads every row as a record: used to word a
 * refusal, never to import.
 */
export function firstRefusal(kind: EntityKind, table: Table, what: string, code: ErrorCode = 'CORRUPT'): StateError | null {
  const spec = ENTITIES[kind];
  const names = table.schema.fields.map((f) => f.name);
  const seen = new Set<string>();
  let row = 0;
  for (const d of table.data) {
    for (let i = 0; i < d.length; i++, row++) {
      const where = `${what}: ${kind} row ${row}`;
      const raw: Record<string, unknown> = {};
      for (const c of spec.columns) {
        const k = names.indexOf(c.name);
        try {
          raw[c.name] = readImported(c, k < 0 ? undefined : d.children[k], i);
        } catch (e) {
          return refused(e, e instanceof StateError ? where : `${where}: column ${c.name}`, code); // (our errors name the column)
        }
      }
      for (const [k, v] of Object.entries(DEFAULTS[kind])) if (raw[k] === null || raw[k] === undefined) raw[k] = Array.isArray(v) ? [] : v;
      let rec: Record<string, unknown>;
      try {
        rec = checkRecord(kind, raw, recordNoun(kind));
      } catch (e) {
        return refused(e, `${where}${typeof raw[spec.key] === 'string' ? ` (${spec.key} ${show(raw[spec.key])})` : ''}`, code);
      }
      const id = rec[spec.key] as string;
      if (seen.has(id)) return withCode(code, `${where}: duplicate ${spec.key} ${show(id)}`);
      seen.add(id);
    }
  }
  return null;
}
