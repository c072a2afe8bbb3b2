/**
 * Reading single values and rows out of Arrow columns into plain JS values: strings decoded,
 * int64 and timestamps as numbers, dictionary codes as their strings, JSON text parsed. Used
 * for the few rows a getter or helper returns, never for whole-table scans.
 */
import type { Data } from 'apache-arrow';
import type { ColumnSpec, LeafSpec } from '../../schema/columns.js';
import { corrupt, show } from '../../errors.js';
import { isValidAt } from './validity.js';

const decoder = new TextDecoder();

/** UTF-8 string at row `i` of a utf8 column (null when null). Works on SharedArrayBuffer views. */
export function readUtf8(data: Data, i: number): string | null {
  if (!isValidAt(data, i)) return null;
  const vo = data.valueOffsets as Int32Array;
  const j = data.offset + i;
  const bytes = (data.values as Uint8Array).subarray(vo[j]!, vo[j + 1]!);
  return decoder.decode(bytes);
}

/** Strings of the list at row `i` of a list<utf8> column ([] for a null list). */
export function readList(data: Data, i: number): string[] {
  if (!isValidAt(data, i)) return [];
  const vo = data.valueOffsets as Int32Array;
  const j = data.offset + i;
  const child = data.children[0]!;
  const out: string[] = [];
  for (let k = vo[j]!; k < vo[j + 1]!; k++) out.push(readUtf8(child, k) ?? '');
  return out;
}

/** The string behind a dictionary code at row `i`. */
export function readDict(data: Data, i: number): string | null {
  if (!isValidAt(data, i)) return null;
  const code = (data.values as Int8Array | Int32Array)[data.offset + i]!;
  return (data.dictionary!.get(code) as string | null) ?? null;
}

/**
 * The shortest decimal that is the same float32 as `x`: float32 columns (cpu_load) read back as
 * the number that was written (73.3), not its binary expansion (73.30000305175781).
 */
export function shortFloat32(x: number): number {
  const f = Math.fround(x);
  if (!Number.isFinite(f)) return f;
  for (let p = 1; p <= 9; p++) {
    const y = Number(f.toPrecision(p));
    if (Math.fround(y) === f) return y;
  }
  return f;
}

/**
 * The value of a JSON column's text. Text that does not parse (a file written by another tool,
 * or damaged) is CORRUPT naming the column and the text, never a raw SyntaxError.
 */
export function parseJsonField(text: string, column: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw corrupt(`column ${column} holds text that is not JSON, ${show(text)} (${(e as Error).message})`, e);
  }
}

/** Number at row `i` of a numeric, int64 or timestamp column. */
export function readNumber(data: Data, i: number): number | null {
  if (!isValidAt(data, i)) return null;
  const v = (data.values as ArrayLike<number | bigint>)[data.offset + i]!;
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Boolean at row `i` (null when null). */
export function readBool(data: Data, i: number): boolean | null {
  if (!isValidAt(data, i)) return null;
  const b = data.offset + i;
  return (((data.values as Uint8Array)[b >> 3]! >> (b & 7)) & 1) === 1;
}

/** The JS value of one column at row `i`, following its spec. */
export function readValue(spec: ColumnSpec, data: Data | undefined, i: number): unknown {
  if (!data) return spec.kind === 'list' ? [] : spec.kind === 'struct' ? readStruct(spec.children, undefined, i) : null;
  switch (spec.kind) {
    case 'struct': return readStruct(spec.children, data, i);
    case 'utf8': {
      // A foreign file (or apache-arrow's tableFromArrays) may dictionary-encode any text column.
      const s = data.dictionary ? readDict(data, i) : readUtf8(data, i);
      return spec.json && s !== null ? parseJsonField(s, spec.name) : s;
    }
    case 'list': return readList(data, i);
    case 'dict': return data.dictionary ? readDict(data, i) : readUtf8(data, i);
    case 'bool': return readBool(data, i);
    case 'float32': {
      const v = readNumber(data, i);
      return v === null ? null : shortFloat32(v);
    }
    default: return readNumber(data, i);
  }
}

function readStruct(children: readonly LeafSpec[], data: Data | undefined, i: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const valid = data ? isValidAt(data, i) : false;
  // Match children by name: a foreign file may order them differently or lack our extensions.
  const names = valid ? (data!.type as { children: { name: string }[] }).children.map((f) => f.name) : [];
  for (const spec of children) {
    const k = names.indexOf(spec.name);
    out[spec.name] = k >= 0 ? readValue(spec, data!.children[k], i) : null;
  }
  return out;
}
