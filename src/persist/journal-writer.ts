/**
 * Appending to the journal (format: statedir/journal-format.ts). A writer always starts a new
 * journal file — created exclusively under a temp name, filled with the retained history (the
 * records carried over from the old journal), synced, then renamed over `state_<id>.journal` — so
 * a previous writer that is still running (a zombie) appends to an inode nothing reads any more.
 * Each append is one write of every record of a group commit, then fdatasync; the caller checks
 * it still owns the directory, then writes the durable mark and acknowledges.
 */
import { constants } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { ioError, StateError } from '../errors.js';
import {
  encodeJournalHeader, encodeJournalMark, encodeRecords, JOURNAL_DATA_START, JOURNAL_MARK_OFFSET, type JournalRecord,
} from '../statedir/journal-format.js';
import { tempPathFor } from '../statedir/names.js';
import { removeQuietly } from './atomic.js';

/** Who writes a journal file (its header's `writer` and `recovered`; journal-format.ts). */
export interface JournalSession {
  /** A random id of the writer session (from its open to its close). */
  writer: number;
  /** The revision its recovery ended at. */
  recovered: number;
}

/** Appends records to one journal file. Owned by the writer; one append at a time. */
export class JournalWriter {
  private end: number;
  /** The newest revision appended (the base revision before the first append). */
  lastRevision: number;
  /** Bytes appended since the file was created (carried history excluded). */
  appendedBytes = 0;

  private constructor(readonly path: string, private readonly fh: FileHandle, end: number, lastRevision: number, readonly baseRevision: number) {
    this.end = end;
    this.lastRevision = lastRevision;
  }

  /**
   * Creates the journal of `clusterId` at `path` following `baseRevision`, holding the records
   * `carried` (contiguous from baseRevision + 1), synced and renamed into place; its mark says
   * `acknowledged` (the revisions carried were durable before); its header names `session`. The
   * directory is synced by `fsyncDir`; `beforeInstall` (the fence) may throw to refuse the rename.
   */
  static async create(path: string, clusterId: string, session: JournalSession, baseRevision: number, carried: readonly JournalRecord[], acknowledged: number, fsyncDir: () => void, beforeInstall?: () => void): Promise<JournalWriter> {
    const tmp = tempPathFor(path);
    let fh: FileHandle | null = null;
    try {
      fh = await open(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
      const header = encodeJournalHeader({ baseRevision, createdAt: Date.now(), clusterId, ...session });
      header.set(encodeJournalMark(acknowledged), JOURNAL_MARK_OFFSET);
      const body = encodeRecords(carried);
      await writeAll(fh, header, 0);
      await writeAll(fh, body, JOURNAL_DATA_START);
      await fh.sync();
      beforeInstall?.(); // the fence: a writer that lost the directory replaces nothing
      await rename(tmp, path);
      fsyncDir();
      const last = carried.length ? carried[carried.length - 1]!.last : baseRevision;
      return new JournalWriter(path, fh, JOURNAL_DATA_START + body.byteLength, last, baseRevision);
    } catch (e) {
      await fh?.close().catch(() => undefined);
      removeQuietly(tmp);
      if (e instanceof StateError) throw e;
      throw ioError('create', path, e);
    }
  }

  /** Bytes of the file. */
  get bytes(): number {
    return this.end;
  }

  /** Appends `records` (contiguous, following lastRevision) with one write, then fdatasync: durable when it resolves. */
  async append(records: readonly JournalRecord[]): Promise<void> {
    if (!records.length) return;
    if (records[0]!.first !== this.lastRevision + 1) throw new Error(`internal: journal append at revision ${records[0]!.first} after ${this.lastRevision}`);
    const bytes = encodeRecords(records);
    try {
      await writeAll(this.fh, bytes, this.end);
      await this.fh.datasync();
    } catch (e) {
      throw ioError('append to', this.path, e);
    }
    this.end += bytes.byteLength;
    this.appendedBytes += bytes.byteLength;
    this.lastRevision = records[records.length - 1]!.last;
  }

  /** Writes the durable mark (not synced on its own: after a crash it may be older, never newer). */
  async writeMark(revision: number): Promise<void> {
    try {
      await writeAll(this.fh, encodeJournalMark(revision), JOURNAL_MARK_OFFSET);
    } catch (e) {
      throw ioError('write', this.path, e);
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < bytes.byteLength) off += (await fh.write(bytes, off, bytes.byteLength - off, position + off)).bytesWritten;
}
