/**
 * The writer lock: a proper-lockfile lock on the state directory (its lock is the directory
 * `writer.lock` inside it), held while the writer is open, plus `writer.json` naming the holder.
 * A second writer gets LOCKED with the holder's pid, host and start time; a lock whose holder was
 * killed is taken over once it has not been refreshed for `staleMs`. A compromised lock (taken
 * over while we still run, or deleted) is reported through `onCompromised`: the writer must stop.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { StateError, ioError } from '../errors.js';
import { writeFileAtomicSync } from './atomic.js';

export const LOCK_DIR = 'writer.lock';
export const HOLDER_FILE = 'writer.json';

/** Who holds the lock (writer.json). */
export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

/** Options of `acquireLock`. */
export interface LockOptions {
  /** A lock not refreshed for this long is considered abandoned (ms, at least 2000). */
  staleMs?: number;
  /** How long to keep trying while another writer holds the lock (ms, default 0). */
  waitMs?: number;
  onCompromised: (err: Error) => void;
}

function readHolder(dir: string): LockHolder | null {
  try {
    return JSON.parse(readFileSync(join(dir, HOLDER_FILE), 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}

/** Takes the lock of `dir`; resolves with its release function. */
export async function acquireLock(dir: string, opts: LockOptions): Promise<() => Promise<void>> {
  const stale = Math.max(2000, opts.staleMs ?? 10_000);
  const waitMs = opts.waitMs ?? 0;
  const retries = waitMs > 0 ? { retries: Math.ceil(waitMs / 250), factor: 1, minTimeout: 250, maxTimeout: 250 } : 0;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, {
      lockfilePath: join(dir, LOCK_DIR),
      realpath: false,
      stale,
      update: Math.max(1000, Math.floor(stale / 2)),
      retries,
      onCompromised: opts.onCompromised,
    });
  } catch (e) {
    if ((e as { code?: string }).code === 'ELOCKED') {
      const h = readHolder(dir);
      const who = h ? `pid ${h.pid} on ${h.host} since ${h.since}` : 'another process';
      throw new StateError('LOCKED', `state directory ${JSON.stringify(dir)} is locked by ${who}`, { details: h ? { ...h } : undefined, cause: e });
    }
    throw ioError('lock', dir, e);
  }
  const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  writeFileAtomicSync(join(dir, HOLDER_FILE), JSON.stringify(me));
  return release;
}
