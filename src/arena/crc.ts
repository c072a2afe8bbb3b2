/**
 * CRC32 (the zlib / IEEE 802.3 polynomial, as `node:zlib`'s `crc32`) of extents, and a cheap
 * update of a known CRC when a few bytes of a message change in place — the writer's
 * fixed-width patch path rewrites a handful of values in a copy of a batch, and re-checksumming
 * the whole batch would cost more than the patch itself.
 *
 * The update uses CRC linearity: for equal-length messages A and B, crc(A) ^ crc(B) equals the
 * raw CRC (no pre/post inversion) of A ^ B, which is zero except where bytes changed; a changed
 * run D followed by m unchanged bytes contributes rawcrc(D) · x^(8m) mod P (zlib's
 * `crc32_combine` arithmetic).
 */
import { crc32 } from 'node:zlib';

export { crc32 };

const POLY = 0xedb88320;

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** a(x) · b(x) modulo P(x), reflected bit order (zlib's multmodp). */
function multmodp(a: number, b: number): number {
  if (a === 0) return 0;
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** X2N[k] = x^(2^k) mod P(x). */
const X2N = (() => {
  const t = new Uint32Array(32);
  let p = 0x40000000; // x^1
  t[0] = p;
  for (let n = 1; n < 32; n++) t[n] = p = multmodp(p, p);
  return t;
})();

/** A changed run of bytes in a message: its position and its bytes before and after. */
export interface ByteChange {
  readonly at: number;
  readonly before: Uint8Array;
  readonly after: Uint8Array;
}

/**
 * The CRC32 of a `length`-byte message whose CRC32 was `crc`, after the given runs of bytes
 * changed in place (runs must not overlap; unchanged runs cost nothing). Equals `crc32` of the
 * new bytes; a few microseconds per run whatever the message length.
 */
export function crc32Patched(crc: number, length: number, changes: readonly ByteChange[]): number {
  let out = crc >>> 0;
  for (const c of changes) {
    const n = c.before.byteLength;
    if (n !== c.after.byteLength || c.at < 0 || c.at + n > length) throw new Error('internal: bad CRC patch range');
    let raw = 0;
    let changed = false;
    for (let i = 0; i < n; i++) {
      const d = c.before[i]! ^ c.after[i]!;
      if (d) changed = true;
      raw = TABLE[(raw ^ d) & 0xff]! ^ (raw >>> 8);
    }
    if (changed) out = (out ^ shiftBytes(raw >>> 0, length - c.at - n)) >>> 0;
  }
  return out;
}

/**
 * Multiplication by X2N[k] as four byte-indexed tables (the product is linear in the other
 * factor): MUL[k][j * 256 + b] = X2N[k] · (b << 8j) mod P. Built on first use of each k from
 * eight products per byte position, so a shift costs a few table reads per set bit of its length
 * instead of a bitwise polynomial product.
 */
const MUL: (Uint32Array | undefined)[] = new Array(32);

function mulTable(k: number): Uint32Array {
  let t = MUL[k];
  if (t) return t;
  t = new Uint32Array(1024);
  for (let j = 0; j < 4; j++) {
    const base = j * 256;
    for (let bit = 0; bit < 8; bit++) t[base + (1 << bit)] = multmodp(X2N[k]!, (1 << (8 * j + bit)) >>> 0);
    for (let b = 3; b < 256; b++) {
      const low = b & -b;
      if (low !== b) t[base + b] = (t[base + low]! ^ t[base + (b ^ low)]!) >>> 0;
    }
  }
  MUL[k] = t;
  return t;
}

/** `crc` · x^(8n) mod P(x): the raw CRC register after `n` more zero bytes (n a safe integer). */
function shiftBytes(crc: number, n: number): number {
  let v = crc >>> 0;
  let k = 3; // x^(8n) = x^(n · 2^3)
  while (n > 0 && v !== 0) {
    if (n % 2 === 1) {
      const t = mulTable(k & 31);
      v = (t[v & 0xff]! ^ t[256 + ((v >>> 8) & 0xff)]! ^ t[512 + ((v >>> 16) & 0xff)]! ^ t[768 + (v >>> 24)]!) >>> 0;
    }
    n = Math.floor(n / 2);
    k++;
  }
  return v;
}

/** The CRC32 of A followed by B from crc(A), crc(B) and B's length (zlib's crc32_combine). */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (shiftBytes(crcA >>> 0, lengthB) ^ (crcB >>> 0)) >>> 0;
}

/**
 * CRC32s of immutable byte ranges, kept with the typed array they were read from (a column
 * buffer reused by the next encoding of its batch is not read again). A buffer written in place
 * must be forgotten first (forgetCrc).
 */
const partCrcs = new WeakMap<object, { offset: number; length: number; crc: number }>();

/** CRC32 of `bytes`, a view of the buffer `key` (cached with `key`, see forgetCrc). */
export function cachedCrc32(key: object, bytes: Uint8Array): number {
  const e = partCrcs.get(key);
  if (e && e.offset === bytes.byteOffset && e.length === bytes.byteLength) return e.crc;
  const crc = crc32(bytes);
  partCrcs.set(key, { offset: bytes.byteOffset, length: bytes.byteLength, crc });
  return crc;
}

/** Records that `bytes`, a view of the buffer `key`, have CRC32 `crc` (known from an identical copy). */
export function seedCrc(key: object, bytes: Uint8Array, crc: number): void {
  partCrcs.set(key, { offset: bytes.byteOffset, length: bytes.byteLength, crc: crc >>> 0 });
}

/** The cached CRC32 of `key`'s bytes and the range it covers (byte offset and length in key's buffer), or undefined. */
export function knownCrc(key: object): { readonly offset: number; readonly length: number; readonly crc: number } | undefined {
  return partCrcs.get(key);
}

/** Drops the cached CRC32 of `key`'s bytes (they are about to change in place). */
export function forgetCrc(key: object): void {
  partCrcs.delete(key);
}
