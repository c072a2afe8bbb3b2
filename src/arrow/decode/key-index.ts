/**
 * A hash index from the values of a string key column (node ids, CIDs) to their first global
 * row, built and probed on raw UTF-8 bytes: no string is made for any key.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the index reads of a string column chunk (StrChunk has it). */
export interface KeyChunk {
  readonly length: number;
  readonly valid: { readonly allNull: boolean; ok(i: number): boolean };
  readonly offsets: Int32Array | null;
  readonly bytes: Uint8Array | null;
  readonly codes: ArrayLike<number> | null;
  get(i: number): string | null;
}

/** The batch holding global row g (binary search over the batch starts). */
function batchAt(starts: readonly number[], g: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= g) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** One 32-bit block of MurmurHash3 (x86, 32-bit) folded into `h`. */
function mixBlock(h: number, w: number): number {
  h ^= mixTail(w);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The last (partial) block's contribution, before it is xored into the hash. */
function mixTail(w: number): number {
  w = Math.imul(w, 0xcc9e2d51);
  w = (w << 15) | (w >>> 17);
  return Math.imul(w, 0x1b873593);
}

/** MurmurHash3's finalisation. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** MurmurHash3 (x86, 32-bit) of bytes [s, e): four bytes per step. */
export function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h = e - s;
  let k = s;
  for (; k + 4 <= e; k += 4) h = mixBlock(h, b[k]! | (b[k + 1]! << 8) | (b[k + 2]! << 16) | (b[k + 3]! << 24));
  const rest = e - k;
  let w = 0;
  if (rest === 3) w ^= b[k + 2]! << 16;
  if (rest >= 2) w ^= b[k + 1]! << 8;
  if (rest >= 1) h ^= mixTail(w ^ b[k]!);
  return finish(h);
}

/**
 * hashBytes of the UTF-8 bytes of `s` when `s` is ASCII (its code units are those bytes), read
 * from the string without encoding it; null when `s` holds any non-ASCII character.
 */
export function hashAscii(s: string): number | null {
  const e = s.length;
  let h = e;
  let k = 0;
  for (; k + 4 <= e; k += 4) {
    const c0 = s.charCodeAt(k);
    const c1 = s.charCodeAt(k + 1);
    const c2 = s.charCodeAt(k + 2);
    const c3 = s.charCodeAt(k + 3);
    if ((c0 | c1 | c2 | c3) > 0x7f) return null;
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  for (let j = k; j < e; j++) if (s.charCodeAt(j) > 0x7f) return null;
  const rest = e - k;
  let w = 0;
  if (rest === 3) w ^= s.charCodeAt(k + 2) << 16;
  if (rest >= 2) w ^= s.charCodeAt(k + 1) << 8;
  if (rest >= 1) h ^= mixTail(w ^ s.charCodeAt(k));
  return finish(h);
}

/**
 * An index from the values of a utf8 key column (node ids, CIDs) to their first global row,
 * built and probed on raw UTF-8 bytes: no string is made for any key. Each slot keeps the
 * key's hash, batch and row, so a probe compares bytes in place.
 */
export class KeyIndex {
  private readonly mask: number;
  /** Per slot, interleaved (one cache line): global row + 1 (0 = empty), then the key's hash. */
  private readonly slots: Int32Array;
  private readonly starts: readonly number[];
  /** Dictionary-coded columns fall back to a string map. */
  private readonly map: Map<string, number> | null = null;

  constructor(private readonly chunks: readonly KeyChunk[], starts: readonly number[]) {
    this.starts = starts;
    const col = { chunks, starts };
    const n = chunks.reduce((a, c) => a + c.length, 0);
    let cap = 16;
    while (cap < n * 2) cap *= 2;
    this.mask = cap - 1;
    const dict = col.chunks.some((c) => c.codes);
    this.slots = new Int32Array(dict ? 0 : cap * 2);
    if (dict) {
      this.map = new Map();
      for (let b = 0; b < col.chunks.length; b++) {
        const c = col.chunks[b]!;
        for (let i = 0; i < c.length; i++) {
          const v = c.get(i);
          if (v !== null && !this.map.has(v)) this.map.set(v, col.starts[b]! + i);
        }
      }
      return;
    }
    const slots = this.slots;
    for (let b = 0; b < col.chunks.length; b++) {
      const c = col.chunks[b]!;
      if (c.valid.allNull) continue;
      const o = c.offsets!;
      const bytes = c.bytes!;
      const base = col.starts[b]!;
      for (let i = 0; i < c.length; i++) {
        if (!c.valid.ok(i)) continue;
        const s = o[i]!;
        const e = o[i + 1]!;
        const h = hashBytes(bytes, s, e);
        let p = h & this.mask;
        for (;;) {
          const at = slots[2 * p]!;
          if (at === 0) {
            slots[2 * p] = base + i + 1;
            slots[2 * p + 1] = h;
            break;
          }
          if (slots[2 * p + 1] === h && this.sameAs(at - 1, bytes, s, e)) break; // duplicate key: the first wins
          p = (p + 1) & this.mask;
        }
      }
    }
  }

  /** Does the key at global row g equal bytes [s, e)? */
  private sameAs(g: number, bytes: Uint8Array, s: number, e: number): boolean {
    const b = batchAt(this.starts, g);
    const c = this.chunks[b]!;
    const i = g - this.starts[b]!;
    const o = c.offsets!;
    const cs = o[i]!;
    const len = e - s;
    if (o[i + 1]! - cs !== len) return false;
    const cb = c.bytes!;
    for (let k = 0; k < len; k++) if (cb[cs + k] !== bytes[s + k]) return false;
    return true;
  }

  /** First global row whose key is bytes [s, e) of `bytes`, or -1. */
  findBytes(bytes: Uint8Array, s: number, e: number): number {
    if (this.map) return this.map.get(decoder.decode(bytes.subarray(s, e))) ?? -1;
    const h = hashBytes(bytes, s, e);
    const slots = this.slots;
    let p = h & this.mask;
    for (;;) {
      const at = slots[2 * p]!;
      if (at === 0) return -1;
      if (slots[2 * p + 1] === h && this.sameAs(at - 1, bytes, s, e)) return at - 1;
      p = (p + 1) & this.mask;
    }
  }

  /**
   * First global row whose key is `value`, or -1. An ASCII key (every id we mint) is hashed and
   * compared straight from the string's code units — they are its UTF-8 bytes — so a lookup
   * makes no byte copy of the key; any other key goes through its UTF-8 encoding.
   */
  find(value: string): number {
    if (this.map) return this.map.get(value) ?? -1;
    const h = hashAscii(value);
    if (h === null) {
      const b = encoder.encode(value);
      return this.findBytes(b, 0, b.length);
    }
    const slots = this.slots;
    let p = h & this.mask;
    for (;;) {
      const at = slots[2 * p]!;
      if (at === 0) return -1;
      if (slots[2 * p + 1] === h && this.sameAsString(at - 1, value)) return at - 1;
      p = (p + 1) & this.mask;
    }
  }

  /** Does the key at global row g equal the ASCII string `value`? */
  private sameAsString(g: number, value: string): boolean {
    const b = batchAt(this.starts, g);
    const c = this.chunks[b]!;
    const i = g - this.starts[b]!;
    const o = c.offsets!;
    const cs = o[i]!;
    const len = value.length;
    if (o[i + 1]! - cs !== len) return false;
    const cb = c.bytes!;
    for (let k = len - 1; k >= 0; k--) if (cb[cs + k] !== value.charCodeAt(k)) return false;
    return true;
  }

  /** First global row whose key equals row i of string chunk `c` (any column), or -1. */
  findFrom(c: KeyChunk, i: number): number {
    if (!c.valid.ok(i)) return -1;
    if (c.codes || this.map) {
      const v = c.get(i);
      return v === null ? -1 : this.find(v);
    }
    const o = c.offsets!;
    return this.findBytes(c.bytes!, o[i]!, o[i + 1]!);
  }
}

