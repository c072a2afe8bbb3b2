/**
 * The master's lease: one key in a KV bucket whose entries expire `leaseMs` after they were
 * written (the bucket's TTL; NATS 2.9 has no per-key TTL). Taken with create (fails while another
 * holds it), renewed every third of the TTL with a compare-and-swap on the entry's revision; a
 * renewal refused because the entry changed means another master took over: the lease is lost for
 * good. This keeps a second master for a cluster from even starting; the publish fence
 * (replicator.ts) catches one that was deposed while it paused.
 */
import type { KV } from '@nats-io/kv';
import { Kvm } from '@nats-io/kv';
import { locked, show, type StateError } from '../errors.js';
import { engineFailure, type NatsLink } from '../nats/connect.js';
import { LEASE_KEY, type ClusterNames } from '../nats/names.js';

/** What the lease's value says: who holds it. */
export interface LeaseHolder {
  nodeId: string | null;
  session: string;
  since: number;
}

export class Lease {
  private rev = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastRenewal = 0;
  private lost: StateError | null = null;
  private renewing = false;

  private constructor(private readonly kv: KV, private readonly names: ClusterNames, private readonly me: LeaseHolder, readonly leaseMs: number, public onLost: (e: StateError) => void) {}

  /**
   * Takes the lease of `names`' cluster: LOCKED naming the holder while another master holds it.
   * A lease left by a master of the same node id (this master before a crash) is waited out (at
   * most `leaseMs` and a little): it expires by itself. With `once` (a standby's campaign) it is
   * one try: LOCKED while anyone holds it.
   */
  static async take(link: NatsLink, names: ClusterNames, me: LeaseHolder, leaseMs: number, onLost: (e: StateError) => void, once = false): Promise<Lease> {
    let kv: KV;
    try {
      kv = await new Kvm(link.js).create(names.lease, { ttl: leaseMs, history: 1 });
    } catch (e) {
      throw engineFailure(`opening the lease bucket ${names.lease}`, link, e);
    }
    const lease = new Lease(kv, names, me, leaseMs, onLost);
    const deadline = Date.now() + leaseMs + 2000;
    for (;;) {
      try {
        lease.rev = await kv.create(LEASE_KEY, JSON.stringify(me));
        break;
      } catch (e) {
        if (!/wrong last sequence|key exists/i.test((e as Error).message)) throw engineFailure(`taking the lease of cluster ${show(names.clusterId)}`, link, e);
      }
      const holder = await lease.holder();
      if (holder && holder.session === me.session) {
        // Our own create, applied by the server but its answer lost: the lease is ours.
        const e = await kv.get(LEASE_KEY);
        if (e) {
          lease.rev = e.revision;
          break;
        }
      }
      if (holder && (once || holder.nodeId !== me.nodeId || me.nodeId === null || Date.now() > deadline)) {
        throw locked(`cluster ${show(names.clusterId)} is mastered by ${show(holder.nodeId)} (its lease in ${names.lease} was renewed within the last ${leaseMs} ms); a second master cannot publish`, { details: { holder } });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    lease.lastRenewal = Date.now();
    lease.timer = setInterval(() => void lease.renew(), Math.max(50, Math.floor(leaseMs / 3)));
    lease.timer.unref();
    return lease;
  }

  /** The current holder, or null when the lease is free. */
  async holder(): Promise<LeaseHolder | null> {
    const e = await this.kv.get(LEASE_KEY);
    if (!e || e.operation !== 'PUT') return null;
    try {
      return e.json<LeaseHolder>();
    } catch {
      return { nodeId: null, session: e.string(), since: 0 };
    }
  }

  private async renew(): Promise<void> {
    if (this.lost || this.renewing) return;
    this.renewing = true;
    try {
      this.rev = await this.kv.update(LEASE_KEY, JSON.stringify(this.me), this.rev);
      this.lastRenewal = Date.now();
    } catch (e) {
      if (!/wrong last sequence/i.test((e as Error).message)) return; // the engine is away: try again next tick
      // The entry changed: expired (take it again if nobody else did) or taken by another master.
      try {
        this.rev = await this.kv.create(LEASE_KEY, JSON.stringify(this.me));
        this.lastRenewal = Date.now();
        return;
      } catch {
        const holder = await this.holder().catch(() => null);
        if (holder && holder.session === this.me.session) {
          // Our own entry: a create (or update) that the server applied but whose answer was lost.
          const e = await this.kv.get(LEASE_KEY).catch(() => null);
          if (e) {
            this.rev = e.revision;
            this.lastRenewal = Date.now();
            return;
          }
        }
        this.lost = locked(`this master (${show(this.me.nodeId)}) lost the lease of cluster ${show(this.names.clusterId)} to ${show(holder?.nodeId ?? null)}: it must not write any more`, { details: { holder } });
        this.stop();
        this.onLost(this.lost);
      }
    } finally {
      this.renewing = false;
    }
  }

  /** Milliseconds since the last successful renewal. */
  get age(): number {
    return Date.now() - this.lastRenewal;
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Gives the lease up (deletes the entry if it is still ours), so the next master need not wait for it to expire. */
  async release(): Promise<void> {
    this.stop();
    if (this.lost) return;
    await this.kv.delete(LEASE_KEY, { previousSeq: this.rev }).catch(() => undefined);
  }
}
