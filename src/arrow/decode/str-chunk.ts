/**
 * One chunk (record batch) of a string column: plain utf8, compared on raw UTF-8 bytes, or
 * dictionary-coded, compared on codes; a missing column is a chunk whose every row is null.
 * Strings are made only for the rows asked for: short ones of an all-ASCII chunk in JS, others by
 * Node's native slices.
 */
import nodeBuffer from 'node:buffer';
import type { Data, Vector } from 'apache-arrow';
import { KeyIndex } from './key-index.js';
import { Validity } from './validity.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export type Codes = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

const dictCache = new WeakMap<object, Dict>();

/** Decoded strings of a dictionary vector, cached per vector. */
function dictionaryOf(v: Vector): Dict {
  let e = dictCache.get(v);
  if (!e) {
    const values: (string | null)[] = [];
    const codes = new Map<string, number>();
    let canon: Int32Array | null = null;
    for (const d of v.data) {
      const s = new StrChunk(d, null, d.length);
      for (let i = 0; i < d.length; i++) {
        const x = s.get(i);
        const code = values.length;
        const first = x === null ? undefined : codes.get(x);
        if (x !== null && first === undefined) codes.set(x, code);
        if (first !== undefined) {
          // A value the dictionary repeats (Arrow allows it; some writers do it): its codes map to the first.
          canon ??= Int32Array.from({ length: v.length }, (_, k) => k);
          canon[code] = first;
        }
        values.push(x);
      }
    }
    e = { values, codes, canon };
    dictCache.set(v, e);
  }
  return e;
}

/** A decoded dictionary: its strings by code, the first code of each string, and (when some value repeats) each code's first code. */
interface Dict {
  values: (string | null)[];
  codes: Map<string, number>;
  canon: Int32Array | null;
}

/** A Buffer over value bytes (for Node's native decoding) and whether the bytes are all ASCII (-1: not known yet). */
interface Bytes {
  buf: Buffer;
  ascii: number;
}

/** Per value array (immutable, shared by every revision whose batch did not change): its Buffer and ASCII flag. */
const bytesCache = new WeakMap<Uint8Array, Bytes>();
function bytesOf(bytes: Uint8Array): Bytes {
  let b = bytesCache.get(bytes);
  if (!b) {
    b = { buf: Buffer.from(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength), ascii: -1 };
    bytesCache.set(bytes, b);
  }
  return b;
}

/** Node's native ASCII test (simdutf), or a loop where it is missing. */
const nativeIsAscii = (nodeBuffer as { isAscii?: (b: Uint8Array) => boolean }).isAscii;
function allAscii(bytes: Uint8Array): boolean {
  if (nativeIsAscii) return nativeIsAscii(bytes);
  for (let k = 0; k < bytes.length; k++) if (bytes[k]! > 0x7f) return false;
  return true;
}

/** True when every byte of `bytes` is ASCII (computed once per value array). */
export function isAsciiBytes(bytes: Uint8Array): boolean {
  const b = bytesOf(bytes);
  if (b.ascii < 0) b.ascii = allAscii(bytes) ? 1 : 0;
  return b.ascii === 1;
}

/** Node's native UTF-8 and Latin-1 slices (fast for long strings); TextDecoder where they are missing. */
const nativeSlice = (Buffer.prototype as Buffer & { utf8Slice?: (s: number, e: number) => string }).utf8Slice;
const latin1Slice = (Buffer.prototype as Buffer & { latin1Slice?: (s: number, e: number) => string }).latin1Slice;

/** Decodes bytes [s, e) of `buf` as UTF-8. */
function utf8(buf: Buffer, s: number, e: number): string {
  if (s === e) return '';
  return nativeSlice ? nativeSlice.call(buf, s, e) : decoder.decode(buf.subarray(s, e));
}

const fcc = String.fromCharCode;

/**
 * The `n` (1..32) ASCII bytes of `b` from `s` as a string, made in JS (as msgpackr does): for
 * short strings a String.fromCharCode call with the bytes as arguments is several times cheaper
 * than a native call. Only for bytes known to be ASCII (their code units are those bytes).
 */
function asciiShort(b: Uint8Array, s: number, n: number): string {
  switch (n) {
    case 1: return fcc(b[s]!);
    case 2: return fcc(b[s]!, b[s + 1]!);
    case 3: return fcc(b[s]!, b[s + 1]!, b[s + 2]!);
    case 4: return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!);
    case 5: return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!);
    case 6: return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!);
    case 7: return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!);
    case 8: return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!);
    case 9: return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!);
    case 10: return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!);
    case 11: return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!);
    case 12: return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!);
    case 13: return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!);
    case 14: return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!);
    case 15: return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!);
    case 16: return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!, b[s + 15]!);
  }
  return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!, b[s + 15]!) + asciiShort(b, s + 16, n - 16);
}

/** Longest string made in JS from ASCII bytes; longer ones go to the native Latin-1 slice. */
const SHORT = 32;

/**
 * Bytes [s, e) of a value array as a string: `ascii` says the whole array is ASCII (isAsciiBytes),
 * so short strings are made in JS and long ones by the native Latin-1 slice (ASCII is Latin-1);
 * otherwise Node's native UTF-8 decoding (the same string TextDecoder gives).
 */
export function decodeBytes(bytes: Uint8Array, buf: Buffer, ascii: boolean, s: number, e: number): string {
  const n = e - s;
  if (n <= 0) return '';
  if (ascii) {
    if (n <= SHORT) return asciiShort(bytes, s, n);
    if (latin1Slice) return latin1Slice.call(buf, s, e);
  }
  return utf8(buf, s, e);
}

/**
 * One chunk of a string column: plain utf8 (compared on raw bytes) or dictionary-coded
 * (compared on codes). A missing column is a chunk whose every row is null.
 */
export class StrChunk {
  readonly length: number;
  readonly valid: Validity;
  /** utf8: offsets and bytes. */
  readonly offsets: Int32Array | null = null;
  readonly bytes: Uint8Array | null = null;
  /** utf8: a Buffer over the bytes (native decoding), and whether they are all ASCII (-1: not known yet). */
  readonly buf: Buffer | null = null;
  private asciiFlag = -1;
  /** dictionary: codes and the decoded dictionary. */
  readonly codes: Codes | null = null;
  readonly dict: Dict | null = null;

  /** The column's Data when this chunk is all of it (no parent struct): the key of per-batch caches. */
  private readonly source: Data | null = null;

  constructor(data: Data | null, parent: Data | null, length: number) {
    this.length = length;
    this.valid = new Validity(data, parent);
    if (!data) return;
    if (parent === null && data.length === length) this.source = data;
    if (data.dictionary) {
      this.dict = dictionaryOf(data.dictionary);
      const raw = data.values as Codes;
      const canon = this.dict.canon;
      // With repeated dictionary values, compare canonical codes (a copy of this chunk's codes, rare: foreign files only).
      this.codes = canon ? Int32Array.from(raw, (c) => canon[c] ?? c) : raw;
    } else {
      this.offsets = data.valueOffsets as Int32Array;
      this.bytes = (data.values as Uint8Array | undefined) ?? new Uint8Array(0);
      this.buf = bytesOf(this.bytes).buf;
    }
  }

  isNull(i: number): boolean {
    return !this.valid.ok(i);
  }

  /** The string at row i, or null. */
  get(i: number): string | null {
    if (!this.valid.ok(i)) return null;
    if (this.codes) return this.dict!.values[this.codes[i]!] ?? null;
    const o = this.offsets!;
    if (this.asciiFlag < 0) this.asciiFlag = isAsciiBytes(this.bytes!) ? 1 : 0;
    return decodeBytes(this.bytes!, this.buf!, this.asciiFlag === 1, o[i]!, o[i + 1]!);
  }

  /** utf8 chunks: true when every value byte is ASCII (so short strings are made in JS). */
  ascii(): boolean {
    if (this.asciiFlag < 0) this.asciiFlag = this.bytes !== null && isAsciiBytes(this.bytes) ? 1 : 0;
    return this.asciiFlag === 1;
  }

  /** True when row i holds exactly `target` (UTF-8 bytes); utf8 chunks only. */
  eqBytes(i: number, target: Uint8Array): boolean {
    const o = this.offsets!;
    const s = o[i]!;
    const len = target.length;
    if (o[i + 1]! - s !== len) return false;
    const bytes = this.bytes!;
    // Ids often share a prefix (node-0000…, bafybei…): the last byte rules most rows out first.
    if (len > 0 && bytes[s + len - 1] !== target[len - 1]) return false;
    for (let k = 0; k < len; k++) if (bytes[s + k] !== target[k]) return false;
    return this.valid.ok(i);
  }

  /** A test for rows equal to `value`, specialised to this chunk (codes or bytes). */
  equals(value: string, target: Uint8Array = encoder.encode(value)): (i: number) => boolean {
    if (this.valid.allNull) return () => false;
    if (this.codes) {
      const code = this.codeOf(value);
      if (code < 0) return () => false;
      const codes = this.codes;
      const valid = this.valid;
      return valid.none ? (i) => codes[i] === code : (i) => codes[i] === code && valid.ok(i);
    }
    return (i) => this.eqBytes(i, target);
  }

  /**
   * First row of this chunk equal to `value` (`target`: its UTF-8 bytes), or -1. A chunk whose
   * data is scanned a third time gets a hash index kept with that (immutable) data: record
   * batches a table change did not touch keep their index, so a lookup on each new revision of a
   * large table costs the changed batch, not the table.
   */
  firstOf(value: string, target: Uint8Array): number {
    if (this.valid.allNull) return -1;
    if (this.codes) {
      const code = this.codeOf(value);
      if (code < 0) return -1;
      for (let i = 0; i < this.length; i++) if (this.codes[i] === code && this.valid.ok(i)) return i;
      return -1;
    }
    if (this.source) {
      let e = chunkIndexes.get(this.source);
      if (!e) chunkIndexes.set(this.source, (e = { scans: 0, ix: null }));
      if (!e.ix && ++e.scans > 2) e.ix = new KeyIndex([this], [0]);
      if (e.ix) return e.ix.findBytes(target, 0, target.length);
    }
    for (let i = 0; i < this.length; i++) if (this.eqBytes(i, target)) return i;
    return -1;
  }

  /** Code of `value` in this chunk's dictionary (-1 when absent); dictionary chunks only. */
  codeOf(value: string): number {
    return this.dict!.codes.get(value) ?? -1;
  }
}


/** Per-batch hash indexes of key columns (see StrChunk.firstOf), kept with the batch's data. */
const chunkIndexes = new WeakMap<Data, { scans: number; ix: KeyIndex | null }>();
