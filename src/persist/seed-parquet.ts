/**
 * Reading a Parquet file in the seed layout (the single-row state table, e.g. written by pyarrow)
 * into flat tables: what a writer imports when its directory holds only such a file, or when
 * `options.import` names one. Only regular files are read.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { tableFromIPC } from 'apache-arrow';
import { parquetWasm } from '../arrow/parquet-wasm.js';
import { flatFromSingleRow, type FlatTables } from '../arrow/decode/flat-tables.js';
import { corrupt, ioError, show, StateError } from '../errors.js';

/** Reads a Parquet file in the seed layout into flat tables (CORRUPT when unreadable). */
export function readSeedParquet(path: string): FlatTables {
  let bytes: Uint8Array;
  try {
    bytes = readRegularFile(path);
  } catch (e) {
    if (e instanceof StateError) throw e;
    throw ioError('read', path, e);
  }
  try {
    return flatFromSingleRow(tableFromIPC(parquetWasm().readParquet(bytes).intoIPCStream()), `Parquet file ${JSON.stringify(path)}`);
  } catch (e) {
    if (e instanceof StateError) throw e;
    throw corrupt(`Parquet file ${show(path)} is unreadable: ${(e as Error)?.message ?? String(e)}`, e);
  }
}

function readRegularFile(path: string): Uint8Array {
  const st = lstatSync(path);
  if (!st.isFile()) throw corrupt(`${show(path)} is not a regular file (${st.isSymbolicLink() ? 'a symbolic link' : 'a special file'}); state files must be regular files inside the state directory`);
  return readFileSync(path);
}

