/**
 * Atomic file replacement: write a temp file beside the target, fsync it, rename it over the
 * target, fsync the directory. A reader sees the old file or the new one, never a mix; after a
 * crash the target is one of the two. Temp files get unpredictable names and are created
 * exclusively (O_CREAT|O_EXCL, which never follows a symbolic link), so nothing planted at a
 * name can redirect a write; rename replaces a link itself, never its target. Leftovers of a
 * crash are swept when the writer next opens the directory.
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ioError } from '../errors.js';
import { isTempName, tempPathFor } from '../statedir/names.js';

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

/** Atomically and durably replaces `path` with `data` (synchronous; for small files such as metadata). */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, 'wx', 0o644);
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
    removeQuietly(tmp);
    throw ioError('write', path, e);
  }
  fsyncDir(dirname(path));
}

/**
 * Writes `data` to a fresh temp file beside `target` (synced) without blocking the event loop,
 * and returns its path: the caller decides whether to rename it into place (`installFile`).
 */
export async function writeTempFile(target: string, data: Uint8Array): Promise<string> {
  const tmp = tempPathFor(target);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      let off = 0;
      while (off < data.byteLength) off += (await fh.write(data, off, data.byteLength - off)).bytesWritten;
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    removeQuietly(tmp);
    throw ioError('write', target, e);
  }
  return tmp;
}

/** Renames temp file `tmp` over `target` and fsyncs the directory (the temp file is removed if that fails). */
export async function installFile(tmp: string, target: string): Promise<void> {
  try {
    await rename(tmp, target);
  } catch (e) {
    removeQuietly(tmp);
    throw ioError('rename', target, e);
  }
  fsyncDir(dirname(target));
}

/** Removes a file, ignoring its absence. */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // it may not exist; the sweep at the next open removes any leftover
  }
}

/** Removes temp files left by a crashed writer in `dir` (the caller holds the lock); returns their names. */
export function sweepTempFiles(dir: string): string[] {
  const swept: string[] = [];
  for (const name of readdirSync(dir)) {
    if (isTempName(name)) {
      removeQuietly(join(dir, name));
      swept.push(name);
    }
  }
  return swept;
}
