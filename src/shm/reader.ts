/**
 * The reader side of shared memory, for code in worker threads (and the writer's own thread).
 * `attachState(handle)` checks the handle; `reader.snapshot()` pins the newest publication and
 * returns its tables as views on the SharedArrayBuffer, decoding only the record batches that
 * changed since this reader's previous snapshot. Readers never block the writer and never copy.
 *
 * Nothing read from shared memory is trusted: header slots are range-checked, the directory and
 * every extent decoded for the first time must match their CRC32, and the decoder bounds-checks
 * every offset, length and count — damage gives CORRUPT, never other values, an exception of
 * another kind, a hang or an allocation sized by damaged bytes. A snapshot whose pin the writer
 * revoked (maxRetainedBytes) throws COMPACTED on its next access instead of showing reused memory.
 */
import { threadId } from 'node:worker_threads';
import type { Schema, Table } from 'apache-arrow';
import { closed, compacted, corrupt, invalid, ioFailure, missing } from '../errors.js';
import type { EntityKind } from '../schema/entities.js';
import { flatSchema } from '../schema/state-schema.js';
import type { Snapshot } from '../snapshot.js';
import { crc32 } from '../arena/crc.js';
import { ArenaDecoder } from '../arena/decode.js';
import { readDirectory, type DirEntry } from '../arena/directory.js';
import {
  CLOSED_VALUE, headerViews, HEADER_BYTES, I32_CLOSED, I32_MAGIC, I32_NOTIFY, I32_OWNER_PID, I32_TOKEN, I32_VERSION,
  I64_GEN, I64_PUBS, LAYOUT_VERSION, MAGIC, MAX_READERS, REC_DIR_CRC, REC_DIR_LENGTH, REC_DIR_OFFSET, REC_GEN,
  REC_PUB, recordIndex, slotOwnerIndex, slotPinIndex, type HeaderViews,
} from './layout.js';

/** Tries to pin and decode a publication before giving up with COMPACTED (each retry follows a revocation). */
const PIN_ATTEMPTS = 16;
const noop = () => undefined;

/** The schema a table of this library's shared memory must have (same process, same code). */
const expectedSchema = (kind: EntityKind): Schema => flatSchema(kind);

/** A publication record as read from the header (unchecked). */
interface RecordWords {
  pub: bigint;
  gen: bigint;
  dirOffset: bigint;
  dirLength: bigint;
  dirCrc: bigint;
}

/** An int64 header value as a number, if it is a safe integer in [min, max]; else CORRUPT naming it. */
function slotNumber(v: bigint, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (v < BigInt(min) || v > BigInt(max)) throw corrupt(`shared state header: ${what} ${v} is out of range [${min}, ${max}]`);
  return Number(v);
}

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
  const c = i32[I32_CLOSED]!;
  if (c !== 0 && c !== CLOSED_VALUE) throw corrupt(`shared state header: CLOSED is ${c}, neither open (0) nor closed (${CLOSED_VALUE})`);
  return h;
}

/**
 * A reader of the shared state. One pin at a time: a new snapshot (or copy) releases the previous
 * one, whose tables then throw CLOSED when accessed through it.
 */
export class StateReader {
  readonly handle: SharedHandle;
  private readonly views: HeaderViews;
  private readonly decoder = new ArenaDecoder({ schemaOf: expectedSchema });
  private slot = -1;
  private current: { pub: bigint; snap: Snapshot; live: boolean } | null = null;
  private closedFlag = false;
  /** Batches decoded by the last snapshot() that needed decoding (for measurements). */
  get lastDecoded(): number {
    return this.decoder.lastDecoded;
  }

  constructor(handle: unknown) {
    this.handle = checkHandle(handle);
    this.views = headerViews(this.handle.sab);
  }

  /**
   * The newest published revision (without pinning it). CORRUPT unless `GEN` is a safe integer
   * that is the GEN of the newest publication's record (or, while the writer is between its two
   * stores, of the one before).
   */
  get publishedRevision(): number {
    const { i64 } = this.views;
    for (let attempt = 0; attempt < PIN_ATTEMPTS; attempt++) {
      const pub = Atomics.load(i64, I64_PUBS);
      const gen = Atomics.load(i64, I64_GEN);
      const recPub = Atomics.load(i64, recordIndex(pub, REC_PUB));
      const recGen = Atomics.load(i64, recordIndex(pub, REC_GEN));
      const prevPub = Atomics.load(i64, recordIndex(pub - 1n, REC_PUB));
      const prevGen = Atomics.load(i64, recordIndex(pub - 1n, REC_GEN));
      if (Atomics.load(i64, I64_PUBS) !== pub) continue; // a publication meanwhile: read again
      const g = slotNumber(gen, 'GEN');
      slotNumber(pub, 'PUBS');
      if (pub === 0n && gen === 0n) return -1;
      if (recPub === pub && (gen === recGen || (pub > 1n && prevPub === pub - 1n && gen === prevGen))) return g - 1;
      throw corrupt(`shared state header: GEN ${gen} is not the GEN of publication ${pub} (its record says publication ${recPub}, GEN ${recGen})`);
    }
    throw corrupt(`shared state header: PUBS changed ${PIN_ATTEMPTS} times while it was read`);
  }

  /** True once the writer closed the state (CORRUPT if the header slot holds neither value). */
  get writerClosed(): boolean {
    const c = Atomics.load(this.views.i32, I32_CLOSED);
    if (c !== 0 && c !== CLOSED_VALUE) throw corrupt(`shared state header: CLOSED is ${c}, neither open (0) nor closed (${CLOSED_VALUE})`);
    return c === CLOSED_VALUE;
  }

  /**
   * Pins the newest publication and returns it. The snapshot's columns are views on shared
   * memory, valid until it is released — by `release()` or by this reader's next `snapshot()`;
   * after that, reading `nodes`/`tasks`/`content` through it throws CLOSED. If the writer revokes
   * the pin (old snapshots held more than its `maxRetainedBytes`), the next access through it, and
   * `verify()`, throw COMPACTED — it never shows other values. Tables copied out of it before
   * (`const t = snap.tasks`) are outside that check: copy values out, then call `verify()`.
   * Calling again with no new publication returns the same snapshot. Only extents this reader has
   * not decoded before are checksummed and decoded (a new revision that changed one batch costs
   * that batch and the directory). Never write into the views: other readers see the same bytes.
   */
  snapshot(): Snapshot {
    return this.take(false);
  }

  /**
   * A copy of the newest publication on this thread's heap: every extent and the directory are
   * copied out of shared memory, then verified against their CRC32, then decoded — so what it
   * holds is exactly what the writer published, whatever another thread writes into shared
   * memory meanwhile (CORRUPT if an extent was already damaged). Costs a copy of the state; no
   * pin is held once it returns (its `release()` is a no-op). Like `snapshot()`, it releases this
   * reader's current snapshot. Used by the Parquet export.
   */
  copySnapshot(): Snapshot {
    return this.take(true);
  }

  private take(copy: boolean): Snapshot {
    if (this.closedFlag) throw closed('reader');
    const { i32, i64 } = this.views;
    if (Atomics.load(i32, I32_MAGIC) !== MAGIC || i32[I32_TOKEN] !== this.handle.token) throw corrupt('shared state header changed under the reader');
    if (this.writerClosed) throw closed('cluster state (the writer closed it)');
    const cur = this.current;
    if (!copy && cur && cur.live && cur.pub === Atomics.load(i64, I64_PUBS) && Atomics.load(i64, slotPinIndex(this.slot)) === cur.pub) return cur.snap;
    this.claimSlot();
    const pinAt = slotPinIndex(this.slot);
    for (let attempt = 0; attempt < PIN_ATTEMPTS; attempt++) {
      // GEN is stored after PUBS: the record of any PUBS read after this load has GEN >= minGen
      // (a damaged PUBS naming an older publication would otherwise show an older revision).
      const minGen = Atomics.load(i64, I64_GEN);
      const pub = Atomics.load(i64, I64_PUBS);
      const rec: RecordWords = {
        pub: Atomics.load(i64, recordIndex(pub, REC_PUB)),
        gen: Atomics.load(i64, recordIndex(pub, REC_GEN)),
        dirOffset: Atomics.load(i64, recordIndex(pub, REC_DIR_OFFSET)),
        dirLength: Atomics.load(i64, recordIndex(pub, REC_DIR_LENGTH)),
        dirCrc: Atomics.load(i64, recordIndex(pub, REC_DIR_CRC)),
      };
      // The pin must be visible before the writer's next reclaim: publish order is record, PUBS,
      // then reclaim, so PUBS unchanged after the store means no reclaim has missed this pin.
      Atomics.store(i64, pinAt, pub);
      if (this.current) {
        this.current.live = false; // the pin moved: the previous snapshot is released
        this.current = null;
      }
      const again = Atomics.load(i64, I64_PUBS);
      if (again !== pub) {
        if (again < pub) return this.fail(corrupt(`shared state header: PUBS went back from ${pub} to ${again}`));
        continue;
      }
      if (pub === 0n) {
        if (minGen !== 0n) return this.fail(corrupt(`shared state header: PUBS is 0 but GEN is ${minGen}`));
        return this.fail(missing('nothing has been published yet'));
      }
      let out: { revision: number; clusterId: string; masterId: string | null; updatedAt: number; tables: Record<EntityKind, Table> };
      try {
        out = this.read(pub, rec, copy, minGen);
      } catch (e) {
        if (Atomics.load(i64, pinAt) !== pub) continue; // revoked while reading: the bytes may have been reused
        return this.fail(e);
      }
      if (Atomics.load(i64, pinAt) !== pub) continue; // revoked while decoding: decode a newer publication
      if (copy) {
        Atomics.store(i64, pinAt, 0n);
        return { revision: out.revision, clusterId: out.clusterId, masterId: out.masterId, updatedAt: out.updatedAt, ...out.tables, source: 'worker', release: noop, verify: noop };
      }
      return this.pinned(pub, pinAt, out);
    }
    return this.fail(compacted(`the writer revoked this reader's pin ${PIN_ATTEMPTS} times in a row while it decoded a snapshot (its maxRetainedBytes is too small for how fast it publishes)`));
  }

  /** Clears the pin and throws `e`. */
  private fail(e: unknown): never {
    if (this.slot >= 0) Atomics.store(this.views.i64, slotPinIndex(this.slot), 0n);
    throw e;
  }

  /** Validates publication `pub`'s record, then reads, verifies and decodes its directory and new extents. */
  private read(pub: bigint, rec: RecordWords, copy: boolean, minGen: bigint) {
    const sab = this.handle.sab;
    const size = sab.byteLength;
    slotNumber(pub, 'PUBS');
    if (rec.pub !== pub) throw corrupt(`shared state header: the record of publication ${pub} names publication ${rec.pub}`);
    slotNumber(minGen, 'GEN');
    const gen = slotNumber(rec.gen, 'record GEN', 1);
    if (rec.gen < minGen) throw corrupt(`shared state header: publication ${pub} has GEN ${gen}, older than the published GEN ${minGen}`);
    const dirOffset = slotNumber(rec.dirOffset, 'record DIR_OFFSET', HEADER_BYTES, size - 8);
    const dirLength = slotNumber(rec.dirLength, 'record DIR_LENGTH', 40, size - dirOffset);
    const dirCrc = slotNumber(rec.dirCrc, 'record DIR_CRC', 0, 0xffffffff);
    if (dirOffset % 8 !== 0) throw corrupt(`shared state header: directory offset ${dirOffset} is not 8-byte aligned`);
    let dirBytes: Uint8Array = new Uint8Array(sab, dirOffset, dirLength);
    if (copy) dirBytes = dirBytes.slice();
    if (crc32(dirBytes) !== dirCrc) throw corrupt(`shared state: the directory of publication ${pub} (offset ${dirOffset}, ${dirLength} bytes) fails its checksum`);
    const dir = readDirectory(dirBytes, 'shared directory');
    if (dir.revision + 1 !== gen) throw corrupt(`shared state header: GEN ${gen} does not match the directory's revision ${dir.revision} (GEN must be revision + 1)`);
    const decoder = copy ? new ArenaDecoder({ schemaOf: expectedSchema }) : this.decoder;
    const tables = decoder.decode(dir, (e: DirEntry, what: string) => {
      if (!Number.isSafeInteger(e.offset) || !Number.isSafeInteger(e.length) || e.offset < HEADER_BYTES || e.length < 8 || e.offset + e.length > size || e.offset % 8 !== 0) {
        throw corrupt(`shared state: ${what} of revision ${dir.revision} at ${e.offset}+${e.length} is out of range or misaligned (buffer of ${size} bytes)`);
      }
      let b: Uint8Array = new Uint8Array(sab, e.offset, e.length);
      if (copy) b = b.slice();
      if (crc32(b) !== e.crc) throw corrupt(`shared state: ${what} of revision ${dir.revision} (offset ${e.offset}, version ${e.version}) fails its checksum`);
      return b;
    });
    return {
      revision: dir.revision,
      clusterId: String(dir.meta.cluster_id),
      masterId: typeof dir.meta.master_id === 'string' ? dir.meta.master_id : null,
      updatedAt: dir.updatedAt,
      tables,
    };
  }

  /** The snapshot of a pinned publication: its tables are reached through checked getters. */
  private pinned(pub: bigint, pinAt: number, out: ReturnType<StateReader['read']>): Snapshot {
    const { i64 } = this.views;
    const entry = { pub, snap: null as unknown as Snapshot, live: true };
    const { tables, revision } = out;
    const check = () => {
      if (!entry.live) throw closed(`snapshot of revision ${revision} (released by release() or by this reader's next snapshot())`);
      if (Atomics.load(i64, pinAt) !== pub) {
        throw compacted(`the snapshot of revision ${revision} was revoked: old snapshots held more superseded shared memory than the writer's maxRetainedBytes; take a new snapshot()`);
      }
    };
    const release = () => {
      if (entry.live) {
        entry.live = false;
        if (this.current === entry && this.slot >= 0) {
          Atomics.compareExchange(i64, pinAt, pub, 0n);
          this.current = null;
        }
      }
    };
    entry.snap = {
      revision,
      clusterId: out.clusterId,
      masterId: out.masterId,
      updatedAt: out.updatedAt,
      get nodes() {
        check();
        return tables.nodes;
      },
      get tasks() {
        check();
        return tables.tasks;
      },
      get content() {
        check();
        return tables.content;
      },
      source: 'worker',
      release,
      verify: check,
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
   * already is), or with the current one after `timeoutMs`. Waits with Atomics.waitAsync: no
   * spinning. Keeps the thread's event loop alive while it waits (Atomics.waitAsync alone does
   * not: a worker whose only work is this wait would otherwise exit).
   */
  async waitForRevision(afterRevision: number, timeoutMs = 30_000): Promise<number> {
    if (typeof afterRevision !== 'number' || Number.isNaN(afterRevision)) throw invalid('waitForRevision(afterRevision)', afterRevision, 'a revision number');
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) throw invalid('waitForRevision(_, timeoutMs)', timeoutMs, 'a number of milliseconds >= 0');
    const deadline = performance.now() + timeoutMs;
    let hold: NodeJS.Timeout | null = null;
    try {
      for (;;) {
        const seen = Atomics.load(this.views.i32, I32_NOTIFY);
        const rev = this.publishedRevision;
        if (rev > afterRevision || this.writerClosed) return rev;
        const left = deadline - performance.now();
        if (left <= 0) return rev;
        hold ??= setInterval(noop, 1 << 30); // a ref'd handle: the event loop stays alive until the wait ends
        const w = Atomics.waitAsync(this.views.i32, I32_NOTIFY, seen, left);
        if (w.async) await w.value;
      }
    } finally {
      if (hold) clearInterval(hold);
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
    // (The writer clears the slots of threads that exited; a new reader on a reused thread id claims anew.)
    for (let k = 0; k < MAX_READERS; k++) {
      if (Atomics.compareExchange(this.views.i32, slotOwnerIndex(k), 0, threadId + 1) === 0) {
        this.slot = k;
        return;
      }
    }
    throw ioFailure(`all ${MAX_READERS} reader slots of the shared state are in use`);
  }
}

/** Attaches to the shared state described by `handle` (from `state.shared()`, via workerData). */
export function attachState(handle: unknown): StateReader {
  return new StateReader(handle);
}
