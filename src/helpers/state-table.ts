/**
 * The seed's single-row layout as a state source of the helpers: a Snapshot over the flat tables
 * of arrow/decode/flat-tables.ts (zero-copy), with revision -1 (the layout does not carry it).
 */
import { Table } from 'apache-arrow';
import { flatFromSingleRow } from '../arrow/decode/flat-tables.js';
import type { Snapshot, SnapshotSource } from '../snapshot.js';

/** Is `x` an apache-arrow Table (of any copy of the library)? */
export function isArrowTable(x: unknown): x is Table {
  if (x instanceof Table) return true;
  const t = x as Table;
  return !!t && typeof t === 'object' && !!t.schema && Array.isArray(t.schema.fields) && Array.isArray(t.data) && typeof t.numRows === 'number';
}

/** Where a single-row table came from, for error codes and the snapshot's `source`. */
export interface TableOrigin {
  source: SnapshotSource;
  /** Names the table in error messages (a file path, or "the state table"). */
  what: string;
  /** Error code for a table that is not in the layout: CORRUPT for files, INVALID_ARGUMENT for arguments. */
  code: 'CORRUPT' | 'INVALID_ARGUMENT';
}

/**
 * A Snapshot over a single-row state table (zero-copy). `revision` is -1 (unknown: the seed
 * layout does not carry it). A 0-row table is the empty state.
 */
export function snapshotFromStateTable(table: Table, origin: TableOrigin): Snapshot {
  return { revision: -1, ...flatFromSingleRow(table, origin.what, origin.code), source: origin.source, release: () => undefined };
}
