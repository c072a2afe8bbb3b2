/**
 * Atomic file replacement: write a temp file beside the target, fsync it, rename it over the
 * target, fsync the directory. A reader sees the old file or the new one, never a mix; after a
 * crash the target is one of the two. Temp files carry a recognisable suffix so that a crash's
 * leftovers can be swept when the writer next opens the directory.
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ioError } from '../errors.js';

/** Suffix of every temp file the writer makes. */
export const TEMP_SUFFIX = '.acs-tmp';

const tempName = (path: string) => `${path}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}${TEMP_SUFFIX}`;

/** fsyncs a directory so that a rename in it is durable. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (e) {
    throw ioError('fsync directory', dir, e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Atomically replaces `path` with `data` (synchronous; for small files such as metadata). */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const tmp = tempName(path);
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // the temp file may not exist; the sweep at the next open removes any leftover
    }
    throw ioError('write', path, e);
  }
  fsyncDir(dirname(path));
}

/** Atomically replaces `path` with `data` without blocking the event loop during the writes. */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = tempName(path);
  try {
    const fh = await open(tmp, 'w', 0o644);
    try {
      let off = 0;
      while (off < data.byteLength) off += (await fh.write(data, off, data.byteLength - off)).bytesWritten;
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // see writeFileAtomicSync
    }
    throw ioError('write', path, e);
  }
  fsyncDir(dirname(path));
}

/** Removes temp files left by a crashed writer in `dir`; returns their names. */
export function sweepTempFiles(dir: string): string[] {
  const swept: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name.endsWith(TEMP_SUFFIX)) {
      try {
        unlinkSync(join(dir, name));
        swept.push(name);
      } catch {
        // another process may have removed it already
      }
    }
  }
  return swept;
}

export { basename };
