/**
 * The live side of the dashboard: one hub per server, fed by the source's `watch()`, that turns
 * change sets into at most one update every `intervalMs` (coalescing any number of revisions),
 * computes the summary once per update for every page open, samples the task counts for the
 * chart, keeps the feed, and sends each update to every `/events` client as server-sent events.
 *
 * Events (`event:` name, `data:` one JSON line, `id:` the revision):
 * - `snapshot` on connect (and after a reconnect): `{ summary, health, history, sampleMs, feed, now }`;
 * - `update` on every coalesced change, and once per `sampleMs` while nothing changes:
 *   `{ summary, health, sample, feed, skipped, now }` — `feed` the newest items since the previous
 *   update (at most `feedSize`), `skipped` how many older ones since then it leaves out.
 * A client that does not read is never buffered for without bound: once more than
 * `maxClientBytes` wait in its socket buffer it is disconnected (EventSource reconnects and gets
 * a fresh `snapshot`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isStateError, type StateError } from '../errors.js';
import type { Snapshot } from '../snapshot.js';
import { contentHealth, type ContentHealth } from './health.js';
import { Feed, feedItem, gapItem, type FeedItem } from './feed.js';
import { TaskHistory, type TaskSample } from './history.js';
import type { DashboardSource, SourceRevisions } from './source.js';
import { sameState, statusCounts, summarize, type DashboardSummary } from './summary.js';

/** How the hub paces itself; every field has a default. */
export interface HubOptions {
  /** Least time between two updates (ms, default 250). */
  intervalMs?: number;
  /** An update costs at most 1/costFactor of the time (the interval grows with the summary's cost; default 5). */
  costFactor?: number;
  /** One chart sample per this many ms (default 1000). */
  sampleMs?: number;
  /** Chart samples kept (default 600: ten minutes at one a second). */
  historySize?: number;
  /** Feed items kept (default 50). */
  feedSize?: number;
  /** Content health is recomputed at most this often (ms, default 2000), and at most 1/healthFactor of the time. */
  healthMinMs?: number;
  /** Default 20: the health scan takes at most 5% of the time. */
  healthFactor?: number;
  /** A client with more than this many bytes unsent is disconnected (default 1 MiB). */
  maxClientBytes?: number;
  /** A comment line keeps idle connections open this often (ms, default 15000). */
  heartbeatMs?: number;
  /** Called with each error of the source (a watch that failed, a snapshot that cannot be read). */
  onError?: (e: Error) => void;
}

/** The state of the newest update: what /api/summary and a new page get. */
export interface Current {
  snap: Snapshot;
  summary: DashboardSummary;
  revisions: SourceRevisions;
}

/** Counters of the hub (tests and measurements). */
export interface HubStats {
  clients: number;
  updates: number;
  /** Clients disconnected for not reading. */
  dropped: number;
  /** Milliseconds the last update's summary took. */
  lastSummaryMs: number;
  /** Milliseconds the last health scan took. */
  lastHealthMs: number;
  /** Change sets received from watch(). */
  changeSets: number;
}

interface Client {
  res: ServerResponse;
}

/**
 * The SSE hub. Guarantees: updates reach clients at most once per `intervalMs` (plus the cost
 * bound) however fast revisions come; per-update work is independent of the number of clients
 * (one summary, one JSON text written to each); memory is bounded (history ring, feed of
 * `feedSize`, pending feed items capped at `feedSize`, per-client unsent bytes capped).
 */
export class DashboardHub {
  readonly history: TaskHistory;
  private readonly feed: Feed;
  private readonly o: Required<Omit<HubOptions, 'onError'>> & { onError: (e: Error) => void };
  private readonly clients = new Set<Client>();
  private pending: FeedItem[] = [];
  /** Change sets received since the last update but left out of it (more than feedSize came). */
  private skipped = 0;
  private cur: Current | null = null;
  /** The state of the last update sent. */
  private sent: Current | null = null;
  private healthValue: ContentHealth | null = null;
  private healthAt = 0;
  private dirty = true;
  private lastSent = 0;
  private timer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly abort = new AbortController();
  private closed = false;
  private watching: Promise<void> | null = null;
  private readonly counters = { updates: 0, dropped: 0, lastSummaryMs: 0, lastHealthMs: 0, changeSets: 0 };

  constructor(private readonly source: DashboardSource, options: HubOptions = {}) {
    this.o = {
      intervalMs: options.intervalMs ?? 250,
      costFactor: options.costFactor ?? 5,
      sampleMs: options.sampleMs ?? 1000,
      historySize: options.historySize ?? 600,
      feedSize: options.feedSize ?? 50,
      healthMinMs: options.healthMinMs ?? 2000,
      healthFactor: options.healthFactor ?? 20,
      maxClientBytes: options.maxClientBytes ?? 2 ** 20,
      heartbeatMs: options.heartbeatMs ?? 15_000,
      onError: options.onError ?? (() => undefined),
    };
    this.history = new TaskHistory(this.o.historySize, this.o.sampleMs);
    this.feed = new Feed(this.o.feedSize);
  }

  /** Reads the current state (throws what the source throws), starts following and pacing. */
  start(): void {
    this.refresh(Date.now());
    if (this.source.watch) this.watching = this.follow();
    this.schedule(this.o.intervalMs);
    this.heartbeat = setInterval(() => this.broadcast(': keep-alive\n\n'), this.o.heartbeatMs);
    this.heartbeat.unref();
  }

  /**
   * The newest state as the last update computed it, refreshed first when the source has moved
   * on (so an API answer is never older than what the page was last told). Throws what the
   * source's snapshot() throws.
   */
  current(): Current {
    return this.refresh(Date.now());
  }

  /** The latest content health (computed now if there is none yet). */
  health(): ContentHealth {
    if (!this.healthValue) {
      this.healthValue = contentHealth(this.current().snap);
      this.healthAt = Date.now();
    }
    return this.healthValue;
  }

  /** Feed items held, oldest first. */
  feedItems(): FeedItem[] {
    return this.feed.list();
  }

  stats(): HubStats {
    return { clients: this.clients.size, ...this.counters };
  }

  /** Serves `/events` on `res`: the `snapshot` event now, then every update until either side closes. */
  attach(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD' || this.closed) {
      res.end();
      return;
    }
    const client: Client = { res };
    this.clients.add(client);
    const drop = () => this.clients.delete(client);
    req.on('close', drop);
    res.on('close', drop);
    res.on('error', drop);
    let cur: Current | null = null;
    try {
      cur = this.current();
    } catch (e) {
      this.o.onError(e as Error);
    }
    const common = { history: this.history.columns(), sampleMs: this.o.sampleMs, feed: this.feed.list(), now: Date.now() };
    const payload = cur ? { summary: this.withRevisions(cur), health: this.health(), ...common } : { summary: null, health: null, ...common };
    this.send(client, sse('snapshot', payload, cur?.summary.revision));
  }

  /** Ends every client and stops following. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.abort.abort();
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    await this.watching;
  }

  // ───────────────────────────── internals ─────────────────────────────

  /** The summary of the source's newest snapshot, recomputed only when the state changed. */
  private refresh(now: number): Current {
    const snap = this.source.snapshot();
    const revisions = this.source.revisions?.() ?? { durable: null, replicated: null };
    if (this.cur && sameState(this.cur.snap, snap)) {
      this.cur.revisions = revisions;
      return this.cur;
    }
    const summary = summarize(snap);
    this.counters.lastSummaryMs = summary.cost_ms;
    this.cur = { snap, summary, revisions };
    if (!this.history.latest()) this.history.add(now, snap.revision, statusCounts(summary));
    return this.cur;
  }

  private withRevisions(cur: Current): DashboardSummary & { durable_revision: number | null; replicated_revision: number | null } {
    return { ...cur.summary, durable_revision: cur.revisions.durable, replicated_revision: cur.revisions.replicated };
  }

  /** Follows the source's change sets until closed; restarts after COMPACTED (a gap in the feed) and after errors. */
  private async follow(): Promise<void> {
    while (!this.closed) {
      try {
        for await (const cs of this.source.watch!({ signal: this.abort.signal })) {
          this.counters.changeSets++;
          const item = feedItem(cs);
          this.feed.push(item);
          this.pending.push(item);
          if (this.pending.length > this.o.feedSize * 2) this.trimPending();
          this.dirty = true;
        }
        if (this.closed) return;
      } catch (e) {
        if (this.closed) return;
        if (isStateError(e, 'CLOSED')) return;
        if (!isStateError(e, 'COMPACTED')) this.o.onError(e as Error);
        let at: Snapshot | null = null;
        try {
          at = this.source.snapshot();
        } catch (err) {
          this.o.onError(err as StateError);
        }
        const gap = gapItem(at?.revision ?? -1, Date.now(), at?.masterId ?? null);
        this.feed.push(gap);
        this.pending.push(gap);
        if (this.pending.length > this.o.feedSize * 2) this.trimPending();
        this.dirty = true;
        // A source that keeps failing is not spun on: wait one interval before watching again.
        if (!isStateError(e, 'COMPACTED')) await new Promise((r) => setTimeout(r, Math.max(1000, this.o.intervalMs)).unref());
      }
    }
  }

  private schedule(delay: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => this.tick(), delay);
    this.timer.unref();
  }

  /** One pacing step: an update when the state changed (or a sample is due), then the next step. */
  private tick(): void {
    const now = Date.now();
    let cost = 0;
    try {
      // Without watch() the source is looked at every tick; with it, only when change sets came.
      const changed = this.dirty || !this.source.watch;
      const sampleDue = now - this.lastSent >= this.o.sampleMs;
      if (changed || sampleDue) {
        this.dirty = false;
        const before = this.cur;
        const cur = this.refresh(now);
        if (cur !== before) cost = cur.summary.cost_ms;
        const fresh = cur !== this.sent;
        const healthDue = !this.healthValue
          || (this.healthValue.revision !== cur.snap.revision && now - this.healthAt >= Math.max(this.o.healthMinMs, this.healthValue.cost_ms * this.o.healthFactor));
        if (healthDue) {
          this.healthValue = contentHealth(cur.snap);
          this.healthAt = now;
          this.counters.lastHealthMs = this.healthValue.cost_ms;
        }
        if (fresh || sampleDue || this.pending.length || healthDue) {
          const sample: TaskSample = this.history.add(now, cur.snap.revision, statusCounts(cur.summary));
          this.trimPending();
          const feed = this.pending;
          const skipped = this.skipped;
          this.pending = [];
          this.skipped = 0;
          this.lastSent = now;
          this.sent = cur;
          this.counters.updates++;
          if (this.clients.size) this.broadcast(sse('update', { summary: this.withRevisions(cur), health: this.healthValue, sample, feed, skipped, now }, cur.summary.revision));
        }
      }
    } catch (e) {
      this.o.onError(e as Error);
    }
    this.schedule(Math.max(this.o.intervalMs, cost * this.o.costFactor));
  }

  /** Keeps the newest `feedSize` pending items, counting the others as skipped. */
  private trimPending(): void {
    const extra = this.pending.length - this.o.feedSize;
    if (extra <= 0) return;
    this.skipped += extra;
    this.pending = this.pending.slice(extra);
  }

  private broadcast(text: string): void {
    for (const c of this.clients) this.send(c, text);
  }

  private send(c: Client, text: string): void {
    const res = c.res;
    if (res.destroyed || res.writableEnded) {
      this.clients.delete(c);
      return;
    }
    if (res.writableLength > this.o.maxClientBytes) {
      // Not reading: drop it rather than buffer without bound (EventSource reconnects).
      this.clients.delete(c);
      this.counters.dropped++;
      res.destroy();
      return;
    }
    res.write(text);
  }
}

/** One server-sent event: `event`, `id` (when given) and the JSON of `data` on one `data:` line. */
export function sse(event: string, data: unknown, id?: number): string {
  // JSON.stringify never emits a raw newline (they are escaped in strings), so one data line holds it.
  return `event: ${event}\n${id !== undefined ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}
