/**
 * The writer lock: a proper-lockfile lock on the state directory (the directory `writer.lock`
 * inside it, refreshed while the writer is open) plus `writer.json` naming the holder — pid, host,
 * the process's start time and a random token.
 *
 * What is guaranteed (pure JavaScript: Node has no flock without a native addon):
 * - On the same host, a second writer is refused (LOCKED) for as long as the holding process is
 *   alive — checked by its pid and start time (/proc), not by the lock's age, so a stopped or
 *   busy writer, or one whose lock directory was deleted, is never taken over. A holder whose
 *   process is gone is taken over at once.
 * - A holder on another host (a shared network file system) cannot be seen: it is presumed alive
 *   until its lock has not been refreshed for `staleMs`.
 * - Neither a deleted lock nor a wrong presumption can let two writers write to what readers see:
 *   every takeover claims a new arena generation exclusively (state-dir.ts), and a writer checks
 *   its claim and its lock before every acknowledgement.
 */
import { readFileSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { ioError, show, StateError, locked } from '../errors.js';
import { HOLDER_FILE, LOCK_DIR } from '../statedir/names.js';
import { writeFileAtomicSync } from './atomic.js';

/** Who holds the lock (writer.json). */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
  /** The process's start time as the OS counts it (Linux: /proc/<pid>/stat field 22), to tell a reused pid apart. */
  start: string | null;
  /** Random, per lock: tells this holder's writer.json from a later one's. */
  token: string;
}

/** Whether a holder's process runs: alive, dead, or on another host (unknown). */
export type Liveness = 'alive' | 'dead' | 'elsewhere';

/** Options of `acquireLock`. */
export interface LockOptions {
  /** A lock not refreshed for this long is considered abandoned when its holder is on another host (ms). */
  staleMs: number;
  /** How long to keep trying while another writer holds the lock (ms). */
  waitMs: number;
  /** Called when the lock is lost while held (its directory removed or taken over): the writer must stop. */
  onCompromised: (err: Error) => void;
}

/** A held lock. */
export interface HeldLock {
  readonly holder: LockHolder;
  /** Throws LOCKED when the lock directory is gone or is not the one this lock created. Cheap (one stat). */
  check(): void;
  /** Removes writer.json (if still ours) and releases the lock. */
  release(): Promise<void>;
}

/** Directories whose lock this process holds (real paths). */
const heldHere = new Set<string>();

/** The start time of process `pid` as the OS counts it, or null where it cannot be read. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null; // field 22 of the whole line
  } catch {
    return null;
  }
}

/** Whether `h`'s process is alive, judged from this process (see the file comment). */
export function liveness(h: LockHolder, dir: string): Liveness {
  if (h.host !== hostname()) return 'elsewhere';
  if (h.pid === process.pid) return heldHere.has(dir) ? 'alive' : 'dead';
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
  }
  const start = processStart(h.pid);
  if (h.start && start && start !== h.start) return 'dead'; // the pid was reused
  return 'alive';
}

/** The holder named by `dir/writer.json`, or null when there is none (or it is unreadable). */
export function readHolder(dir: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(join(dir, HOLDER_FILE), 'utf8')) as Partial<LockHolder>;
    if (!h || typeof h.pid !== 'number' || typeof h.host !== 'string') return null;
    return { pid: h.pid, host: h.host, since: String(h.since ?? ''), start: typeof h.start === 'string' ? h.start : null, token: String(h.token ?? '') };
  } catch {
    return null;
  }
}

/** Who holds the lock of `dir` and whether it is alive (for status displays; reads only). */
export function inspectLock(dir: string): { holder: LockHolder | null; liveness: Liveness | null; locked: boolean } {
  const holder = readHolder(dir);
  let locked = false;
  try {
    locked = statSync(join(dir, LOCK_DIR)).isDirectory();
  } catch {
    locked = false;
  }
  return { holder, liveness: holder ? liveness(holder, dir) : null, locked };
}

function describe(dir: string, h: LockHolder | null, live: Liveness | null, staleMs: number): string {
  if (!h) return `state directory ${show(dir)} is locked by another process (${HOLDER_FILE} does not say which); pass lockWaitMs to wait for it`;
  const who = `pid ${h.pid} on ${h.host === hostname() ? 'this host' : `host ${show(h.host)}`} since ${h.since}`;
  const why = live === 'alive'
    ? 'that process is alive: a stale or missing lock directory is not proof of death, so its lock is not taken over'
    : `that host cannot be checked from here: the lock is presumed held until it has not been refreshed for lockStaleMs = ${staleMs} ms`;
  return `state directory ${show(dir)} is locked by ${who} (${why}); stop that writer, or pass lockWaitMs to wait for it`;
}

/**
 * Takes the lock of `dir` (a real path). LOCKED when another live writer holds it (see the file
 * comment); a dead holder on this host is taken over at once. Writes writer.json.
 */
export async function acquireLock(dir: string, opts: LockOptions): Promise<HeldLock> {
  if (heldHere.has(dir)) throw locked(`state directory ${show(dir)} is already open for writing in this process (pid ${process.pid})`);
  const lockPath = join(dir, LOCK_DIR);
  const deadline = Date.now() + opts.waitMs;
  let release: () => Promise<void>;
  for (;;) {
    const h = readHolder(dir);
    const live = h ? liveness(h, dir) : null;
    let refusal: StateError | null = null;
    if (h && live === 'alive') {
      refusal = locked(describe(dir, h, live, opts.staleMs), { details: { ...h, alive: true } });
    } else {
      if (h && live === 'dead') {
        try {
          rmdirSync(lockPath); // its holder is gone: the lock is ours to take, however fresh it looks
        } catch {
          // already removed (or never there)
        }
      }
      try {
        release = await lockfile.lock(dir, {
          lockfilePath: lockPath,
          realpath: false,
          stale: opts.staleMs,
          update: Math.max(1000, Math.floor(opts.staleMs / 2)),
          retries: 0,
          onCompromised: opts.onCompromised,
        });
        break;
      } catch (e) {
        if ((e as { code?: string }).code !== 'ELOCKED') throw ioError('lock', dir, e);
        const h2 = readHolder(dir);
        const live2 = h2 ? liveness(h2, dir) : null;
        refusal = locked(describe(dir, h2, live2, opts.staleMs), { details: h2 ? { ...h2, alive: live2 === 'alive' ? true : live2 === 'dead' ? false : null } : undefined, cause: e });
      }
    }
    if (Date.now() >= deadline) throw refusal;
    await new Promise((r) => setTimeout(r, Math.min(250, Math.max(1, deadline - Date.now()))));
  }
  let ino: number;
  try {
    ino = statSync(lockPath).ino;
  } catch (e) {
    await release().catch(() => undefined);
    throw ioError('stat', lockPath, e);
  }
  const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), start: processStart(process.pid), token: randomBytes(8).toString('hex') };
  try {
    writeFileAtomicSync(join(dir, HOLDER_FILE), JSON.stringify(holder));
  } catch (e) {
    await release().catch(() => undefined);
    throw e;
  }
  heldHere.add(dir);
  let released = false;
  return {
    holder,
    check() {
      let now: number | null = null;
      try {
        now = statSync(lockPath).ino;
      } catch {
        now = null;
      }
      if (now !== ino) throw locked(`the lock of ${show(dir)} was ${now === null ? 'deleted' : 'replaced by another process'}; this writer has stopped writing`);
    },
    async release() {
      if (released) return;
      released = true;
      heldHere.delete(dir);
      if (readHolder(dir)?.token === holder.token) {
        try {
          unlinkSync(join(dir, HOLDER_FILE));
        } catch {
          // gone already
        }
      }
      await release().catch(() => undefined);
    },
  };
}
