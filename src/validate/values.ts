/**
 * Checks for single values. Each returns the normalised value or throws `INVALID_ARGUMENT`
 * naming the field and the value; none has side effects.
 */
import { invalid } from '../errors.js';
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
    throw invalid(what, value, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
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

/** A list of ids: an array of valid, distinct ids (duplicates are an error, not silently merged). */
export function checkIdList(value: unknown, what: string): string[] {
  if (!Array.isArray(value)) throw invalid(what, value, 'an array of strings');
  const seen = new Set<string>();
  for (let i = 0; i < value.length; i++) {
    const id = checkId(value[i], `${what}[${i}]`);
    if (seen.has(id)) throw invalid(`${what}[${i}]`, id, 'distinct from the other entries');
    seen.add(id);
  }
  return value.slice() as string[];
}

/**
 * A JSON value: plain objects, arrays, strings, finite numbers, booleans, null. Rejects what
 * JSON.stringify would silently change or drop (undefined, NaN, Infinity, functions, symbols,
 * bigint, Dates, Maps, class instances, cycles).
 */
export function checkJson(value: unknown, what: string): Json {
  const stack = new Set<object>();
  const walk = (v: unknown, path: string, depth: number): void => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw invalid(path, v, 'JSON-serialisable (finite numbers only)');
      return;
    }
    if (typeof v !== 'object') throw invalid(path, v, 'JSON-serialisable');
    if (depth > 64) throw invalid(path, '[deep value]', 'nested at most 64 levels');
    if (stack.has(v)) throw invalid(path, '[cycle]', 'JSON-serialisable (no cycles)');
    const proto = Object.getPrototypeOf(v);
    if (Array.isArray(v)) {
      const extra = Object.keys(v).find((k) => !/^(0|[1-9]\d*)$/.test(k));
      if (extra !== undefined || Object.getOwnPropertySymbols(v).length) throw invalid(`${path}.${extra ?? '[symbol]'}`, v, 'JSON-serialisable (an array with extra properties loses them)');
      stack.add(v);
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) throw invalid(`${path}[${i}]`, undefined, 'JSON-serialisable (no holes)');
        walk(v[i], `${path}[${i}]`, depth + 1);
      }
      stack.delete(v);
      return;
    }
    if (proto !== Object.prototype && proto !== null) throw invalid(path, v, 'a plain object (not a class instance)');
    if (Object.getOwnPropertySymbols(v).length) throw invalid(path, v, 'JSON-serialisable (symbol keys are dropped by JSON)');
    stack.add(v);
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) throw invalid(`${path}.${k}`, x, 'JSON-serialisable (undefined is not)');
      walk(x, `${path}.${k}`, depth + 1);
    }
    stack.delete(v);
  };
  walk(value, what, 0);
  return value as Json;
}

/** Serialises a checked JSON value, bounded in size. */
export function jsonText(value: Json, what: string): string {
  const text = JSON.stringify(value);
  if (text.length > MAX_JSON_LENGTH) throw invalid(what, `${text.slice(0, 40)}...`, `at most ${MAX_JSON_LENGTH} characters of JSON`);
  return text;
}

/** A plain object (for option bags and inputs). */
export function checkObject(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(what, value, 'an object');
  return value as Record<string, unknown>;
}

/** Rejects keys that are not in `allowed`: an unknown field is an error, never silently dropped. */
export function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw invalid(`${what}.${k}`, obj[k], `a known field (one of ${allowed.join(', ')})`);
  }
}
