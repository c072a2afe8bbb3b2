/**
 * The writer's journal: group commits of change batches (src/changes/encode.ts) appended to
 * `state_<id>.journal` (journal-writer.ts), an index of the records in the current file, the
 * cut behind a checkpoint (a new file holding the retained history), and the older history it
 * serves to `watch()` (records read back and decoded on demand).
 */
import { join } from 'node:path';
import type { ChangeSet, RevisionChanges } from '../changes/change-set.js';
import { decodeChangeBatch } from '../changes/decode.js';
import { encodeChangeBatch } from '../changes/encode.js';
import type { OlderSource } from '../changes/watch-options.js';
import { JournalReader } from '../statedir/journal-reader.js';
import { MAX_RECORD_PAYLOAD, recordSize, JOURNAL_DATA_START, type JournalRecord } from '../statedir/journal-format.js';
import { ioFailure } from '../errors.js';
import { journalFileName } from '../statedir/names.js';
import { JournalWriter, type JournalSession } from './journal-writer.js';

/** A cut that would drop fewer bytes than this is not worth a new file. */
const MIN_CUT_BYTES = 256 << 10;

/** Change batches above this many bytes are split over several records (by revision). */
const MAX_RECORD_BYTES = 8 << 20;

/** Where a record of the current file is. */
interface Indexed {
  first: number;
  last: number;
  offset: number;
  length: number;
}

/** The journal of one writer (one file at a time; a cut replaces it). */
export class Journal {
  readonly path: string;
  private writer: JournalWriter;
  private index: Indexed[] = [];
  /**
   * The current file, open for reading since it was put in place: reads never reopen the path,
   * which a cut in progress may already have renamed the next file over (the rename takes effect
   * before the writer switches to that file).
   */
  private reader: JournalReader;

  private constructor(dir: string, private readonly clusterId: string, private readonly session: JournalSession, writer: JournalWriter, carried: readonly JournalRecord[], private readonly fsyncDir: () => void) {
    this.path = join(dir, journalFileName(clusterId));
    this.writer = writer;
    this.reader = new JournalReader(this.path, clusterId);
    this.indexRecords(carried, JOURNAL_DATA_START);
  }

  /**
   * Starts a new journal file following `baseRevision` with the history `carried` (contiguous
   * records from baseRevision + 1), durable and acknowledged up to `acknowledged`, for the
   * writer `session` (every file of this journal names it).
   */
  static async start(dir: string, clusterId: string, session: JournalSession, baseRevision: number, carried: readonly JournalRecord[], acknowledged: number, fsyncDir: () => void): Promise<Journal> {
    const w = await JournalWriter.create(join(dir, journalFileName(clusterId)), clusterId, session, baseRevision, carried, acknowledged, fsyncDir);
    return new Journal(dir, clusterId, session, w, carried, fsyncDir);
  }

  /** The newest revision in the journal. */
  get lastRevision(): number {
    return this.writer.lastRevision;
  }

  /** The revision the current file follows (its oldest record starts after it). */
  get baseRevision(): number {
    return this.writer.baseRevision;
  }

  /** Bytes of the current file. */
  get bytes(): number {
    return this.writer.bytes;
  }

  /** Appends the change sets of consecutive revisions `revs` (one group commit: one write, one fdatasync). Returns the bytes written. */
  async append(revs: readonly RevisionChanges[]): Promise<number> {
    const records: JournalRecord[] = [];
    let from = 0;
    while (from < revs.length) {
      // Split a huge group so that no record is absurdly large (a bulk load of a million rows).
      let to = revs.length;
      let payload = encodeChangeBatch(revs.slice(from, to));
      while (payload.byteLength > MAX_RECORD_BYTES && to - from > 1) {
        to = from + Math.ceil((to - from) / 2);
        payload = encodeChangeBatch(revs.slice(from, to));
      }
      if (payload.byteLength > MAX_RECORD_PAYLOAD) {
        // One revision bigger than a record may be: refused before anything is written (never acknowledged, never unreadable).
        throw ioFailure(`revision ${revs[from]!.revision}: its change set encodes to ${payload.byteLength} bytes, over the journal's limit of ${MAX_RECORD_PAYLOAD} bytes per record; it cannot be made durable (split such a transaction)`);
      }
      records.push({ first: revs[from]!.revision, last: revs[to - 1]!.revision, payload });
      from = to;
    }
    const at = this.writer.bytes;
    await this.writer.append(records);
    this.indexRecords(records, at);
    return this.writer.bytes - at;
  }

  /** Writes the durable mark (after the caller checked it still owns the directory). */
  async mark(revision: number): Promise<void> {
    await this.writer.writeMark(revision);
  }

  /**
   * Cuts the journal behind the checkpoint at `checkpoint`: a new file holds every record past
   * it and, as history, the records past `historyAfter` within `historyBytes` (whole records,
   * newest first), and replaces the current one — unless `beforeInstall` (the fence) throws. A
   * cut copies what it keeps, so it happens only when it drops at least as many bytes as it keeps
   * (and MIN_CUT_BYTES), unless `force`: each byte appended is copied at most about once.
   * Returns whether it cut.
   */
  async cut(checkpoint: number, historyAfter: number, historyBytes: number, acknowledged: number, beforeInstall: () => void, force = false): Promise<boolean> {
    const size = (r: Indexed) => recordSize(r.length);
    const keep = this.index.filter((r) => r.last > checkpoint);
    let kept = keep.reduce((n, r) => n + size(r), 0);
    for (let i = this.index.length - 1; i >= 0; i--) {
      const r = this.index[i]!;
      if (r.last > checkpoint) continue;
      if (r.last <= historyAfter || kept + size(r) > historyBytes) break;
      keep.unshift(r);
      kept += size(r);
    }
    const dropped = this.index.reduce((n, r) => n + size(r), 0) - kept;
    if (dropped === 0 || (!force && dropped < Math.max(kept, MIN_CUT_BYTES))) return false;
    const base = keep.length ? keep[0]!.first - 1 : this.writer.lastRevision;
    const carried = this.readRecords(keep);
    const next = await JournalWriter.create(this.path, this.clusterId, this.session, base, carried, acknowledged, this.fsyncDir, beforeInstall);
    const old = this.writer;
    const oldReader = this.reader;
    this.reader = new JournalReader(this.path, this.clusterId);
    this.writer = next;
    this.index = [];
    this.indexRecords(carried, JOURNAL_DATA_START);
    oldReader.close();
    await old.close();
    return true;
  }

  /** The change sets of revisions `from..to` still in the journal (for watch()), decoded from the file. */
  readChangeSets(from: number, to: number): ChangeSet[] {
    const out: ChangeSet[] = [];
    for (const { first, last, payload } of this.readRecords(this.index.filter((r) => r.last >= from && r.first <= to))) {
      const batch = decodeChangeBatch(payload, `journal ${this.path} revisions ${first}..${last}`);
      for (let r = Math.max(from, first); r <= Math.min(to, last); r++) out.push(batch.changeSet(r));
    }
    return out;
  }

  /** The journal as the older history of the writer's watch(). */
  olderSource(): OlderSource<ChangeSet> {
    return {
      oldestRevision: () => this.writer.baseRevision,
      read: (from, to) => this.readChangeSets(from, to),
    };
  }

  async close(): Promise<void> {
    this.reader.close();
    await this.writer.close();
  }

  private indexRecords(records: readonly JournalRecord[], at: number): void {
    for (const r of records) {
      this.index.push({ first: r.first, last: r.last, offset: at, length: r.payload.byteLength });
      at += recordSize(r.payload.byteLength);
    }
  }

  /** Reads records of the current file back (checked as a reader checks them). */
  private readRecords(wanted: readonly Indexed[]): JournalRecord[] {
    if (!wanted.length) return [];
    const out: JournalRecord[] = [];
    const last = wanted[wanted.length - 1]!.last;
    this.reader.scan({ offset: wanted[0]!.offset, next: wanted[0]!.first }, -1, last, (r) => out.push({ first: r.first, last: r.last, payload: r.payload, crc: r.crc }));
    return out;
  }
}
