/**
 * Group queries: the matching rows grouped by field values (a dictionary-coded field groups by
 * code: one table lookup per row, no string), with count, sum, min, max and mean per group, in
 * the query's order.
 */
import type { TableView } from '../arrow/decode/table-view.js';
import { hashBytes } from '../arrow/decode/key-index.js';
import { isAsciiBytes } from '../arrow/decode/str-chunk.js';
import { scan } from './filter.js';
import { numReader, strChunk, type NumReader } from './leaf.js';
import type { Field } from './fields.js';
import type { Plan } from './plan.js';
import { compareValues, valueAt, type ValueAt } from './values.js';
import { compareUnits, withoutSurrogates } from './compare.js';

/** Running totals of one aggregate: per group id. */
interface Acc {
  sum: number[];
  n: number[];
  min: number[];
  max: number[];
}

/** The groups of a group query and the match count. */
export function selectGroups(view: TableView, plan: Plan): { groups: Record<string, unknown>[]; total: number } {
  const fields = plan.group!;
  const keys: (string | number | null)[][] = []; // group id → its field values
  const counts: number[] = [];
  const accs: (Acc | null)[] = plan.aggs.map((a) => (a.field === null ? null : { sum: [], n: [], min: [], max: [] }));
  const byKey = new Map<unknown, number>();
  const newGroup = (values: (string | number | null)[]): number => {
    const g = keys.length;
    keys.push(values);
    counts.push(0);
    for (const a of accs) if (a) { a.sum.push(0); a.n.push(0); a.min.push(Infinity); a.max.push(-Infinity); }
    return g;
  };
  // One group of every match when there are no group fields (so a count of nothing is 0).
  if (fields.length === 0) newGroup([]);
  const codeGroups = new WeakMap<object, Int32Array>();
  const byBytes = new ByteGroups();
  /** Every group's text came from all-ASCII plain chunks (no surrogates: no check needed). */
  let asciiText = true;
  /** Groups made from plain text without entering byKey (see keyed()). */
  const byText: number[] = [];
  /** byKey, with the groups the bytes path made added first: every path agrees on one group per value. */
  const keyed = (): Map<unknown, number> => {
    for (const g of byText) byKey.set(keys[g]![0], g);
    byText.length = 0;
    return byKey;
  };

  // The group of each matching row is kept only when an aggregate needs it.
  const needIds = accs.some((a) => a !== null);
  const total = scan(view, plan.where, ({ batch: b, rows, n }) => {
    const gids = needIds ? new Int32Array(n) : null;
    const chunk = fields.length === 1 && fields[0]!.type === 'str' ? strChunk(view, fields[0]!, b) : null;
    if (fields.length === 0) {
      counts[0]! += n;
    } else if (chunk?.codes) {
      // Dictionary codes: a table from code to group, one lookup per row.
      const c = chunk;
      asciiText = false; // (their text is checked for surrogates below)
      let table = codeGroups.get(c.dict!);
      if (!table) codeGroups.set(c.dict!, (table = new Int32Array(c.dict!.values.length).fill(-1)));
      const codes = c.codes!;
      const valid = c.valid;
      if (!gids && valid.none) {
        // Counts only: count codes first, then add each code's count to its group.
        const per = new Float64Array(table.length);
        for (let k = 0; k < n; k++) per[codes[rows[k]!]!]!++;
        for (let code = 0; code < per.length; code++) {
          if (per[code] === 0) continue;
          let g = table[code]!;
          if (g < 0) table[code] = g = groupOf(keyed(), c.dict!.values[code] ?? null, newGroup);
          counts[g]! += per[code]!;
        }
        return;
      }
      for (let k = 0; k < n; k++) {
        const i = rows[k]!;
        let g: number;
        if (!valid.none && !valid.ok(i)) g = groupOf(keyed(), null, newGroup);
        else {
          const code = codes[i]!;
          g = table[code]!;
          if (g < 0) table[code] = g = groupOf(keyed(), c.dict!.values[code] ?? null, newGroup);
        }
        counts[g]!++;
        if (gids) gids[k] = g;
      }
    } else if (chunk?.offsets) {
      // Plain UTF-8 text: grouped by its bytes (a hash table of byte strings); a string is made once per group.
      const c = chunk;
      if (!isAsciiBytes(c.bytes!)) asciiText = false;
      const o = c.offsets!;
      const bytes = c.bytes!;
      const valid = c.valid;
      for (let k = 0; k < n; k++) {
        const i = rows[k]!;
        let g: number;
        if (!valid.none && !valid.ok(i)) g = groupOf(keyed(), null, newGroup);
        else {
          const s = o[i]!;
          const e = o[i + 1]!;
          const h = hashBytes(bytes, s, e);
          g = byBytes.find(bytes, s, e, h);
          if (g < 0) {
            // Only when other chunks (dictionary-coded, or nulls) made groups by value can this text have one already.
            const v = c.get(i);
            g = byKey.size > 0 ? groupOf(byKey, v, newGroup) : newGroup([v]);
            byBytes.add(bytes, s, e, h, g);
            byText.push(g);
          }
        }
        counts[g]!++;
        if (gids) gids[k] = g;
      }
    } else {
      const readers: ValueAt[] = fields.map((f) => valueAt(view, f, b));
      for (let k = 0; k < n; k++) {
        const i = rows[k]!;
        let g: number;
        if (readers.length === 1) {
          g = groupOf(keyed(), readers[0]!(i), newGroup);
        } else {
          const vs = readers.map((r) => r(i));
          const key = JSON.stringify(vs);
          const found = byKey.get(key);
          if (found === undefined) byKey.set(key, (g = newGroup(vs)));
          else g = found;
        }
        counts[g]!++;
        if (gids) gids[k] = g;
      }
    }
    if (!gids) return;
    plan.aggs.forEach((a, j) => {
      const acc = accs[j];
      if (!acc) return;
      const r: NumReader | null = a.field!.type === 'num' || a.field!.type === 'bool' ? numReader(view, a.field!, b) : null;
      if (r === null) {
        // count(f) of a list (never null: every row) or of a text or JSON field (its non-null values).
        if (a.field!.type === 'list') {
          for (let k = 0; k < n; k++) acc.n[gids[k]!]!++;
          return;
        }
        const valid = strChunk(view, a.field!, b).valid;
        for (let k = 0; k < n; k++) if (valid.ok(rows[k]!)) acc.n[gids[k]!]!++;
        return;
      }
      for (let k = 0; k < n; k++) {
        const v = r.get(rows[k]!);
        if (v !== v) continue;
        const g = gids[k]!;
        acc.n[g]!++;
        acc.sum[g]! += v;
        if (v < acc.min[g]!) acc.min[g] = v;
        if (v > acc.max[g]!) acc.max[g] = v;
      }
    });
  });

  // Each group as one object: its group fields, then its aggregates, by name.
  const names = [...fields.map((f) => f.path), ...plan.aggs.map((a) => a.name)];
  const make = groupMaker(names);
  const values = new Array<unknown>(names.length);
  const groups = keys.map((key, g) => {
    let k = 0;
    for (; k < fields.length; k++) values[k] = shown(fields[k]!, key[k]!);
    for (let j = 0; j < plan.aggs.length; j++, k++) {
      const a = plan.aggs[j]!;
      const acc = accs[j];
      if (!acc) values[k] = counts[g];
      else if (a.fn === 'count') values[k] = acc.n[g];
      else if (a.fn === 'sum') values[k] = acc.sum[g];
      else if (a.fn === 'mean') values[k] = acc.n[g] ? acc.sum[g]! / acc.n[g]! : null;
      else {
        const v = acc.n[g] ? (a.fn === 'min' ? acc.min[g]! : acc.max[g]!) : null;
        values[k] = a.field!.type === 'bool' && v !== null ? v === 1 : v;
      }
    }
    return make(values);
  });
  // Order: the query's keys, then every group field ascending (nulls last).
  const order = [...plan.order, ...fields.filter((f) => !plan.order.some((o) => o.name === f.path)).map((f) => ({ name: f.path, field: f, desc: false }))];
  // Each order key's values by group, compared as numbers, or as text with JavaScript's own `<`
  // when no group's text holds a surrogate (code point order then).
  const columns = order.map((k) => {
    const values = groups.map((o) => {
      const v = o[k.name];
      return typeof v === 'boolean' ? (v ? 1 : 0) : (v ?? null) as string | number | null;
    });
    const ascii = asciiText && fields.length === 1 && k.name === fields[0]!.path && fields[0]!.type === 'str';
    return { values, desc: k.desc, units: ascii || withoutSurrogates(values) };
  });
  const only = columns.length === 1 ? columns[0]! : null;
  // One order key, of text without surrogates: the single group field (so each text is one group).
  const texts = only && only.units && only.values.every((v) => v === null || typeof v === 'string') ? (only.values as (string | null)[]) : null;
  let ids: number[];
  if (texts) {
    // Distinct texts (one group each) without surrogates: JavaScript's own sort (no comparator:
    // UTF-16 order, here code point order), then each text's group; a null group last.
    const group = new Map<string, number>();
    let nullGroup = -1;
    texts.forEach((v, g) => (v === null ? (nullGroup = g) : group.set(v, g)));
    const sortedTexts = [...group.keys()].sort();
    if (only!.desc) sortedTexts.reverse();
    ids = sortedTexts.map((v) => group.get(v)!);
    if (nullGroup >= 0) ids.push(nullGroup);
  } else ids = Array.from(groups, (_, g) => g).sort((x, y) => {
    for (const c of columns) {
      const a = c.values[x]!;
      const b = c.values[y]!;
      if (a === b) continue;
      if (a === null) return 1;
      if (b === null) return -1;
      const d = typeof a === 'number' ? a - (b as number) : c.units ? compareUnits(a, b as string) : compareValues(a, b, false);
      return c.desc ? -d : d;
    }
    return 0;
  });
  const sorted = ids.map((g) => groups[g]!);
  return { groups: plan.limit === null ? sorted : sorted.slice(0, plan.limit), total };
}

/** The group of a single-field value (made on first sight). */
function groupOf(byKey: Map<unknown, number>, value: string | number | null, make: (v: (string | number | null)[]) => number): number {
  let g = byKey.get(value);
  if (g === undefined) byKey.set(value, (g = make([value])));
  return g;
}

/** A group field's value as records show it (booleans as true/false). */
function shown(f: Field, v: string | number | null): unknown {
  return f.type === 'bool' && v !== null ? v === 1 : v;
}

/** Groups of plain UTF-8 text by its bytes: open addressing on MurmurHash3, each slot holding a copy of its bytes. */
class ByteGroups {
  private mask = 1023;
  private group = new Int32Array(1024).fill(-1);
  private hash = new Int32Array(1024);
  private keys: (Uint8Array | null)[] = new Array<Uint8Array | null>(1024).fill(null);
  private size = 0;

  /** The group of bytes [s, e) of `b` (hash h), or -1. */
  find(b: Uint8Array, s: number, e: number, h: number): number {
    const len = e - s;
    for (let x = h & this.mask; ; x = (x + 1) & this.mask) {
      const g = this.group[x]!;
      if (g < 0) return -1;
      if (this.hash[x] !== h) continue;
      const key = this.keys[x]!;
      if (key.length !== len) continue;
      let k = 0;
      while (k < len && key[k] === b[s + k]) k++;
      if (k === len) return g;
    }
  }

  add(b: Uint8Array, s: number, e: number, h: number, g: number): void {
    if (2 * (this.size + 1) > this.mask + 1) this.grow();
    this.put(b.slice(s, e), h, g);
    this.size++;
  }

  private put(key: Uint8Array, h: number, g: number): void {
    let x = h & this.mask;
    while (this.group[x]! >= 0) x = (x + 1) & this.mask;
    this.group[x] = g;
    this.hash[x] = h;
    this.keys[x] = key;
  }

  private grow(): void {
    const { group, hash, keys } = this;
    const size = (this.mask + 1) * 2;
    this.mask = size - 1;
    this.group = new Int32Array(size).fill(-1);
    this.hash = new Int32Array(size);
    this.keys = new Array<Uint8Array | null>(size).fill(null);
    for (let x = 0; x < group.length; x++) if (group[x]! >= 0) this.put(keys[x]!, hash[x]!, group[x]!);
  }
}

/**
 * A maker of group objects with these keys, in this order: generated as one object literal (one
 * shape, no keyed stores), with a loop where code generation is disallowed.
 */
function groupMaker(names: readonly string[]): (values: readonly unknown[]) => Record<string, unknown> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    return new Function('v', `return { ${names.map((n, i) => `${JSON.stringify(n)}: v[${i}]`).join(', ')} };`) as (values: readonly unknown[]) => Record<string, unknown>;
  } catch {
    return (values) => {
      const o: Record<string, unknown> = {};
      names.forEach((n, i) => (o[n] = values[i]));
      return o;
    };
  }
}
