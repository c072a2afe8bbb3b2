/**
 * Reading a query's fields of single rows as plain values (for ordering, grouping and the
 * selected fields of returned rows), and the one order of values every query uses: numbers
 * numerically, text by code point, null after everything in either direction.
 */
import type { TableView } from '../arrow/decode/table-view.js';
import { parseJsonField } from '../arrow/decode/row-reader.js';
import { compareCodePoints } from './compare.js';
import { numReader, strChunk } from './leaf.js';
import type { Field } from './fields.js';

/** A field's value at row i of one batch: text, a number (booleans as 0/1), or null. */
export type ValueAt = (i: number) => string | number | null;

/** The reader of field f (text, number, boolean or length) in batch b. */
export function valueAt(view: TableView, f: Field, b: number): ValueAt {
  if (f.type === 'str') {
    const c = strChunk(view, f, b);
    return (i) => c.get(i);
  }
  const r = numReader(view, f, b);
  return (i) => {
    const v = r.get(i);
    return v !== v ? null : v;
  };
}

/** Compares two values of one field: numbers numerically, text by code point; null last (whatever `desc`). */
export function compareValues(a: unknown, b: unknown, desc: boolean): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  const d = typeof a === 'number' ? a - (b as number) : compareCodePoints(a as string, b as string);
  return desc ? -d : d;
}

/** A field's value as records show it: booleans as true/false, JSON parsed, lists as arrays, structs as objects. */
export function shownAt(view: TableView, f: Field, b: number): (i: number) => unknown {
  switch (f.type) {
    case 'json': {
      const c = strChunk(view, f, b);
      return (i) => {
        const s = c.get(i);
        return s === null ? null : parseJsonField(s, f.path);
      };
    }
    case 'list': {
      const c = view.list(f.column).chunks[b]!;
      return (i) => c.get(i);
    }
    case 'bool': {
      const r = numReader(view, f, b);
      return (i) => {
        const v = r.get(i);
        return v !== v ? null : v === 1;
      };
    }
    case 'struct': {
      const kids = f.children.map((c) => [c.spec.name, shownAt(view, c, b)] as const);
      return (i) => {
        const o: Record<string, unknown> = {};
        for (const [name, read] of kids) o[name] = read(i);
        return o;
      };
    }
    default:
      return valueAt(view, f, b); // text and numbers show as they are read
  }
}
