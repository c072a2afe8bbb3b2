/**
 * Every file of a state directory, named in one place.
 *
 * ```
 * <dir>/
 *   state_<cluster_id>.<generation>.arena   the arena file (durable checkpoints; see meta-slot.ts).
 *                                           A new generation is created by every takeover and by
 *                                           compaction; only the newest committed one is read.
 *   state_<cluster_id>.journal              the journal: change batches appended since the checkpoint
 *                                           (what makes a revision durable; journal-format.ts)
 *   state_<cluster_id>.parquet              the Parquet mirror (seed single-row layout)
 *   state_metadata.json                     how other processes and languages find the state
 *   writer.lock/                            the writer's lock (a proper-lockfile directory)
 *   writer.json                             who holds the lock (pid, host, process start)
 *   .<name>.<random>.acs-tmp                temp files (created exclusively; swept at open)
 * ```
 * Nothing in here touches the disk except `listStateDirectory`, which only reads the listing.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The metadata file (docs/state-directory.md). */
export const METADATA_FILE = 'state_metadata.json';
/** The writer's lock directory (proper-lockfile). */
export const LOCK_DIR = 'writer.lock';
/** Who holds the lock. */
export const HOLDER_FILE = 'writer.json';
/** Suffix of every temp file the writer makes (a crash's leftovers are swept at the next open). */
export const TEMP_SUFFIX = '.acs-tmp';

/** The arena file of `clusterId` at `generation` (a positive integer). */
export function arenaFileName(clusterId: string, generation: number): string {
  return `state_${clusterId}.${generation}.arena`;
}

/** How every journal file name ends. */
export const JOURNAL_SUFFIX = '.journal';

/** The journal of `clusterId` (change batches appended since the checkpoint; see journal-format.ts). */
export function journalFileName(clusterId: string): string {
  return `state_${clusterId}${JOURNAL_SUFFIX}`;
}

/** The Parquet mirror of `clusterId`. */
export function parquetFileName(clusterId: string): string {
  return `state_${clusterId}.parquet`;
}

/** The arena file name of the first format (one file, no generation), refused with a clear message. */
export function legacyArenaFileName(clusterId: string): string {
  return `state_${clusterId}.arena`;
}

const ARENA_NAME = /^state_(.+)\.(\d{1,15})\.arena$/;

/** Parses an arena file name into its cluster id and generation; null for any other name. */
export function parseArenaFileName(name: string): { clusterId: string; generation: number } | null {
  const m = ARENA_NAME.exec(name);
  if (!m) return null;
  const generation = Number(m[2]);
  return generation >= 1 && Number.isSafeInteger(generation) ? { clusterId: m[1]!, generation } : null;
}

/**
 * A fresh, unpredictable temp file path beside `target` (hidden, ends with TEMP_SUFFIX). Create
 * it with the 'wx' flag (O_CREAT|O_EXCL): that never follows a symbolic link planted at the name.
 */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(12).toString('hex')}${TEMP_SUFFIX}`);
}

/** True for a temp file name of ours. */
export function isTempName(name: string): boolean {
  return name.endsWith(TEMP_SUFFIX);
}

/** What a state directory holds, by name only (nothing is opened). */
export interface StateDirListing {
  /** Every name in the directory. */
  names: string[];
  /** Arena files by cluster id, generations in descending order. */
  arenas: Map<string, number[]>;
  hasMetadata: boolean;
}

/** Lists `dir` (throws the fs error when it cannot be read). */
export function listStateDirectory(dir: string): StateDirListing {
  const names = readdirSync(dir);
  const arenas = new Map<string, number[]>();
  for (const n of names) {
    const a = parseArenaFileName(n);
    if (!a) continue;
    const gens = arenas.get(a.clusterId) ?? [];
    gens.push(a.generation);
    arenas.set(a.clusterId, gens);
  }
  for (const gens of arenas.values()) gens.sort((x, y) => y - x);
  return { names, arenas, hasMetadata: names.includes(METADATA_FILE) };
}
