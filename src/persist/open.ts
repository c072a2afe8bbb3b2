/**
 * Opening a state directory as its writer: lock, sweep, recover (arena file, else a seed-layout
 * Parquet file, else fresh), then attach the StateDirectory that persists every publish.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { flatFromSingleRow } from '../arrow/flat-tables.js';
import { corrupt, invalid, ioError, StateError } from '../errors.js';
import type { ClusterState, InMemoryOptions, OpenOptions } from '../store/cluster-state.js';
import { importFlat, restoreFromArena } from '../store/restore.js';
import { checkBool, checkId, checkInt32, checkObject } from '../validate/values.js';
import { sweepTempFiles } from './atomic.js';
import { ArenaFileWriter, readArenaFile, type RecoveredArena } from './arena-file.js';
import { acquireLock } from './lock.js';
import { arenaFileName, METADATA_FILE, parquetFileName, readMetadata, resolveFromMetadata } from './metadata.js';
import { StateDirectory } from './state-dir.js';

/** A cluster id that can be part of a file name (no separators, not hidden). */
function checkFileSafeId(id: string, what: string): string {
  if (/[\\/:*?"<>|]/.test(id) || id.startsWith('.')) throw invalid(what, id, 'usable in a file name (no / \\ : * ? " < > |, not starting with ".")');
  return id;
}

/** Reads a Parquet file in the seed layout into flat tables (CORRUPT when unreadable). */
export function readSeedParquet(path: string) {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw ioError('read', path, e);
  }
  try {
    return flatFromSingleRow(tableFromIPC(readParquet(bytes).intoIPCStream()), `Parquet file ${JSON.stringify(path)}`);
  } catch (e) {
    if (e instanceof StateError) throw e;
    throw corrupt(`Parquet file ${JSON.stringify(path)} is unreadable: ${(e as Error)?.message ?? String(e)}`, e);
  }
}

/** The cluster id stored in a directory (arena file name or metadata), if any. */
function existingClusterId(dir: string): string | null {
  const meta = (() => {
    try {
      return readMetadata(dir);
    } catch {
      return null;
    }
  })();
  if (meta && typeof meta.cluster_id === 'string') return meta.cluster_id;
  const arenas = readdirSync(dir).filter((n) => n.startsWith('state_') && n.endsWith('.arena'));
  return arenas.length === 1 ? arenas[0]!.slice(6, -6) : null;
}

/** Moves damaged files aside (never deletes them). */
function moveAside(paths: string[]): void {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (const p of paths) if (existsSync(p)) renameSync(p, `${p}.corrupt-${stamp}`);
}

/** `ClusterState.open`: lock, sweep, recover, then attach the persistence; see the method's doc. */
export async function openStateDirectory(opts: OpenOptions, make: (o: InMemoryOptions) => ClusterState): Promise<ClusterState> {
  const o = checkObject(opts, 'options') as unknown as OpenOptions;
  if (typeof o.statePath !== 'string' || o.statePath.length === 0) throw invalid('options.statePath', o.statePath, 'a directory path');
  const dir = resolve(o.statePath);
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw ioError('create state directory', dir, e);
  }
  const startFresh = o.startFresh === undefined ? false : checkBool(o.startFresh, 'options.startFresh');
  const staleMs = o.lockStaleMs === undefined ? undefined : checkInt32(o.lockStaleMs, 'options.lockStaleMs', 2000);
  const waitMs = o.lockWaitMs === undefined ? undefined : checkInt32(o.lockWaitMs, 'options.lockWaitMs');
  let onCompromised: (err: StateError) => void = () => undefined;
  const release = await acquireLock(dir, {
    staleMs,
    waitMs,
    onCompromised: (e) => onCompromised(new StateError('LOCKED', `the lock on ${JSON.stringify(dir)} was compromised (${e.message}); this writer has stopped writing`, { cause: e })),
  });
  try {
    sweepTempFiles(dir);
    const found = existingClusterId(dir);
    const clusterId = checkFileSafeId(checkId(o.clusterId ?? found, 'options.clusterId'), 'options.clusterId');
    if (found !== null && o.clusterId !== undefined && found !== o.clusterId) {
      throw invalid('options.clusterId', o.clusterId, `${JSON.stringify(found)}, the cluster this directory holds`);
    }
    const state = make({ ...o, clusterId } as InMemoryOptions);
    const int = state.internals();
    const arenaPath = join(dir, arenaFileName(clusterId));
    let rec: RecoveredArena | null = null;
    let writer: ArenaFileWriter;
    let damaged: unknown = null;
    if (existsSync(arenaPath)) {
      try {
        rec = readArenaFile(arenaPath);
        const known = (() => {
          try {
            return readMetadata(dir)?.version;
          } catch {
            return undefined; // garbage metadata: the arena file alone decides (it is rewritten on the first flush)
          }
        })();
        if (rec && typeof known === 'number' && rec.meta.revision < known && !o.recoverOlder) {
          throw corrupt(`${METADATA_FILE} says revision ${known} is durable, but the newest valid meta slot of ${JSON.stringify(arenaPath)} holds revision ${rec.meta.revision} (the newer slot is damaged); pass { recoverOlder: true } to continue from ${rec.meta.revision}, or { startFresh: true }`);
        }
        if (rec) {
          const cid = rec.dir.meta.cluster_id;
          if (cid !== clusterId) throw corrupt(`arena file ${JSON.stringify(arenaPath)} holds cluster ${JSON.stringify(cid)}, not ${JSON.stringify(clusterId)}`);
          restoreFromArena(int, rec.dir, rec.read);
        }
      } catch (e) {
        rec?.close();
        rec = null;
        if (!startFresh) throw e;
        damaged = e;
        moveAside([arenaPath]);
      }
    }
    if (rec) {
      rec.close();
      writer = await ArenaFileWriter.resume(arenaPath, (rec as RecoveredArena));
    } else {
      if (!damaged) {
        // No arena file (or an empty one): take over a seed-layout Parquet file if there is one.
        const meta = (() => {
          try {
            return readMetadata(dir);
          } catch {
            return null;
          }
        })();
        const candidates = [
          ...(typeof meta?.parquet_path === 'string' ? [resolveFromMetadata(dir, meta.parquet_path, existsSync)] : []),
          join(dir, parquetFileName(clusterId)),
        ];
        const pq = candidates.find((p) => existsSync(p));
        if (pq) {
          try {
            const flat = readSeedParquet(pq);
            if (flat.clusterId && flat.clusterId !== clusterId) throw corrupt(`Parquet file ${JSON.stringify(pq)} holds cluster ${JSON.stringify(flat.clusterId)}, not ${JSON.stringify(clusterId)}`);
            importFlat(int, flat, typeof meta?.version === 'number' && meta.version > 0 ? meta.version : 0);
          } catch (e) {
            if (!startFresh) throw e;
            moveAside([pq]);
          }
        }
      }
      writer = await ArenaFileWriter.create(arenaPath);
    }
    int.activeRebuild();
    int.publish();
    const durable = rec ? rec.meta.revision : -1;
    const sd = new StateDirectory(dir, clusterId, writer, durable, () => int.content(), release, state.shared(), () => state.publishedRevision, {
      parquet: o.parquet,
      onFatal: (err) => {
        int.fail(err);
        console.error(`arrow-cluster-state: ${err.message}`);
        o.onFatal?.(err);
      },
    });
    onCompromised = (err) => sd.fail(err);
    int.attach(sd);
    sd.start(int.content());
    await sd.flush(state.revision);
    return state;
  } catch (e) {
    await release().catch(() => undefined);
    throw e;
  }
}
