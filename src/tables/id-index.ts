/**
 * An id → location hash index whose keys are not JS strings: open addressing with linear
 * probing over two typed arrays (the key's 32-bit hash and its location per slot), deletion by
 * backward shift (no tombstones). The index never holds a key: it asks its owner, through
 * `equals(loc, key, len)`, whether the key stored at a location is the probed UTF-8 bytes, so the
 * keys stay where they already live (an entity table's encoded key column). The garbage
 * collector sees two large typed arrays whatever the number of entries.
 */
import { hashBytes } from '../arrow/decode/key-index.js';

/** Is the key stored at location `loc` equal to bytes [s, e) of `key`? */
export type KeyEquals = (loc: number, key: Uint8Array, s: number, e: number) => boolean;

/** A 32-bit hash of bytes [s, e) of `b`. */
export type ByteHash = (b: Uint8Array, s: number, e: number) => number;

/** Slots are empty when their location is this. */
const EMPTY = -1;
/** Grow when more than this fraction of the slots is used. */
const MAX_LOAD = 0.7;
const MIN_CAPACITY = 16;

const encoder = new TextEncoder();

/**
 * A growable scratch buffer holding the UTF-8 bytes of one string at a time (ASCII without
 * TextEncoder). `encode` returns the length; the bytes are `bytes[0, length)` until the next call.
 */
export class Utf8Scratch {
  bytes = new Uint8Array(256);

  /** Writes the UTF-8 bytes of `s` to the start of `bytes` (growing it) and returns their count. */
  encode(s: string): number {
    const n = s.length;
    if (n * 3 > this.bytes.length) this.bytes = new Uint8Array(Math.max(n * 3, this.bytes.length * 2));
    const b = this.bytes;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return encoder.encodeInto(s, b).written;
      b[i] = c;
    }
    return n;
  }
}

/**
 * Maps keys (UTF-8 byte strings) to locations: non-negative integers up to 2^53. Keys are
 * unique: `add` is for a key the caller knows is absent, `set` inserts or replaces. Every
 * operation is O(1) expected; growth rehashes from the stored hashes without reading any key.
 * The location of each entry must be unique too (`deleteAt` and `move` find an entry by hash
 * and location, without comparing keys — so they work while the owner's key storage is being
 * rewritten).
 */
export class IdIndex {
  private hashes: Int32Array;
  private locs: Float64Array;
  private mask: number;
  private count = 0;

  /** `equals` reads the key at a location; `hash` (MurmurHash3 of the bytes by default) is injectable for tests. */
  constructor(private readonly equals: KeyEquals, private readonly hash: ByteHash = hashBytes, capacity = MIN_CAPACITY) {
    let cap = MIN_CAPACITY;
    while (cap * MAX_LOAD < capacity) cap *= 2;
    this.hashes = new Int32Array(cap);
    this.locs = new Float64Array(cap).fill(EMPTY);
    this.mask = cap - 1;
  }

  /** Number of entries. */
  get size(): number {
    return this.count;
  }

  /** Number of slots (a power of two; grows as entries are added, never shrinks). */
  get capacity(): number {
    return this.mask + 1;
  }

  /** The hash this index uses for the key bytes [s, e) of `key`. */
  hashOf(key: Uint8Array, s: number, e: number): number {
    return this.hash(key, s, e) | 0;
  }

  /** The location of the key bytes [s, e) of `key`, or -1. */
  get(key: Uint8Array, s: number, e: number): number {
    const p = this.find(this.hashOf(key, s, e), key, s, e);
    return p < 0 ? -1 : this.locs[p]!;
  }

  /** The location of the key bytes [s, e) of `key` whose hash (hashOf) is `h`, or -1. */
  getHashed(h: number, key: Uint8Array, s: number, e: number): number {
    const p = this.find(h, key, s, e);
    return p < 0 ? -1 : this.locs[p]!;
  }

  /** Adds an entry for a key the caller knows is absent (no key is compared), `h` its hashOf. */
  add(h: number, loc: number): void {
    if (!(loc >= 0 && Number.isSafeInteger(loc))) throw new Error(`internal: id index location ${loc}`);
    if (this.count + 1 > (this.mask + 1) * MAX_LOAD) this.grow();
    this.place(h, loc);
    this.count++;
  }

  /** Maps the key bytes [s, e) of `key` to `loc`, replacing its location if present. */
  set(key: Uint8Array, s: number, e: number, loc: number): void {
    const h = this.hashOf(key, s, e);
    const p = this.find(h, key, s, e);
    if (p >= 0) {
      if (!(loc >= 0 && Number.isSafeInteger(loc))) throw new Error(`internal: id index location ${loc}`);
      this.locs[p] = loc;
    } else this.add(h, loc);
  }

  /** Removes the key bytes [s, e) of `key`; false when absent. */
  delete(key: Uint8Array, s: number, e: number): boolean {
    const p = this.find(this.hashOf(key, s, e), key, s, e);
    if (p < 0) return false;
    this.removeSlot(p);
    return true;
  }

  /** Removes the entry with hash `h` at location `loc` (no key compared); false when there is none. */
  deleteAt(h: number, loc: number): boolean {
    const p = this.findLoc(h, loc);
    if (p < 0) return false;
    this.removeSlot(p);
    return true;
  }

  /** Re-points the entry with hash `h` at location `from` to `to` (no key compared); false when there is none. */
  move(h: number, from: number, to: number): boolean {
    const p = this.findLoc(h, from);
    if (p < 0) return false;
    if (!(to >= 0 && Number.isSafeInteger(to))) throw new Error(`internal: id index location ${to}`);
    this.locs[p] = to;
    return true;
  }

  /** Calls `fn` with every entry's location (in slot order, not insertion order). */
  forEachLocation(fn: (loc: number) => void): void {
    const locs = this.locs;
    for (let p = 0; p < locs.length; p++) if (locs[p] !== EMPTY) fn(locs[p]!);
  }

  /** The slot of the key, or -1. */
  private find(h: number, key: Uint8Array, s: number, e: number): number {
    const hashes = this.hashes;
    const locs = this.locs;
    const mask = this.mask;
    for (let p = h & mask; ; p = (p + 1) & mask) {
      const loc = locs[p]!;
      if (loc === EMPTY) return -1;
      if (hashes[p] === h && this.equals(loc, key, s, e)) return p;
    }
  }

  /** The slot of the entry with hash `h` at `loc`, or -1. */
  private findLoc(h: number, loc: number): number {
    const hashes = this.hashes;
    const locs = this.locs;
    const mask = this.mask;
    for (let p = h & mask; ; p = (p + 1) & mask) {
      const at = locs[p]!;
      if (at === EMPTY) return -1;
      if (at === loc && hashes[p] === h) return p;
    }
  }

  /** Puts an entry in the first empty slot of its probe sequence. */
  private place(h: number, loc: number): void {
    const locs = this.locs;
    const mask = this.mask;
    let p = h & mask;
    while (locs[p] !== EMPTY) p = (p + 1) & mask;
    locs[p] = loc;
    this.hashes[p] = h;
  }

  /** Empties slot p and shifts later entries of the cluster back so every probe still finds them. */
  private removeSlot(p: number): void {
    const hashes = this.hashes;
    const locs = this.locs;
    const mask = this.mask;
    let hole = p;
    for (let j = (p + 1) & mask; locs[j] !== EMPTY; j = (j + 1) & mask) {
      const home = hashes[j]! & mask;
      // The entry at j may move to the hole when its home is not cyclically within (hole, j].
      const dist = (j - home) & mask;
      const gap = (j - hole) & mask;
      if (dist >= gap) {
        locs[hole] = locs[j]!;
        hashes[hole] = hashes[j]!;
        hole = j;
      }
    }
    locs[hole] = EMPTY;
    hashes[hole] = 0;
    this.count--;
  }

  /** Makes room for `entries` entries in all without growing on the way (one rehash at most, now). */
  reserve(entries: number): void {
    while (entries > (this.mask + 1) * MAX_LOAD) this.grow();
  }

  /** Doubles the slots and re-places every entry from its stored hash. */
  private grow(): void {
    const oldH = this.hashes;
    const oldL = this.locs;
    const cap = (this.mask + 1) * 2;
    this.hashes = new Int32Array(cap);
    this.locs = new Float64Array(cap).fill(EMPTY);
    this.mask = cap - 1;
    for (let p = 0; p < oldL.length; p++) if (oldL[p] !== EMPTY) this.place(oldH[p]!, oldL[p]!);
  }
}
