/**
 * `cluster-state serve <dir>`: the live dashboard at `/` (src/dashboard/), its JSON endpoints and
 * server-sent events, and the Prometheus metrics at `/metrics`. A state directory is followed
 * with a Follower: its snapshots answer, its watch() feeds the live updates, and a request waits
 * for it when the journal's durable mark is ahead (so a request made after flush() sees that
 * revision). A Parquet file is read per request; with `--nats <url> --cluster <id>` a remote
 * follower answers everything and feeds the updates.
 */
import { join } from 'node:path';
import { followState, isStateError } from '../../index.js';
import { JournalReader } from '../../statedir/journal-reader.js';
import { journalFileName } from '../../statedir/names.js';
import { show } from '../../errors.js';
import { isLoopback, startDashboard } from '../../dashboard/server.js';
import type { DashboardSource } from '../../dashboard/source.js';
import { CliFailure, intOption, JSON_OPTION, SOURCE_OPTIONS, textOption, type Command, type Context, type Io } from '../command.js';
import { printable, printJson, println } from '../format.js';
import { untilSignal } from '../signals.js';
import { describe, followNats, readState, sourceOf, type StateFollower, type StateLocation } from '../state.js';
import { metricsRegistry, SOURCE_ARG } from './metrics.js';

export const DEFAULT_PORT = 9464;

/** What serve reads: a dashboard source, where it is, and what to close at the end. */
interface Served {
  loc: StateLocation;
  source: DashboardSource;
  close(): Promise<void>;
}

/**
 * What `serve` serves. A path is read now (a missing or damaged state fails at once with exit 1),
 * then per request; a directory is also followed (its change sets feed the live page). A --nats
 * cluster is a remote follower, open for as long as serve runs. Follower errors are warnings on
 * stderr; the last good revision is served meanwhile.
 */
async function served(ctx: Context): Promise<Served> {
  const src = sourceOf(ctx);
  if ('path' in src) {
    const { loc, snap } = readState(src.path);
    if (loc.kind === 'file') return { loc, source: { snapshot: () => readState(loc.path).snap }, close: async () => undefined };
    const follower = await followState(loc.dir);
    warnOnError(follower, ctx.io);
    const journal = join(loc.dir, journalFileName(snap.clusterId));
    const source: DashboardSource = {
      snapshot: () => follower.snapshot(),
      watch: (o) => follower.watch(o),
      // A directory's follower loads durable revisions only.
      revisions: () => ({ durable: follower.revision, replicated: null }),
      // A request made after a flush() answers from that revision: wait (briefly) for the
      // follower when the journal's durable mark is ahead of it.
      settle: async () => {
        const mark = durableMark(journal, snap.clusterId);
        if (mark !== null && mark > follower.revision) await follower.waitFor(mark, 1000).catch(() => undefined);
      },
    };
    return { loc, source, close: () => follower.close() };
  }
  const follower = await followNats(src.nats);
  warnOnError(follower, ctx.io);
  const source: DashboardSource = {
    snapshot: () => follower.snapshot(),
    watch: (o) => follower.watch(o),
    revisions: () => ({ durable: null, replicated: follower.revision }),
  };
  return { loc: src.nats, source, close: () => follower.close() };
}

/** The journal's durable mark now (its header and mark only, no records), or null when it cannot be read. */
function durableMark(path: string, clusterId: string): number | null {
  let r: JournalReader;
  try {
    r = new JournalReader(path, clusterId);
  } catch {
    return null;
  }
  try {
    return r.mark();
  } catch {
    return null;
  } finally {
    r.close();
  }
}

/** Prints each new error of `follower` as one warning line (repeats of the same message once). */
function warnOnError(follower: StateFollower, io: Io): void {
  let last = '';
  follower.on('error', (e) => {
    const msg = printable(e.message.replace(/\s+/g, ' '));
    if (msg !== last) io.err.write(`cluster-state: warning: ${msg} (keeping revision ${follower.revision})\n`);
    last = msg;
  });
  follower.on('change', () => (last = ''));
}

export const serve: Command = {
  name: 'serve',
  summary: 'Serve the live dashboard (/), its JSON API and /metrics (Prometheus) over HTTP.',
  positionals: [SOURCE_ARG],
  options: {
    ...SOURCE_OPTIONS,
    port: { type: 'string', short: 'p', value: '<port>', default: String(DEFAULT_PORT), help: 'TCP port (0 = any free port)' },
    host: { type: 'string', value: '<host>', default: '127.0.0.1', help: 'address to listen on (a warning when it is not loopback: the pages have no authentication)' },
    ...JSON_OPTION,
  },
  description: 'Open the printed URL in a browser: a live dashboard of the cluster (header, totals, nodes by\n'
    + 'role and status, the nodes table, tasks by status over the last minutes, the placement queue,\n'
    + 'content replication health, the newest change sets), updated by server-sent events.\n'
    + 'Endpoints (all GET, read-only): / the dashboard, /events (SSE), /api/summary, /api/nodes,\n'
    + '/api/tasks, /api/content (filters, sort, limit, cursor: docs/dashboard.md), /metrics (Prometheus).\n'
    + 'No lock, no writes: it can run beside the writer for as long as you like. A request made while\n'
    + 'the state cannot be read gets 503 with the reason. Prints the URL once listening; stops on Ctrl-C.\n'
    + 'With --nats <url> --cluster <id>: a remote follower keeps the newest revision the cluster\'s master\n'
    + 'replicates there, and every request answers from it.\n'
    + 'With --json the startup line is JSON: { url, dashboard, events, metrics, summary, dir } (with --nats:\n'
    + 'nats and cluster instead of dir).',
  examples: [
    'cluster-state serve ./.cluster-state            # then open http://127.0.0.1:9464/',
    'curl -s localhost:9464/api/summary | jq .tasks',
    "curl -s 'localhost:9464/api/nodes?role=worker&status=offline&sort=-last_seen&limit=20' | jq '.items[].id'",
    'cluster-state serve --nats nats://127.0.0.1:4222 --cluster c1 --port 9464',
  ],
  async run(ctx) {
    const port = intOption(ctx, 'port', DEFAULT_PORT, 0, 65535);
    const host = textOption(ctx, 'host') ?? '127.0.0.1';
    const source = await served(ctx);
    try {
      return await listen(ctx, port, host, source);
    } finally {
      await source.close();
    }
  },
};

/** Serves `served` on host:port until Ctrl-C (or SIGTERM). */
async function listen(ctx: Context, port: number, host: string, served: Served): Promise<number> {
  const { loc } = served;
  const label = loc.kind === 'nats' ? describe(loc) : loc.path;
  let dash;
  try {
    dash = await startDashboard({
      source: served.source,
      host,
      port,
      label,
      metrics: async (snap) => {
        const reg = metricsRegistry(snap, loc);
        return { contentType: reg.contentType, body: await reg.metrics() };
      },
      onWarning: (msg) => ctx.io.err.write(`cluster-state: warning: ${printable(msg)}\n`),
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (isStateError(e)) throw e;
    if (code === 'EADDRINUSE') throw new CliFailure(`cannot listen on ${host}:${port}: the port is in use (try --port 0 or another port)`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') throw new CliFailure(`cannot listen on ${show(host)}: no such local address`);
    if (code === 'EACCES') throw new CliFailure(`cannot listen on ${host}:${port}: permission denied`);
    throw e;
  }
  if (!isLoopback(host)) {
    ctx.io.err.write(`cluster-state serve: warning: listening on ${show(host)}, not a loopback address: anyone who can reach it can read the cluster's state (the dashboard and its API have no authentication; they are read-only)\n`);
  }
  const base = dash.url;
  const where = loc.kind === 'nats' ? { nats: loc.url, cluster: loc.clusterId } : { dir: loc.path };
  if (ctx.values.json) {
    printJson(ctx.io, { url: base, dashboard: `${base}/`, events: `${base}/events`, metrics: `${base}/metrics`, summary: `${base}/api/summary`, ...where }, true);
  } else println(ctx.io.out, `serving ${printable(label)}: dashboard at ${base}/ (also ${base}/metrics and ${base}/api/summary; Ctrl-C to stop)`);
  const stop = untilSignal();
  try {
    await stop.promise;
  } finally {
    stop.dispose();
    await dash.close();
  }
  return 0;
}
