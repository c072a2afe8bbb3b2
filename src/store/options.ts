/**
 * The writer's options: their types, the accepted keys (any other key is INVALID_ARGUMENT naming
 * it), and the parsing of the in-memory core's options — read once, validated, then used.
 * `open`'s own options are parsed by the files layer (persist/open.ts), which rejects unknown
 * keys before it creates anything.
 */
import type { StateError } from '../errors.js';
import type { NatsOptions } from '../nats/connect.js';
import type { ReplicationOptions } from './replication.js';
import { checkLivenessOptions, type LivenessOptions, type LivenessSettings } from './liveness.js';
import { checkSchedulerOptions, type SchedulerOptions, type SchedulerSettings } from './scheduler.js';
import { invalid } from '../errors.js';
import { align } from '../arena/free-list.js';
import { EXTENT_ALIGN, HEADER_BYTES, MAX_SHARED_BYTES } from '../shm/layout.js';
import type { ScrubOptions } from '../shm/scrub.js';
import { checkId, checkInt32, checkOptions } from '../validate/values.js';
import { DEFAULT_PACING, type ArenaSettings, type PublishPacing } from '../shm/publishing.js';
import { checkScrubOptions } from '../shm/repair.js';
import { checkImportSource, type ImportSource, type ParsedImport } from './import.js';

/** Options of `ClusterState.inMemory`. */
export interface InMemoryOptions {
  clusterId: string;
  /** This writer's own node id: preferred as `master_id` when registered as a master. */
  nodeId?: string;
  /**
   * Clock (epoch ms); for tests. Defaults to Date.now. Read once per mutation, when it starts
   * (each mutation inside a transaction reads its own; a revision's `updatedAt` is its latest
   * reading, never read again at commit). Each reading must be a finite number in
   * [0, 8.64e15] (the Date range); a fractional reading is floored to whole ms (so
   * `performance.timeOrigin + performance.now()` works). A reading outside that, or a clock that
   * throws, fails the mutation with INVALID_ARGUMENT naming the value; the state and revision
   * are unchanged.
   */
  /**
   * A whole state to start from (see store/import.ts): a seed-layout Parquet file (path), the
   * single-row state Table, `{ nodes, tasks, content }` Arrow tables, or record arrays in the
   * shape the getters return. Every row is checked; the import is revision 1 (on a state
   * directory: durable when `open` resolves; refused with ALREADY_EXISTS when the directory
   * already holds a state).
   */
  import?: ImportSource;
  clock?: () => number;
  /** Initial size of the shared buffer in bytes (it grows as needed). */
  initialSharedBytes?: number;
  /**
   * Upper bound of the shared buffer in bytes: a whole number from the initial size up to 2^32
   * (4 GiB, the default and the maximum of a growable SharedArrayBuffer on Node 20).
   */
  maxSharedBytes?: number;
  /** Worker threads of the query pool (default: cores - 1, at least 1). */
  queryThreads?: number;
  /**
   * Shared memory that superseded extents may keep for readers' old snapshots (bytes; default
   * max(64 MiB, the live state's bytes)). Beyond it the oldest pins are revoked: those snapshots
   * throw COMPACTED on their next access, and their memory is reused. A pin never expires by age.
   */
  maxRetainedBytes?: number;
  /**
   * The background scrub of shared memory (a reader that writes into its snapshot's views damages
   * what others read): every `intervalMs` (default 250) it compares up to `bytesPerTick` (default
   * 4 MiB) of the live extents with the writer's heap copies and republishes damaged ones. `false`
   * turns it off (`scrubNow()` still works).
   */
  scrub?: ScrubOptions | false;
  /**
   * How much change history `watch()` can replay: `revisions` kept in memory (default 10,000; a
   * state directory's journal keeps at least as many, across restarts) but at most about `bytes`
   * of memory (default 64 MiB, estimated at 1 KiB per changed entity; for a state directory the
   * older revisions are then read back from the journal), and the backlog a watcher may fall
   * behind by before it fails with COMPACTED (`maxBacklog`, default 10,000).
   */
  history?: { revisions?: number; bytes?: number; maxBacklog?: number };
  /**
   * How publishing to worker threads is paced under load: an idle writer publishes a commit in
   * the next turn; a busy one spends at most `maxShare` of its time publishing (default 0.5: after
   * a publish of P ms the next waits P ms), folding every commit meanwhile into one publish, and
   * a commit waits at most `maxDelayMs` (default 20) for it. `{ maxShare: 1 }` publishes every turn.
   */
  publishing?: { maxShare?: number; maxDelayMs?: number };
  /**
   * Failure detection on the master's clock (store/liveness.ts, docs/cluster.md): silent nodes go
   * offline, their tasks are requeued (or failed after `maxAttempts`), load-only heartbeats are
   * coalesced. Off by default.
   */
  liveness?: LivenessOptions;
  /** Places pending tasks on online nodes whose free resources fit (store/scheduler.ts): `true` or `{ intervalMs, maxPerTick }`. Off by default. */
  scheduler?: boolean | SchedulerOptions;
}

/** History settings after the checks. */
export interface HistorySettings {
  revisions: number;
  bytes: number;
  maxBacklog: number;
}

/** Parquet mirror settings (`parquet` option of `ClusterState.open`). */
/** The compressions the Parquet mirror can be written with. */
export const PARQUET_CODECS = ['zstd', 'snappy', 'none'] as const;

export interface ParquetOptions {
  /** Compression of the file (default 'zstd'). */
  codec?: (typeof PARQUET_CODECS)[number];
  /** Upper bound on how stale the Parquet file may get after a change (ms, default 60 s). */
  maxAgeMs?: number;
  /** Lower bound between exports (ms, default 1 s); the 10× rule may make it longer. */
  minIntervalMs?: number;
}

/** Options of `ClusterState.open`. */
export interface OpenOptions extends Omit<InMemoryOptions, 'clusterId'> {
  /** The state directory (created if missing). Required, except with `nats`: without it the replicated writer holds its state in memory only. */
  statePath: string;
  /** Required for a new directory; for an existing one it must match (or be omitted). */
  clusterId?: string;
  /** A lock on another host not refreshed for this long is taken over (ms, at least 2000; default 10000). */
  lockStaleMs?: number;
  /** How long to wait for another writer's lock before LOCKED (ms, default 0). */
  lockWaitMs?: number;
  /** Parquet mirror settings, or false for none. */
  parquet?: ParquetOptions | false;
  /** Move damaged state files aside and start empty instead of refusing with CORRUPT. */
  startFresh?: boolean;
  /**
   * Called once if the writer must stop (its lock was lost, or another writer took the directory
   * over). Every later mutation and flush fails with that LOCKED error; it is also written to stderr.
   */
  onFatal?: (err: StateError) => void;
  /**
   * When the newest meta slot is damaged although the directory shows its revision was durable,
   * continue from the older slot (losing the revisions after it) instead of CORRUPT.
   */
  recoverOlder?: boolean;
  /**
   * Freed space in the arena file stays unused this long (ms, default 1000), so that a reader in
   * another process that reads a revision within it is never torn (a checksum catches one that is).
   */
  readerGraceMs?: number;
  /**
   * When the writer checkpoints on its own (the arena file; the journal is then cut behind it):
   * after `bytes` of journal (default 1 MiB) or `revisions` revisions (default 1,000) since the
   * last checkpoint. More often: faster recovery and reader cold loads, more writing.
   */
  checkpoint?: { bytes?: number; revisions?: number };
  /**
   * Replicate to NATS JetStream (docs/replication.md): `{ servers, ...connection options }`. The
   * writer takes the cluster's master lease (LOCKED while another master holds it), then publishes
   * every revision's change set (durable ones, on a state directory) and periodic snapshots;
   * `replicated()` waits for the acknowledgements. UNAVAILABLE when no server answers at open.
   */
  nats?: NatsOptions;
  /** Snapshots, trimming, the lease and stream replicas (see ReplicationOptions); only with `nats`. */
  replication?: ReplicationOptions;
  /**
   * With `nats`: open as a standby master (docs/cluster.md, "Failover") — a read-only writer (its
   * mutations are LOCKED naming the master) holding the replicated state, which takes over when
   * it wins the lease (`leadership()`). In memory only for now: no `statePath`.
   */
  standby?: boolean;
}

/** Options of `ClusterState.open` with `nats`, where `statePath` may be left out (the state is then held in memory). */
export type ReplicatedOpenOptions = Omit<OpenOptions, 'statePath'> & { statePath?: string; nats: NatsOptions; clusterId: string };

/** The keys `ClusterState.inMemory` accepts. Add a new option here and to InMemoryOptions. */
export const IN_MEMORY_OPTION_KEYS = [
  'clusterId', 'nodeId', 'clock', 'initialSharedBytes', 'maxSharedBytes', 'queryThreads', 'maxRetainedBytes', 'scrub', 'history', 'publishing', 'import',
  'liveness', 'scheduler',
] as const satisfies readonly (keyof InMemoryOptions)[];

/** The keys `ClusterState.open` accepts beyond IN_MEMORY_OPTION_KEYS. */
export const OPEN_OPTION_KEYS = [
  'statePath', 'lockStaleMs', 'lockWaitMs', 'parquet', 'startFresh', 'onFatal', 'recoverOlder', 'readerGraceMs', 'checkpoint',
] as const satisfies readonly (keyof OpenOptions)[];

const DEFAULT_SHARED_BYTES = 1 << 20;

/** The in-memory core's options, validated. */
export interface WriterSettings {
  clusterId: string;
  nodeId: string | null;
  clock: () => number;
  queryThreads: number | undefined;
  arena: ArenaSettings;
  scrub: Required<ScrubOptions> | null;
  history: HistorySettings;
  pacing: PublishPacing;
  /** The checked `import` option, or null. */
  importFrom: ParsedImport | null;
  liveness: LivenessSettings | null;
  scheduler: SchedulerSettings | null;
}

/** Options that no longer exist get an answer saying what replaced them (before the unknown-key check). */
export function refuseRetiredOptions(opts: unknown): void {
  let retired = false;
  try {
    retired = !!opts && typeof opts === 'object' && Object.prototype.hasOwnProperty.call(opts, 'pinTimeoutMs');
  } catch {
    return; // an unreadable object: checkOptions says so
  }
  if (retired) throw invalid('options.pinTimeoutMs', '(given)', 'absent: pins no longer expire by age (a live reader is never treated as dead); options.maxRetainedBytes bounds the memory old snapshots may hold instead');
}

/** Parses the options of the in-memory core (a copy, each property read once). */
export function parseWriterOptions(opts: unknown): WriterSettings {
  refuseRetiredOptions(opts);
  const o = checkOptions(opts, IN_MEMORY_OPTION_KEYS, 'options', false);
  if (o.clock !== undefined && typeof o.clock !== 'function') throw invalid('options.clock', o.clock, 'a function');
  const initialBytes = o.initialSharedBytes === undefined ? undefined : checkInt32(o.initialSharedBytes, 'options.initialSharedBytes');
  const maxBytes = o.maxSharedBytes === undefined ? undefined : checkMaxSharedBytes(o.maxSharedBytes, initialBytes);
  const retained = o.maxRetainedBytes;
  if (retained !== undefined && (typeof retained !== 'number' || !Number.isSafeInteger(retained) || retained <= 0)) {
    throw invalid('options.maxRetainedBytes', retained, 'a positive integer number of bytes');
  }
  return {
    clusterId: checkId(o.clusterId, 'options.clusterId'),
    nodeId: o.nodeId === undefined ? null : checkId(o.nodeId, 'options.nodeId'),
    clock: (o.clock as () => number) ?? Date.now,
    queryThreads: o.queryThreads === undefined ? undefined : checkInt32(o.queryThreads, 'options.queryThreads', 1),
    arena: {
      initialBytes: initialBytes ?? Math.min(DEFAULT_SHARED_BYTES, maxBytes ?? MAX_SHARED_BYTES),
      maxBytes,
      maxRetainedBytes: retained as number | undefined,
    },
    scrub: checkScrubOptions(o.scrub),
    history: checkHistory(o.history),
    pacing: checkPacing(o.publishing),
    importFrom: o.import === undefined ? null : checkImportSource(o.import),
    liveness: o.liveness === undefined ? null : checkLivenessOptions(o.liveness),
    scheduler: o.scheduler === undefined ? null : checkSchedulerOptionValue(o.scheduler),
  };
}

/** `options.scheduler`: true, false, or an options object. */
function checkSchedulerOptionValue(v: unknown): SchedulerSettings | null {
  if (typeof v !== 'boolean' && (v === null || typeof v !== 'object')) throw invalid('options.scheduler', v, 'true, false or { intervalMs, maxPerTick }');
  return checkSchedulerOptions(v);
}

/** `options.publishing`: maxShare in (0, 1], maxDelayMs a whole number of ms. */
function checkPacing(v: unknown): PublishPacing {
  const o = checkOptions(v, ['maxShare', 'maxDelayMs'], 'options.publishing');
  const share = o.maxShare;
  if (share !== undefined && (typeof share !== 'number' || !(share > 0 && share <= 1))) throw invalid('options.publishing.maxShare', share, 'a number in (0, 1]');
  return {
    maxShare: share === undefined ? DEFAULT_PACING.maxShare : share,
    maxDelayMs: o.maxDelayMs === undefined ? DEFAULT_PACING.maxDelayMs : checkInt32(o.maxDelayMs, 'options.publishing.maxDelayMs'),
  };
}

/** `options.history`: whole numbers; defaults 10,000 revisions, 64 MiB and a 10,000 change-set backlog. */
function checkHistory(v: unknown): HistorySettings {
  const o = checkOptions(v, ['revisions', 'bytes', 'maxBacklog'], 'options.history');
  return {
    revisions: o.revisions === undefined ? 10_000 : checkInt32(o.revisions, 'options.history.revisions'),
    bytes: o.bytes === undefined ? 64 << 20 : checkInt32(o.bytes, 'options.history.bytes'),
    maxBacklog: o.maxBacklog === undefined ? 10_000 : checkInt32(o.maxBacklog, 'options.history.maxBacklog', 1),
  };
}

/** `options.maxSharedBytes`: a whole number from the initial size (as the arena rounds it) to 2^32. */
function checkMaxSharedBytes(value: unknown, initialBytes: number | undefined): number {
  const min = Math.max(HEADER_BYTES + EXTENT_ALIGN, align(initialBytes ?? 0));
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_SHARED_BYTES) {
    throw invalid('options.maxSharedBytes', value, `a whole number of bytes from ${min}${initialBytes === undefined ? '' : ' (options.initialSharedBytes, rounded up)'} to ${MAX_SHARED_BYTES} (4 GiB)`);
  }
  return value;
}
