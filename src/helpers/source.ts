/**
 * State sources: everything a helper accepts as its first argument, turned into one Snapshot
 * per call (so a composite answer never mixes two versions of the state).
 *
 * - a `ClusterState` (or any object with a `snapshot()` method that returns a Snapshot: a
 *   worker's `StateReader`, a follower) — its current snapshot;
 * - a `Snapshot` (writer, worker, follower) — used as it is;
 * - the single-row Arrow Table of the seed layout (`state.getState()`, or read from any Parquet
 *   file by any tool) — converted to flat tables without copying the columns;
 * - a path (string or file: URL): a `.parquet` file (any file is read as Parquet), a state
 *   directory, or its `state_metadata.json`. A directory is read through `directoryReader` (the
 *   arena files: the newest durable revision, or CORRUPT — never an older or emptier state); only a
 *   directory without arena files (one written by another tool) is read from Parquet: the
 *   metadata's `parquet_path` (inside the directory only), else the newest `state_*.parquet`. The
 *   snapshot says which by its `source` ('file' or 'parquet').
 *
 * Parquet snapshots are cached per file, keyed by (path, size, mtime, inode, ctime): repeated
 * calls on an unchanged file reuse the loaded tables; a replaced file is read again.
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { types } from 'node:util';
import { tableFromIPC, type Table } from 'apache-arrow';
import { parquetWasm as parquet } from '../arrow/parquet-wasm.js';
import { singleRowTable } from '../arrow/encode/single-row.js';
import { corrupt, invalid, ioError, show, unreadable, missing } from '../errors.js';
import { isSnapshot, type Snapshot } from '../snapshot.js';
import { localFileOf, readMetadata as readStateMetadata } from '../statedir/metadata.js';
import { METADATA_FILE } from '../statedir/names.js';
import { isArrowTable, snapshotFromStateTable } from './state-table.js';

/** Anything with a `snapshot()` method yielding a Snapshot: ClusterState, StateReader, a follower. */
export interface SnapshotProvider {
  snapshot(): Snapshot;
}

/** What every helper takes first. */
export type StateSource = SnapshotProvider | Snapshot | Table | string | URL;

export { METADATA_FILE };

// ───────────────────────────── the directory-reader hook ─────────────────────────────

/**
 * Optional fast reader for state directories (the persistence layer's arena file). When set,
 * it is asked first for every directory source: it returns a Snapshot (which the helper
 * releases when its call is done, so return a fresh one or one whose release is harmless) or
 * null to fall back to Parquet. Errors it throws are passed on.
 */
export let directoryReader: ((dir: string) => Snapshot | null) | null = null;

/** Installs (or, with null, removes) the directory reader. */
export function setDirectoryReader(fn: ((dir: string) => Snapshot | null) | null): void {
  if (fn !== null && typeof fn !== 'function') throw invalid('setDirectoryReader(fn)', fn, 'a function or null');
  directoryReader = fn;
}

// ───────────────────────────── Parquet ─────────────────────────────


/** Parses Parquet bytes into an Arrow Table; CORRUPT naming `what` when they are not Parquet. */
export function parseParquet(bytes: Uint8Array, what: string): Table {
  try {
    const wasmTable = parquet().readParquet(bytes);
    return tableFromIPC(wasmTable.intoIPCStream());
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw corrupt(`${what} is not a readable Parquet file: ${reason}`, e);
  }
}

interface Loaded {
  key: string;
  table: Table;
  snap: Snapshot;
}

const CACHE_SIZE = 4;
/** Loaded Parquet files by absolute path, most recently used last. */
const fileCache = new Map<string, Loaded>();

const statKey = (s: Stats) => `${s.size}:${s.mtimeMs}:${s.ino}:${s.ctimeMs}`;

/** Reads a whole file through one descriptor, returning its bytes and the stats of that descriptor. */
function readWhole(file: string): { bytes: Uint8Array; stat: Stats } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missing(`no cluster state at ${show(file)}: the file does not exist`);
    throw ioError('opening', file, e);
  }
  try {
    const stat = fstatSync(fd);
    const bytes = new Uint8Array(stat.size);
    let off = 0;
    while (off < bytes.length) {
      const n = readSync(fd, bytes, off, bytes.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return { bytes: off === bytes.length ? bytes : bytes.subarray(0, off), stat };
  } catch (e) {
    throw ioError('reading', file, e);
  } finally {
    closeSync(fd);
  }
}

/**
 * The state in Parquet file `file`, read once and cached while the file is unchanged. The file
 * is read through one descriptor, so a writer that replaces it atomically (rename) cannot give
 * us a mix of two versions.
 */
function loadParquet(file: string): Loaded {
  const abs = resolve(file);
  let st: Stats;
  try {
    st = statSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missing(`no cluster state at ${show(abs)}: the file does not exist`);
    throw ioError('reading', abs, e);
  }
  const hit = fileCache.get(abs);
  if (hit && hit.key === statKey(st)) {
    fileCache.delete(abs);
    fileCache.set(abs, hit);
    return hit;
  }
  const { bytes, stat } = readWhole(abs);
  const table = parseParquet(bytes, show(abs));
  const snap = snapshotFromStateTable(table, { source: 'parquet', what: show(abs), code: 'CORRUPT' });
  const loaded: Loaded = { key: statKey(stat), table, snap };
  fileCache.delete(abs);
  fileCache.set(abs, loaded);
  while (fileCache.size > CACHE_SIZE) fileCache.delete(fileCache.keys().next().value!);
  tableOfSnapshot.set(snap, table);
  return loaded;
}

/** Forgets every cached Parquet snapshot (they are reloaded on next use). */
export function clearSourceCache(): void {
  fileCache.clear();
}

// ───────────────────────────── directories ─────────────────────────────

/** Parsed `state_metadata.json` of `dir`, or null when there is none; CORRUPT when it is not a JSON object. */
export function readMetadata(dir: string): Record<string, unknown> | null {
  return readStateMetadata(dir) as Record<string, unknown> | null;
}

/**
 * The metadata's `parquet_path` as a file inside `dir` (a relative name, or an absolute path in
 * `dir` or — for a copied directory — the file of that name in `dir`); null when absent.
 * CORRUPT when it names a file outside the directory: files outside are never read.
 */
export function metadataParquetPath(dir: string, md: Record<string, unknown> | null): string | null {
  const named = localFileOf(dir, md, 'parquet_path', isFile);
  if (named && 'refused' in named) throw corrupt(named.refused);
  return named?.path ?? null;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The newest `state_*.parquet` of `dir` by modification time (ties by name), or null. */
export function newestStateFile(dir: string): string | null {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw ioError('listing', dir, e);
  }
  let best: { file: string; mtime: number } | null = null;
  for (const n of names.filter((x) => x.startsWith('state_') && x.endsWith('.parquet')).sort()) {
    const file = join(dir, n);
    try {
      const st = statSync(file);
      if (st.isFile() && (!best || st.mtimeMs > best.mtime)) best = { file, mtime: st.mtimeMs };
    } catch {
      // vanished between listing and stat: not a candidate
    }
  }
  return best?.file ?? null;
}

/** Where the Parquet state of a directory is: the metadata's parquet_path, else the newest state_*.parquet. */
export function parquetFileOfDirectory(dir: string): { file: string | null; searched: string[] } {
  const md = readMetadata(dir);
  const searched: string[] = [];
  const fromMd = metadataParquetPath(dir, md);
  if (fromMd) {
    if (isFile(fromMd)) return { file: fromMd, searched };
    searched.push(`${join(dir, METADATA_FILE)} → parquet_path ${fromMd} (missing)`);
  } else {
    searched.push(md ? `${join(dir, METADATA_FILE)} (no parquet_path)` : `${join(dir, METADATA_FILE)} (absent)`);
  }
  const newest = newestStateFile(dir);
  if (newest) return { file: newest, searched };
  searched.push(`${join(dir, 'state_*.parquet')} (none)`);
  return { file: null, searched };
}

/** The directory or file a path source names (a state_metadata.json path means its directory); NOT_FOUND when absent. */
export function classify(p: string): { dir: string } | { file: string } {
  const abs = resolve(p);
  let st: Stats;
  try {
    st = statSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw missing(`no cluster state at ${show(abs)}: searched ${show(abs)}, which does not exist`);
    throw ioError('reading', abs, e);
  }
  if (st.isDirectory()) return { dir: abs };
  if (basename(abs) === METADATA_FILE) return { dir: dirname(abs) };
  return { file: abs };
}

// ───────────────────────────── acquiring a snapshot ─────────────────────────────

/** Snapshot → the single-row table it was made from (table and file sources). */
const tableOfSnapshot = new WeakMap<Snapshot, Table>();
/** Single-row table → its snapshot (cached: conversion is cheap, but the column views are reused). */
const snapshotOfTable = new WeakMap<Table, Snapshot>();

function pathOf(source: unknown): string | null {
  if (typeof source === 'string') {
    if (source.length === 0) throw invalid('state source', source, 'a non-empty path');
    return source;
  }
  if (source instanceof URL) {
    if (source.protocol !== 'file:') throw invalid('state source', source.href, 'a file: URL');
    return fileURLToPath(source);
  }
  return null;
}

/** A snapshot for a state table given as an argument. */
function snapshotOfStateTable(table: Table): Snapshot {
  let snap = snapshotOfTable.get(table);
  if (!snap) {
    snap = snapshotFromStateTable(table, { source: 'table', what: 'the state table', code: 'INVALID_ARGUMENT' });
    snapshotOfTable.set(table, snap);
    tableOfSnapshot.set(snap, table);
  }
  return snap;
}

/** A snapshot held for the length of one helper call; `release` ends it if the call made it. */
export interface Held {
  snap: Snapshot;
  release(): void;
}

const noop = () => undefined;

/** Reads path `p` into a snapshot (see the file comment for the order). */
function holdPath(p: string): Held {
  const where = classify(p);
  if ('file' in where) return { snap: loadParquet(where.file).snap, release: noop };
  const dir = where.dir;
  if (directoryReader) {
    const snap = directoryReader(dir);
    if (snap !== null && snap !== undefined) {
      if (!isSnapshot(snap)) throw invalid('directoryReader result', snap, 'a Snapshot or null');
      return { snap, release: () => snap.release() };
    }
  }
  const { file, searched } = parquetFileOfDirectory(dir);
  if (!file) throw missing(`no cluster state in ${show(dir)}: searched ${searched.join('; ')}`);
  return { snap: loadParquet(file).snap, release: noop };
}

/**
 * Snapshots passed to a helper before (not Proxies: a revoked one must still fail as unreadable).
 * A snapshot's shape never changes, so the next call on it skips isSnapshot — whose reads of
 * `nodes`, `tasks` and `content` are each a pin check (atomic loads) on a worker's snapshot. A
 * released or revoked snapshot still fails: its tables' getters and `verify()` throw.
 */
const knownSnapshots = new WeakSet<object>();

function isKnownSnapshot(source: StateSource): source is Snapshot {
  return typeof source === 'object' && source !== null && knownSnapshots.has(source);
}

/**
 * `fn` on snapshot `snap`, then its `verify()` (also when `fn` throws): a shared-memory snapshot
 * revoked meanwhile gives COMPACTED, never values computed from reused memory.
 */
function runVerified<T>(snap: Snapshot, fn: (snap: Snapshot) => T): T {
  let out: T;
  try {
    out = fn(snap);
  } catch (e) {
    snap.verify?.();
    throw e;
  }
  snap.verify?.();
  return out;
}

/**
 * The snapshot of `source` for one call. Snapshots passed in, and those of providers (which
 * manage their own), are not released by the helpers; those made from a directory reader are.
 */
export function hold(source: StateSource): Held {
  if (isKnownSnapshot(source)) return { snap: source, release: noop };
  try {
    if (typeof source === 'object' && source !== null) Object.getPrototypeOf(source); // a revoked Proxy throws here
  } catch (e) {
    throw unreadable('state source', e);
  }
  const p = pathOf(source);
  if (p !== null) return holdPath(p);
  if (isSnapshot(source)) {
    if (!types.isProxy(source)) knownSnapshots.add(source);
    return { snap: source, release: noop };
  }
  if (isArrowTable(source)) return { snap: snapshotOfStateTable(source), release: noop };
  const provider = source as SnapshotProvider;
  if (provider && typeof provider === 'object' && typeof provider.snapshot === 'function') {
    const snap = provider.snapshot();
    if (!isSnapshot(snap)) throw invalid('state source .snapshot()', snap, 'a Snapshot');
    return { snap, release: noop };
  }
  throw invalid('state source', source, 'a ClusterState, a Snapshot, a single-row Arrow Table, or a path to a state directory or .parquet file');
}

/**
 * Runs `fn` on one snapshot of `source` and releases it afterwards if this call made it. The one
 * choke point of every helper: after `fn` (and after it throws) the snapshot's `verify()` runs, so
 * a shared-memory snapshot revoked during the computation gives COMPACTED, never values (or an
 * error) computed from reused memory.
 */
export function withSnapshot<T>(source: StateSource, fn: (snap: Snapshot) => T): T {
  if (isKnownSnapshot(source)) return runVerified(source, fn); // a snapshot seen before: nothing to release
  const h = hold(source);
  try {
    return runVerified(h.snap, fn);
  } finally {
    h.release();
  }
}

/**
 * The snapshot of any state source. For a directory read through `directoryReader`, release
 * it when done; every other snapshot this returns is released by its owner (or needs none).
 */
export function snapshotOf(source: StateSource): Snapshot {
  return hold(source).snap;
}

/**
 * The single-row state table of a source: the writer's `getState()`, the table itself, the
 * table read from a Parquet file (as the file has it), or one built from a snapshot (a copy).
 */
export function stateTableOf(source: StateSource): Table {
  const p = pathOf(source);
  if (p === null) {
    const g = source as { getState?: unknown; snapshot?: unknown };
    if (g && typeof g === 'object' && !isSnapshot(g) && typeof g.getState === 'function' && typeof g.snapshot === 'function') {
      return (g.getState as () => Table).call(g);
    }
    if (isArrowTable(source)) {
      snapshotOfStateTable(source); // checks the layout
      return source;
    }
  }
  return withSnapshot(source, (snap) => tableOfSnapshot.get(snap) ?? singleRowTable({
    clusterId: snap.clusterId, masterId: snap.masterId, updatedAt: snap.updatedAt, nodes: snap.nodes, tasks: snap.tasks, content: snap.content,
  }));
}
