/**
 * The reader side of shared memory, for code in worker threads (and the writer's own thread).
 * `attachState(handle)` checks the handle; `reader.snapshot()` pins the newest published revision
 * and returns its tables as views on the SharedArrayBuffer, decoding only the record batches that
 * changed since this reader's previous snapshot. Readers never block the writer and never copy.
 */
import { threadId } from 'node:worker_threads';
import type { Table } from 'apache-arrow';
import { closed, corrupt, invalid, StateError } from '../errors.js';
import type { EntityKind } from '../schema/entities.js';
import type { Snapshot } from '../snapshot.js';
import { ArenaDecoder } from './decode.js';
import { readDirectory, type DirEntry, type Directory } from './directory.js';
import {
  headerViews, HEADER_BYTES, I32_CLOSED, I32_MAGIC, I32_NOTIFY, I32_OWNER_PID, I32_TOKEN, I32_VERSION, I64_DIR_OFFSET,
  I64_GEN, LAYOUT_VERSION, MAGIC, MAX_READERS, slotOwnerIndex, slotPinIndex, slotSinceIndex, type HeaderViews,
} from './layout.js';

/** What `state.shared()` returns: structured-cloneable, to pass in `workerData`. */
export interface SharedHandle {
  readonly kind: 'arrow-cluster-state';
  readonly layoutVersion: number;
  readonly sab: SharedArrayBuffer;
  readonly token: number;
  readonly pid: number;
  readonly clusterId: string;
}

/** Checks a handle and the header it points at; throws a StateError naming what is wrong. */
export function checkHandle(handle: unknown): SharedHandle {
  const h = handle as SharedHandle;
  if (!h || typeof h !== 'object' || h.kind !== 'arrow-cluster-state') {
    throw invalid('handle', handle, 'a handle from state.shared()');
  }
  if (!(h.sab instanceof SharedArrayBuffer)) {
    throw invalid('handle.sab', h.sab, 'a SharedArrayBuffer (a handle cannot cross processes: use followState() there)');
  }
  if (h.pid !== process.pid) {
    throw invalid('handle.pid', h.pid, `this process's id ${process.pid} (the handle comes from another process)`);
  }
  if (h.sab.byteLength < HEADER_BYTES) throw corrupt(`shared state header: buffer of ${h.sab.byteLength} bytes is too small`);
  const { i32 } = headerViews(h.sab);
  if (Atomics.load(i32, I32_MAGIC) !== MAGIC) throw corrupt('shared state header: bad magic (not a buffer of arrow-cluster-state, or overwritten)');
  if (i32[I32_VERSION] !== LAYOUT_VERSION) throw corrupt(`shared state header: layout version ${i32[I32_VERSION]}, expected ${LAYOUT_VERSION}`);
  if (i32[I32_TOKEN] !== h.token || i32[I32_OWNER_PID] !== h.pid) throw corrupt('shared state header: token or owner does not match the handle');
  return h;
}

/** A reader of the shared state. One pin at a time: a new snapshot releases the previous one. */
export class StateReader {
  readonly handle: SharedHandle;
  private readonly views: HeaderViews;
  private readonly decoder = new ArenaDecoder();
  private slot = -1;
  private current: { gen: bigint; snap: Snapshot; live: boolean } | null = null;
  private closedFlag = false;
  /** Batches decoded by the last snapshot() that needed decoding (for measurements). */
  get lastDecoded(): number {
    return this.decoder.lastDecoded;
  }

  constructor(handle: unknown) {
    this.handle = checkHandle(handle);
    this.views = headerViews(this.handle.sab);
  }

  /** The newest published revision (without pinning it). */
  get publishedRevision(): number {
    return Number(Atomics.load(this.views.i64, I64_GEN)) - 1;
  }

  /** True once the writer closed the state. */
  get writerClosed(): boolean {
    return Atomics.load(this.views.i32, I32_CLOSED) === 1;
  }

  /**
   * Pins the newest published revision and returns it. The snapshot's columns are views on
   * shared memory, valid until it is released — by `release()` or by this reader's next
   * `snapshot()`. Copy out what must outlive it (numeric `toArray()` returns views too).
   * Calling again without a new revision returns the same snapshot.
   */
  snapshot(): Snapshot {
    if (this.closedFlag) throw closed('reader');
    if (this.writerClosed) throw closed('cluster state (the writer closed it)');
    const { i32, i64 } = this.views;
    if (Atomics.load(i32, I32_MAGIC) !== MAGIC || i32[I32_TOKEN] !== this.handle.token) throw corrupt('shared state header changed under the reader');
    const gen = Atomics.load(i64, I64_GEN);
    if (this.current && this.current.live && this.current.gen === gen) return this.current.snap;
    this.claimSlot();
    const pin = slotPinIndex(this.slot);
    let g: bigint;
    for (;;) {
      g = Atomics.load(i64, I64_GEN);
      Atomics.store(i64, slotSinceIndex(this.slot), BigInt(Date.now()));
      Atomics.store(i64, pin, g);
      if (Atomics.load(i64, I64_GEN) === g) break;
    }
    if (g === 0n) {
      Atomics.store(i64, pin, 0n);
      throw new StateError('NOT_FOUND', 'nothing has been published yet');
    }
    if (this.current) this.current.live = false;
    let dir: Directory;
    let tables: Record<EntityKind, Table>;
    try {
      const dirOffset = Number(Atomics.load(i64, I64_DIR_OFFSET));
      const sab = this.handle.sab;
      if (dirOffset < HEADER_BYTES || dirOffset >= sab.byteLength || dirOffset % 8 !== 0) throw corrupt(`shared state: directory offset ${dirOffset} out of range`);
      dir = readDirectory(new Uint8Array(sab, dirOffset, sab.byteLength - dirOffset), 'shared directory');
      tables = this.decoder.decode(dir, (e: DirEntry, what: string) => {
        if (e.offset < HEADER_BYTES || e.offset + e.length > sab.byteLength || e.offset % 8 !== 0) throw corrupt(`shared state: ${what} at ${e.offset}+${e.length} out of range`);
        return new Uint8Array(sab, e.offset, e.length);
      });
    } catch (e) {
      Atomics.store(i64, pin, 0n);
      throw e;
    }
    const entry = { gen: g, snap: null as unknown as Snapshot, live: true };
    const release = () => {
      if (entry.live) {
        entry.live = false;
        if (this.current === entry && this.slot >= 0) Atomics.store(i64, pin, 0n);
      }
    };
    entry.snap = {
      revision: dir.revision,
      clusterId: String(dir.meta.cluster_id),
      masterId: (dir.meta.master_id as string | null) ?? null,
      updatedAt: dir.updatedAt,
      ...tables,
      source: 'worker',
      release,
    };
    this.current = entry;
    return entry.snap;
  }

  /** Releases the current snapshot, if any. */
  release(): void {
    this.current?.snap.release();
  }

  /**
   * Resolves with the published revision once it is greater than `afterRevision` (at once if it
   * already is), or with the current one after `timeoutMs`. Waits with Atomics.waitAsync: no spinning.
   */
  async waitForRevision(afterRevision: number, timeoutMs = 30_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.views.i32, I32_NOTIFY);
      const rev = this.publishedRevision;
      if (rev > afterRevision || this.writerClosed) return rev;
      const left = deadline - performance.now();
      if (left <= 0) return rev;
      const w = Atomics.waitAsync(this.views.i32, I32_NOTIFY, seen, left);
      if (w.async) await w.value;
    }
  }

  /** Blocking variant of waitForRevision for worker threads (Atomics.wait). */
  waitForRevisionSync(afterRevision: number, timeoutMs = 30_000): number {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.views.i32, I32_NOTIFY);
      const rev = this.publishedRevision;
      if (rev > afterRevision || this.writerClosed) return rev;
      const left = deadline - performance.now();
      if (left <= 0) return rev;
      Atomics.wait(this.views.i32, I32_NOTIFY, seen, left);
    }
  }

  /** Releases the pin and the reader slot. The reader cannot be used afterwards. */
  close(): void {
    if (this.closedFlag) return;
    this.release();
    if (this.slot >= 0) {
      Atomics.store(this.views.i64, slotPinIndex(this.slot), 0n);
      Atomics.store(this.views.i32, slotOwnerIndex(this.slot), 0);
      this.slot = -1;
    }
    this.closedFlag = true;
  }

  private claimSlot(): void {
    if (this.slot >= 0 && Atomics.load(this.views.i32, slotOwnerIndex(this.slot)) === threadId + 1) return;
    // (A slot can be taken back by the writer when this thread was declared dead; claim anew.)
    for (let k = 0; k < MAX_READERS; k++) {
      if (Atomics.compareExchange(this.views.i32, slotOwnerIndex(k), 0, threadId + 1) === 0) {
        this.slot = k;
        return;
      }
    }
    throw new StateError('IO', `all ${MAX_READERS} reader slots of the shared state are in use`);
  }
}

/** Attaches to the shared state described by `handle` (from `state.shared()`, via workerData). */
export function attachState(handle: unknown): StateReader {
  return new StateReader(handle);
}
