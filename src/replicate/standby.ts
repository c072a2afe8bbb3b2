/**
 * A standby master (`ClusterState.open({ clusterId, nodeId, nats, standby: true })`;
 * docs/cluster.md, "Failover"): a writer that holds the replicated state and refuses mutations
 * (LOCKED naming the master) while it campaigns for the cluster's lease; when the master dies and
 * its lease expires, it wins, takes over, and `leadership()` resolves.
 *
 * 1. It follows the cluster like a remote follower (follower/remote.ts) and keeps its own writer
 *    state equal to it: the newest snapshot imported once, then every change set applied. With a
 *    `statePath` the writer holds its own state directory (locked, journaled, checkpointed and
 *    mirrored to Parquet like a master's: every applied revision is made durable there), so that
 *    after a takeover it is a master on a directory; what the directory held before is replaced
 *    when it is behind the stream, else renamed aside (persist/open.ts).
 * 2. It tries to take the lease every third of `leaseMs` (NATS 2.9 has no expiry events: it polls).
 * 3. Having won, it waits a third of `leaseMs` — a deposed master that was still running renews
 *    within that time, finds the lease taken and stops — then reads the stream to its tail (every
 *    revision the old master had acknowledged is there: replicated() only resolves once JetStream
 *    stored it), stops following, and starts replicating as the master from that revision with
 *    the lease it holds: the fence (expected last sequence) keeps out anything the old master might
 *    still try. Liveness timers start fresh (no node is offline because of the takeover), the
 *    scheduler and the agent service start, `leadership()` resolves.
 */
import { randomBytes } from 'node:crypto';
import { importFlat } from '../tables/restore.js';
import { followState } from '../follower/follower.js';
import type { RemoteFollower } from '../follower/remote.js';
import { compacted, isStateError, show, type StateError } from '../errors.js';
import { checkNatsOptions, connectNats, type NatsLink } from '../nats/connect.js';
import { clusterNames } from '../nats/names.js';
import { lastMessage } from '../nats/stream.js';
import { ClusterState } from '../store/cluster-state.js';
import type { InMemoryOptions } from '../store/options.js';
import { Lease } from './lease.js';
import { attachWithLease, checkReplicationOptions } from './replicator.js';

/** Opens a standby (see the file comment); resolves once it holds the replicated state. */
export async function openStandby(core: InMemoryOptions, nats: unknown, replication: unknown, onFatal: ((e: StateError) => void) | null): Promise<ClusterState> {
  const settings = checkReplicationOptions(replication);
  const natsOptions = checkNatsOptions(nats);
  const clusterId = core.clusterId;
  const follower = await followState({ nats: nats as never, clusterId }) as RemoteFollower;
  let link: NatsLink | null = null;
  let state: ClusterState | null = null;
  try {
    link = await connectNats(natsOptions);
    const snap = follower.snapshot();
    const what = `the replicated state of cluster ${show(clusterId)} (revision ${snap.revision})`;
    state = await ClusterState.openReplica(core, {
      revision: snap.revision, master: null, what,
      restore: (target) => importFlat(target, {
        clusterId, masterId: snap.masterId, updatedAt: snap.updatedAt, nodes: snap.nodes, tasks: snap.tasks, content: snap.content,
      }, snap.revision, what),
    });
    state.setOnFatal(onFatal);
    const standby = new Standby(state, follower, link, settings.leaseMs, replication);
    state.addCloser(() => standby.stop());
    await standby.start(snap.revision);
    return state;
  } catch (e) {
    await state?.close().catch(() => undefined);
    await follower.close();
    await link?.nc.close().catch(() => undefined);
    throw e;
  }
}

class Standby {
  private stopped = false;
  private feeding: Promise<void> | null = null;
  private watch: AsyncIterator<unknown> | null = null;
  private campaign: NodeJS.Timeout | null = null;
  private lease: Lease | null = null;
  private promoting = false;
  private trying = false;
  /** Names this standby's lease entries: unique per standby (two in one process must not take each other's lease for their own). */
  private readonly session = `standby-${process.pid}-${randomBytes(6).toString('hex')}`;

  constructor(private readonly state: ClusterState, private readonly follower: RemoteFollower, private readonly link: NatsLink, private readonly leaseMs: number, private readonly replication: unknown) {}

  /** Starts following and campaigning; resolves after the first try for the lease (the master's name is known then). */
  async start(after: number): Promise<void> {
    const w = this.follower.watch({ afterRevision: after, maxBacklog: 1_000_000 });
    this.watch = w;
    this.feeding = (async () => {
      try {
        for (;;) {
          const r = await w.next();
          if (r.done) return;
          this.state.applyReplicated(r.value);
        }
      } catch (e) {
        if (this.stopped) return;
        // The follower reloaded (it fell behind the stream's history): this standby's state cannot continue revision by revision.
        this.fail(isStateError(e, 'COMPACTED') ? compacted(`standby ${show(this.state.nodeId)} of cluster ${show(this.state.clusterId)} fell behind the stream's history; reopen it`) : (e as StateError));
      }
    })();
    this.campaign = setInterval(() => void this.tryLease(), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.campaign.unref();
    await this.tryLease(false);
  }

  private async tryLease(takeOverNow = true): Promise<void> {
    if (this.stopped || this.promoting || this.lease || this.trying) return;
    this.trying = true;
    try {
      await this.tryOnce(takeOverNow);
    } finally {
      this.trying = false;
    }
  }

  private async tryOnce(takeOverNow: boolean): Promise<void> {
    const names = clusterNames(this.state.clusterId);
    try {
      this.lease = await Lease.take(this.link, names, { nodeId: this.state.nodeId, session: this.session, since: Date.now() }, this.leaseMs, (e) => this.fail(e), true);
    } catch (e) {
      if (isStateError(e, 'LOCKED')) {
        this.state.noteMaster(((e as StateError).details?.holder as { nodeId?: string } | undefined)?.nodeId ?? null);
        return;
      }
      return; // the engine is away: the next round tries again
    }
    if (takeOverNow) await this.takeOver(names);
    else void this.takeOver(names); // no master at open: the standby takes over in the background
  }

  private async takeOver(names: ReturnType<typeof clusterNames>): Promise<void> {
    this.promoting = true;
    if (this.campaign) clearInterval(this.campaign);
    try {
      // A deposed master still running notices within a renewal period (a third of the lease).
      await new Promise((r) => setTimeout(r, Math.floor(this.leaseMs / 3) + 100));
      const tail = await lastMessage(this.link, names, names.changes);
      if (tail) {
        await this.follower.waitFor(tail.last, 60_000);
        while (this.state.revision < tail.last && !this.stopped) await new Promise((r) => setImmediate(r));
      }
      await this.watch?.return?.();
      await this.feeding;
      await this.follower.close();
      await this.state.promote((port) => attachWithLease(port, this.link, this.replication, this.lease!));
    } catch (e) {
      this.fail(isStateError(e) ? e : compacted(`standby ${show(this.state.nodeId)} could not take over: ${(e as Error).message}`));
    }
  }

  private fail(e: StateError): void {
    if (this.stopped) return;
    this.state.failStandby(e);
    void this.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.campaign) clearInterval(this.campaign);
    if (!this.state.isStandby) return; // promoted: the replication owns the link and the lease now
    await this.watch?.return?.();
    await this.follower.close().catch(() => undefined);
    await this.lease?.release().catch(() => undefined);
    await this.link.nc.close().catch(() => undefined);
  }
}
