/**
 * `state_metadata.json`, the write side (reading: statedir/metadata.ts). Rewritten atomically
 * after acknowledged flushes, so `version` only ever names a durable revision and only grows.
 * Paths are written absolute (as the Python original did, so its readers work); our readers
 * follow them only to files inside the directory.
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { DataType, Field, Schema } from 'apache-arrow';
import { SCHEMA_VERSION, stateSchema } from '../schema/state-schema.js';
import { METADATA_FORMAT, type SchemaField, type StateMetadata } from '../statedir/metadata.js';
import { arenaFileName, METADATA_FILE, parquetFileName } from '../statedir/names.js';
import { writeFileAtomicSync } from './atomic.js';

export type { StateMetadata, SchemaField };

function fieldJson(f: Field): SchemaField {
  const children = (f.type as DataType).children;
  return { name: f.name, type: String(f.type), nullable: f.nullable, ...(children?.length ? { children: children.map(fieldJson) } : {}) };
}

/** The schema as plain JSON (machine-readable, unlike the original's truncated text). */
export function schemaJson(schema: Schema = stateSchema()): { fields: SchemaField[] } {
  return { fields: schema.fields.map(fieldJson) };
}

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
    arena_path: join(abs, arenaFileName(m.clusterId, m.arenaGeneration)),
    arena_generation: m.arenaGeneration,
    parquet_revision: m.parquetRevision,
    parquet_updated_at: m.parquetUpdatedAtMs === null ? null : m.parquetUpdatedAtMs / 1000,
    format: METADATA_FORMAT,
    writer: { pid: process.pid, host: hostname() },
  };
}

/** Replaces `dir/state_metadata.json` atomically and durably (temp, fsync, rename, fsync of the directory). */
export function writeMetadata(dir: string, meta: StateMetadata): void {
  writeFileAtomicSync(join(dir, METADATA_FILE), `${JSON.stringify(meta, null, 1)}\n`);
}
