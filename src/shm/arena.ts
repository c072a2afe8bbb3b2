/**
 * Space management for the arena of the shared buffer: first-fit allocation of 64-byte aligned
 * extents with coalescing on free, growing the SharedArrayBuffer in place when nothing fits.
 * Owned by the writer thread alone; readers never allocate.
 */
import { StateError } from '../errors.js';
import { EXTENT_ALIGN, HEADER_BYTES, MAX_SHARED_BYTES } from './layout.js';

const align = (n: number) => Math.ceil(n / EXTENT_ALIGN) * EXTENT_ALIGN;

/** An allocated range of the arena. */
export interface Extent {
  readonly offset: number;
  readonly length: number;
}

export class Arena {
  readonly sab: SharedArrayBuffer;
  /** Free ranges sorted by offset: [offset, length] pairs, never adjacent. */
  private free: number[] = [];
  /** Bytes currently allocated (live + retired-not-yet-freed). */
  used = 0;
  /** Highest `sab.byteLength` reached. */
  get capacity(): number {
    return this.sab.byteLength;
  }

  constructor(initialBytes = 1 << 20, maxBytes = MAX_SHARED_BYTES) {
    const initial = Math.max(HEADER_BYTES + EXTENT_ALIGN, align(initialBytes));
    // Growable SharedArrayBuffer (Node >= 20): grows in place, workers see the new length.
    this.sab = new (SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer)(
      initial,
      { maxByteLength: maxBytes },
    );
    this.free = [HEADER_BYTES, initial - HEADER_BYTES];
  }

  /** A view of an extent's bytes. */
  bytes(e: Extent, length = e.length): Uint8Array {
    return new Uint8Array(this.sab, e.offset, length);
  }

  /** Allocates at least `length` bytes; grows the buffer if needed (throws IO at the cap). */
  alloc(length: number): Extent {
    const size = align(Math.max(length, 1));
    let at = this.take(size);
    if (at < 0) {
      this.grow(size);
      at = this.take(size);
      if (at < 0) throw new Error('internal: arena grow did not make room');
    }
    this.used += size;
    return { offset: at, length: size };
  }

  /** Returns an extent's space (coalescing with neighbours). */
  release(e: Extent): void {
    const size = align(e.length);
    this.used -= size;
    const f = this.free;
    // Find the insertion point (binary search over pairs).
    let lo = 0;
    let hi = f.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (f[mid * 2]! < e.offset) lo = mid + 1;
      else hi = mid;
    }
    const i = lo * 2;
    let start = e.offset;
    let len = size;
    let removeFrom = i;
    let removeCount = 0;
    if (i >= 2 && f[i - 2]! + f[i - 1]! === start) {
      start = f[i - 2]!;
      len += f[i - 1]!;
      removeFrom = i - 2;
      removeCount += 2;
    }
    if (i < f.length && start + len === f[i]!) {
      len += f[i + 1]!;
      removeCount += 2;
    }
    f.splice(removeFrom, removeCount, start, len);
  }

  /** Bytes in free ranges (including never-used tail). */
  get freeBytes(): number {
    let s = 0;
    for (let i = 1; i < this.free.length; i += 2) s += this.free[i]!;
    return s;
  }

  private take(size: number): number {
    const f = this.free;
    for (let i = 0; i < f.length; i += 2) {
      if (f[i + 1]! >= size) {
        const at = f[i]!;
        if (f[i + 1] === size) f.splice(i, 2);
        else {
          f[i] = at + size;
          f[i + 1] = f[i + 1]! - size;
        }
        return at;
      }
    }
    return -1;
  }

  private grow(size: number): void {
    const sab = this.sab as SharedArrayBuffer & { grow(n: number): void; maxByteLength: number };
    const old = sab.byteLength;
    const lastFree = this.free.length ? this.free[this.free.length - 2]! + this.free[this.free.length - 1]! === old : false;
    const tailFree = lastFree ? this.free[this.free.length - 1]! : 0;
    const need = old + size - tailFree;
    // Grow by what is needed plus 1/32 slack, in whole MiB: growing in place is cheap (the
    // address space is reserved up front), and the buffer can never shrink, so stay tight.
    let target = Math.max(need, old + Math.floor(old / 32));
    target = Math.ceil(target / (1 << 20)) * (1 << 20);
    target = Math.min(target, sab.maxByteLength);
    if (target < need) {
      throw new StateError('IO', `shared memory is full: ${size} more bytes needed, ${sab.byteLength} of the ${sab.maxByteLength} byte maximum in use`);
    }
    sab.grow(target);
    this.release({ offset: old, length: target - old });
    this.used += target - old; // release() subtracted space that was never counted as used
  }
}
