/**
 * Replication of one writer to NATS JetStream (docs/replication.md):
 *
 * - **The log.** The writer's change sets (the durable ones on a state directory, so the stream is
 *   never ahead of what survives a crash) are read from its change feed and published in groups of
 *   consecutive revisions: while one group's acknowledgement is awaited, the next revisions gather
 *   (group replication). Each group is two messages on the cluster's stream — the full change batch
 *   and its leecher projection (leecher-view.ts) — published with `Nats-Msg-Id` (a retry is stored
 *   once) and `Nats-Expected-Last-Sequence` (the fence: a master that is not the stream's last
 *   writer is refused, learns that another master published, and stops).
 * - **Snapshots.** A full and a leecher snapshot of a replicated revision go to the object store
 *   every `snapshotEveryRevisions` / `snapshotEveryMs`; the newest `keepSnapshots` are kept and the
 *   stream is trimmed behind the oldest kept. A follower loads the newest and reads the stream after it.
 * - **Rebase.** When the log cannot continue revision by revision — a new stream, the writer's
 *   history does not reach back to the stream's last revision, a change set larger than a message,
 *   or the writer's backlog overflowed while the engine was away — a snapshot of the current
 *   revision is written and a `rebase` marker published: followers reload from it.
 * - **Outages.** Mutations never wait for the engine. Publishing retries (same message ids) until
 *   the engine answers; the groups waiting are bounded (MAX_QUEUED revisions here, the feed's
 *   backlog behind that), and past that the log rebases when the engine is back. `replicated()`
 *   waits, or rejects with UNAVAILABLE after its timeout.
 */
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { deflateRaw } from 'node:zlib';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { revisionChangesOf, type RevisionChanges } from '../changes/change-set.js';
import { encodeChangeBatch } from '../changes/encode.js';
import { corrupt, invalid, isStateError, locked, show, StateError, unavailable } from '../errors.js';
import { checkNatsOptions, connectNats, engineFailure, isApiError, type NatsLink } from '../nats/connect.js';
import { clusterNames, HEADER, snapshotObjectName, snapshotRevisionOf, type ClusterNames, type MessageKind, type PayloadEncoding } from '../nats/names.js';
import type { SnapshotHeader } from '../nats/snapshot-format.js';
import { lastMessage, readStream, streamDescription, type MessageHead } from '../nats/stream.js';
import type { Snapshot } from '../snapshot.js';
import type { Replication, ReplicationOptions, ReplicationPort, ReplicationStats } from '../store/replication.js';
import { checkInt32, checkOptions } from '../validate/values.js';
import { Lease } from './lease.js';
import { AgentService, DEFAULT_MAX_AGENT_QUEUE } from './agent-service.js';
import { LeecherView } from './leecher-view.js';
import { encodeFullSnapshot, encodeLeecherSnapshot } from './snapshot-encode.js';

/** Revisions taken from the feed and not yet acknowledged, at most (beyond: the feed's backlog, then a rebase). */
const MAX_QUEUED = 50_000;
/** Revisions per message, at most (a message also stays under the server's max_payload). */
const MAX_GROUP = 4096;
/** Room left in a message for headers. */
const PAYLOAD_HEADROOM = 4096;
/** Recent messages remembered (to find where a snapshot's revisions continue in the stream). */
const RING = 8192;
/**
 * Object store chunks of a snapshot. nats.js hashes each chunk (SHA-256, in JavaScript, ~60 ms per
 * MiB here) on the writer's event loop before it sends it: small chunks keep each pause short.
 */
const SNAPSHOT_CHUNK = 128 << 10;
/** Payloads from this size on are deflated (level 1: a change batch's schema messages shrink 3–5×). */
const COMPRESS_FROM = 512;
const deflateRawAsync = promisify(deflateRaw);
/** How long the stream deduplicates a retried message (ns). */
const DUPLICATE_WINDOW_NS = 120e9;
/** How long an agent's reply waits for its revision to be replicated before it says UNAVAILABLE (the change stays applied; a retry gets the same reply). */
const AGENT_ACK_TIMEOUT_MS = 30_000;

const REPLICATION_KEYS = ['snapshotEveryRevisions', 'snapshotEveryMs', 'keepSnapshots', 'leaseMs', 'replicas', 'maxAgentQueue'] as const;

interface Settings {
  everyRevisions: number;
  everyMs: number;
  keep: number;
  leaseMs: number;
  replicas: number;
  maxAgentQueue: number;
}

/** Checks `options.replication`. */
export function checkReplicationOptions(v: unknown): Settings {
  const o = checkOptions(v, REPLICATION_KEYS, 'options.replication') as ReplicationOptions;
  const replicas = o.replicas === undefined ? 1 : checkInt32(o.replicas, 'options.replication.replicas', 1);
  if (![1, 3, 5].includes(replicas)) throw invalid('options.replication.replicas', replicas, '1, 3 or 5');
  const leaseMs = o.leaseMs === undefined ? 10_000 : checkInt32(o.leaseMs, 'options.replication.leaseMs', 300);
  return {
    everyRevisions: o.snapshotEveryRevisions === undefined ? 10_000 : checkInt32(o.snapshotEveryRevisions, 'options.replication.snapshotEveryRevisions', 1),
    everyMs: o.snapshotEveryMs === undefined ? 300_000 : checkInt32(o.snapshotEveryMs, 'options.replication.snapshotEveryMs', 10),
    keep: o.keepSnapshots === undefined ? 2 : checkInt32(o.keepSnapshots, 'options.replication.keepSnapshots', 1),
    leaseMs, replicas,
    maxAgentQueue: o.maxAgentQueue === undefined ? DEFAULT_MAX_AGENT_QUEUE : checkInt32(o.maxAgentQueue, 'options.replication.maxAgentQueue', 1),
  };
}

/** Checks both options before anything is opened (ClusterState.open calls it first). */
export function checkReplication(nats: unknown, replication: unknown): void {
  checkNatsOptions(nats);
  checkReplicationOptions(replication);
}

/** @internal A standby's replication: the lease it won and its connection (it owns both from now on). */
export async function attachWithLease(port: ReplicationPort, link: NatsLink, replication: unknown, lease: Lease): Promise<Replication> {
  return Replicator.start(port, link, checkReplicationOptions(replication), lease);
}

/** Connects, takes the lease, checks or creates the stream and buckets, and starts replicating. */
export async function attachReplication(port: ReplicationPort, nats: unknown, replication: unknown): Promise<Replication> {
  const settings = checkReplicationOptions(replication);
  const link = await connectNats(checkNatsOptions(nats));
  try {
    return await Replicator.start(port, link, settings);
  } catch (e) {
    await link.nc.close().catch(() => undefined);
    throw e;
  }
}

/** One message's payload as published. */
interface Payload {
  bytes: Uint8Array;
  encoding: PayloadEncoding;
}

/** One group of revisions being published: encoded once, retried as it is until stored. */
interface Outgoing {
  kind: MessageKind;
  first: number;
  last: number;
  /** Revision `last`'s commit time and master (the headers of an empty payload). */
  updatedAt: number;
  masterId: string | null;
  full: Payload;
  leech: Payload;
  snapshot: string | null;
  /** The full message is stored (only the leecher one is left). */
  fullStored: boolean;
}

interface Waiter {
  revision: number;
  resolve(r: number): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout;
}

class Replicator implements Replication {
  private readonly names: ClusterNames;
  private readonly tag: string;
  private os!: ObjectStore;
  private lease!: Lease;
  private lastSeq = 0;
  private acked = -1;
  private readonly ring: { seq: number; first: number; last: number }[] = [];
  private queue: RevisionChanges[] = [];
  private queuedAt: number[] = [];
  private readonly leech = new LeecherView();
  private watch: AsyncIterator<unknown> | null = null;
  private after = 0;
  private needRebase = false;
  private sending = false;
  private pumping = false;
  private spaceFreed: (() => void) | null = null;
  private stopped = false;
  private failure: StateError | null = null;
  private readonly waiters: Waiter[] = [];
  private snapshotting: Promise<void> | null = null;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private agents: AgentService | null = null;
  private readonly counts = { messages: 0, bytes: 0, leecherBytes: 0, snapshots: 0, snapshotRevision: -1, snapshotBytes: 0, rebases: 0 };

  private constructor(private readonly port: ReplicationPort, private readonly link: NatsLink, private readonly s: Settings) {
    this.names = clusterNames(port.clusterId);
    this.tag = `${port.nodeId ?? '-'}/${randomUUID().slice(0, 8)}`;
  }

  static async start(port: ReplicationPort, link: NatsLink, s: Settings, lease?: Lease): Promise<Replicator> {
    const r = new Replicator(port, link, s);
    await r.open(lease);
    return r;
  }

  private async open(held?: Lease): Promise<void> {
    const { link, names, port } = this;
    let stream = await readStream(link, names);
    if (!stream) {
      try {
        await link.jsm.streams.add({
          name: names.stream, subjects: [names.changes, names.leech], description: streamDescription(names.clusterId),
          storage: 'file' as never, num_replicas: this.s.replicas, duplicate_window: DUPLICATE_WINDOW_NS,
        });
      } catch (e) {
        if (!/already in use|already exists/i.test((e as Error).message)) throw engineFailure(`creating stream ${names.stream}`, link, e);
      }
      stream = await readStream(link, names);
      if (!stream) throw unavailable(`stream ${names.stream} at ${link.url} was created but cannot be read`);
    }
    try {
      this.os = await new Objm(link.js).create(names.snapshots, { replicas: this.s.replicas, description: streamDescription(names.clusterId) });
    } catch (e) {
      throw engineFailure(`opening the snapshot bucket ${names.snapshots}`, link, e);
    }
    if (held) {
      this.lease = held; // a standby that won the lease
      held.onLost = (e) => this.fence(e);
    } else this.lease = await Lease.take(link, names, { nodeId: port.nodeId, session: this.tag, since: Date.now() }, this.s.leaseMs, (e) => this.fence(e));
    try {
      const last = await lastMessage(link, names, names.changes);
      stream = (await readStream(link, names))!;
      this.lastSeq = stream.lastSeq;
      const mine = port.settledRevision();
      if (last && last.last > mine) {
        throw corrupt(`cluster ${show(names.clusterId)}'s stream ${names.stream} holds revision ${last.last} (written by ${show(last.writer)}), but this state is at revision ${mine}: it is older than the replicated state, and nothing was published (open it as a follower, or move it aside)`);
      }
      if (!last) this.needRebase = true;
      else {
        this.acked = last.last;
        this.after = last.last;
        if (last.last < port.oldestRevision()) this.needRebase = true; // the history does not reach back: rebase
      }
      // At open, a first snapshot the engine does not take in time is the open's failure (UNAVAILABLE), not a hang.
      if (this.needRebase) await this.rebase(Date.now() + 4 * link.requestTimeoutMs);
      else this.watch = port.watch({ afterRevision: this.after, maxBacklog: 100_000 });
    } catch (e) {
      await this.lease.release();
      throw e;
    }
    void this.pump();
    // The master serves node agents (request/reply on the cluster's agent subject).
    this.agents = new AgentService(link.nc, names.clusterId, port.agents, (r) => this.replicated(r, AGENT_ACK_TIMEOUT_MS), this.s.maxAgentQueue);
    this.agents.start();
    this.snapshotTimer = setInterval(() => {
      if (this.acked > this.counts.snapshotRevision) this.snapshotSoon();
    }, this.s.everyMs);
    this.snapshotTimer.unref();
  }

  // ─────────────────────────── reading the feed ───────────────────────────

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.stopped) {
        if (this.queue.length >= MAX_QUEUED) {
          await new Promise<void>((r) => (this.spaceFreed = r));
          continue;
        }
        const w = this.watch;
        if (!w) return;
        let r: IteratorResult<unknown>;
        try {
          r = await w.next();
        } catch (e) {
          if (this.stopped) return;
          if (isStateError(e, 'COMPACTED')) {
            // The writer's history or this consumer's backlog overflowed (the engine was away): rebase.
            this.needRebase = true;
            this.watch = null;
            this.kick();
            return;
          }
          throw e;
        }
        if (r.done) {
          if (this.watch !== w) continue; // replaced by a rebase
          return;
        }
        if (this.watch !== w) continue;
        const rc = revisionChangesOf(r.value as never);
        if (rc.revision <= this.after) continue;
        this.after = rc.revision;
        this.queue.push(rc);
        this.queuedAt.push(Date.now());
        this.kick();
      }
    } finally {
      this.pumping = false;
    }
  }

  // ─────────────────────────── publishing ───────────────────────────

  private kick(): void {
    if (!this.sending && !this.stopped) void this.send();
  }

  private async send(): Promise<void> {
    this.sending = true;
    try {
      while (!this.stopped && (this.needRebase || this.queue.length)) {
        if (this.needRebase) {
          await this.rebase();
          continue;
        }
        const out = this.nextGroup();
        if (!out) continue;
        await this.compress(out);
        await this.publish(out);
        const n = out.last - out.first + 1;
        this.queue.splice(0, n);
        this.queuedAt.splice(0, n);
        this.spaceFreed?.();
        this.spaceFreed = null;
        this.acknowledged(out.last);
        if (this.acked - Math.max(0, this.counts.snapshotRevision) >= this.s.everyRevisions) this.snapshotSoon();
      }
    } catch (e) {
      if (!this.stopped) this.fence(isStateError(e) ? e : unavailable(`replication of cluster ${show(this.names.clusterId)} failed: ${(e as Error).message}`, e));
    } finally {
      this.sending = false;
    }
    if (!this.stopped && (this.needRebase || this.queue.length)) this.kick();
  }

  /** The next group from the queue, encoded (both messages), under the server's message size; null when a rebase is needed instead. */
  private nextGroup(): Outgoing | null {
    const limit = this.link.maxPayload - PAYLOAD_HEADROOM;
    let n = Math.min(this.queue.length, MAX_GROUP);
    for (;;) {
      const group = this.queue.slice(0, n);
      const full = encodeChangeBatch(group);
      if (full.byteLength <= limit) {
        const leechSets = group.map((rc) => this.leech.project(rc));
        const lastRc = group[n - 1]!;
        const nothing = leechSets.every((rc) => !rc.upserts.nodes.length && !rc.upserts.content.length && !rc.deletes.nodes.length && !rc.deletes.content.length);
        const leech = nothing ? new Uint8Array(0) : encodeChangeBatch(leechSets);
        if (leech.byteLength <= limit) {
          return {
            kind: 'changes', first: group[0]!.revision, last: lastRc.revision, updatedAt: lastRc.updatedAt, masterId: lastRc.masterId,
            full: { bytes: full, encoding: 'none' }, leech: { bytes: leech, encoding: nothing ? 'empty' : 'none' }, snapshot: null, fullStored: false,
          };
        }
        // The projection of one group cannot be larger than the group (it is a part of it): unreachable in practice.
      }
      if (n === 1) {
        this.needRebase = true; // one revision larger than a message
        return null;
      }
      n = Math.ceil(n / 2);
    }
  }

  private head(out: Outgoing, p: Payload): MsgHdrs {
    const h = headers();
    h.set(HEADER.kind, out.kind);
    h.set(HEADER.first, String(out.first));
    h.set(HEADER.last, String(out.last));
    h.set(HEADER.writer, this.tag);
    h.set(HEADER.encoding, p.encoding);
    if (p.encoding === 'empty') {
      h.set(HEADER.updatedAt, String(out.updatedAt));
      if (out.masterId !== null) h.set(HEADER.master, out.masterId);
    }
    if (out.snapshot) h.set(HEADER.snapshot, out.snapshot);
    return h;
  }

  /** Deflates the payloads of `out` worth it (on libuv's thread pool: off the writer's event loop). */
  private async compress(out: Outgoing): Promise<void> {
    for (const p of [out.full, out.leech]) {
      if (p.encoding !== 'none' || p.bytes.byteLength < COMPRESS_FROM) continue;
      const z = new Uint8Array(await deflateRawAsync(p.bytes, { level: 1 }));
      if (z.byteLength < p.bytes.byteLength) Object.assign(p, { bytes: z, encoding: 'deflate' });
    }
  }

  /** Publishes both messages of `out`, retrying until they are stored; fenced (LOCKED) when another master wrote the stream. */
  private async publish(out: Outgoing, deadline = Infinity): Promise<void> {
    const { js } = this.link;
    const id = `${this.tag}:${out.kind}:${out.first}-${out.last}`;
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) throw this.failure ?? unavailable('replication stopped');
      try {
        let seq = this.lastSeq;
        const pending: Promise<{ seq: number }>[] = [];
        if (!out.fullStored) pending.push(js.publish(this.names.changes, out.full.bytes, { msgID: `${id}:c`, expect: { lastSequence: seq++ }, headers: this.head(out, out.full) }));
        pending.push(js.publish(this.names.leech, out.leech.bytes, { msgID: `${id}:l`, expect: { lastSequence: seq }, headers: this.head(out, out.leech) }));
        const acks = await Promise.all(pending);
        if (!out.fullStored) this.ring.push({ seq: acks[0]!.seq, first: out.first, last: out.last });
        if (this.ring.length > RING) this.ring.splice(0, this.ring.length - RING);
        this.lastSeq = acks[acks.length - 1]!.seq;
        this.counts.messages += acks.length;
        this.counts.bytes += (out.fullStored ? 0 : out.full.bytes.byteLength) + out.leech.bytes.byteLength;
        this.counts.leecherBytes += out.leech.bytes.byteLength;
        return;
      } catch (e) {
        if (this.stopped) throw this.failure ?? unavailable('replication stopped');
        if (isApiError(e, 10071) || /wrong last sequence/i.test((e as Error).message)) {
          if (await this.resync(out)) return; // both were stored: the acknowledgement was lost
          continue;
        }
        // The engine is away (timeout, no responders, reconnecting): the same messages again, later.
        if (Date.now() > deadline) throw engineFailure(`publishing revisions ${out.first}..${out.last} to stream ${this.names.stream}`, this.link, e);
        await new Promise((r) => setTimeout(r, Math.min(2000, 25 * 2 ** Math.min(attempt, 7))));
      }
    }
  }

  /**
   * After "wrong last sequence": reads the stream's tail. Our own messages there (an acknowledgement
   * lost on the way) let us continue; another writer's mean this master was deposed: LOCKED.
   */
  private async resync(out: Outgoing): Promise<boolean> {
    const { link, names } = this;
    let lastC: MessageHead | null;
    let lastL: MessageHead | null;
    let lastSeq: number;
    try {
      lastC = await lastMessage(link, names, names.changes);
      lastL = await lastMessage(link, names, names.leech);
      lastSeq = (await readStream(link, names))?.lastSeq ?? 0;
    } catch (e) {
      if (isStateError(e, 'CORRUPT')) throw e;
      await new Promise((r) => setTimeout(r, 100));
      return false; // the engine is away: publish() retries
    }
    const foreign = [lastC, lastL].find((m) => m && m.writer !== this.tag);
    if (foreign) {
      throw locked(`cluster ${show(names.clusterId)}: another master (${show(foreign.writer)}) published revision ${foreign.last} to stream ${names.stream}; this master (${show(this.tag)}) is fenced and stops writing`, { details: { writer: foreign.writer, revision: foreign.last } });
    }
    if (lastC && lastC.first === out.first && lastC.last === out.last) {
      out.fullStored = true;
      if (!this.ring.length || this.ring[this.ring.length - 1]!.seq !== lastC.seq) this.ring.push({ seq: lastC.seq, first: out.first, last: out.last });
      if (lastL && lastL.first === out.first && lastL.last === out.last) {
        this.lastSeq = lastSeq;
        return true;
      }
    }
    this.lastSeq = lastSeq;
    return false;
  }

  private acknowledged(revision: number): void {
    if (revision <= this.acked) return;
    this.acked = revision;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.revision <= revision) {
        clearTimeout(w.timer);
        this.waiters.splice(i, 1);
        w.resolve(revision);
      }
    }
  }

  // ─────────────────────────── snapshots ───────────────────────────

  /** Writes a snapshot of the current revision and a rebase marker; the log continues after it. Retried while the engine is away (until `deadline`, if given). */
  private async rebase(deadline = Infinity): Promise<void> {
    this.needRebase = false;
    for (let attempt = 0; ; attempt++) {
      try {
        const { content, snapshot } = this.port.content();
        await this.port.settle(); // the revision is durable before anything says it exists
        const x = content.revision;
        const startSeq = this.lastSeq + 1;
        await this.writeSnapshots(content, snapshot, startSeq, true);
        const name = snapshotObjectName('full', x);
        const none = (): Payload => ({ bytes: new Uint8Array(0), encoding: 'empty' });
        const marker: Outgoing = { kind: 'rebase', first: x, last: x, updatedAt: content.updatedAt, masterId: content.meta.master_id, full: none(), leech: none(), snapshot: name, fullStored: false };
        await this.publish(marker, deadline);
        this.counts.rebases++;
        // The log continues after x: what the queue held up to x is in the snapshot.
        const keep = this.queue.findIndex((rc) => rc.revision > x);
        this.queue = keep < 0 ? [] : this.queue.slice(keep);
        this.queuedAt = keep < 0 ? [] : this.queuedAt.slice(keep);
        if (this.after < x || !this.watch) {
          const old = this.watch;
          this.after = Math.max(this.after, x);
          this.watch = this.port.watch({ afterRevision: this.after, maxBacklog: 100_000 });
          void old?.return?.();
          void this.pump();
        }
        this.acknowledged(x);
        return;
      } catch (e) {
        if (this.stopped || (isStateError(e) && e.code !== 'UNAVAILABLE') || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** Math.min(attempt, 6))));
      }
    }
  }

  private snapshotSoon(): void {
    if (this.snapshotting || this.stopped) return;
    this.snapshotting = this.periodicSnapshot()
      .catch((e) => {
        if (!this.stopped && isStateError(e) && e.code !== 'UNAVAILABLE') this.fence(e);
      })
      .finally(() => (this.snapshotting = null));
  }

  /** A snapshot of a replicated revision; the stream continues at the first message past it. */
  private async periodicSnapshot(): Promise<void> {
    const { content, snapshot } = this.port.content();
    await this.port.settle();
    const x = content.revision;
    if (x <= this.counts.snapshotRevision) return;
    await this.replicated(x, 10 * 60_000);
    const next = this.ring.find((e) => e.last > x);
    const startSeq = next ? next.seq : this.lastSeq + 1;
    await this.writeSnapshots(content, snapshot, startSeq, false);
  }

  private async writeSnapshots(content: ReturnType<ReplicationPort['content']>['content'], snapshot: Snapshot, startSeq: number, reseed: boolean): Promise<void> {
    const x = content.revision;
    const full = await encodeFullSnapshot(content, startSeq);
    const leech = await encodeLeecherSnapshot(content, snapshot, startSeq);
    // At a rebase leechers load this snapshot: what the view remembers of earlier revisions no longer holds.
    if (reseed) this.leech.clear();
    await this.put('full', x, full.bytes, full.header);
    await this.put('leecher', x, leech.bytes, leech.header);
    this.counts.snapshots++;
    this.counts.snapshotRevision = Math.max(this.counts.snapshotRevision, x);
    this.counts.snapshotBytes = full.bytes.byteLength;
    await this.prune();
  }

  private async put(projection: 'full' | 'leecher', revision: number, bytes: Uint8Array, header: SnapshotHeader): Promise<void> {
    try {
      await this.os.putBlob({ name: snapshotObjectName(projection, revision), description: JSON.stringify(header), options: { max_chunk_size: SNAPSHOT_CHUNK } }, bytes);
    } catch (e) {
      throw engineFailure(`writing snapshot ${snapshotObjectName(projection, revision)}`, this.link, e);
    }
  }

  /** Keeps the newest `keep` snapshots of each projection; trims the stream behind the oldest kept. */
  private async prune(): Promise<void> {
    let list;
    try {
      list = await this.os.list();
    } catch (e) {
      throw engineFailure(`listing snapshots in ${this.names.snapshots}`, this.link, e);
    }
    let trimTo = Infinity;
    for (const projection of ['full', 'leecher'] as const) {
      const mine = list
        .map((o) => ({ name: o.name, revision: snapshotRevisionOf(o.name, projection), description: o.description }))
        .filter((o) => o.revision !== null)
        .sort((a, b) => b.revision! - a.revision!);
      const kept = mine.slice(0, this.s.keep);
      for (const o of mine.slice(this.s.keep)) await this.os.delete(o.name).catch(() => undefined);
      const oldest = kept[kept.length - 1];
      let seq = 0;
      try {
        seq = (JSON.parse(oldest?.description ?? '{}') as SnapshotHeader).startSeq ?? 0;
      } catch {
        seq = 0;
      }
      trimTo = Math.min(trimTo, seq);
    }
    if (Number.isFinite(trimTo) && trimTo > 1) await this.link.jsm.streams.purge(this.names.stream, { seq: trimTo }).catch(() => undefined);
  }

  // ─────────────────────────── the interface ───────────────────────────

  replicated(revision: number, timeoutMs: number): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.acked >= revision) return Promise.resolve(this.acked);
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        revision, resolve, reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(unavailable(`revision ${revision} was not acknowledged by JetStream at ${this.link.url} within ${timeoutMs} ms (replicated up to ${this.acked}; connection ${this.link.nc.isClosed() ? 'closed' : 'open'}, ${this.queue.length} revisions waiting)`));
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  stats(): ReplicationStats {
    const c = this.counts;
    return {
      servers: this.link.url, connected: !this.link.nc.isClosed() && this.connectedNow(),
      replicatedRevision: this.acked, lagRevisions: Math.max(0, this.port.revision() - this.acked),
      lagMs: this.queuedAt.length ? Date.now() - this.queuedAt[0]! : 0,
      messages: c.messages, bytes: c.bytes, leecherBytes: c.leecherBytes,
      snapshots: c.snapshots, snapshotRevision: c.snapshotRevision, snapshotBytes: c.snapshotBytes, rebases: c.rebases,
      failure: this.failure,
    };
  }

  private connectedNow(): boolean {
    const nc = this.link.nc as unknown as { protocol?: { connected?: boolean } };
    return nc.protocol?.connected ?? true;
  }

  /** Stops for good with `e` (fenced, or lease lost): the writer stops writing. */
  private fence(e: StateError): void {
    if (this.failure) return;
    this.failure = e;
    this.stopped = true;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(e);
    }
    this.port.fail(e);
  }

  async close(timeoutMs: number): Promise<void> {
    if (!this.stopped) {
      const target = this.port.settledRevision();
      await this.replicated(target, timeoutMs).catch(() => undefined);
      await this.snapshotting;
    }
    this.stopped = true;
    await this.agents?.stop();
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    const w = this.watch;
    this.watch = null;
    await w?.return?.();
    this.spaceFreed?.();
    for (const x of this.waiters.splice(0)) {
      clearTimeout(x.timer);
      x.reject(this.failure ?? new StateError('CLOSED', `replication of cluster ${show(this.names.clusterId)} closed before revision ${x.revision} was acknowledged`));
    }
    await this.lease.release().catch(() => undefined);
    await this.link.nc.drain().catch(() => this.link.nc.close());
  }
}

