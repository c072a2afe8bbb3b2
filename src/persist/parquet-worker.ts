/**
 * The Parquet export worker: copies the newest published revision out of shared memory, verifies
 * every copied extent (and the directory) against its CRC32, builds the seed's single-row table
 * from the verified copy, encodes it with parquet-wasm and writes it to a fresh temp file beside
 * the target — all off the writer's event loop. It never renames the file into place: it replies
 * with the temp file's path and the writer's ParquetMirror installs it. A damaged extent (a
 * reader wrote into shared memory) fails the export with CORRUPT before anything is encoded, so
 * damaged values never reach a file. parquet-wasm's memory never shrinks (parquet-wasm#591); it
 * lives and dies with this worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { tableToIPC } from 'apache-arrow';
import { wasmMemory } from 'parquet-wasm';
import { encodeParquet, type ParquetCodec } from './parquet-codec.js';
import { singleRowTable } from '../arrow/encode/single-row.js';
import { isStateError } from '../errors.js';
import { attachState } from '../shm/reader.js';
import { writeTempFile } from './atomic.js';

export type { ParquetCodec };

/** One export: the Parquet file it is for and the codec. */
export interface ExportRequest {
  id: number;
  /** The Parquet file the export is for (the temp file is made beside it). */
  path: string;
  codec: ParquetCodec;
}

/** The worker's answer: a temp file (fsynced, beside `path`) holding `revision`, or an error's code and message. */
export type ExportReply =
  | { id: number; ok: true; revision: number; tempPath: string; bytes: number; ms: number; wasmBytes: number }
  | { id: number; ok: false; code: string; message: string };

const reader = attachState((workerData as { handle: unknown }).handle);

parentPort!.on('message', async (req: ExportRequest) => {
  const t0 = performance.now();
  try {
    const snap = reader.copySnapshot(); // every extent copied, then CRC-checked, then decoded
    const revision = snap.revision;
    const ipc = tableToIPC(singleRowTable(snap), 'stream');
    const bytes = encodeParquet(ipc, req.codec);
    const tempPath = await writeTempFile(req.path, bytes); // unpredictable name, created exclusively, fsynced
    const reply: ExportReply = { id: req.id, ok: true, revision, tempPath, bytes: bytes.byteLength, ms: performance.now() - t0, wasmBytes: wasmMemory().buffer.byteLength };
    parentPort!.postMessage(reply);
  } catch (e) {
    const reply: ExportReply = isStateError(e)
      ? { id: req.id, ok: false, code: e.code, message: e.message.replace(`${e.code}: `, '') }
      : { id: req.id, ok: false, code: 'IO', message: `Parquet export failed: ${(e as Error)?.message ?? String(e)}` };
    parentPort!.postMessage(reply);
  }
});
