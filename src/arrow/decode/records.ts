/**
 * Building records (the public record shape) from column readers: one generated function per
 * entity kind that builds the record as an object literal — one fixed shape, no per-field
 * closures — with a closure-based builder where code generation is disallowed; and (batchReader)
 * per-batch readers generated per column shape, with the batch's arrays captured once, which
 * TableView uses for records, lookups and scans. Caches here hold only bounded immutable
 * primitives and generated code: the reader factories (at most 256 shapes) and 256 JSON keys.
 */
import type { ColumnSpec, LeafSpec } from '../../schema/columns.js';
import { ENTITIES, type EntityKind } from '../../schema/entities.js';
import type { ListChunk } from './list-chunk.js';
import { short32, type NumChunk } from './num-chunk.js';
import { parseJsonField } from './row-reader.js';
import { decodeBytes, type StrChunk } from './str-chunk.js';

/** Reads one record from a batch's column readers (generated per entity, see recordFactory). */
export type RecordFn = (r: readonly unknown[], i: number) => Record<string, unknown>;

const J = (s: string | null, name: string): unknown => (s === null ? null : parseJsonField(s, name));
const B = (v: number): boolean | null => (v !== v ? null : v === 1);
const N = (v: number): number | null => (v !== v ? null : v);

const factories = new Map<EntityKind, { fn: RecordFn; paths: { path: string; kind: 'str' | 'num' | 'list' }[] }>();

/**
 * The record builder of an entity: one generated function per entity kind (per process) that
 * builds the record as an object literal — one fixed shape, no per-field closures — from the
 * batch's column readers `r` (listed in `paths`, in the same order).
 */
export function recordFactory(kind: EntityKind): { fn: RecordFn; paths: { path: string; kind: 'str' | 'num' | 'list' }[] } {
  let f = factories.get(kind);
  if (f) return f;
  const paths: { path: string; kind: 'str' | 'num' | 'list' }[] = [];
  const expr = (spec: ColumnSpec, parent: string): string => {
    const path = parent ? `${parent}.${spec.name}` : spec.name;
    const k = paths.length;
    switch (spec.kind) {
      case 'struct':
        return `{ ${spec.children.map((c: LeafSpec) => `${JSON.stringify(c.name)}: ${expr(c, spec.name)}`).join(', ')} }`;
      case 'utf8':
      case 'dict':
        paths.push({ path, kind: 'str' });
        return spec.json ? `J(r[${k}].get(i), ${JSON.stringify(path)})` : `r[${k}].get(i)`;
      case 'list':
        paths.push({ path, kind: 'list' });
        return `r[${k}].get(i)`;
      case 'bool':
        paths.push({ path, kind: 'num' });
        return `B(r[${k}].get(i))`;
      default:
        paths.push({ path, kind: 'num' });
        return `N(r[${k}].get(i))`;
    }
  };
  const body = `return { ${ENTITIES[kind].columns.map((c) => `${JSON.stringify(c.name)}: ${expr(c, '')}`).join(', ')} };`;
  let fn: RecordFn;
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    fn = new Function('J', 'B', 'N', `return function read${kind}(r, i) { ${body} };`)(J, B, N) as RecordFn;
  } catch {
    fn = closureRecord(kind); // code generation disallowed (--disallow-code-generation-from-strings)
  }
  f = { fn, paths };
  factories.set(kind, f);
  return f;
}

/** The record builder without code generation: the same fields, in the same order, read by closures. */
function closureRecord(kind: EntityKind): RecordFn {
  let k = 0;
  const make = (spec: ColumnSpec): ((r: readonly unknown[], i: number) => unknown) => {
    if (spec.kind === 'struct') {
      const kids = spec.children.map((c: LeafSpec) => [c.name, make(c)] as const);
      return (r, i) => {
        const o: Record<string, unknown> = {};
        for (const [name, read] of kids) o[name] = read(r, i);
        return o;
      };
    }
    const at = k++;
    const name = spec.name;
    const wrap = spec.kind === 'bool' ? B : spec.kind === 'list' ? (x: unknown) => x : spec.kind === 'utf8' || spec.kind === 'dict' ? (spec.json ? (x: string | null) => J(x, name) : (x: unknown) => x) : N;
    return (r, i) => (wrap as (x: unknown) => unknown)((r[at] as { get(i: number): unknown }).get(i));
  };
  const fields = ENTITIES[kind].columns.map((c) => [c.name, make(c)] as const);
  return (r, i) => {
    const o: Record<string, unknown> = {};
    for (const [name, read] of fields) o[name] = read(r, i);
    return o;
  };
}


// ───────────────────────────── per-batch readers ─────────────────────────────

/**
 * Reads one record from one batch: `key`, when given, is the value the caller matched in the key
 * column at row i (the key's string is then that value, not decoded again).
 */
export type BatchReader = (i: number, key: string | null) => Record<string, unknown>;

/** Marks text the small-JSON reader leaves to JSON.parse. */
const NOT_SMALL = Symbol('not small JSON');

/**
 * Recent JSON object keys (ASCII, at most 32 bytes), by a hash of their length and end bytes: an
 * object's keys repeat from row to row (`shard`, `ok`, `zone`), and a key string used before is
 * one V8 has already internalised, so storing the property under it is a fast keyed store. A
 * fixed 256 slots of short immutable strings: bounded whatever the data.
 */
const keyCache: (string | undefined)[] = new Array<string | undefined>(256).fill(undefined);

/** The key in ASCII bytes [s, e) (letters, digits, `_`), from keyCache when it holds it. */
function keyAt(b: Uint8Array, buf: Buffer, s: number, e: number): string {
  const n = e - s;
  if (n > 32) return decodeBytes(b, buf, true, s, e);
  const slot = (n * 31 + b[s]! * 7 + b[e - 1]!) & 255;
  const hit = keyCache[slot];
  if (hit !== undefined && hit.length === n) {
    let k = 0;
    while (k < n && hit.charCodeAt(k) === b[s + k]) k++;
    if (k === n) return hit;
  }
  const key = decodeBytes(b, buf, true, s, e);
  keyCache[slot] = key;
  return key;
}

/**
 * The value of the JSON text in bytes [s, e), read straight from the bytes when it is a small
 * flat object as JSON.stringify writes it — `{}` or `{"key":value,...}`, keys of ASCII letters,
 * digits and `_` starting with a letter, values `true`, `false`, `null`, integers of at most 15
 * digits, or strings of printable ASCII without escapes — else NOT_SMALL (JSON.parse reads it).
 * Gives the value JSON.parse gives for such text.
 */
export function smallJson(b: Uint8Array, buf: Buffer, s: number, e: number): unknown {
  if (e - s < 2 || b[s] !== 123 || b[e - 1] !== 125) return NOT_SMALL; // { … }
  const o: Record<string, unknown> = {};
  let k = s + 1;
  if (k === e - 1) return o;
  for (;;) {
    if (b[k] !== 34) return NOT_SMALL;
    const ks = ++k;
    let c = b[k]!;
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90))) return NOT_SMALL;
    for (;;) {
      c = b[++k]!;
      if (c === 34) break;
      if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95)) return NOT_SMALL;
    }
    const name = keyAt(b, buf, ks, k);
    if (b[++k] !== 58) return NOT_SMALL; // :
    c = b[++k]!;
    let v: unknown;
    if ((c >= 48 && c <= 57) || c === 45) {
      const neg = c === 45;
      if (neg) c = b[++k]!;
      let x = 0;
      if (c === 48) c = b[++k]!;
      else if (c >= 49 && c <= 57) {
        let digits = 0;
        while (c >= 48 && c <= 57) {
          if (++digits > 15) return NOT_SMALL;
          x = x * 10 + (c - 48);
          c = b[++k]!;
        }
      } else return NOT_SMALL;
      if (c === 46 || c === 101 || c === 69) return NOT_SMALL; // a fraction or exponent
      v = neg ? -x : x;
    } else if (c === 34) {
      const vs = k + 1;
      for (;;) {
        if (++k >= e - 1) return NOT_SMALL;
        c = b[k]!;
        if (c === 34) break;
        if (c < 0x20 || c > 0x7e || c === 92) return NOT_SMALL; // an escape, a control or non-ASCII byte
      }
      v = decodeBytes(b, buf, true, vs, k);
      k++;
    } else if (c === 116) {
      if (b[k + 1] !== 114 || b[k + 2] !== 117 || b[k + 3] !== 101) return NOT_SMALL;
      v = true;
      k += 4;
    } else if (c === 102) {
      if (b[k + 1] !== 97 || b[k + 2] !== 108 || b[k + 3] !== 115 || b[k + 4] !== 101) return NOT_SMALL;
      v = false;
      k += 5;
    } else if (c === 110) {
      if (b[k + 1] !== 117 || b[k + 2] !== 108 || b[k + 3] !== 108) return NOT_SMALL;
      v = null;
      k += 4;
    } else return NOT_SMALL;
    o[name] = v;
    c = b[k]!;
    if (c === 44 && k < e - 1) {
      k++;
      continue;
    }
    return c === 125 && k === e - 1 ? o : NOT_SMALL;
  }
}

/** A JSON column's value at bytes [s, e): small objects read from the bytes, anything else by parseJsonField. */
function JB(b: Uint8Array, buf: Buffer, ascii: boolean, s: number, e: number, name: string): unknown {
  const v = smallJson(b, buf, s, e);
  return v !== NOT_SMALL ? v : parseJsonField(decodeBytes(b, buf, ascii, s, e), name);
}

/** Items [s, e) of a list's utf8 child without nulls. */
function LU(b: Uint8Array, buf: Buffer, ascii: boolean, o: Int32Array, s: number, e: number): string[] {
  const out: string[] = [];
  for (let k = s; k < e; k++) out.push(decodeBytes(b, buf, ascii, o[k]!, o[k + 1]!));
  return out;
}

/** Items [s, e) of a list's child of any kind (a null item reads as ''). */
function LG(c: StrChunk, s: number, e: number): string[] {
  const out: string[] = [];
  for (let k = s; k < e; k++) out.push(c.get(k) ?? '');
  return out;
}

type Factory = (c: readonly unknown[]) => BatchReader;
/** Generated reader factories by entity kind and the physical shape of the batch's columns. */
const batchFactories = new Map<string, Factory | null>();
/** Bound on batchFactories (shapes are few: one per layout a table's batches come in). */
const MAX_FACTORIES = 256;

/**
 * The reader of one batch of `kind` given its column readers (recordFactory(kind).paths order):
 * a function generated per entity and column shape (utf8 or dictionary strings, int64 pairs,
 * float32, booleans, lists, missing columns) whose batch's typed arrays, bitmaps and ASCII flags
 * are captured once, so a record is read with no per-field dispatch, validity objects or native
 * calls for short ASCII strings. The same values as recordFactory(kind).fn, which it falls back
 * to where code generation is disallowed.
 */
export function batchReader(kind: EntityKind, chunks: readonly unknown[]): BatchReader {
  const { fn, paths } = recordFactory(kind);
  const shape = chunks.map((x, k) => shapeOf(x, paths[k]!.kind)).join('');
  const cacheKey = `${kind}:${shape}`;
  let make = batchFactories.get(cacheKey);
  if (make === undefined) {
    make = compileBatch(kind, shape);
    if (batchFactories.size < MAX_FACTORIES) batchFactories.set(cacheKey, make);
  }
  if (make === null) return (i) => fn(chunks, i);
  return make(chunks);
}

/** One letter per column: how its batch holds it (see compileBatch). */
function shapeOf(x: unknown, kind: 'str' | 'num' | 'list'): string {
  if (kind === 'str') {
    const c = x as StrChunk;
    return c.valid.allNull ? 'z' : c.codes ? 'd' : 'u';
  }
  if (kind === 'num') {
    const c = x as NumChunk;
    if (c.valid.allNull) return 'z';
    if (c.f !== null) return c.f32 ? 'g' : 'f';
    if (c.w !== null) return c.scale === 1 ? 'w' : 'W';
    return c.bits !== null ? 'b' : 'z';
  }
  const c = x as ListChunk;
  if (c.valid.allNull) return 'z';
  const child = c.child!;
  return !child.valid.allNull && !child.codes && child.valid.none ? 'l' : 'L';
}

/** Generates the reader factory of `kind` for batches of column shape `shape`; null where code generation is disallowed. */
function compileBatch(kind: EntityKind, shape: string): Factory | null {
  const keyPath = ENTITIES[kind].key;
  const locals: string[] = [];
  let k = 0;
  const valid = (k: number, nested: boolean): string => {
    locals.push(`const va${k} = c[${k}].valid.a, vo${k} = c[${k}].valid.ao;`);
    let t = `(va${k} === null || ((va${k}[(vo${k} + i) >> 3] >> ((vo${k} + i) & 7)) & 1) === 1)`;
    if (nested) {
      locals.push(`const vb${k} = c[${k}].valid.b, vp${k} = c[${k}].valid.bo;`);
      t += ` && (vb${k} === null || ((vb${k}[(vp${k} + i) >> 3] >> ((vp${k} + i) & 7)) & 1) === 1)`;
    }
    return t;
  };
  const expr = (spec: ColumnSpec, parent: string): string => {
    const path = parent ? `${parent}.${spec.name}` : spec.name;
    if (spec.kind === 'struct') return `{ ${spec.children.map((c: LeafSpec) => `${JSON.stringify(c.name)}: ${expr(c, spec.name)}`).join(', ')} }`;
    const at = k++;
    const s = shape[at]!;
    const v = () => valid(at, parent !== '');
    const c = `c[${at}]`;
    if (spec.kind === 'utf8' || spec.kind === 'dict') {
      let e: string;
      if (s === 'z') e = 'null';
      else if (s === 'd') {
        locals.push(`const cd${at} = ${c}.codes, dv${at} = ${c}.dict.values;`);
        e = `(${v()} ? (dv${at}[cd${at}[i]] ?? null) : null)`;
        if (spec.json) e = `J(${e}, ${JSON.stringify(path)})`;
      } else {
        locals.push(`const o${at} = ${c}.offsets, b${at} = ${c}.bytes, u${at} = ${c}.buf, a${at} = ${c}.ascii();`);
        const args = `b${at}, u${at}, a${at}, o${at}[i], o${at}[i + 1]`;
        e = spec.json ? `(${v()} ? JB(${args}, ${JSON.stringify(path)}) : null)` : `(${v()} ? D(${args}) : null)`;
      }
      return path === keyPath ? `(key !== null ? key : ${e})` : e;
    }
    if (spec.kind === 'list') {
      if (s === 'z') return '[]';
      locals.push(`const lo${at} = ${c}.offsets, lc${at} = ${c}.child;`);
      if (s === 'l') {
        locals.push(`const lb${at} = lc${at}.bytes, lu${at} = lc${at}.buf, la${at} = lc${at}.ascii(), lco${at} = lc${at}.offsets;`);
        return `(${v()} ? LU(lb${at}, lu${at}, la${at}, lco${at}, lo${at}[i], lo${at}[i + 1]) : [])`;
      }
      return `(${v()} ? LG(lc${at}, lo${at}[i], lo${at}[i + 1]) : [])`;
    }
    // Numbers, times and booleans: the value NumChunk.get gives (NaN for null), then B or N as recordFactory does.
    let raw: string;
    if (s === 'z') raw = 'NaN';
    else if (s === 'f' || s === 'g') {
      locals.push(`const f${at} = ${c}.f;`);
      raw = `(${v()} ? ${s === 'g' ? `S32(f${at}[i])` : `f${at}[i]`} : NaN)`;
    } else if (s === 'w' || s === 'W') {
      locals.push(`const w${at} = ${c}.w, sc${at} = ${c}.scale;`);
      const x = `(w${at}[2 * i + 1] * 4294967296 + (w${at}[2 * i] >>> 0))`;
      raw = `(${v()} ? ${s === 'W' ? `Math.floor(${x} * sc${at})` : x} : NaN)`;
    } else {
      locals.push(`const bt${at} = ${c}.bits, bo${at} = ${c}.bitOffset;`);
      raw = `(${v()} ? (bt${at}[(bo${at} + i) >> 3] >> ((bo${at} + i) & 7)) & 1 : NaN)`;
    }
    if (s === 'z') return 'null';
    return spec.kind === 'bool' ? `B(${raw})` : `N(${raw})`;
  };
  const body = `return { ${ENTITIES[kind].columns.map((c) => `${JSON.stringify(c.name)}: ${expr(c, '')}`).join(', ')} };`;
  const src = `return function make${kind}(c) {\n${locals.join('\n')}\nreturn function read${kind}Batch(i, key) { ${body} };\n};`;
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    return new Function('J', 'B', 'N', 'D', 'JB', 'LU', 'LG', 'S32', src)(J, B, N, decodeBytes, JB, LU, LG, short32) as Factory;
  } catch {
    return null; // code generation disallowed (--disallow-code-generation-from-strings)
  }
}
