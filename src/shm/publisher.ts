/**
 * The writer's side of shared memory: writes a revision's directory, makes it visible with one
 * header store, and reclaims extents that no reader can still reach. Publishing never waits for
 * readers: superseded extents are retired with the revision from which they are unreachable and
 * freed once every pinned reader is at or past that revision (copy-on-write with epoch pins).
 */
import type { Arena, Extent } from './arena.js';
import { directorySize, writeDirectory, type Directory } from './directory.js';
import {
  headerViews, HEADER_BYTES, I32_CLOSED, I32_MAGIC, I32_NOTIFY, I32_OWNER_PID, I32_READER_SLOTS, I32_TOKEN,
  I32_VERSION, I64_DIR_LENGTH, I64_DIR_OFFSET, I64_GEN, LAYOUT_VERSION, MAGIC, MAX_READERS, slotOwnerIndex,
  slotPinIndex, slotSinceIndex, type HeaderViews,
} from './layout.js';

interface Retired {
  extent: Extent;
  /** First published revision whose directory does not reference the extent. */
  rev: number;
}

export class Publisher {
  readonly views: HeaderViews;
  readonly token: number;
  /** Revision of the last published directory (-1 before the first). */
  publishedRevision = -1;
  /** Superseded since the last publish (still referenced by the published directory). */
  private superseded: Extent[] = [];
  private retired: Retired[] = [];
  private dirExtent: Extent | null = null;
  /** Pins older than this many ms are treated as abandoned by a dead reader. */
  pinTimeoutMs = 60_000;
  /** Extents reclaimed because their reader was declared dead. */
  abandonedPins = 0;

  constructor(readonly arena: Arena) {
    this.views = headerViews(arena.sab);
    this.token = (Math.random() * 0x7fffffff) | 0 || 1;
    const { i32 } = this.views;
    i32.fill(0, 0, HEADER_BYTES / 4);
    i32[I32_VERSION] = LAYOUT_VERSION;
    i32[I32_OWNER_PID] = process.pid;
    i32[I32_TOKEN] = this.token;
    i32[I32_READER_SLOTS] = MAX_READERS;
    Atomics.store(i32, I32_MAGIC, MAGIC);
  }

  /** Marks an extent as replaced; it is freed once no reader can reach it. */
  retire(e: Extent): void {
    this.superseded.push(e);
  }

  /** Writes `dir` and makes it the visible revision. Synchronous; never waits for readers. */
  publish(dir: Directory): void {
    const { bytes, meta } = directorySize(dir);
    const extent = this.arena.alloc(bytes);
    writeDirectory(dir, this.arena.bytes(extent), meta);
    const { i32, i64 } = this.views;
    Atomics.store(i64, I64_DIR_OFFSET, BigInt(extent.offset));
    Atomics.store(i64, I64_DIR_LENGTH, BigInt(bytes));
    Atomics.store(i64, I64_GEN, BigInt(dir.revision + 1));
    Atomics.add(i32, I32_NOTIFY, 1);
    Atomics.notify(i32, I32_NOTIFY);
    if (this.dirExtent) this.superseded.push(this.dirExtent);
    this.dirExtent = extent;
    for (const e of this.superseded) this.retired.push({ extent: e, rev: dir.revision });
    this.superseded = [];
    this.publishedRevision = dir.revision;
    this.reclaim();
  }

  /** Frees retired extents that every pin has moved past. Returns the bytes freed. */
  reclaim(): number {
    const min = this.minPin();
    let freed = 0;
    const keep: Retired[] = [];
    for (const r of this.retired) {
      if (min === null || r.rev <= min) {
        this.arena.release(r.extent);
        freed += r.extent.length;
      } else keep.push(r);
    }
    this.retired = keep;
    return freed;
  }

  /** Bytes held by retired extents waiting for readers. */
  get retiredBytes(): number {
    let s = 0;
    for (const r of this.retired) s += r.extent.length;
    return s;
  }

  /** Marks the shared state closed: readers get CLOSED from then on. */
  close(): void {
    Atomics.store(this.views.i32, I32_CLOSED, 1);
    Atomics.add(this.views.i32, I32_NOTIFY, 1);
    Atomics.notify(this.views.i32, I32_NOTIFY);
  }

  /** Clears the slot of reader thread `threadId` (it exited); its pin no longer holds memory. */
  releaseThread(threadId: number): void {
    const { i32, i64 } = this.views;
    for (let k = 0; k < MAX_READERS; k++) {
      if (Atomics.load(i32, slotOwnerIndex(k)) === threadId + 1) {
        Atomics.store(i64, slotPinIndex(k), 0n);
        Atomics.store(i32, slotOwnerIndex(k), 0);
      }
    }
  }

  /** Smallest revision pinned by a reader, or null when none. */
  private minPin(): number | null {
    let min: number | null = null;
    const { i32, i64 } = this.views;
    const now = BigInt(Date.now());
    const timeout = BigInt(this.pinTimeoutMs);
    for (let k = 0; k < MAX_READERS; k++) {
      if (Atomics.load(i32, slotOwnerIndex(k)) === 0) continue;
      const pin = Atomics.load(i64, slotPinIndex(k));
      if (pin === 0n) continue;
      if (now - Atomics.load(i64, slotSinceIndex(k)) > timeout) {
        // A pin held this long belongs to a reader that died (or is stuck): stop honouring it.
        if (Atomics.compareExchange(i64, slotPinIndex(k), pin, 0n) === pin) this.abandonedPins++;
        continue;
      }
      const rev = Number(pin - 1n);
      if (min === null || rev < min) min = rev;
    }
    return min;
  }
}
