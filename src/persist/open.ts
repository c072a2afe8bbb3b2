/**
 * Opening a state directory as its writer, top to bottom:
 *
 * 1. Validate every option (nothing is created for a refused open).
 * 2. Create the directory if it is new, take the lock (persist/lock.ts), sweep a crash's temp files.
 * 3. Refuse state files that are not regular files inside the directory (symbolic links included).
 * 4. Fence: unless the newest arena file was left by a clean close, claim a new arena generation
 *    exclusively — before reading anything, so that a writer that was presumed dead can never
 *    acknowledge a revision the new writer does not read (persist/state-dir.ts).
 * 5. Recover with the one reader and the one rule (statedir/choose.ts): the newest committed
 *    generation's acknowledged revision, or CORRUPT. Without any arena file, take over a
 *    seed-layout Parquet file (e.g. written by pyarrow) — never when our own metadata says an
 *    arena file existed, and never one outside the directory.
 * 6. Commit the recovered state to the writer's file, mark it durable, write the metadata,
 *    remove older generations.
 *
 * `startFresh` moves the damaged directory's state files aside (renamed `*.corrupt-<time>`,
 * never deleted) and starts empty; without it a damaged file is CORRUPT and no file is changed.
 */
import { randomInt } from 'node:crypto';
import { lstatSync, mkdirSync, realpathSync, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readSeedParquet } from './seed-parquet.js';
import { corrupt, invalid, ioError, locked, show, StateError } from '../errors.js';
import { applyImport, type ParsedImport } from '../store/import.js';
import { ClusterState, type ReplicaInit } from '../store/cluster-state.js';
import type { WriterPort } from '../store/durability.js';
import { IN_MEMORY_OPTION_KEYS, OPEN_OPTION_KEYS, PARQUET_CODECS, parseWriterOptions, refuseRetiredOptions, type InMemoryOptions, type OpenOptions } from '../store/options.js';
import { importFlat, restoreFromArena, type RestoreTarget } from '../tables/restore.js';
import { checkBool, checkId, checkInt32, checkOneOf, checkOptions } from '../validate/values.js';
import { ArenaReader, type OpenedRevision } from '../statedir/arena-reader.js';
import { FLAG_CLEAN } from '../statedir/meta-slot.js';
import { isOurMetadata, localFileOf, readMetadata, type StateMetadata } from '../statedir/metadata.js';
import { arenaFileName, HOLDER_FILE, journalFileName, listStateDirectory, METADATA_FILE, parquetFileName } from '../statedir/names.js';
import { fsyncDir, removeQuietly, sweepTempFiles } from './atomic.js';
import { ArenaFileWriter, GenerationTaken } from './arena-writer.js';
import { Checkpoints } from './checkpoints.js';
import { Journal } from './journal.js';
import { replayJournal, type Replayed } from '../statedir/replay.js';
import type { JournalRecord } from '../statedir/journal-format.js';
import { acquireLock, type HeldLock } from './lock.js';
import { DEFAULT_CHECKPOINT, StateDirectory, type CheckpointPolicy } from './state-dir.js';

/** A cluster id that can be part of a file name (no separators, not hidden). */
function checkFileSafeId(id: string, what: string): string {
  if (/[\\/:*?"<>|]/.test(id) || id.startsWith('.')) throw invalid(what, id, 'usable in a file name (no / \\ : * ? " < > |, not starting with ".")');
  return id;
}

interface ParsedOptions {
  /** `options.import`, checked (its rows are checked when it is applied). */
  importFrom: ParsedImport | null;
  clock: () => number;
  statePath: string;
  clusterId: string | undefined;
  staleMs: number;
  waitMs: number;
  startFresh: boolean;
  recoverOlder: boolean;
  graceMs: number;
  checkpoint: CheckpointPolicy;
  parquet: OpenOptions['parquet'];
  onFatal: OpenOptions['onFatal'];
  /** The options for the in-memory core (validated there). */
  core: Omit<InMemoryOptions, 'clusterId'>;
}

/** Step 1: every option of `open` checked; the rest is passed to (and checked by) the in-memory core. */
function parseOptions(opts: OpenOptions): ParsedOptions {
  refuseRetiredOptions(opts);
  const o = checkOptions(opts, [...IN_MEMORY_OPTION_KEYS, ...OPEN_OPTION_KEYS], 'options', false) as Record<string, unknown>;
  const core: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!(OPEN_OPTION_KEYS as readonly string[]).includes(k) && k !== 'clusterId' && k !== 'import') core[k] = v;
  if (typeof o.statePath !== 'string' || o.statePath.length === 0) throw invalid('options.statePath', o.statePath, 'a directory path');
  if (o.onFatal !== undefined && typeof o.onFatal !== 'function') throw invalid('options.onFatal', o.onFatal, 'a function');
  // The writer's own options, checked here before anything touches the disk (the writer checks
  // them again; the cluster id, found in the directory, is checked below).
  const checked = parseWriterOptions({ ...core, clusterId: 'options-check', import: o.import });
  let parquet: OpenOptions['parquet'] = o.parquet === false ? false : undefined;
  if (o.parquet !== undefined && o.parquet !== false) {
    const p = checkOptions(o.parquet, ['codec', 'maxAgeMs', 'minIntervalMs'], 'options.parquet', false) as Record<string, unknown>;
    parquet = {
      codec: p.codec === undefined ? undefined : checkOneOf(p.codec, PARQUET_CODECS, 'options.parquet.codec'),
      maxAgeMs: p.maxAgeMs === undefined ? undefined : checkInt32(p.maxAgeMs, 'options.parquet.maxAgeMs'),
      minIntervalMs: p.minIntervalMs === undefined ? undefined : checkInt32(p.minIntervalMs, 'options.parquet.minIntervalMs'),
    };
  }
  return {
    statePath: o.statePath,
    clusterId: o.clusterId === undefined ? undefined : checkFileSafeId(checkId(o.clusterId, 'options.clusterId'), 'options.clusterId'),
    staleMs: o.lockStaleMs === undefined ? 10_000 : checkInt32(o.lockStaleMs, 'options.lockStaleMs', 2000),
    waitMs: o.lockWaitMs === undefined ? 0 : checkInt32(o.lockWaitMs, 'options.lockWaitMs'),
    startFresh: o.startFresh === undefined ? false : checkBool(o.startFresh, 'options.startFresh'),
    recoverOlder: o.recoverOlder === undefined ? false : checkBool(o.recoverOlder, 'options.recoverOlder'),
    graceMs: o.readerGraceMs === undefined ? 1000 : checkInt32(o.readerGraceMs, 'options.readerGraceMs'),
    checkpoint: checkCheckpointPolicy(o.checkpoint),
    parquet,
    onFatal: o.onFatal as OpenOptions['onFatal'],
    core: core as ParsedOptions['core'],
    importFrom: checked.importFrom,
    clock: checked.clock,
  };
}

/** `options.checkpoint`: positive whole numbers (defaults: DEFAULT_CHECKPOINT). */
function checkCheckpointPolicy(v: unknown): CheckpointPolicy {
  const c = checkOptions(v, ['bytes', 'revisions'], 'options.checkpoint');
  return {
    bytes: c.bytes === undefined ? DEFAULT_CHECKPOINT.bytes : checkInt32(c.bytes, 'options.checkpoint.bytes', 1),
    revisions: c.revisions === undefined ? DEFAULT_CHECKPOINT.revisions : checkInt32(c.revisions, 'options.checkpoint.revisions', 1),
  };
}

/** Step 2: the directory (created only now, after the options were accepted), as a real path. */
function stateDirectory(o: ParsedOptions): string {
  const abs = resolve(o.statePath);
  let exists = true;
  try {
    statSync(abs);
  } catch {
    exists = false;
  }
  if (!exists) {
    if (o.clusterId === undefined) throw invalid('options.clusterId', undefined, `a cluster id: ${show(abs)} does not exist yet, and a new state directory needs one`);
    try {
      mkdirSync(abs, { recursive: true });
    } catch (e) {
      throw ioError('create state directory', abs, e);
    }
  }
  const dir = realpathSync(abs);
  if (!statSync(dir).isDirectory()) throw invalid('options.statePath', o.statePath, 'a directory (it is a file)');
  return dir;
}

/** Step 3: every state file present must be a regular file (a symbolic link could make the writer act outside the directory). */
function refuseIrregularFiles(dir: string, names: string[], clusterId: string): void {
  const ours = (n: string) => n === METADATA_FILE || n === HOLDER_FILE || n === parquetFileName(clusterId) || n === journalFileName(clusterId) || /^state_.+\.\d+\.arena$/.test(n);
  for (const n of names.filter(ours)) {
    const st = lstatSync(join(dir, n));
    if (!st.isFile()) throw corrupt(`${show(join(dir, n))} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; the writer only works on regular files inside its state directory`);
  }
}

/** The cluster id of the directory: the metadata's, else the one of its arena files; it must agree with the option. */
function clusterOf(dir: string, o: ParsedOptions, md: Partial<StateMetadata> | null, arenas: Map<string, number[]>): string {
  let found: string | null = typeof md?.cluster_id === 'string' ? md.cluster_id : null;
  if (found === null && arenas.size === 1) found = arenas.keys().next().value!;
  if (found === null && arenas.size > 1) throw corrupt(`${show(dir)} holds arena files of several clusters (${[...arenas.keys()].join(', ')})`);
  if (found !== null && o.clusterId !== undefined && found !== o.clusterId) {
    throw invalid('options.clusterId', o.clusterId, `${show(found)}, the cluster this directory holds`);
  }
  return checkFileSafeId(checkId(o.clusterId ?? found, 'options.clusterId'), 'options.clusterId');
}

/** Renames the state files of `clusterId` aside as `<name>.<label>-<time>` (never deletes them); `keep` is spared. Returns the names moved. */
function moveAside(dir: string, clusterId: string, keep: string, label = 'corrupt'): string[] {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const { names } = listStateDirectory(dir);
  const moved: string[] = [];
  for (const n of names) {
    if (!isStateFile(n, clusterId) || n === keep) continue;
    const p = join(dir, n);
    if (lstatSync(p).isFile()) {
      renameSync(p, `${p}.${label}-${stamp}`);
      moved.push(`${n}.${label}-${stamp}`);
    }
  }
  return moved;
}

/** Is `name` one of the state files of cluster `clusterId` (metadata, Parquet mirror, journal, an arena generation)? */
function isStateFile(name: string, clusterId: string): boolean {
  return name === METADATA_FILE || name === parquetFileName(clusterId) || name === journalFileName(clusterId) || (name.startsWith(`state_${clusterId}.`) && name.endsWith('.arena'));
}

/** Every option of `ClusterState.open` on a directory checked (INVALID_ARGUMENT naming it); nothing is touched. */
export function checkOpenOptions(opts: OpenOptions): void {
  parseOptions(opts);
}

/**
 * `ClusterState.open`: see the file comment for the steps. With `replica` (a standby master on its
 * own directory, replicate/standby.ts), the directory is taken the same way (lock, a new
 * generation) but the state comes from `replica` instead of recovery: a directory whose
 * metadata says it holds revision ≤ `replica.revision` of this cluster is replaced (it is behind
 * the stream); anything else it holds (newer, damaged, unknown) is renamed aside as
 * `<name>.superseded-<time>` with a warning, never deleted.
 */
export async function openStateDirectory(opts: OpenOptions, replica?: ReplicaInit): Promise<ClusterState> {
  const o = parseOptions(opts);
  const dir = stateDirectory(o);
  let sd: StateDirectory | null = null;
  const lock: HeldLock = await acquireLock(dir, {
    staleMs: o.staleMs,
    waitMs: o.waitMs,
    onCompromised: (e) => sd?.fail(locked(`the lock on ${show(dir)} was compromised (${e.message}); this writer has stopped writing`, { cause: e })),
  });
  let claimed: ArenaFileWriter | null = null;
  try {
    sweepTempFiles(dir);
    let md: Partial<StateMetadata> | null = null;
    try {
      md = readMetadata(dir);
    } catch {
      md = null; // garbage metadata: the arena files decide (it is rewritten after the first flush)
    }
    const listing = listStateDirectory(dir);
    const clusterId = clusterOf(dir, o, md, listing.arenas);
    refuseIrregularFiles(dir, listing.names, clusterId);
    if (o.importFrom) {
      const held = listing.names.filter((n) => isStateFile(n, clusterId));
      if (held.length) throw new StateError('ALREADY_EXISTS', `state directory ${show(dir)} already holds a state of cluster ${show(clusterId)} (${held.join(', ')}): options.import only starts a new one`);
    }
    const reader = new ArenaReader(dir, { policy: 'writer' });
    const gens = listing.arenas.get(clusterId) ?? [];
    const read = (): { rev: OpenedRevision | null; damaged: unknown } => {
      try {
        return { rev: reader.open(), damaged: null };
      } catch (e) {
        return { rev: null, damaged: e };
      }
    };

    // Step 4: resume a cleanly closed file, or claim a new generation before reading.
    let { rev, damaged } = read();
    const resume = !replica && rev !== null && (rev.slot.flags & FLAG_CLEAN) !== 0 && rev.generation === gens[0];
    if (!resume) {
      const g = (gens[0] ?? 0) + 1;
      try {
        claimed = await ArenaFileWriter.claim(join(dir, arenaFileName(clusterId, g)), g, o.graceMs, () => fsyncDir(dir));
      } catch (e) {
        if (e instanceof GenerationTaken) throw locked(`another writer is taking over ${show(dir)} (arena generation ${g} exists already)`, { cause: e });
        throw e;
      }
      ({ rev, damaged } = read()); // after the claim: whatever the previous writer acknowledged is in what we read now
    }
    const keep = claimed ? arenaFileName(clusterId, claimed.generation) : '';
    if (replica) {
      const held = listStateDirectory(dir).names.filter((n) => isStateFile(n, clusterId) && n !== keep);
      const behind = !damaged && isOurMetadata(md) && Number.isSafeInteger(md!.version) && md!.version! <= replica.revision;
      if (held.length && !behind) {
        reader.close();
        const moved = moveAside(dir, clusterId, keep, 'superseded');
        process.emitWarning(`arrow-cluster-state: standby ${show(dir)}: the state it held (${damaged ? 'damaged' : isOurMetadata(md) ? `revision ${md!.version}, ahead of the replicated revision ${replica.revision}` : 'of unknown revision'}) was renamed aside (${moved.join(', ')}); it now holds ${replica.what}`, { code: 'ACS_STANDBY' });
      }
      rev = null;
      damaged = null;
    }
    if (damaged) {
      if (!o.startFresh) throw damaged;
      reader.close();
      moveAside(dir, clusterId, keep);
      rev = null;
    }

    // Step 5: recover (the restore runs inside the writer's one constructor path): the checkpoint,
    // then the journal replayed onto it; then step 6.
    const found = rev;
    let restoreFailed: unknown = null;
    let replayed: Replayed | null = null;
    const acknowledged = isOurMetadata(md) && Number.isSafeInteger(md!.version) ? md!.version! : -1;
    const restore = (t: RestoreTarget) => {
      try {
        if (replica) {
          replica.restore(t);
          return;
        }
        if (o.importFrom) {
          applyImport(t, o.importFrom, Math.floor(o.clock()), typeof core.nodeId === 'string' ? core.nodeId : null);
          return;
        }
        if (found) restoreFromArena(t, found.dir, found.read);
        else if (!damaged) importSeedParquet(dir, clusterId, md, o.startFresh, t);
        if (!damaged) replayed = replayJournal(dir, clusterId, t.model, Math.max(acknowledged, found?.mark ?? -1), { recoverOlder: o.recoverOlder });
      } catch (e) {
        restoreFailed = e;
        throw e;
      }
    };
    const attach = async (port: WriterPort): Promise<StateDirectory> => {
      reader.close();
      const writer = resume && found ? await ArenaFileWriter.resume(found, o.graceMs) : claimed!;
      const content = port.content();
      const recovered = content.revision;
      await writer.commit(content, 0, () => {
        lock.check();
        if (listStateDirectory(dir).arenas.get(clusterId)?.some((g) => g > writer.generation)) throw locked(`another writer took over ${show(dir)} while this one was opening it`);
      });
      await writer.writeMark(recovered);
      const checkpoints = new Checkpoints(dir, clusterId, writer, recovered, lock, o.graceMs);
      // A new journal file (a new inode: a zombie's appends go nowhere), carrying the history.
      const history = carriedHistory((replayed as Replayed | null)?.records ?? [], recovered, port.history, port.historyBytes);
      const journal = await Journal.start(dir, clusterId, { writer: randomInt(2 ** 47), recovered }, history.length ? history[0]!.first - 1 : recovered, history, recovered, () => fsyncDir(dir));
      sd = new StateDirectory({
        dir, clusterId, checkpoints, journal, durableRevision: recovered, head: { updatedAt: content.updatedAt, masterId: content.meta.master_id as string | null },
        port, lock, parquet: o.parquet, onFatal: o.onFatal, checkpoint: o.checkpoint,
      });
      await sd.start();
      for (const g of gens) if (g < writer.generation) removeQuietly(join(dir, arenaFileName(clusterId, g)));
      return sd;
    };
    const core = { ...o.core, clusterId } as InMemoryOptions;
    try {
      return await ClusterState.restored(core, restore, attach, replica ?? null);
    } catch (e) {
      if (!restoreFailed || !o.startFresh || resume || replica) throw e;
      // Damaged beyond the header (an extent, a foreign file's row): start empty with the files moved aside.
      reader.close();
      moveAside(dir, clusterId, keep);
      damaged = e;
      rev = null;
      replayed = null;
      return await ClusterState.restored(core, () => undefined, attach);
    }
  } catch (e) {
    if (claimed) {
      await claimed.close().catch(() => undefined);
      removeQuietly(claimed.path);
    }
    await lock.release();
    throw e;
  }
}

/**
 * The journal records to carry into the new journal: the last `history` revisions (within
 * `historyBytes`), when they
 * end exactly at the recovered revision (a checkpoint written past the journal's end leaves a
 * hole the new journal cannot carry across: then none are carried).
 */
function carriedHistory(records: readonly JournalRecord[], recovered: number, history: number, historyBytes: number): JournalRecord[] {
  if (!records.length || records[records.length - 1]!.last !== recovered || history <= 0) return [];
  const from = recovered - history;
  let i = records.length;
  let bytes = 0;
  while (i > 0 && records[i - 1]!.last > from && bytes + records[i - 1]!.payload.byteLength <= historyBytes) bytes += records[--i]!.payload.byteLength;
  return records.slice(i);
}

/** Step 5 without an arena file: a seed-layout Parquet file in the directory (the metadata's, else the default name). */
function importSeedParquet(dir: string, clusterId: string, md: Partial<StateMetadata> | null, startFresh: boolean, target: RestoreTarget): void {
  const named = localFileOf(dir, md, 'parquet_path', (p) => {
    try {
      return lstatSync(p).isFile();
    } catch {
      return false;
    }
  });
  if (named && 'refused' in named) {
    if (startFresh) return;
    throw corrupt(named.refused);
  }
  const pq = named?.path ?? join(dir, parquetFileName(clusterId));
  let st;
  try {
    st = lstatSync(pq);
  } catch {
    return; // nothing to import: a new state
  }
  if (!st.isFile()) throw corrupt(`${show(pq)} is not a regular file; the writer only works on regular files inside its state directory`);
  try {
    const flat = readSeedParquet(pq);
    if (flat.clusterId && flat.clusterId !== clusterId) throw corrupt(`Parquet file ${show(pq)} holds cluster ${show(flat.clusterId)}, not ${show(clusterId)}`);
    importFlat(target, flat, typeof md?.version === 'number' && Number.isSafeInteger(md.version) && md.version > 0 ? md.version : 0);
  } catch (e) {
    throw e; // with startFresh, openStateDirectory moves the files aside and starts empty
  }
}
