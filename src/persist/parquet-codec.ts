/**
 * Parquet encoding with parquet-wasm. `writeParquet` consumes its arguments (reusing them throws
 * "null pointer passed to rust"), so both are made fresh per call.
 */
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';

export type ParquetCodec = 'zstd' | 'snappy' | 'none';

/** Encodes an Arrow IPC stream (one table) as a Parquet file with the given codec. */
export function encodeParquet(ipc: Uint8Array, codec: ParquetCodec): Uint8Array {
  const props = new WriterPropertiesBuilder()
    .setCompression(codec === 'zstd' ? Compression.ZSTD : codec === 'snappy' ? Compression.SNAPPY : Compression.UNCOMPRESSED)
    .build();
  return writeParquet(WasmTable.fromIPCStream(ipc), props);
}
