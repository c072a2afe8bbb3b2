/**
 * The writer's side of shared memory: writes a revision's directory, makes it visible with a
 * publication record and one header store, and reclaims extents that no reader can still reach.
 * Publishing never waits for readers: superseded extents are retired with the publication from
 * which they are unreachable and freed once every pinned reader is at or past it (copy-on-write
 * with epoch pins).
 *
 * Old pins cannot hold memory without bound: once retired extents exceed `maxRetainedBytes`, the
 * oldest pins are revoked (their slot's PIN becomes PIN_REVOKED by compare-exchange) until the
 * rest fits, and their memory is freed. A revoked reader's snapshot throws COMPACTED on its next
 * access (reader.ts) — it never shows other values. A pin is never dropped because of its age.
 */
import type { Arena, Extent } from './arena.js';
import { crc32 } from '../arena/crc.js';
import { directorySize, writeDirectory, type Directory } from '../arena/directory.js';
import {
  CLOSED_VALUE, headerViews, HEADER_BYTES, I32_CLOSED, I32_MAGIC, I32_NOTIFY, I32_OWNER_PID, I32_READER_SLOTS,
  I32_TOKEN, I32_VERSION, I64_GEN, I64_PUBS, LAYOUT_VERSION, MAGIC, MAX_READERS, PIN_REVOKED, REC_DIR_CRC,
  REC_DIR_LENGTH, REC_DIR_OFFSET, REC_GEN, REC_PUB, recordIndex, slotOwnerIndex, slotPinIndex, type HeaderViews,
} from './layout.js';

interface Retired {
  extent: Extent;
  /** First publication whose directory does not reference the extent. */
  pub: number;
}

/** With no `maxRetainedBytes`, old pins may hold max(this, the live bytes). */
export const DEFAULT_MIN_RETAINED_BYTES = 64 * 1024 * 1024;

/** What the header says about the newest publication (the scrub compares the header with it). */
interface Published {
  pub: number;
  gen: number;
  dir: Extent;
  dirLength: number;
  dirCrc: number;
}

/**
 * The writer's publisher (writer thread only): publishes directories, retires superseded
 * extents, frees them once no pin can reach them, and revokes the oldest pins past the retention
 * bound. Guarantees: an extent reachable from a pinned, unrevoked publication is never freed; a
 * revoked pin's slot holds PIN_REVOKED until its reader pins again.
 */
export class Publisher {
  readonly views: HeaderViews;
  readonly token: number;
  /** Revision of the last published directory (-1 before the first). */
  publishedRevision = -1;
  /** Publications so far: one per published revision, plus one per repair (same revision). */
  publications = 0;
  /** Superseded since the last publish (still referenced by the published directory). */
  private superseded: Extent[] = [];
  /** Retired extents in publication order. */
  private retired: Retired[] = [];
  private retiredTotal = 0;
  private current: Published | null = null;
  /**
   * Bytes that superseded extents may hold for old pins; beyond it the oldest pins are revoked.
   * null: max(DEFAULT_MIN_RETAINED_BYTES, the live bytes).
   */
  maxRetainedBytes: number | null = null;
  /** Pins revoked because old snapshots held more than maxRetainedBytes. */
  revokedPins = 0;

  constructor(readonly arena: Arena) {
    this.views = headerViews(arena.sab);
    this.token = (Math.random() * 0x7fffffff) | 0 || 1;
    const { i32 } = this.views;
    i32.fill(0, 0, HEADER_BYTES / 4);
    this.writeConstants();
  }

  /** Marks an extent as replaced; it is freed once no reader can reach it. */
  retire(e: Extent): void {
    this.superseded.push(e);
  }

  /**
   * Writes `dir` (with the CRC32 of its bytes in the publication record) and makes it the
   * visible publication. Synchronous; never waits for readers. `dir.revision` may equal the
   * published revision (a repair publishes the same revision again from fresh extents).
   */
  publish(dir: Directory): void {
    const { bytes, meta } = directorySize(dir);
    const extent = this.arena.alloc(bytes);
    const view = this.arena.bytes(extent, bytes);
    writeDirectory(dir, view, meta);
    const dirCrc = crc32(view);
    const pub = this.publications + 1;
    const gen = dir.revision + 1;
    const { i32, i64 } = this.views;
    // The record of `pub` is the one no reader of the newest publication (pub - 1) is using.
    Atomics.store(i64, recordIndex(pub, REC_PUB), BigInt(pub));
    Atomics.store(i64, recordIndex(pub, REC_GEN), BigInt(gen));
    Atomics.store(i64, recordIndex(pub, REC_DIR_OFFSET), BigInt(extent.offset));
    Atomics.store(i64, recordIndex(pub, REC_DIR_LENGTH), BigInt(bytes));
    Atomics.store(i64, recordIndex(pub, REC_DIR_CRC), BigInt(dirCrc));
    Atomics.store(i64, I64_PUBS, BigInt(pub));
    Atomics.store(i64, I64_GEN, BigInt(gen));
    Atomics.add(i32, I32_NOTIFY, 1);
    Atomics.notify(i32, I32_NOTIFY);
    if (this.current) this.superseded.push(this.current.dir);
    this.current = { pub, gen, dir: extent, dirLength: bytes, dirCrc };
    for (const e of this.superseded) {
      this.retired.push({ extent: e, pub });
      this.retiredTotal += e.length;
    }
    this.superseded = [];
    this.publications = pub;
    this.publishedRevision = dir.revision;
    this.reclaim();
  }

  /**
   * Frees retired extents that every pin has moved past; if more than the retention bound is
   * still held, revokes the oldest pins (oldest publication first) until the rest fits. Returns
   * the bytes freed.
   */
  reclaim(): number {
    let freed = 0;
    // Each round revokes every pin of the oldest pinned publication, so the minimum strictly
    // grows; the bound only guards against reader slots scribbled over by a faulty reader.
    for (let round = 0; round <= MAX_READERS + 1; round++) {
      const min = this.minPin();
      freed += this.freeUpTo(min);
      if (min === null || min >= this.publications || this.retiredTotal <= this.retentionLimit()) break;
      this.revoke(min);
    }
    return freed;
  }

  /** Bytes held by retired extents waiting for readers. */
  get retiredBytes(): number {
    return this.retiredTotal;
  }

  /** The retention bound in force now (maxRetainedBytes, or its default). */
  retentionLimit(): number {
    return this.maxRetainedBytes ?? Math.max(DEFAULT_MIN_RETAINED_BYTES, this.arena.used - this.retiredTotal);
  }

  /** Marks the shared state closed: readers get CLOSED from then on. */
  close(): void {
    Atomics.store(this.views.i32, I32_CLOSED, CLOSED_VALUE);
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

  /**
   * The published directory's extent, byte length and CRC32 (for the scrub), or null before the
   * first publication.
   */
  publishedDirectory(): { extent: Extent; length: number; crc: number } | null {
    const c = this.current;
    return c && { extent: c.dir, length: c.dirLength, crc: c.dirCrc };
  }

  /**
   * Which header slot (if any) no longer holds what the writer stored: the constants and the
   * newest publication's record. A faulty reader may write anywhere in shared memory.
   */
  damagedHeaderSlot(): string | null {
    const { i32, i64 } = this.views;
    const expect32: [number, number, string][] = [
      [I32_MAGIC, MAGIC, 'MAGIC'], [I32_VERSION, LAYOUT_VERSION, 'VERSION'], [I32_OWNER_PID, process.pid, 'OWNER_PID'],
      [I32_TOKEN, this.token, 'TOKEN'], [I32_READER_SLOTS, MAX_READERS, 'READER_SLOTS'], [I32_CLOSED, 0, 'CLOSED'],
    ];
    for (const [i, v, name] of expect32) if (Atomics.load(i32, i) !== v) return name;
    const c = this.current;
    if (!c) return null;
    const expect64: [number, number, string][] = [
      [I64_PUBS, c.pub, 'PUBS'], [I64_GEN, c.gen, 'GEN'],
      [recordIndex(c.pub, REC_PUB), c.pub, 'record PUB'], [recordIndex(c.pub, REC_GEN), c.gen, 'record GEN'],
      [recordIndex(c.pub, REC_DIR_OFFSET), c.dir.offset, 'record DIR_OFFSET'],
      [recordIndex(c.pub, REC_DIR_LENGTH), c.dirLength, 'record DIR_LENGTH'], [recordIndex(c.pub, REC_DIR_CRC), c.dirCrc, 'record DIR_CRC'],
    ];
    for (const [i, v, name] of expect64) if (Atomics.load(i64, i) !== BigInt(v)) return name;
    return null;
  }

  /** Rewrites the constant header slots (after damage; the next publish rewrites the rest). */
  writeConstants(): void {
    const { i32 } = this.views;
    Atomics.store(i32, I32_VERSION, LAYOUT_VERSION);
    Atomics.store(i32, I32_OWNER_PID, process.pid);
    Atomics.store(i32, I32_TOKEN, this.token);
    Atomics.store(i32, I32_READER_SLOTS, MAX_READERS);
    Atomics.store(i32, I32_CLOSED, 0);
    Atomics.store(i32, I32_MAGIC, MAGIC);
  }

  private freeUpTo(min: number | null): number {
    let n = 0;
    let freed = 0;
    while (n < this.retired.length && (min === null || this.retired[n]!.pub <= min)) {
      const r = this.retired[n++]!;
      this.arena.release(r.extent);
      freed += r.extent.length;
    }
    if (n > 0) {
      this.retired.splice(0, n);
      this.retiredTotal -= freed;
    }
    return freed;
  }

  /** Smallest publication pinned by a reader, or null when none (revoked and idle slots do not count). */
  private minPin(): number | null {
    let min: number | null = null;
    const { i32, i64 } = this.views;
    const newest = BigInt(this.publications);
    for (let k = 0; k < MAX_READERS; k++) {
      if (Atomics.load(i32, slotOwnerIndex(k)) === 0) continue;
      const pin = Atomics.load(i64, slotPinIndex(k));
      // 0 = idle, PIN_REVOKED = taken back; a pin beyond the newest publication is not one a
      // reader could have taken (a damaged slot) and protects nothing.
      if (pin <= 0n || pin > newest) continue;
      const p = Number(pin);
      if (min === null || p < min) min = p;
    }
    return min;
  }

  /** Revokes every pin on publication `pub` (a reader that moved on meanwhile keeps its new pin). */
  private revoke(pub: number): void {
    const { i32, i64 } = this.views;
    const p = BigInt(pub);
    for (let k = 0; k < MAX_READERS; k++) {
      if (Atomics.load(i32, slotOwnerIndex(k)) === 0) continue;
      if (Atomics.compareExchange(i64, slotPinIndex(k), p, PIN_REVOKED) === p) this.revokedPins++;
    }
  }
}
