/**
 * `state_metadata.json`: how other processes and languages find the state. Rewritten atomically
 * after every flush; `version` is the durable revision and only ever grows. Paths are written
 * absolute (as the Python original did, so its readers work); readers resolve them against the
 * metadata's own directory when they are relative or when the directory was moved.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import type { DataType, Field, Schema } from 'apache-arrow';
import { corrupt } from '../errors.js';
import { SCHEMA_VERSION, stateSchema } from '../schema/state-schema.js';
import { writeFileAtomicSync } from './atomic.js';

export const METADATA_FILE = 'state_metadata.json';
export const FORMAT = 'arrow-cluster-state/1';

/** The metadata file's keys (CONTRACT.md "Files" plus ours). */
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
  /** Bumped when the arena file is rewritten by compaction. */
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

function fieldJson(f: Field): SchemaField {
  const children = (f.type as DataType).children;
  return { name: f.name, type: String(f.type), nullable: f.nullable, ...(children?.length ? { children: children.map(fieldJson) } : {}) };
}

/** The schema as plain JSON (machine-readable, unlike the original's truncated text). */
export function schemaJson(schema: Schema = stateSchema()): { fields: SchemaField[] } {
  return { fields: schema.fields.map(fieldJson) };
}

export const arenaFileName = (clusterId: string) => `state_${clusterId}.arena`;
export const parquetFileName = (clusterId: string) => `state_${clusterId}.parquet`;

/** Builds the metadata for `dir` at a durable revision. */
export function buildMetadata(dir: string, m: {
  clusterId: string; masterId: string | null; version: number; updatedAtMs: number; arenaGeneration: number;
  parquetRevision: number; parquetUpdatedAtMs: number | null;
}): StateMetadata {
  const abs = resolve(dir);
  return {
    cluster_id: m.clusterId,
    master_id: m.masterId,
    state_path: abs,
    parquet_path: join(abs, parquetFileName(m.clusterId)),
    version: m.version,
    updated_at: m.updatedAtMs / 1000,
    schema: schemaJson(),
    schema_version: SCHEMA_VERSION,
    arena_path: join(abs, arenaFileName(m.clusterId)),
    arena_generation: m.arenaGeneration,
    parquet_revision: m.parquetRevision,
    parquet_updated_at: m.parquetUpdatedAtMs === null ? null : m.parquetUpdatedAtMs / 1000,
    format: FORMAT,
    writer: { pid: process.pid, host: hostname() },
  };
}

/** Replaces `dir/state_metadata.json` atomically (temp, fsync, rename, fsync of the directory). */
export function writeMetadata(dir: string, meta: StateMetadata): void {
  writeFileAtomicSync(join(dir, METADATA_FILE), `${JSON.stringify(meta, null, 1)}\n`);
}

/** Reads `dir/state_metadata.json`: null when absent, CORRUPT when unreadable. Any subset of keys is accepted. */
export function readMetadata(dir: string): Partial<StateMetadata> | null {
  let text: string;
  try {
    text = readFileSync(join(dir, METADATA_FILE), 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw corrupt(`cannot read ${join(dir, METADATA_FILE)}: ${(e as Error).message}`, e);
  }
  try {
    const m = JSON.parse(text) as unknown;
    if (!m || typeof m !== 'object' || Array.isArray(m)) throw new Error('not a JSON object');
    return m as Partial<StateMetadata>;
  } catch (e) {
    throw corrupt(`${join(dir, METADATA_FILE)} is not valid metadata JSON: ${(e as Error).message}`, e);
  }
}

/**
 * Resolves a path from the metadata: relative ones against `dir`; for absolute ones the file of
 * that name in `dir` wins when it exists (a copied or moved directory must read its own files,
 * not the original's), else the absolute path.
 */
export function resolveFromMetadata(dir: string, p: string, exists: (p: string) => boolean): string {
  if (!isAbsolute(p)) return join(dir, p);
  const local = join(dir, basename(p));
  return exists(local) ? local : p;
}
