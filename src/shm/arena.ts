/**
 * Space management for the arena of the shared buffer: 64-byte aligned extents from a first-fit
 * free list, growing the SharedArrayBuffer in place when nothing fits. Owned by the writer
 * thread alone; readers never allocate.
 */
import { ioFailure } from '../errors.js';
import { align, FreeList } from '../arena/free-list.js';
import { EXTENT_ALIGN, HEADER_BYTES, MAX_SHARED_BYTES } from './layout.js';

/** An allocated range of the arena (or of the arena file). */
export interface Extent {
  readonly offset: number;
  readonly length: number;
}

type GrowableSAB = SharedArrayBuffer & { grow(n: number): void; maxByteLength: number };

/** The shared arena: a growable SharedArrayBuffer and its allocator (writer thread only). */
export class Arena {
  readonly sab: SharedArrayBuffer;
  private readonly space: FreeList;
  /** Bytes currently allocated (live + retired-not-yet-freed). */
  used = 0;

  constructor(initialBytes = 1 << 20, maxBytes = MAX_SHARED_BYTES) {
    const initial = Math.max(HEADER_BYTES + EXTENT_ALIGN, align(initialBytes));
    // Growable SharedArrayBuffer (Node >= 20): grows in place, workers see the new length.
    this.sab = new (SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer)(initial, { maxByteLength: maxBytes });
    this.space = new FreeList(HEADER_BYTES, initial);
  }

  /** Current size of the shared buffer. */
  get capacity(): number {
    return this.sab.byteLength;
  }

  /** A view of an extent's bytes. */
  bytes(e: Extent, length = e.length): Uint8Array {
    return new Uint8Array(this.sab, e.offset, length);
  }

  /** Allocates at least `length` bytes; grows the buffer if needed (throws IO at the cap). */
  alloc(length: number): Extent {
    const size = align(Math.max(length, 1));
    let at = this.space.take(size);
    if (at < 0) {
      this.grow(size);
      at = this.space.take(size);
      if (at < 0) throw new Error('internal: arena grow did not make room');
    }
    this.used += size;
    return { offset: at, length: size };
  }

  /** Returns an extent's space. */
  release(e: Extent): void {
    const size = align(e.length);
    this.used -= size;
    this.space.release(e.offset, size);
  }

  get freeBytes(): number {
    return this.space.freeBytes;
  }

  private grow(size: number): void {
    const sab = this.sab as GrowableSAB;
    const old = sab.byteLength;
    const need = old + size - this.space.tailFree();
    // Grow by what is needed plus 1/32 slack, in whole MiB: growing in place is cheap (the
    // address space is reserved up front), and the buffer can never shrink, so stay tight.
    let target = Math.max(need, old + Math.floor(old / 32));
    target = Math.min(Math.ceil(target / (1 << 20)) * (1 << 20), sab.maxByteLength);
    if (target < need) {
      throw ioFailure(`shared memory is full: ${size} more bytes needed, ${old} of the ${sab.maxByteLength} byte maximum in use`);
    }
    sab.grow(target);
    this.space.grow(target);
  }
}
