/**
 * Column access for the helpers: find rows by comparing raw UTF-8 bytes or dictionary codes,
 * and materialise only the rows a helper returns. Works on any Snapshot's tables: ours
 * (dictionary-coded role/status/type) and foreign ones (plain utf8, fields in any order, our
 * extension columns missing).
 */
import type { Data, Table } from 'apache-arrow';
import { isValidAt } from '../arrow/column-writer.js';
import { readValue } from '../arrow/row-reader.js';
import { ENTITIES, type EntityKind } from '../schema/entities.js';

const encoder = new TextEncoder();

/** The chunks (one per record batch) of column `name`, or null when the table lacks it. */
export function chunksOf(table: Table, name: string): Data[] | null {
  const k = table.schema.fields.findIndex((f) => f.name === name);
  if (k < 0) return null;
  return table.data.map((b) => b.children[k]!);
}

/** Row positions (batch, row) where utf8 column `name` equals `value` byte for byte. */
export function rowsWhereEquals(table: Table, name: string, value: string, limit = Infinity): [number, number][] {
  const chunks = chunksOf(table, name);
  const out: [number, number][] = [];
  if (!chunks) return out;
  const target = encoder.encode(value);
  const len = target.length;
  for (let b = 0; b < chunks.length && out.length < limit; b++) {
    const d = chunks[b]!;
    if (d.dictionary) {
      // Dictionary-coded: compare codes against the code of `value`.
      const dictValues = d.dictionary.toArray() as string[];
      const code = dictValues.indexOf(value);
      if (code < 0) continue;
      const codes = d.values as Int8Array | Int32Array;
      for (let i = 0; i < d.length && out.length < limit; i++) if (codes[d.offset + i] === code && isValidAt(d, i)) out.push([b, i]);
      continue;
    }
    const vo = d.valueOffsets as Int32Array;
    const bytes = d.values as Uint8Array;
    for (let i = 0; i < d.length && out.length < limit; i++) {
      const s = vo[d.offset + i]!;
      if (vo[d.offset + i + 1]! - s !== len) continue;
      let k = 0;
      while (k < len && bytes[s + k] === target[k]) k++;
      if (k === len && isValidAt(d, i)) out.push([b, i]);
    }
  }
  return out;
}

/** The record at (batch, row) of an entity table, as a plain object in our record shape. */
export function readRecord(kind: EntityKind, table: Table, batch: number, row: number): Record<string, unknown> {
  const spec = ENTITIES[kind];
  const data = table.data[batch]!;
  const out: Record<string, unknown> = {};
  for (const c of spec.columns) {
    const k = table.schema.fields.findIndex((f) => f.name === c.name);
    out[c.name] = readValue(c, k < 0 ? undefined : data.children[k], row);
  }
  return out;
}

/** The first record whose key equals `id`, or undefined. */
export function findById(kind: EntityKind, table: Table, id: string): Record<string, unknown> | undefined {
  const [hit] = rowsWhereEquals(table, ENTITIES[kind].key, id, 1);
  return hit ? readRecord(kind, table, hit[0], hit[1]) : undefined;
}

/** Counts of a string column's values (dictionary codes counted without decoding each row). */
export function countBy(table: Table, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of chunksOf(table, name) ?? []) {
    if (d.dictionary) {
      const dict = d.dictionary.toArray() as string[];
      const counts = new Float64Array(dict.length);
      const codes = d.values as Int8Array | Int32Array;
      for (let i = 0; i < d.length; i++) if (isValidAt(d, i)) counts[codes[d.offset + i]!]!++;
      dict.forEach((v, c) => {
        if (counts[c]) out[v] = (out[v] ?? 0) + counts[c]!;
      });
    } else {
      for (let i = 0; i < d.length; i++) {
        const v = readValue({ name, kind: 'utf8' }, d, i) as string | null;
        if (v !== null) out[v] = (out[v] ?? 0) + 1;
      }
    }
  }
  return out;
}
