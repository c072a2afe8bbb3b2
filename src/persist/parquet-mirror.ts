/**
 * The Parquet mirror's scheduler. Exports run in a dedicated worker thread (parquet-worker.ts)
 * over a verified copy of shared memory, one at a time, on an adaptive cadence: never more often
 * than every 10 × the last export's duration (at most ~10% of a core), and never letting a change
 * go unexported longer than `maxAgeMs`. `exportNow()` resolves once the file holds at least the
 * revision published at the call.
 *
 * The worker writes a temp file and replies with its path; the mirror then calls `install` (a
 * constructor seam: by default rename over the Parquet file, then fsync the directory), so the
 * owner of the directory decides whether a file may still be put in place. An export that finds
 * a damaged extent in shared memory (CORRUPT) asks the writer to repair (`setRepair`) and retries
 * once; damaged values are never written.
 */
import { renameSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { closed, ioError, isStateError, ioFailure, withCode } from '../errors.js';
import { workerExecArgv } from '../pool/exec-argv.js';
import type { SharedHandle } from '../shm/reader.js';
import type { ParquetOptions } from '../store/options.js';
import { fsyncDir } from './atomic.js';
import type { ExportReply, ParquetCodec } from './parquet-worker.js';

/**
 * Puts an exported temp file (in the Parquet file's directory) in place as the Parquet file
 * holding `revision`. Throwing refuses it: the export fails with that error (a StateError as it
 * is, anything else as IO) and the temp file is removed.
 */
export type InstallFn = (tempPath: string, revision: number) => void;

/** Seams of the mirror for its owner (not user options). */
export interface MirrorSeams {
  /** Default: rename the temp file over the Parquet file, then fsync the directory. */
  install?: InstallFn;
}

/** The default install: an atomic rename over `path`, made durable by an fsync of its directory. */
export function renameInstall(path: string): InstallFn {
  return (tempPath) => {
    try {
      renameSync(tempPath, path);
    } catch (e) {
      throw ioError('rename Parquet file into place', path, e);
    }
    fsyncDir(dirname(path));
  };
}

/** Parquet mirror settings (`parquet` option of `ClusterState.open`). */
export type MirrorOptions = ParquetOptions;

/** Schedules and runs Parquet exports in a worker thread; one export at a time. */
export class ParquetMirror {
  private worker: Worker | null = null;
  private nextId = 1;
  private inFlight: Promise<number> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private dirtySince: number | null = null;
  private lastStart = 0;
  private lastMs = 0;
  private closedFlag = false;
  /** Revision the file holds (-1 before the first export). */
  revision = -1;
  updatedAt: number | null = null;
  lastError: unknown = null;
  /** parquet-wasm's linear memory in the export worker after the last export (it never shrinks). */
  wasmBytes = 0;
  /** Size of the last Parquet file written. */
  fileBytes = 0;
  readonly codec: ParquetCodec;
  private readonly maxAgeMs: number;
  private readonly minIntervalMs: number;
  private readonly install: InstallFn;
  private repair: (() => void) | null = null;
  /** Exports that found damaged shared memory (and asked for a repair). */
  damagedExports = 0;

  constructor(
    private readonly handle: SharedHandle,
    readonly path: string,
    private readonly publishedRevision: () => number,
    private readonly onExported: (revision: number) => void,
    opts: MirrorOptions = {},
    seams: MirrorSeams = {},
  ) {
    this.codec = opts.codec ?? 'zstd';
    this.maxAgeMs = opts.maxAgeMs ?? 60_000;
    this.minIntervalMs = opts.minIntervalMs ?? 1000;
    this.install = seams.install ?? renameInstall(path);
  }

  /**
   * Sets what to call when an export finds damaged shared memory: the writer's repair (it
   * republishes damaged extents from its heap copies). The export is retried once after it.
   */
  setRepair(repair: () => void): void {
    this.repair = repair;
  }

  /** Last export duration (ms). */
  get lastExportMs(): number {
    return this.lastMs;
  }

  /** Notes that a new revision was published; schedules an export on the cadence. */
  changed(): void {
    if (this.closedFlag) return;
    this.dirtySince ??= Date.now();
    if (this.timer || this.inFlight) return;
    const earliest = this.lastStart + Math.max(this.minIntervalMs, this.lastMs * 10);
    const latest = this.dirtySince + this.maxAgeMs;
    const at = Math.min(Math.max(earliest, Date.now()), latest);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.exportNow().catch(() => undefined); // failures are kept in lastError and reported by exportNow()
    }, Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  /** Exports now (or joins the export in flight if it covers the current revision). */
  async exportNow(): Promise<number> {
    if (this.closedFlag) throw closed('Parquet mirror');
    const want = this.publishedRevision();
    while (this.inFlight) {
      const got = await this.inFlight.catch(() => -1);
      if (got >= want) return got;
    }
    if (this.revision >= want) return this.revision;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.inFlight = this.run();
    try {
      return await this.inFlight;
    } finally {
      this.inFlight = null;
      if (this.publishedRevision() > this.revision && this.dirtySince !== null) this.changed();
    }
  }

  async close(): Promise<void> {
    this.closedFlag = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight?.catch(() => undefined);
    await this.worker?.terminate();
    this.worker = null;
  }

  private async run(): Promise<number> {
    this.lastStart = Date.now();
    this.dirtySince = null;
    let reply = await this.request();
    if (!reply.ok && reply.code === 'CORRUPT' && this.repair) {
      // A reader damaged shared memory: let the writer republish from its heap copies, then retry.
      this.damagedExports++;
      this.repair();
      reply = await this.request();
    }
    if (!reply.ok) {
      this.lastError = withCode(reply.code, reply.message);
      if (reply.code === 'CORRUPT') this.dirtySince ??= Date.now(); // try again on the cadence
      throw this.lastError;
    }
    try {
      this.install(reply.tempPath, reply.revision);
    } catch (e) {
      try {
        unlinkSync(reply.tempPath);
      } catch {
        // installed after all, or already gone
      }
      this.lastError = isStateError(e) ? e : ioError('install Parquet file', this.path, e);
      throw this.lastError;
    }
    this.lastMs = reply.ms;
    this.wasmBytes = reply.wasmBytes;
    this.fileBytes = reply.bytes;
    this.revision = reply.revision;
    this.updatedAt = Date.now();
    this.lastError = null;
    this.onExported(reply.revision);
    return reply.revision;
  }

  /** One export by the worker: its reply (a temp file to install, or an error). */
  private async request(): Promise<ExportReply> {
    this.worker ??= this.startWorker();
    const id = this.nextId++;
    const w = this.worker;
    w.ref(); // keep the process alive while an export is in flight
    return new Promise<ExportReply>((resolve, reject) => {
      const onMessage = (m: ExportReply) => {
        if (m.id !== id) return;
        w.off('message', onMessage);
        w.off('error', onError);
        resolve(m);
      };
      const onError = (e: Error) => {
        w.off('message', onMessage);
        this.worker = null;
        reject(ioFailure(`Parquet export worker failed: ${e.message}`, e));
      };
      w.on('message', onMessage);
      w.once('error', onError);
      w.postMessage({ id, path: this.path, codec: this.codec });
    })
      .catch((e) => {
        this.lastError = e;
        throw e;
      })
      .finally(() => w.unref());
  }

  private startWorker(): Worker {
    // execArgv: not the main script's -e/--input-type (a worker inheriting them fails to start).
    const w = new Worker(new URL('./parquet-worker.js', import.meta.url), { workerData: { handle: this.handle }, execArgv: workerExecArgv() });
    w.unref();
    return w;
  }
}
