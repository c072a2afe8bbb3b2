/**
 * `state_metadata.json`, the read side: how other processes and languages find the state. The
 * writer (persist/metadata.ts) rewrites it atomically after acknowledged flushes, so `version`
 * never names a revision that is not durable. Paths in it are only ever followed to files
 * directly inside the directory that holds it: a path that leaves the directory is refused, and
 * in a copied or moved directory the file of the same name beside the metadata is used.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { corrupt, ioError, show } from '../errors.js';
import type { MetadataFacts } from './choose.js';
import { METADATA_FILE } from './names.js';

/** What our writer puts in the metadata's `format` key. */
export const METADATA_FORMAT = 'arrow-cluster-state/1';

/** The metadata file's keys (docs/state-directory.md). */
export interface StateMetadata {
  cluster_id: string;
  master_id: string | null;
  state_path: string;
  parquet_path: string;
  /** The durable revision (strictly increasing). */
  version: number;
  /** Epoch seconds of that revision's commit. */
  updated_at: number;
  /** The single-row schema, machine-readable: { fields: [{ name, type, nullable, children? }] }. */
  schema: { fields: SchemaField[] };
  schema_version: number;
  /** Our arena file (durable checkpoints; what followers read). */
  arena_path: string;
  /** The generation of that arena file (it changes at every takeover and compaction). */
  arena_generation: number;
  /** The revision the Parquet file holds (-1 before the first export). */
  parquet_revision: number;
  parquet_updated_at: number | null;
  format: string;
  writer: { pid: number; host: string };
}

/** One field of the machine-readable schema in the metadata. */
export interface SchemaField {
  name: string;
  type: string;
  nullable: boolean;
  children?: SchemaField[];
}

/** Reads `dir/state_metadata.json`: null when absent, CORRUPT when it is not a JSON object. Any subset of keys is accepted. */
export function readMetadata(dir: string): Partial<StateMetadata> | null {
  const file = join(dir, METADATA_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw ioError('read', file, e);
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw corrupt(`${show(file)} is not valid JSON: ${(e as Error).message}`, e);
  }
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw corrupt(`${show(file)} does not hold a JSON object`);
  return m as Partial<StateMetadata>;
}

/** True when the metadata was written by this library (not by the Python original or pyarrow scripts). */
export function isOurMetadata(md: Partial<StateMetadata> | null): boolean {
  return !!md && typeof md.format === 'string' && md.format.startsWith('arrow-cluster-state/');
}

/** The facts the revision choice needs (only from our own metadata; others say nothing about durability). */
export function metadataFacts(md: Partial<StateMetadata> | null): MetadataFacts {
  if (!isOurMetadata(md)) return { version: null, generation: null };
  const version = Number.isSafeInteger(md!.version) && md!.version! >= 0 ? md!.version! : null;
  const generation = Number.isSafeInteger(md!.arena_generation) && md!.arena_generation! >= 1 ? md!.arena_generation! : null;
  return { version, generation: version === null ? null : generation };
}

/**
 * A file named by the metadata (`key`), as a path directly inside `dir`: a relative name is
 * taken in `dir`; an absolute path is used when it lies in `dir`, else (a copied or moved
 * directory) the file of the same name in `dir` when `exists` says there is one. A path that
 * leaves the directory otherwise is refused: `{ refused }` says why. Null when the key is absent.
 */
export function localFileOf(dir: string, md: Partial<StateMetadata> | null, key: 'parquet_path' | 'arena_path', exists: (p: string) => boolean): { path: string } | { refused: string } | null {
  const p = (md as Record<string, unknown> | null)?.[key];
  if (typeof p !== 'string' || p.length === 0) return null;
  const abs = resolve(dir, p);
  if (dirname(abs) === resolve(dir)) return { path: abs };
  const local = join(dir, basename(p));
  if (isAbsolute(p) && exists(local)) return { path: local };
  return { refused: `${METADATA_FILE} names ${key} ${show(p)}, which is not in the state directory ${show(dir)} (files outside it are never read, moved or written)` };
}
