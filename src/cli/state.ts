/**
 * Read-only access to a state for the command line: a state directory (read through its arena
 * file without the lock, like a follower) or a Parquet file. Nothing here writes or locks.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { snapshotOf, type Snapshot } from '../index.js';
import { classify } from '../helpers/source.js';
import { JOURNAL_SUFFIX, METADATA_FILE, parseArenaFileName } from '../statedir/names.js';

export interface StateLocation {
  /** Absolute path as given (directory or file). */
  path: string;
  kind: 'dir' | 'file';
  /** The directory holding the state files. */
  dir: string;
}

/** Where `path` points; NOT_FOUND when it does not exist. */
export function locate(path: string): StateLocation {
  const c = classify(path);
  return 'dir' in c ? { path: c.dir, kind: 'dir', dir: c.dir } : { path: c.file, kind: 'file', dir: dirname(c.file) };
}

/**
 * One consistent snapshot of the state at `path`: for a directory the newest durable revision
 * of its arena file (else its Parquet file), for a file the Parquet file. NOT_FOUND when there
 * is no state, CORRUPT when files are damaged.
 */
export function readState(path: string): { snap: Snapshot; loc: StateLocation } {
  const loc = locate(path);
  const snap = snapshotOf(loc.path);
  return { snap, loc };
}

/** The parsed state_metadata.json of `dir`, or null (absent or not JSON: the reader decides). */
export function metadataOf(dir: string): Record<string, unknown> | null {
  try {
    const md = JSON.parse(readFileSync(join(dir, METADATA_FILE), 'utf8')) as unknown;
    return md && typeof md === 'object' && !Array.isArray(md) ? (md as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export interface StateFile {
  /** metadata | arena | parquet */
  role: 'metadata' | 'arena' | 'journal' | 'parquet';
  name: string;
  path: string;
  bytes: number;
  mtimeMs: number;
}

/** The state files at a location (what exists of metadata, arena, journal and Parquet files). */
export function stateFiles(loc: StateLocation): StateFile[] {
  const stat = (role: StateFile['role'], path: string): StateFile | null => {
    try {
      const st = statSync(path);
      return st.isFile() ? { role, name: basename(path), path, bytes: st.size, mtimeMs: st.mtimeMs } : null;
    } catch {
      return null;
    }
  };
  if (loc.kind === 'file') return [stat('parquet', loc.path)].filter((f): f is StateFile => f !== null);
  let names: string[] = [];
  try {
    names = readdirSync(loc.dir).sort();
  } catch {
    return [];
  }
  const out: StateFile[] = [];
  const push = (f: StateFile | null) => f && out.push(f);
  if (names.includes(METADATA_FILE)) push(stat('metadata', join(loc.dir, METADATA_FILE)));
  for (const n of names) if (parseArenaFileName(n)) push(stat('arena', join(loc.dir, n)));
  for (const n of names) if (n.startsWith('state_') && n.endsWith(JOURNAL_SUFFIX)) push(stat('journal', join(loc.dir, n)));
  for (const n of names) if (n.startsWith('state_') && n.endsWith('.parquet')) push(stat('parquet', join(loc.dir, n)));
  return out;
}
