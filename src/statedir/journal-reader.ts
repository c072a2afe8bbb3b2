/**
 * Reading the journal (format: journal-format.ts) without the lock and without writing, for the
 * writer's recovery and for every reader. A scan walks the records from an offset, checks each
 * one's framing, CRC32 and revision (contiguous from the header's base revision), and hands the
 * intact ones over. The rules:
 * - a damaged or cut record whose revision is at or below the durable mark (acknowledged data) is
 *   CORRUPT, never skipped; past the mark it is a torn tail: the scan stops there;
 * - a record that does not follow the one before it (a gap or an overlap) is CORRUPT;
 * - a journal of another cluster, or with a damaged header, is CORRUPT.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { corrupt, ioError, show } from '../errors.js';
import {
  decodeJournalHeader, decodeJournalMark, decodeRecordHeader, JOURNAL_DATA_START, JOURNAL_MARK_BYTES, JOURNAL_MARK_OFFSET,
  RECORD_HEADER_BYTES, recordCrcOk, recordSize, type JournalHeader,
} from './journal-format.js';

/** Where a scan stands: the next byte to read and the revision the next record must start at. */
export interface JournalPosition {
  offset: number;
  next: number;
}

/** One intact record handed over by a scan. */
export interface ScannedRecord {
  first: number;
  last: number;
  offset: number;
  payload: Uint8Array;
  /** Its checksum, verified against the header and payload. */
  crc: number;
}

/** What a scan found. */
export interface ScanResult {
  /** Where the next scan continues (after the last record handed over). */
  position: JournalPosition;
  /** Why the scan stopped before the end of the file (a torn tail past the mark), or null. */
  torn: string | null;
}

/** An open journal file: its header, and scans of its records. */
export class JournalReader {
  readonly path: string;
  readonly header: JournalHeader;
  /** Device and inode of the open file (a replaced journal is another file). */
  readonly id: string;
  private fd: number;

  /** Opens `path` (never through a symbolic link) and checks its header; CORRUPT when damaged or of another cluster. */
  constructor(path: string, clusterId: string) {
    this.path = path;
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw corrupt(`${show(path)} is a symbolic link; state files must be regular files inside the state directory`);
      throw ioError('open', path, e);
    }
    this.fd = fd;
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw corrupt(`${show(path)} is not a regular file`);
      this.id = `${st.dev}:${st.ino}`;
      const head = this.readAt(0, Math.min(JOURNAL_DATA_START, st.size));
      const header = decodeJournalHeader(head);
      if (!header) throw corrupt(`journal ${show(path)}: its header is damaged (bad magic, format or checksum)`);
      if (header.clusterId !== clusterId) throw corrupt(`journal ${show(path)} belongs to cluster ${show(header.clusterId)}, not ${show(clusterId)}`);
      this.header = header;
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** The first position: the first record, which must follow the base revision. */
  get start(): JournalPosition {
    return { offset: JOURNAL_DATA_START, next: this.header.baseRevision + 1 };
  }

  /** The durable mark now (the newest acknowledged revision), or null when none was written or it is unreadable. */
  mark(): number | null {
    const m = decodeJournalMark(this.readAt(JOURNAL_MARK_OFFSET, JOURNAL_MARK_BYTES));
    return typeof m === 'number' ? m : null;
  }

  /** Bytes in the file now. */
  size(): number {
    return fstatSync(this.fd).size;
  }

  /**
   * Scans from `from`, handing each intact record whose last revision is at most `bound` to
   * `visit` (in order), and stops at the end of the file, at a torn tail, or at the first record
   * past `bound` (left for a later scan). `acknowledged` is the revision up to which records must
   * be whole (the durable mark, or the checkpoint's when larger): damage at or below it is
   * CORRUPT.
   */
  scan(from: JournalPosition, acknowledged: number, bound: number, visit: (r: ScannedRecord) => void): ScanResult {
    const size = this.size();
    let { offset, next } = from;
    const damaged = (why: string): ScanResult => {
      if (next <= acknowledged) throw corrupt(`journal ${show(this.path)}: the record of revision ${next} at byte ${offset} is damaged (${why}), but revision ${acknowledged} was acknowledged as durable`);
      return { position: { offset, next }, torn: `revision ${next} at byte ${offset}: ${why}` };
    };
    while (offset < size) {
      if (size - offset < RECORD_HEADER_BYTES) return damaged('the file ends inside a record header');
      const head = this.readAt(offset, RECORD_HEADER_BYTES);
      const h = decodeRecordHeader(head);
      if ('bad' in h) return damaged(h.bad);
      if (offset + recordSize(h.length) > size) return damaged(`the file ends inside its ${h.length}-byte payload`);
      if (h.first !== next) {
        if (h.first > next) throw corrupt(`journal ${show(this.path)}: revisions ${next}..${h.first - 1} are missing (the record at byte ${offset} starts at ${h.first})`);
        throw corrupt(`journal ${show(this.path)}: the record at byte ${offset} starts at revision ${h.first}, which an earlier record already holds`);
      }
      if (h.last > bound) break;
      const payload = this.readAt(offset + RECORD_HEADER_BYTES, h.length);
      if (!recordCrcOk(head, payload)) return damaged('it fails its checksum');
      visit({ first: h.first, last: h.last, offset, payload, crc: h.crc });
      offset += recordSize(h.length);
      next = h.last + 1;
    }
    return { position: { offset, next }, torn: null };
  }

  /**
   * The position of the record that holds revision `revision + 1` (or starts after `revision`),
   * walking record headers from `from` without reading payloads; at the end of the file (or at a
   * record whose header is damaged, left to the next scan) when there is none yet.
   */
  seek(from: JournalPosition, revision: number): JournalPosition {
    const size = this.size();
    let { offset, next } = from;
    while (offset + RECORD_HEADER_BYTES <= size) {
      const h = decodeRecordHeader(this.readAt(offset, RECORD_HEADER_BYTES));
      if ('bad' in h || h.first !== next || h.last > revision) break;
      offset += recordSize(h.length);
      next = h.last + 1;
    }
    return { offset, next };
  }

  close(): void {
    closeSync(this.fd);
  }

  private readAt(position: number, length: number): Uint8Array {
    const b = new Uint8Array(length);
    let off = 0;
    while (off < length) {
      const n = readSync(this.fd, b, off, length - off, position + off);
      if (n === 0) break;
      off += n;
    }
    return off === length ? b : b.subarray(0, off);
  }
}
