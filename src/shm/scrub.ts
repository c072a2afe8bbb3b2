/**
 * The writer's scrub of shared memory. Snapshot columns are views on the SharedArrayBuffer and
 * JavaScript cannot make them read-only: a reader that writes into one (`toArray().sort()` on a
 * numeric column does) changes what every other reader sees. Readers verify each extent's CRC32
 * only when they first decode it, so the writer checks the live extents in the background —
 * a bounded number of bytes per tick, comparing each with its heap master copy (or, for the
 * directory, its CRC32) — and repairs what differs: the writer copies the damaged extents to
 * fresh extents under new versions and publishes the same revision again (a new publication),
 * so readers decode the repaired bytes on their next snapshot.
 */
import { crc32 } from '../arena/crc.js';

/** Scrub settings (`scrub` option of the writer). */
export interface ScrubOptions {
  /** Bytes compared per tick (default 4 MiB). */
  bytesPerTick?: number;
  /** Milliseconds between ticks (default 250). */
  intervalMs?: number;
}

/** Default bytes compared per tick: about 0.3 ms of memcmp. */
export const DEFAULT_SCRUB_BYTES_PER_TICK = 4 * 1024 * 1024;
/** Default milliseconds between ticks (16 MiB/s: a full pass in ~3 s at M, ~40 s at L). */
export const DEFAULT_SCRUB_INTERVAL_MS = 250;

/** One live extent to check. */
export interface ScrubTarget {
  /** For messages, e.g. "tasks batch 3". */
  readonly what: string;
  readonly kind: 'batch' | 'prefix' | 'directory';
  /** Identity while current: "<table>:<version>" for batches and prefixes, the publication for the directory. */
  readonly key: string;
  readonly offset: number;
  readonly length: number;
  /** The bytes the extent must hold (the writer's heap copy), or its CRC32 when there is none. */
  readonly expected: Uint8Array | number;
}

/** What the scrub needs from the writer. */
export interface ScrubHost {
  readonly sab: SharedArrayBuffer;
  /** Every live extent (in a stable order). */
  targets(): ScrubTarget[];
  /** Keys of the extents live now (a queued target that is no longer live is skipped). */
  liveKeys(): Set<string>;
  /** The header slot that differs from what the writer stored, if any. */
  damagedHeaderSlot(): string | null;
  /** Repairs the damaged extents (and the header) and publishes again. */
  repair(damaged: ScrubTarget[], headerSlot: string | null): void;
}

/** The result of a scrub step. */
export interface ScrubResult {
  /** Bytes compared. */
  checkedBytes: number;
  /** What was found damaged and repaired (e.g. "tasks batch 3", "header GEN"). */
  repaired: string[];
}

/** A resumable pass over the live extents; each step compares up to a byte budget. */
export class Scrubber {
  private queue: ScrubTarget[] = [];
  private next = 0;
  /** Bytes compared so far, and extents (or header slots) repaired so far. */
  checkedBytes = 0;
  repairs = 0;

  constructor(private readonly host: ScrubHost) {}

  /**
   * Checks the header, then live extents up to `budget` bytes (at least one extent), resuming
   * where the last step stopped and starting a new pass when the last one ended; repairs what
   * it found damaged. `budget` = Infinity checks everything now.
   */
  step(budget: number): ScrubResult {
    const header = this.host.damagedHeaderSlot();
    const damaged: ScrubTarget[] = [];
    let checked = 0;
    let live: Set<string> | null = null;
    let newPass = false;
    while (checked < budget) {
      if (this.next >= this.queue.length) {
        if (newPass) break; // at most one new pass per step
        this.queue = this.host.targets();
        this.next = 0;
        newPass = true;
        if (this.queue.length === 0) break;
      }
      const t = this.queue[this.next++]!;
      live ??= this.host.liveKeys();
      if (!live.has(t.key)) continue;
      if (!this.intact(t)) damaged.push(t);
      checked += t.length;
    }
    this.checkedBytes += checked;
    const repaired = damaged.map((t) => t.what);
    if (header) repaired.unshift(`header ${header}`);
    if (repaired.length) {
      this.host.repair(damaged, header);
      this.repairs += repaired.length;
    }
    return { checkedBytes: checked, repaired };
  }

  /** A complete pass now (see step). */
  all(): ScrubResult {
    this.queue = [];
    this.next = 0;
    return this.step(Infinity);
  }

  private intact(t: ScrubTarget): boolean {
    const sab = this.host.sab;
    if (t.offset < 0 || t.offset + t.length > sab.byteLength) return false;
    if (typeof t.expected === 'number') return crc32(new Uint8Array(sab, t.offset, t.length)) === t.expected;
    return Buffer.from(sab, t.offset, t.length).equals(Buffer.from(t.expected.buffer, t.expected.byteOffset, t.expected.byteLength));
  }
}
