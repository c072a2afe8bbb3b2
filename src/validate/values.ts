/**
 * Checks for single values. Each returns the normalised value or throws `INVALID_ARGUMENT`
 * naming the field and the value; none has side effects.
 *
 * Inputs are read once, then validated, then used: `checkObject`, `checkIdList`, `checkJson`
 * and `checkOptions` return plain copies built from one read of each own property (a getter
 * runs once, a Proxy trap once per key), and callers use only the copies, so a getter that
 * answers differently on a second read cannot slip an unvalidated value past the checks. An
 * exception thrown while reading (a revoked Proxy, a throwing getter or trap) becomes
 * `INVALID_ARGUMENT`, never a raw `TypeError`.
 */
import { invalid, show, StateError, unreadable } from '../errors.js';
import type { Json } from '../schema/records.js';

/** Longest id accepted, in UTF-16 code units. */
export const MAX_ID_LENGTH = 512;
/** Longest free-text field (address, error), in UTF-16 code units. */
export const MAX_TEXT_LENGTH = 64 * 1024;
/** Largest JSON payload/result/metadata, in characters of its JSON text. */
export const MAX_JSON_LENGTH = 1024 * 1024;

const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);
// C0 and C1 controls and DEL; a lone surrogate cannot be stored as UTF-8.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** An identifier: non-empty string, at most MAX_ID_LENGTH, no control characters, valid Unicode. */
export function checkId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(what, value, 'a non-empty string');
  if (value.length > MAX_ID_LENGTH) throw invalid(what, value, `at most ${MAX_ID_LENGTH} characters`);
  if (CONTROL_RE.test(value)) throw invalid(what, value, 'free of control characters');
  if (value.trim() !== value) throw invalid(what, value, 'free of leading or trailing whitespace');
  if (LONE_SURROGATE_RE.test(value)) throw invalid(what, value, 'valid Unicode (no lone surrogates)');
  return value;
}

/**
 * Latest instant accepted as a time (epoch ms): the end of the ECMAScript Date range, which the
 * int64 timestamp columns and the ISO-8601 text of the JSON export can both hold.
 */
export const MAX_TIME_MS = 8.64e15;

/** An instant in epoch ms: a whole number from 0 (1970) to MAX_TIME_MS. */
export function checkTime(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TIME_MS) {
    throw invalid(what, value, `epoch milliseconds: a whole number from 0 to ${MAX_TIME_MS}`);
  }
  return value;
}

/** Free text (may be empty), valid Unicode, bounded length; null allowed when `nullable`. */
export function checkText(value: unknown, what: string, nullable = true): string | null {
  if (value === null && nullable) return null;
  if (typeof value !== 'string') throw invalid(what, value, nullable ? 'a string or null' : 'a string');
  if (value.length > MAX_TEXT_LENGTH) throw invalid(what, value, `at most ${MAX_TEXT_LENGTH} characters`);
  if (LONE_SURROGATE_RE.test(value)) throw invalid(what, value, 'valid Unicode (no lone surrogates)');
  return value;
}

/** One of a closed set of strings. */
export function checkOneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(what, value, `one of ${allowed.map((a) => show(a)).join(', ')}`);
  }
  return value as T;
}

/** A whole number that fits Int32; `min` defaults to 0 (counts), pass INT32_MIN for signed. */
export function checkInt32(value: unknown, what: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(what, value, 'a whole number');
  if (value < min || value > INT32_MAX) throw invalid(what, value, `between ${min} and ${INT32_MAX}`);
  return value;
}

/** Signed Int32 (priority). */
export function checkSignedInt32(value: unknown, what: string): number {
  return checkInt32(value, what, INT32_MIN);
}

/** A finite number in [min, max]. */
export function checkFloat(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(what, value, 'a finite number');
  if (value < min || value > max) throw invalid(what, value, `between ${min} and ${max}`);
  return value;
}

export function checkBool(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw invalid(what, value, 'true or false');
  return value;
}

/** Runs `read`; an exception that is not a StateError (an exotic object's) becomes INVALID_ARGUMENT naming `what`. */
function guard<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof StateError) throw e;
    throw unreadable(what, e);
  }
}

/** Sets `obj[key]` as an own data property (also for "__proto__"). */
function put(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** Object.prototype of this realm or of another one (a vm context), or null. */
function isPlainPrototype(proto: object | null): boolean {
  if (proto === null || proto === Object.prototype) return true;
  if (Object.getPrototypeOf(proto) !== null) return false;
  const ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as { name?: unknown } | undefined;
  return typeof ctor === 'function' && ctor.name === 'Object';
}

/** The value of own property `key` of `obj`, read once from its descriptor (a getter is called once). */
function readOwn(obj: object, key: string | number): { found: boolean; value: unknown } {
  const d = Reflect.getOwnPropertyDescriptor(obj, key);
  if (!d) return { found: false, value: undefined };
  return { found: true, value: d.get ? d.get.call(obj) : d.value };
}

/** Own string keys of a plain object; symbol keys and non-enumerable properties are refused, never skipped. */
function plainKeys(obj: object, what: string): string[] {
  const keys: string[] = [];
  for (const k of Reflect.ownKeys(obj)) {
    if (typeof k === 'symbol') throw invalid(`${what}[${k.toString()}]`, k, 'absent (symbol keys are not read)');
    const d = Reflect.getOwnPropertyDescriptor(obj, k);
    if (d && !d.enumerable) throw invalid(`${what}.${k}`, '[non-enumerable property]', 'an ordinary (enumerable) property');
    keys.push(k);
  }
  return keys;
}

/**
 * A list of ids: an array of valid, distinct ids (duplicates are an error, not silently merged).
 * Returns a new array built from one read of each element.
 */
export function checkIdList(value: unknown, what: string): string[] {
  return guard(what, () => {
    if (!Array.isArray(value)) throw invalid(what, value, 'an array of strings');
    const len = value.length;
    const out: string[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < len; i++) {
      const id = checkId(readOwn(value, i).value, `${what}[${i}]`); // a hole reads as undefined: refused
      if (seen.has(id)) throw invalid(`${what}[${i}]`, id, 'distinct from the other entries');
      seen.add(id);
      out.push(id);
    }
    return out;
  });
}

/**
 * A JSON value: plain objects, arrays, strings, finite numbers, booleans, null. Rejects what
 * JSON.stringify would silently change or drop (undefined, NaN, Infinity, functions, symbols,
 * bigint, Dates, Maps, class instances, cycles, holes, extra array properties). Returns a deep
 * copy built from one read of every property: store and serialise the copy, not the input.
 */
export function checkJson(value: unknown, what: string): Json {
  const stack = new Set<object>();
  const walk = (v: unknown, path: string, depth: number): Json => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw invalid(path, v, 'JSON-serialisable (finite numbers only)');
      return v;
    }
    if (typeof v !== 'object') throw invalid(path, v, 'JSON-serialisable');
    if (depth > 64) throw invalid(path, '[deep value]', 'nested at most 64 levels');
    if (stack.has(v)) throw invalid(path, '[cycle]', 'JSON-serialisable (no cycles)');
    return guard(path, () => {
      stack.add(v);
      let out: Json;
      if (Array.isArray(v)) {
        const len = v.length;
        // Each element takes at least one character of JSON: a longer array cannot fit the limit.
        if (len > MAX_JSON_LENGTH) throw invalid(path, `[array of ${len} elements]`, `at most ${MAX_JSON_LENGTH} characters of JSON`);
        for (const k of Reflect.ownKeys(v)) {
          if (typeof k === 'symbol' || (k !== 'length' && !/^(0|[1-9]\d*)$/.test(k))) {
            throw invalid(`${path}.${typeof k === 'symbol' ? '[symbol]' : k}`, v, 'JSON-serialisable (an array with extra properties loses them)');
          }
        }
        const arr: Json[] = [];
        for (let i = 0; i < len; i++) {
          const e = readOwn(v, i);
          if (!e.found) throw invalid(`${path}[${i}]`, undefined, 'JSON-serialisable (no holes)');
          arr.push(walk(e.value, `${path}[${i}]`, depth + 1));
        }
        out = arr;
      } else {
        if (!isPlainPrototype(Object.getPrototypeOf(v))) throw invalid(path, v, 'a plain object (not a class instance)');
        if (Object.getOwnPropertySymbols(v).length) throw invalid(path, v, 'JSON-serialisable (symbol keys are dropped by JSON)');
        const obj: Record<string, Json> = {};
        for (const k of plainKeys(v, path)) {
          const x = readOwn(v, k).value;
          if (x === undefined) throw invalid(`${path}.${k}`, x, 'JSON-serialisable (undefined is not)');
          put(obj, k, walk(x, `${path}.${k}`, depth + 1));
        }
        out = obj;
      }
      stack.delete(v);
      return out;
    });
  };
  return walk(value, what, 0);
}

/** Serialises a checked JSON value, bounded in size. */
export function jsonText(value: Json, what: string): string {
  const text = JSON.stringify(value);
  if (text.length > MAX_JSON_LENGTH) throw invalid(what, `${text.slice(0, 40)}...`, `at most ${MAX_JSON_LENGTH} characters of JSON`);
  return text;
}

/**
 * A plain object (an input, a patch, an option bag) as a plain copy: every own enumerable
 * property read exactly once. Refused (INVALID_ARGUMENT): non-objects, arrays, class instances
 * (their prototype's properties would not be read), symbol keys, non-enumerable properties, and
 * objects whose reading throws (a revoked Proxy, a throwing getter or trap). Use only the copy.
 */
export function checkObject(value: unknown, what: string): Record<string, unknown> {
  return guard(what, () => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(what, value, 'an object');
    if (!isPlainPrototype(Object.getPrototypeOf(value))) throw invalid(what, value, 'a plain object (not a class instance)');
    const out: Record<string, unknown> = {};
    for (const k of plainKeys(value, what)) put(out, k, readOwn(value, k).value);
    return out;
  });
}

/** Rejects keys that are not in `allowed`: an unknown field is an error, never silently dropped. */
export function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw invalid(`${what}.${k}`, obj[k], `a known field (one of ${allowed.join(', ')})`);
  }
}

/**
 * THE check of every options object (ClusterState.inMemory/open, removeNode, followState, the
 * helpers, the CLI's internal option bags): a plain copy of `value` (see checkObject) whose keys
 * are all in `allowed` — an unknown key is INVALID_ARGUMENT naming the key and listing the
 * accepted ones (`inMemory({ clusterId, statePath })` must not quietly give a non-durable state).
 * `undefined` gives `{}` when `optional` (the default). A key whose value is `undefined` counts
 * as absent, as for every optional field. Validate the values of the copy, then use only the copy.
 */
export function checkOptions(value: unknown, allowed: readonly string[], what = 'options', optional = true): Record<string, unknown> {
  if (value === undefined && optional) return {};
  const o = checkObject(value, what);
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw invalid(`${what}.${k}`, o[k], `absent: ${show(k)} is not an option here (accepted: ${allowed.join(', ') || 'none'})`);
    }
  }
  return o;
}
