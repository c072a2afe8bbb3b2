/**
 * The Parquet export worker: reads a snapshot zero-copy from shared memory, builds the seed's
 * single-row table, encodes it with parquet-wasm and replaces the file atomically — all off the
 * writer's event loop. parquet-wasm's memory never shrinks (parquet-wasm#591); it lives and dies
 * with this worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { tableToIPC } from 'apache-arrow';
import { wasmMemory } from 'parquet-wasm';
import { encodeParquet, type ParquetCodec } from './parquet-codec.js';
import { singleRowTable } from '../arrow/single-row.js';
import { isStateError } from '../errors.js';
import { attachState } from '../shm/reader.js';
import { writeFileAtomic } from './atomic.js';

export type { ParquetCodec };

export interface ExportRequest {
  id: number;
  path: string;
  codec: ParquetCodec;
}

export type ExportReply =
  | { id: number; ok: true; revision: number; bytes: number; ms: number; wasmBytes: number }
  | { id: number; ok: false; code: string; message: string };

const reader = attachState((workerData as { handle: unknown }).handle);

parentPort!.on('message', async (req: ExportRequest) => {
  const t0 = performance.now();
  try {
    const snap = reader.snapshot();
    let ipc: Uint8Array;
    let revision: number;
    try {
      revision = snap.revision;
      ipc = tableToIPC(singleRowTable(snap), 'stream');
    } finally {
      snap.release();
    }
    const bytes = encodeParquet(ipc, req.codec);
    await writeFileAtomic(req.path, bytes);
    const reply: ExportReply = { id: req.id, ok: true, revision, bytes: bytes.byteLength, ms: performance.now() - t0, wasmBytes: wasmMemory().buffer.byteLength };
    parentPort!.postMessage(reply);
  } catch (e) {
    const reply: ExportReply = isStateError(e)
      ? { id: req.id, ok: false, code: e.code, message: e.message.replace(`${e.code}: `, '') }
      : { id: req.id, ok: false, code: 'IO', message: `Parquet export failed: ${(e as Error)?.message ?? String(e)}` };
    parentPort!.postMessage(reply);
  }
});
