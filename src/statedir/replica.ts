/**
 * A replica of a state directory, for readers (followers, one-shot reads): the newest checkpoint
 * (the arena file, arena-reader.ts) with the journal's change sets applied after it, up to the
 * journal's durable mark — never a revision that is not durable yet. `refresh()` reads only what
 * the journal gained since the last call, applies it to the replica's columnar tables (re-encoding
 * only the batches it touches, as the writer does) and returns the change sets it applied; when
 * the journal no longer reaches back to the replica's revision (it was cut behind a checkpoint
 * the replica had not seen, or another writer took over with an older state), it reloads from the
 * checkpoint and says so. It never writes and never takes the lock.
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ChangeSet } from '../changes/change-set.js';
import { decodeChangeBatch } from '../changes/decode.js';
import { corrupt, ioError, isStateError, missing, show, type StateError } from '../errors.js';
import type { Snapshot, SnapshotSource } from '../snapshot.js';
import { applyChangeSet } from '../tables/apply.js';
import { modelSnapshot } from '../tables/model-snapshot.js';
import { Model } from '../tables/model.js';
import { restoreFromArena } from '../tables/restore.js';
import { ArenaReader, type OpenedRevision } from './arena-reader.js';
import { JournalReader, type JournalPosition } from './journal-reader.js';
import { metadataFacts, readMetadata, type StateMetadata } from './metadata.js';
import { arenaFileName, journalFileName, listStateDirectory, METADATA_FILE } from './names.js';
import { checkMetadataGeneration } from './choose.js';
import { replayJournal } from './replay.js';

/** What a refresh did. */
export interface Refreshed {
  /** The change sets applied, in order (empty after a reload: the state was replaced). */
  applied: ChangeSet[];
  /** The replica was (re)loaded from the checkpoint: its state replaced, not continued. */
  reloaded: boolean;
}

const NOTHING: Refreshed = { applied: [], reloaded: false };
/** Reads of a checkpoint torn by a busy writer are retried this often before the error is reported. */
const LOAD_ATTEMPTS = 8;

/** A read-only replica of one state directory. */
export class Replica {
  readonly dir: string;
  private readonly arena: ArenaReader;
  private m: Model | null = null;
  private clusterId: string | null = null;
  private journal: { reader: JournalReader; position: JournalPosition } | null = null;
  /** Bytes of journal records read by the last refresh (for measurements). */
  lastReadBytes = 0;

  /** The writer session of the journal last read (journal-format.ts), -1 before one was. */
  private writerSeen = -1;
  /** The metadata file's identity when last looked at (a changed file is read again). */
  private metadataSeen = '';

  constructor(dir: string, private readonly source: SnapshotSource = 'follower', private readonly onWarning?: (e: StateError) => void) {
    this.dir = resolve(dir);
    this.arena = new ArenaReader(this.dir, { source, onWarning });
  }

  /** The revision the replica holds (-1 before a state was loaded). */
  get revision(): number {
    return this.m?.revision ?? -1;
  }

  /** Whether a state was found (false: the directory holds none yet). */
  get present(): boolean {
    return this.m !== null;
  }

  /**
   * Brings the replica up to the newest durable revision. Throws CORRUPT when files are damaged
   * (the replica keeps what it had), NOT_FOUND when the directory, or a state it held, is gone.
   */
  refresh(): Refreshed {
    if (!this.m) return this.load() ? { applied: [], reloaded: true } : NOTHING;
    this.checkDirectory();
    const path = join(this.dir, journalFileName(this.clusterId!));
    let ino: string | null = null;
    try {
      const st = statSync(path);
      ino = `${st.dev}:${st.ino}`;
    } catch {
      ino = null;
    }
    if (ino === null) return this.reloadIfNewerCheckpoint(); // no journal (an older layout): the checkpoint alone
    if (!this.journal || this.journal.reader.id !== ino) {
      this.journal?.reader.close();
      this.journal = null;
      if (!this.openJournal(path, this.m.revision)) return this.load() ? { applied: [], reloaded: true } : NOTHING;
    }
    return { applied: this.follow(this.m), reloaded: false };
  }

  /** Without a journal: reloads only when the directory's checkpoint is another revision than the replica's. */
  private reloadIfNewerCheckpoint(): Refreshed {
    const rev = this.arena.open();
    if (!rev) throw missing(`the state of ${show(this.dir)} disappeared (revision ${this.m!.revision} was read before)`);
    if (rev.slot.revision === this.m!.revision) return NOTHING;
    return this.load() ? { applied: [], reloaded: true } : NOTHING;
  }

  /**
   * Continues in a journal file not read before (a cut, another writer, or the same file after
   * an error): true when it carries on from `revision` with the same history; false when the
   * replica must reload from the checkpoint (the file starts after `revision`, or another writer
   * recovered to an older revision than the replica holds); CORRUPT when the file, by its own
   * mark, lost records the replica already read.
   */
  private openJournal(path: string, revision: number): boolean {
    const reader = new JournalReader(path, this.clusterId!);
    const h = reader.header;
    if (h.baseRevision > revision || (h.writer !== this.writerSeen && h.recovered < revision)) {
      reader.close();
      return false;
    }
    const position = reader.seek(reader.start, revision);
    if (position.next <= revision) {
      const mark = reader.mark() ?? -1;
      reader.close();
      if (mark >= revision) throw corrupt(`journal ${show(path)} ends at revision ${position.next - 1} (byte ${position.offset}), but its durable mark says ${mark} and revision ${revision} was read from it before`);
      return false;
    }
    this.journal = { reader, position };
    this.writerSeen = h.writer;
    return true;
  }

  /** The replica's state as a Snapshot (immutable heap tables; cached per revision). */
  snapshot(): Snapshot {
    const m = this.m;
    if (!m) throw missing(`no state has been found in ${show(this.dir)} yet`);
    return modelSnapshot(m, this.source);
  }

  /** The change sets of revisions `from..to` still in the journal (for watch()), decoded from the file. */
  readChangeSets(from: number, to: number): ChangeSet[] {
    const out: ChangeSet[] = [];
    if (!this.journal) return out;
    const r = this.journal.reader;
    r.scan(r.start, -1, to, (rec) => {
      if (rec.last < from) return;
      const batch = decodeChangeBatch(rec.payload, `journal ${show(r.path)} revisions ${rec.first}..${rec.last}`);
      for (let rev = Math.max(from, rec.first); rev <= Math.min(to, rec.last); rev++) out.push(batch.changeSet(rev));
    });
    return out;
  }

  /** The oldest revision the journal can replay after (its base), or the replica's revision without one. */
  get oldestRevision(): number {
    return this.journal?.reader.header.baseRevision ?? this.revision;
  }

  close(): void {
    this.journal?.reader.close();
    this.journal = null;
    this.arena.close();
  }

  /**
   * What the journal alone does not show: the directory's checkpoints all gone (NOT_FOUND: the
   * state was removed, however intact the journal), a metadata file naming a generation that is
   * missing (CORRUPT, as for a fresh reader) and a metadata file turned to garbage (a warning,
   * once per change of the file; readers do not need it). One listing and one stat per refresh.
   */
  private checkDirectory(): void {
    let listing;
    try {
      listing = listStateDirectory(this.dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw missing(`state directory ${show(this.dir)} does not exist any more (revision ${this.revision} was read before)`);
      throw ioError('list', this.dir, e);
    }
    if (!listing.arenas.get(this.clusterId!)?.length) throw missing(`the checkpoints of ${show(this.dir)} disappeared (revision ${this.revision} was read before)`);
    const seen = this.metadataSignature();
    if (seen === this.metadataSeen) return;
    let md: Partial<StateMetadata> | null;
    try {
      md = readMetadata(this.dir);
    } catch (e) {
      if (!isStateError(e, 'CORRUPT')) throw e;
      this.metadataSeen = seen;
      this.onWarning?.(e);
      return;
    }
    checkMetadataGeneration(listing.arenas.get(this.clusterId!)!, (g) => join(this.dir, arenaFileName(this.clusterId!, g)), metadataFacts(md));
    this.metadataSeen = seen;
  }

  private metadataSignature(): string {
    try {
      const st = statSync(join(this.dir, METADATA_FILE));
      return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return 'absent';
    }
  }

  /** (Re)loads from the checkpoint and the journal; false when the directory holds no state. */
  private load(): boolean {
    let lastError: unknown = null;
    for (let attempt = 0; attempt < LOAD_ATTEMPTS; attempt++) {
      let rev: OpenedRevision | null = null;
      try {
        rev = this.arena.open();
        if (!rev) {
          if (this.m) throw missing(`the state of ${show(this.dir)} disappeared (revision ${this.m.revision} was read before)`);
          return false;
        }
        this.loadFrom(rev);
        return true;
      } catch (e) {
        lastError = e;
        // A checkpoint the writer replaced while it was read (compaction, a takeover): read again.
        if (!isStateError(e, 'CORRUPT') || !rev || !this.arena.changedSince(rev)) throw e;
        this.arena.close();
      }
    }
    throw lastError;
  }

  private loadFrom(rev: OpenedRevision): void {
    const clusterId = String(rev.dir.meta.cluster_id);
    const m = new Model(clusterId, null, () => 0);
    restoreFromArena({
      model: m, tables: m.tables, dicts: m.dicts,
      raiseVersion: (v) => void (m.version = Math.max(m.version, v)),
      setHead: (revision, updatedAt, masterId) => Object.assign(m, { revision, updatedAt, masterId }),
    }, rev.dir, rev.read);
    const facts = metadataFacts(this.arena.metadata as Partial<StateMetadata> | null);
    const replayed = replayJournal(this.dir, clusterId, m, Math.max(facts.version ?? -1, rev.mark), { durableOnly: true, keepRecords: false });
    this.journal?.reader.close();
    this.journal = null;
    if (replayed.present && replayed.position) {
      const reader = new JournalReader(join(this.dir, journalFileName(clusterId)), clusterId);
      if (reader.id === replayed.fileId) {
        this.journal = { reader, position: replayed.position };
        this.writerSeen = reader.header.writer;
      } else reader.close(); // replaced meanwhile: the next refresh starts over in the new file
    }
    this.m = m;
    this.clusterId = clusterId;
    this.metadataSeen = this.metadataSignature(); // read by arena.open() just now
  }

  /** Applies the journal records past the replica's revision, up to the durable mark. */
  private follow(m: Model): ChangeSet[] {
    const j = this.journal!;
    // The writer only appends to a journal file (a cut or a takeover makes a new one): one that
    // shrank below what was read lost acknowledged records.
    const size = j.reader.size();
    if (size < j.position.offset) throw corrupt(`journal ${show(j.reader.path)} shrank to ${size} bytes, but revisions up to ${j.position.next - 1} were read from it up to byte ${j.position.offset}`);
    const mark = j.reader.mark();
    const applied: ChangeSet[] = [];
    let bytes = 0;
    const bound = mark === null ? Infinity : mark;
    if (bound <= m.revision) return applied;
    const res = j.reader.scan(j.position, mark ?? -1, bound, (rec) => {
      bytes += rec.payload.byteLength;
      if (rec.last <= m.revision) return;
      const what = `journal ${show(j.reader.path)} revisions ${rec.first}..${rec.last}`;
      const batch = decodeChangeBatch(rec.payload, what);
      for (let rev = m.revision + 1; rev <= rec.last; rev++) {
        const cs = batch.changeSet(rev);
        applyChangeSet(m, cs, what);
        applied.push(cs);
      }
    });
    j.position = res.position;
    this.lastReadBytes = bytes;
    return applied;
  }
}

/** Replicas of recently read directories: repeated one-shot reads apply only what the journal gained, and never go back in time. */
const oneShot = new Map<string, Replica>();
const ONE_SHOT_DIRECTORIES = 8;

/**
 * The newest durable revision of the state directory `dir` as a Snapshot (heap copies,
 * immutable), read without the lock and without writing; null when the directory holds no state
 * (a new directory, or one another tool wrote: read its Parquet file). Repeated calls read only
 * what the journal gained; a revision returned is never followed by an older one for the same
 * files. CORRUPT when files are damaged (never an older or empty state).
 */
export function readStateSnapshot(dir: string): Snapshot | null {
  const abs = resolve(dir);
  let replica = oneShot.get(abs);
  oneShot.delete(abs);
  replica ??= new Replica(abs, 'file');
  try {
    replica.refresh();
  } catch (e) {
    replica.close();
    throw e;
  }
  if (!replica.present) {
    replica.close();
    return null;
  }
  oneShot.set(abs, replica);
  while (oneShot.size > ONE_SHOT_DIRECTORIES) {
    const [k, v] = oneShot.entries().next().value!;
    v.close();
    oneShot.delete(k);
  }
  return replica.snapshot();
}
