/**
 * First-fit allocation of aligned ranges with coalescing on free. Used for the shared arena and
 * for the arena file alike (one format, two media): it only does the bookkeeping.
 */

export const EXTENT_ALIGN = 64;
/** Rounds `n` up to a multiple of `to`. */
export const align = (n: number, to = EXTENT_ALIGN) => Math.ceil(n / to) * to;

/** First-fit free list over a byte range (bookkeeping only). */
export class FreeList {
  /** Free ranges sorted by offset: [offset, length] pairs, never adjacent. */
  private free: number[] = [];
  /** End of the managed space (allocations beyond it extend it). */
  end: number;

  constructor(start: number, end = start) {
    this.end = end;
    if (end > start) this.free = [start, end - start];
  }

  /** A free list over [start, end of the last used range) where `used` ranges are taken. */
  static fromUsed(start: number, used: readonly [number, number][]): FreeList {
    const f = new FreeList(start, start);
    let at = start;
    for (const [off, len] of [...used].sort((a, b) => a[0] - b[0])) {
      if (off > at) f.free.push(at, off - at);
      at = Math.max(at, off + len);
    }
    f.end = at;
    return f;
  }

  /** Takes `size` aligned bytes from a free range, or returns -1 if none fits. */
  take(size: number): number {
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

  /** Takes `size` bytes, extending the space at its end if nothing fits. */
  takeOrExtend(size: number): number {
    const at = this.take(size);
    if (at >= 0) return at;
    const tail = this.tailFree();
    const start = this.end - tail;
    if (tail) this.free.splice(this.free.length - 2, 2);
    this.end = start + size;
    return start;
  }

  /** Returns a range (coalescing with its neighbours). */
  release(offset: number, size: number): void {
    const f = this.free;
    let lo = 0;
    let hi = f.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (f[mid * 2]! < offset) lo = mid + 1;
      else hi = mid;
    }
    const i = lo * 2;
    let start = offset;
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

  /** Adds [end, newEnd) as free space. */
  grow(newEnd: number): void {
    if (newEnd <= this.end) return;
    const old = this.end;
    this.end = newEnd;
    this.release(old, newEnd - old);
  }

  /** Free bytes at the very end of the space. */
  tailFree(): number {
    const f = this.free;
    return f.length && f[f.length - 2]! + f[f.length - 1]! === this.end ? f[f.length - 1]! : 0;
  }

  get freeBytes(): number {
    let s = 0;
    for (let i = 1; i < this.free.length; i += 2) s += this.free[i]!;
    return s;
  }
}
