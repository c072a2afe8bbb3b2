/**
 * Following a cluster on another machine through NATS JetStream (docs/replication.md): load the
 * newest snapshot of the projection from the object store, then apply the change batches after it
 * from the stream with an ordered consumer (in order, each once; the client recreates it after a
 * lost connection or a server restart, from the last message it delivered), and follow live.
 *
 * Gaps are never papered over: a message whose first revision is past the next one expected (the
 * stream was trimmed behind this follower), or a rebase marker past the loaded revision, makes the
 * follower load the newest snapshot again — its watchers then end with COMPACTED and it emits
 * `reload`, as a directory follower does when it falls behind the journal.
 *
 * A leecher (`projection: 'leecher'`) reads only the leecher subject and the leecher snapshots:
 * the master never sends it more (replicate/leecher-view.ts says what it holds).
 */
import { EventEmitter } from 'node:events';
import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { ChangeSet } from '../changes/change-set.js';
import { decodeChangeBatch } from '../changes/decode.js';
import { WatchHub } from '../changes/watch-hub.js';
import type { WatchOptions } from '../changes/watch-options.js';
import { closed, compacted, corrupt, invalid, isStateError, missing, show, unavailable } from '../errors.js';
import { checkNatsOptions, connectNats, engineFailure, type NatsLink, type NatsOptions } from '../nats/connect.js';
import { clusterNames, snapshotRevisionOf, type ClusterNames } from '../nats/names.js';
import { loadSnapshot } from '../nats/snapshot-format.js';
import { lastMessage, messageHead, messagePayload, readStream } from '../nats/stream.js';
import type { Snapshot } from '../snapshot.js';
import { applyChangeSet } from '../tables/apply.js';
import type { Model } from '../tables/model.js';
import { checkId, checkOneOf, checkOptions } from '../validate/values.js';
import { waitForRevision, type FollowerEvents } from './events.js';
import { FollowerSharing } from './sharing.js';
import type { SharedHandle } from '../shm/reader.js';

/** Options of `followState({ nats, clusterId, projection })`. */
export interface RemoteFollowOptions {
  nats: NatsOptions;
  clusterId: string;
  /** `full` (default): the whole state. `leecher`: the leecher projection only (no tasks; see docs/replication.md). */
  projection?: 'full' | 'leecher';
}

const REMOTE_KEYS = ['nats', 'clusterId', 'projection'] as const;
/** Tries to find a snapshot at least as new as a rebase asks for (it is written before the marker). */
const SNAPSHOT_ATTEMPTS = 50;
/** How long a follower waits without a message before it checks that its consumer is not stalled (ms). */
const STALL_CHECK_MS = 1000;

/** Figures of a remote follower. */
export interface RemoteFollowerStats {
  /** Stream messages and payload bytes received (change batches and markers). */
  messages: number;
  bytes: number;
  /** Snapshots loaded and their compressed bytes. */
  loads: number;
  snapshotBytes: number;
  /** Consumers recreated because they stopped delivering while the stream had more (see checkStall). */
  stalls: number;
}

/** A follower of a cluster through NATS; create one with `followState({ nats, clusterId })`. Snapshots are immutable heap copies. */
export class RemoteFollower extends EventEmitter<FollowerEvents> {
  readonly clusterId: string;
  readonly projection: 'full' | 'leecher';
  private readonly names: ClusterNames;
  private m: Model | null = null;
  private hub: WatchHub<ChangeSet> | null = null;
  private startSeq = 1;
  private messages: ConsumerMessages | null = null;
  private closedFlag = false;
  private running: Promise<void> | null = null;
  /** Called with the sequence of each message handled (the open waits for the tail). */
  private onSeq: ((seq: number) => void) | null = null;
  private readonly sharing = new FollowerSharing('follower');
  private readonly counts: RemoteFollowerStats = { messages: 0, bytes: 0, loads: 0, snapshotBytes: 0, stalls: 0 };
  private lastMessageAt = Date.now();
  private checkingStall = false;

  private constructor(private readonly link: NatsLink, private readonly os: ObjectStore, o: { clusterId: string; projection: 'full' | 'leecher' }) {
    super();
    this.clusterId = o.clusterId;
    this.projection = o.projection;
    this.names = clusterNames(o.clusterId);
  }

  /** @internal Connects, loads the newest snapshot and starts following (followState). */
  static async open(options: RemoteFollowOptions): Promise<RemoteFollower> {
    const o = checkOptions(options, REMOTE_KEYS, 'options', false);
    const clusterId = checkId(o.clusterId, 'options.clusterId');
    const projection = o.projection === undefined ? 'full' : (checkOneOf(o.projection, ['full', 'leecher'] as const, 'options.projection') as 'full' | 'leecher');
    const link = await connectNats(checkNatsOptions(o.nats));
    try {
      const names = clusterNames(clusterId);
      if (!(await readStream(link, names))) throw missing(`cluster ${show(clusterId)} has no stream ${names.stream} at ${link.url}: no master has replicated it there`);
      let os: ObjectStore;
      try {
        os = await new Objm(link.js).open(names.snapshots);
      } catch (e) {
        throw engineFailure(`opening the snapshot bucket ${names.snapshots}`, link, e);
      }
      const f = new RemoteFollower(link, os, { clusterId, projection });
      await f.load(-1);
      // Ready once it holds what the stream held at open (the snapshot, then the messages after it).
      const tail = (await lastMessage(link, names, projection === 'full' ? names.changes : names.leech))?.seq ?? 0;
      const caughtUp = tail < f.startSeq ? Promise.resolve() : new Promise<void>((resolve) => (f.onSeq = (seq) => {
        if (seq >= tail) {
          f.onSeq = null;
          resolve();
        }
      }));
      f.running = f.follow();
      try {
        await withTimeout(caughtUp, link.requestTimeoutMs * 6, () => unavailable(`the follower of cluster ${show(clusterId)} did not read the stream ${names.stream} up to message ${tail} within ${link.requestTimeoutMs * 6} ms`));
      } catch (e) {
        await f.close();
        throw e;
      }
      return f;
    } catch (e) {
      await link.nc.close().catch(() => undefined);
      throw e;
    }
  }

  /** The loaded revision. */
  get revision(): number {
    return this.m?.revision ?? -1;
  }

  /** Messages, bytes and snapshots received so far. */
  stats(): RemoteFollowerStats {
    return { ...this.counts };
  }

  /** The newest revision loaded: immutable tables on this process's heap (a leecher's hold only its projection). */
  snapshot(): Snapshot {
    if (this.closedFlag) throw closed('follower');
    return this.sharing.snapshot(this.m!);
  }

  /**
   * A structured-cloneable handle on this follower's own shared memory, for `attachState` in its
   * worker threads (zero-copy, as on the writer): every revision it applies is published there.
   * After a `reload` the handle of the old state is closed (its readers get CLOSED): call again.
   */
  shared(): SharedHandle {
    if (this.closedFlag) throw closed('follower');
    return this.sharing.handle(this.m!);
  }

  /** Runs query (helper) `name` on a worker thread over this follower's shared memory, including every revision applied before the call. */
  async query(name: string, ...args: unknown[]): Promise<unknown> {
    if (this.closedFlag) throw closed('follower');
    return this.sharing.query(this.m!, name, args);
  }

  /**
   * The change sets of every revision after `afterRevision` (default: the loaded one), in order,
   * one per revision, without gaps or duplicates, from the revisions this follower applied since
   * it loaded its snapshot (its history), then live; COMPACTED before that or when it reloads.
   */
  watch(options?: WatchOptions): AsyncIterable<ChangeSet> & AsyncIterator<ChangeSet> {
    if (this.closedFlag) throw closed('follower');
    return this.hub!.watch(options);
  }

  /** The revisions `watch({ afterRevision })` can start after. */
  get history(): { oldestRevision: number; newestRevision: number } {
    return this.hub!.history;
  }

  /** Resolves with the loaded revision once it is at least `revision` (NOT_FOUND after timeoutMs). */
  waitFor(revision: number, timeoutMs = 30_000): Promise<number> {
    return waitForRevision(this, () => this.revision, revision, timeoutMs, `cluster ${show(this.clusterId)} at ${this.link.url}`);
  }

  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    await this.messages?.close().catch(() => undefined);
    this.hub?.close();
    await this.running?.catch(() => undefined);
    await this.sharing.close();
    await this.link.nc.close().catch(() => undefined);
  }

  /** Loads the newest snapshot of this projection, at least `minRevision` (a rebase names it). */
  private async load(minRevision: number): Promise<void> {
    const { names, link } = this;
    for (let attempt = 0; ; attempt++) {
      let list;
      try {
        list = await this.os.list();
      } catch (e) {
        throw engineFailure(`listing snapshots in ${names.snapshots}`, link, e);
      }
      let best: { name: string; revision: number } | null = null;
      for (const o of list) {
        const r = snapshotRevisionOf(o.name, this.projection);
        if (r !== null && (!best || r > best.revision)) best = { name: o.name, revision: r };
      }
      if (best && best.revision >= minRevision) {
        const blob = await this.os.getBlob(best.name).catch((e) => {
          throw engineFailure(`reading snapshot ${best!.name}`, link, e);
        });
        if (!blob) {
          if (attempt < SNAPSHOT_ATTEMPTS) continue; // pruned meanwhile: a newer one exists
          throw missing(`snapshot ${best.name} of cluster ${show(this.clusterId)} disappeared while it was read`);
        }
        const { header, model } = await loadSnapshot(blob, this.clusterId, `snapshot ${best.name} in ${names.snapshots}`);
        if (header.projection !== this.projection) throw corrupt(`snapshot ${best.name} holds the ${header.projection} projection`);
        const before = this.m?.revision ?? -1;
        this.sharing.drop();
        this.m = model;
        this.startSeq = header.startSeq;
        this.counts.loads++;
        this.counts.snapshotBytes += blob.byteLength;
        this.hub?.close(compacted(`follower of cluster ${show(this.clusterId)} reloaded its state at revision ${model.revision} from a snapshot (it fell behind the stream's history, or the master rebased the log); relist: const s = follower.snapshot(); follower.watch({ afterRevision: s.revision })`));
        this.hub = new WatchHub<ChangeSet>({ revision: model.revision, name: 'remote follower' });
        if (before >= 0) this.emit('reload', model.revision);
        this.emit('change', model.revision);
        return;
      }
      if (attempt >= SNAPSHOT_ATTEMPTS) {
        throw missing(`cluster ${show(this.clusterId)} has no ${this.projection} snapshot${minRevision >= 0 ? ` of revision ${minRevision} or newer` : ''} in ${names.snapshots} at ${link.url}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** A message was dealt with: the consumer continues after it. */
  private handled(seq: number): void {
    this.startSeq = seq + 1;
    this.lastMessageAt = Date.now();
    this.onSeq?.(seq);
  }

  /**
   * The stall check: while no message arrived for STALL_CHECK_MS, asks the stream for its last
   * message on this follower's subject; if the follower has not read it, its consumer is recreated
   * from where it stands. (Seen with nats.js 3.4 against nats-server 2.9.10: after the server is
   * killed and restarted, the client's recreated ordered consumer can deliver what was stored and
   * then nothing more; a new consumer reads on.)
   */
  private async checkStall(): Promise<void> {
    if (this.closedFlag || this.checkingStall || Date.now() - this.lastMessageAt < STALL_CHECK_MS || !this.messages) return;
    this.checkingStall = true;
    try {
      const tail = await lastMessage(this.link, this.names, this.projection === 'full' ? this.names.changes : this.names.leech);
      if (tail && tail.seq >= this.startSeq && Date.now() - this.lastMessageAt >= STALL_CHECK_MS && this.messages) {
        this.counts.stalls++;
        await this.messages.close().catch(() => undefined); // the loop makes a new consumer from startSeq
      }
    } catch {
      // the engine is away: the client reconnects; checked again later
    } finally {
      this.checkingStall = false;
    }
  }

  /** Reads the stream from `startSeq` for as long as the follower is open; reloads on a gap or a rebase. */
  private async follow(): Promise<void> {
    const stall = setInterval(() => void this.checkStall(), STALL_CHECK_MS);
    stall.unref();
    try {
      await this.followLoop();
    } finally {
      clearInterval(stall);
    }
  }

  private async followLoop(): Promise<void> {
    const subject = this.projection === 'full' ? this.names.changes : this.names.leech;
    const where = `stream ${this.names.stream}`;
    while (!this.closedFlag) {
      let reloadTo: number | null = null;
      try {
        const consumer = await this.link.js.consumers.get(this.names.stream, { filter_subjects: subject, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.startSeq });
        const msgs = await consumer.consume();
        this.messages = msgs;
        if (this.closedFlag) break;
        for await (const msg of msgs) {
          this.counts.messages++;
          this.counts.bytes += msg.data.byteLength;
          const head = messageHead(msg.seq, msg.headers, where);
          const m = this.m!;
          if (head.kind === 'rebase') {
            if (head.last > m.revision) {
              reloadTo = head.last;
              break;
            }
            this.handled(msg.seq);
            continue;
          }
          if (head.last <= m.revision) {
            this.handled(msg.seq);
            continue;
          }
          if (head.first > m.revision + 1) {
            reloadTo = head.first - 1; // trimmed behind us: a snapshot covers the gap
            break;
          }
          const payload = messagePayload(head, msg.data, where);
          const batch = payload && decodeChangeBatch(payload, `${where} message ${msg.seq}`);
          if (batch && (batch.firstRevision !== head.first || batch.lastRevision !== head.last)) throw corrupt(`${where} message ${msg.seq}: its batch holds revisions ${batch.firstRevision}..${batch.lastRevision}, its headers say ${head.first}..${head.last}`);
          for (let rev = m.revision + 1; rev <= head.last; rev++) {
            // An empty payload: nothing this follower sees changed (a leecher's bookmark); the revisions still count.
            const cs = batch ? batch.changeSet(rev) : { revision: rev, updatedAt: head.updatedAt, masterId: head.masterId, changes: [] };
            applyChangeSet(m, cs, `${where} message ${msg.seq}`);
            this.hub!.publish(cs);
          }
          this.sharing.changed();
          this.emit('change', m.revision);
          this.handled(msg.seq);
        }
        await msgs.close().catch(() => undefined);
        this.messages = null;
        if (reloadTo !== null && !this.closedFlag) await this.load(reloadTo);
      } catch (e) {
        if (this.closedFlag) break;
        const err = isStateError(e) ? e : unavailable(`following cluster ${show(this.clusterId)} at ${this.link.url} failed: ${(e as Error).message}`, e);
        if (this.listenerCount('error') > 0) this.emit('error', err);
        if (isStateError(e, 'CORRUPT')) {
          // A message this follower cannot apply: it keeps its last good state and starts over from a snapshot.
          await new Promise((r) => setTimeout(r, 500));
          await this.load(-1).catch(() => undefined);
        } else await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
}

/** Checks that `options` asks for a remote follower (an object with `nats`). */
export function isRemoteFollowOptions(options: unknown): options is RemoteFollowOptions {
  if (!options || typeof options !== 'object') return false;
  if (!Object.prototype.hasOwnProperty.call(options, 'nats')) throw invalid('followState(options)', options, 'a state directory path, or { nats: { servers }, clusterId, projection? }');
  return true;
}

/** `p`, or the error `timeout()` makes after `ms`. */
function withTimeout<T>(p: Promise<T>, ms: number, timeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(timeout()), ms)))]).finally(() => clearTimeout(timer));
}
