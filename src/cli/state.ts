/**
 * Read-only access to a state for the command line: a state directory (read through its arena
 * file without the lock, like a follower), a Parquet file, or a cluster followed through NATS
 * JetStream (`--nats <url> --cluster <id>`). Nothing here writes or locks.
 */
import type { EventEmitter } from 'node:events';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { followState, snapshotOf, type ChangeSet, type Snapshot, type WatchOptions } from '../index.js';
import type { FollowerEvents } from '../follower/events.js';
import { classify } from '../helpers/source.js';
import { show } from '../errors.js';
import { JOURNAL_SUFFIX, METADATA_FILE, parseArenaFileName } from '../statedir/names.js';
import { checkId } from '../validate/values.js';
import { UsageError, type Context } from './command.js';
import { displayPath, printable } from './format.js';

/** A state directory or a Parquet file. */
export interface PathLocation {
  /** Absolute path as given (directory or file). */
  path: string;
  kind: 'dir' | 'file';
  /** The directory holding the state files. */
  dir: string;
}

/** A cluster read through NATS JetStream (it has no files here). */
export interface NatsLocation {
  kind: 'nats';
  /** The server URL(s) as given to --nats. */
  url: string;
  servers: string[];
  clusterId: string;
  projection: 'full' | 'leecher';
}

/** Where a read command reads its state. */
export type StateLocation = PathLocation | NatsLocation;

/** Where `path` points; NOT_FOUND when it does not exist. */
export function locate(path: string): PathLocation {
  const c = classify(path);
  return 'dir' in c ? { path: c.dir, kind: 'dir', dir: c.dir } : { path: c.file, kind: 'file', dir: dirname(c.file) };
}

/**
 * One consistent snapshot of the state at `path`: for a directory the newest durable revision
 * of its arena file (else its Parquet file), for a file the Parquet file. NOT_FOUND when there
 * is no state, CORRUPT when files are damaged.
 */
export function readState(path: string): { snap: Snapshot; loc: PathLocation } {
  const loc = locate(path);
  const snap = snapshotOf(loc.path);
  return { snap, loc };
}

const NATS_SCHEMES = new Set(['nats:', 'tls:', 'ws:', 'wss:']);

/** `--nats`: one server URL or several (comma-separated), each nats://, tls://, ws:// or wss:// with a host; a UsageError otherwise. */
export function natsServers(text: string): string[] {
  const servers = text.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  const bad = (why: string) => new UsageError(`--nats must be a NATS server URL such as nats://127.0.0.1:4222, got ${show(text)} (${why})`);
  if (servers.length === 0) throw bad('empty');
  for (const s of servers) {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      throw bad(`${show(s)} is not a URL`);
    }
    if (!NATS_SCHEMES.has(url.protocol)) throw bad(`the scheme must be nats, tls, ws or wss, not ${url.protocol.slice(0, -1)}`);
    if (url.hostname === '') throw bad(`${show(s)} names no host`);
  }
  return servers;
}

/**
 * Where the command of `ctx` reads: `--nats <url> --cluster <id> [--leecher]` when given (the
 * parser has already checked that they go together and replace the positional), else the
 * positional `arg` (a path). A bad URL or cluster id is a UsageError.
 */
export function sourceOf(ctx: Context, arg = 'dir'): { path: string } | { nats: NatsLocation } {
  const url = ctx.values.nats;
  if (url === undefined) return { path: ctx.args[arg]! };
  const clusterId = String(ctx.values.cluster);
  try {
    checkId(clusterId, '--cluster');
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^INVALID_ARGUMENT: /, ''));
  }
  return { nats: { kind: 'nats', url: String(url), servers: natsServers(String(url)), clusterId, projection: ctx.values.leecher ? 'leecher' : 'full' } };
}

/** How messages and output name a location: the path (relative to the working directory when inside it), or the cluster and server. */
export function describe(loc: StateLocation): string {
  if (loc.kind !== 'nats') return displayPath(loc.path);
  return `cluster ${printable(loc.clusterId)} at ${printable(loc.url)}${loc.projection === 'leecher' ? ' (leecher projection)' : ''}`;
}

/** What the CLI uses of a follower, a state directory's or a remote one (both have this API). */
export interface StateFollower extends EventEmitter<FollowerEvents> {
  readonly revision: number;
  snapshot(): Snapshot;
  watch(options?: WatchOptions): AsyncIterable<ChangeSet>;
  close(): Promise<void>;
}

/** A remote follower of `loc` (UNAVAILABLE naming the URL when no server answers, NOT_FOUND when the server has no such cluster). */
export function followNats(loc: NatsLocation): Promise<StateFollower> {
  return followState({ nats: { servers: loc.servers }, clusterId: loc.clusterId, projection: loc.projection });
}

/**
 * One consistent snapshot of what the command of `ctx` reads: readState of its path, or the
 * newest revision a remote follower loads on opening (it has read the stream up to its tail);
 * the follower is closed before this returns, whatever happens.
 */
export async function readSource(ctx: Context, arg = 'dir'): Promise<{ snap: Snapshot; loc: StateLocation }> {
  const src = sourceOf(ctx, arg);
  if ('path' in src) return readState(src.path);
  const follower = await followNats(src.nats);
  try {
    return { snap: follower.snapshot(), loc: src.nats };
  } finally {
    await follower.close();
  }
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
  if (loc.kind === 'nats') return [];
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
