/**
 * parquet-wasm, loaded on first use: its WebAssembly is instantiated only by a process that
 * reads or writes a Parquet file (a cold reader of a state directory never pays its ~25 ms).
 */
import { createRequire } from 'node:module';
import type * as ParquetWasm from 'parquet-wasm';

let parquetModule: typeof ParquetWasm | null = null;

/** The parquet-wasm module (loaded synchronously the first time). */
export function parquetWasm(): typeof ParquetWasm {
  parquetModule ??= createRequire(import.meta.url)('parquet-wasm') as typeof ParquetWasm;
  return parquetModule;
}
