/**
 * A follower's own worker threads: the follower publishes its replica into a SharedArrayBuffer of
 * its own with the writer's publishing code (shm/publishing.ts), so `attachState(handle)` in a
 * worker thread reads it zero-copy and `query()` runs helpers on a pool over it — as on the
 * writer. Made on first use (a follower that never shares pays nothing). A reload replaces the
 * follower's state wholesale: the shared memory of the old state is closed (its readers get
 * CLOSED: they attach to `shared()` again) and a new one is made on the next use.
 */
import { QueryPool } from '../pool/pool.js';
import { checkQueryCall } from '../pool/queries.js';
import { Publishing } from '../shm/publishing.js';
import type { SharedHandle } from '../shm/reader.js';
import type { Snapshot, SnapshotSource } from '../snapshot.js';
import { modelSnapshot } from '../tables/model-snapshot.js';
import type { Model } from '../tables/model.js';

const INITIAL_SHARED_BYTES = 1 << 20;

export class FollowerSharing {
  private pub: Publishing | null = null;
  private pool: QueryPool | null = null;
  private model: Model | null = null;

  constructor(private readonly source: SnapshotSource) {}

  /** The handle for `attachState` in worker threads (structured-cloneable); the current revision is published. */
  handle(m: Model): SharedHandle {
    if (!this.pub || this.model !== m) {
      this.drop();
      this.model = m;
      this.pub = new Publishing(m, { initialBytes: INITIAL_SHARED_BYTES, maxBytes: undefined, maxRetainedBytes: undefined });
      this.pub.publishNow();
    }
    return this.pub.handle();
  }

  /** Runs helper `name` on a worker thread over the shared replica, including every revision applied before the call. */
  async query(m: Model, name: string, args: unknown[]): Promise<unknown> {
    const call = checkQueryCall(name, args);
    const handle = this.handle(m);
    const pub = this.pub!;
    await pub.published();
    this.pool ??= new QueryPool(handle, (tid) => pub.publisher.releaseThread(tid));
    return this.pool.run(call.name, call.args);
  }

  /** Revisions were applied to the model: published to the worker threads in the next turn. */
  changed(): void {
    this.pub?.schedule();
  }

  /** The model's revision as a Snapshot: through the publishing layer once it exists (it owns the encoding then). */
  snapshot(m: Model): Snapshot {
    if (!this.pub || this.model !== m) return modelSnapshot(m, this.source);
    const cur = this.pub.tables();
    return { revision: cur.revision, clusterId: m.clusterId, masterId: m.masterId, updatedAt: m.updatedAt, ...cur.tables, source: this.source, release: () => undefined };
  }

  /** The state was replaced (a reload): the old shared memory is closed, its pool stopped. */
  drop(): void {
    const pool = this.pool;
    this.pool = null;
    void pool?.close();
    this.pub?.close();
    this.pub = null;
    this.model = null;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.close();
    this.drop();
  }
}
