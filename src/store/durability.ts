/**
 * What the writer needs from durability, declared by the writer and implemented by the files
 * layer (persist/state-dir.ts): the store never imports persist/. The writer tells it each new
 * published revision and hands it the content of that revision on request; it answers flushes.
 */
import type { StateError } from '../errors.js';
import type { SharedHandle } from '../shm/reader.js';
import type { EntityKind } from '../schema/entities.js';
import type { DirMeta } from '../arena/directory.js';
import type { ChangeSet, RevisionChanges } from '../changes/change-set.js';
import type { OlderSource } from '../changes/watch-options.js';

/** One extent to persist: identified by its version (unique across the writer's life); immutable bytes. */
export interface PersistExtent {
  version: number;
  bytes: Uint8Array;
  rows: number;
}

/** What the arena file must hold for one published revision: per table its prefix and batches, plus the revision's fields. */
export interface CommitContent {
  revision: number;
  updatedAt: number;
  meta: DirMeta;
  tables: Record<EntityKind, { prefix: PersistExtent; batches: PersistExtent[] }>;
}

/** Where the files are, and how far they are. */
export interface FilesInfo {
  dir: string;
  arena: string;
  parquet: string;
  durableRevision: number;
  parquetRevision: number;
  fileBytes: number;
  liveBytes: number;
  compactions: number;
  parquetBytes: number;
  parquetWasmBytes: number;
  /** The journal file and its size, and the revision of the newest checkpoint in the arena file. */
  journal: string;
  journalBytes: number;
  checkpointRevision: number;
}

/** The durability of a writer opened on a state directory. */
export interface Durability {
  /** A revision was committed: its changes go to the journal with the next group commit (they must arrive in order). */
  committed(changes: RevisionChanges): void;
  /** Change sets older than the writer's in-memory history (the journal's), for watch(). */
  readonly olderHistory?: OlderSource<ChangeSet>;
  /** A new revision was published (its content is available from the writer): the Parquet mirror and checkpoints follow it. */
  published(): void;
  /** Resolves once `revision` (already published) is durable; LOCKED after this writer lost the directory. */
  flush(revision: number): Promise<void>;
  /** Writes a checkpoint of the published revision now and cuts the journal behind it; resolves with its revision. */
  checkpoint(): Promise<number>;
  /** Resolves with the revision the Parquet mirror holds once it holds at least the published one; INVALID_ARGUMENT without a mirror. */
  exportParquet(): Promise<number>;
  files(): FilesInfo;
  /** Final flush and export, release of the lock. */
  close(): Promise<void>;
  /** Set when this writer had to stop (lost lock, another writer took over). */
  readonly failure: StateError | null;
}

/** What the durability layer may use of the writer it serves. */
export interface WriterPort {
  /** The shared memory of the writer (the Parquet export reads it in a worker thread). */
  readonly handle: SharedHandle;
  /** The newest published revision. */
  publishedRevision(): number;
  /** What the arena file must hold for the revision last published. */
  content(): CommitContent;
  /** Stops the writer for good: every later mutation and flush fails with `err`. */
  fail(err: StateError): void;
  /** Repairs damaged shared memory now (an export that found damage asks before it retries). */
  repair(): void;
  /** Revisions `changes` became durable (in order, each once): the writer's watchers get them now. */
  durable(changes: readonly RevisionChanges[]): void;
  /** Revisions of history the writer keeps (the journal keeps as many, within `historyBytes`). */
  readonly history: number;
  /** Bytes of change batches the journal keeps as history before the newest checkpoint, at most. */
  readonly historyBytes: number;
}
