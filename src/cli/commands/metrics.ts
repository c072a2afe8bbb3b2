/**
 * `cluster-state metrics <dir>` (Prometheus text exposition, prom-client gauges on a registry of
 * its own) and `cluster-state serve <dir>` (the same at /metrics plus the status summary at
 * /api/summary). The state is re-read per request: unchanged files are not read again, and the
 * figures computed from a revision are cached with it. With `--nats <url> --cluster <id>` both
 * read a cluster through NATS: metrics one snapshot, serve a remote follower's newest revision.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import {
  getClusterStatusSummary, getContentAvailabilityMap, isStateError, NODE_ROLES, NODE_STATUSES, TASK_STATUSES,
  type ClusterStatusSummary, type Snapshot,
} from '../../index.js';
import { CliFailure, intOption, JSON_OPTION, SOURCE_OPTIONS, textOption, type Command, type Context, type Io } from '../command.js';
import { countPairs, countTrue } from '../counts.js';
import { printable, printJson, println } from '../format.js';
import { show } from '../../errors.js';
import { untilSignal } from '../signals.js';
import {
  describe, followNats, metadataOf, readSource, readState, sourceOf, stateFiles, type StateFollower, type StateLocation,
} from '../state.js';

const GiB = 2 ** 30;
const SOURCE_ARG = { name: 'dir', help: 'a state directory (or a state_*.parquet file); or --nats <url> --cluster <id> instead', source: true };

/** What a revision says, computed once per snapshot. */
interface Facts {
  summary: ClusterStatusSummary;
  nodes: Map<string, Map<string, number>>;
  /** By status, then type. */
  tasks: Map<string, Map<string, number>>;
  pinned: number;
  shortfall: number;
  underReplicated: number;
}

const factsCache = new WeakMap<Snapshot, Facts>();

function factsOf(snap: Snapshot): Facts {
  let f = factsCache.get(snap);
  if (f) return f;
  const availability = getContentAvailabilityMap(snap);
  let shortfall = 0;
  let under = 0;
  for (const cid in availability) {
    const s = availability[cid]!.shortfall;
    if (s !== null && s > 0) {
      shortfall += s;
      under++;
    }
  }
  f = {
    summary: getClusterStatusSummary(snap),
    nodes: countPairs(snap.nodes, 'role', 'status'),
    tasks: countPairs(snap.tasks, 'status', 'type'),
    pinned: countTrue(snap.content, 'pinned'),
    shortfall,
    underReplicated: under,
  };
  factsCache.set(snap, f);
  return f;
}

/** A registry holding the gauges of the state `snap` read from `loc`, at time `now`. */
export function metricsRegistry(snap: Snapshot, loc: StateLocation, now = Date.now()): Registry {
  const f = factsOf(snap);
  const reg = new Registry();
  reg.setDefaultLabels({ cluster_id: snap.clusterId });
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name: `cluster_state_${name}`, help, labelNames, registers: [reg] });

  // A Parquet file alone does not know its revision (-1): no gauge rather than a false one.
  if (snap.revision >= 0) gauge('revision', 'Revision of the state read (the durable revision for a state directory).').set(snap.revision);
  gauge('updated_timestamp_seconds', 'When the revision read was committed (Unix time).').set(snap.updatedAt / 1000);
  gauge('age_seconds', 'Seconds since the revision read was committed.').set(Math.max(0, (now - snap.updatedAt) / 1000));

  const nodes = gauge('nodes', 'Nodes by role and status.', ['role', 'status']);
  const roles = new Set<string>([...NODE_ROLES, ...f.nodes.keys()]);
  for (const role of roles) {
    const statuses = new Set<string>([...NODE_STATUSES, ...(f.nodes.get(role)?.keys() ?? [])]);
    for (const status of statuses) nodes.set({ role, status }, f.nodes.get(role)?.get(status) ?? 0);
  }
  const s = f.summary;
  gauge('cpu_cores', 'CPU cores over all nodes that report them.').set(s.resources.cpu_cores);
  const gpus = gauge('gpus', 'GPUs over all nodes (state="available": on nodes whose GPUs are available).', ['state']);
  gpus.set({ state: 'total' }, s.resources.gpu_cores.total);
  gpus.set({ state: 'available' }, s.resources.gpu_cores.available);
  const mem = gauge('memory_bytes', 'Memory over all nodes (state="total" or "available"; rounded to 0.01 GiB).', ['state']);
  mem.set({ state: 'total' }, Math.round(s.resources.memory_gb.total * GiB));
  mem.set({ state: 'available' }, Math.round(s.resources.memory_gb.available * GiB));

  const tasks = gauge('tasks', 'Tasks by status and type.', ['status', 'type']);
  const types = new Set<string>();
  for (const m of f.tasks.values()) for (const t of m.keys()) types.add(t);
  const statuses = new Set<string>([...TASK_STATUSES, ...f.tasks.keys()]);
  for (const type of [...types].sort()) {
    for (const status of statuses) tasks.set({ status, type }, f.tasks.get(status)?.get(type) ?? 0);
  }

  gauge('content_items', 'Content items.').set(s.content.total);
  gauge('content_bytes', 'Total size of all content items.').set(s.content.total_size_gb * GiB);
  gauge('content_pinned', 'Pinned content items.').set(f.pinned);
  gauge('replication_shortfall', 'Replicas missing: sum over content of max(0, replication - online providers).').set(f.shortfall);
  gauge('content_under_replicated', 'Content items with fewer online providers than their replication.').set(f.underReplicated);

  const files = stateFiles(loc);
  const fileBytes = gauge('file_bytes', 'Size of each state file.', ['file']);
  const fileAge = gauge('file_age_seconds', 'Seconds since each state file was last modified.', ['file']);
  for (const file of files) {
    fileBytes.set({ file: file.name }, file.bytes);
    fileAge.set({ file: file.name }, Math.max(0, (now - file.mtimeMs) / 1000));
  }
  if (loc.kind === 'dir') {
    const md = metadataOf(loc.dir);
    if (md && typeof md.parquet_revision === 'number') gauge('parquet_revision', 'Revision the Parquet file holds (from state_metadata.json).').set(md.parquet_revision);
  }
  return reg;
}

export const metrics: Command = {
  name: 'metrics',
  summary: 'Print Prometheus metrics of the state (text exposition format).',
  positionals: [SOURCE_ARG],
  options: { ...JSON_OPTION, ...SOURCE_OPTIONS },
  description: 'Gauges (all labelled cluster_id): cluster_state_revision, _updated_timestamp_seconds, _age_seconds,\n'
    + '_nodes{role,status}, _cpu_cores, _gpus{state}, _memory_bytes{state}, _tasks{status,type},\n'
    + '_content_items, _content_bytes, _content_pinned, _replication_shortfall, _content_under_replicated,\n'
    + '_file_bytes{file}, _file_age_seconds{file}, _parquet_revision (the file gauges not with --nats).\n'
    + 'With --json: prom-client\'s JSON form of the same metrics.',
  examples: [
    'cluster-state metrics ./.cluster-state',
    'cluster-state metrics ./.cluster-state | grep ^cluster_state_tasks',
    'cluster-state metrics --nats nats://127.0.0.1:4222 --cluster c1',
  ],
  async run(ctx) {
    const { snap, loc } = await readSource(ctx);
    const reg = metricsRegistry(snap, loc);
    if (ctx.values.json) printJson(ctx.io, await reg.getMetricsAsJSON());
    else ctx.io.out.write(await reg.metrics());
    return 0;
  },
};

// ───────────────────────────── serve ─────────────────────────────

export const DEFAULT_PORT = 9464;

/** What serve reads per request: the state and where it is. */
interface Served {
  loc: StateLocation;
  /** The newest state: re-read from the directory, or the remote follower's newest revision. */
  current(): { snap: Snapshot; loc: StateLocation };
  close(): Promise<void>;
}

/**
 * What `serve` serves: a path (read now, so that no readable state fails at once with exit 1, then
 * per request), or a remote follower of a --nats cluster (open for as long as serve runs; its
 * errors are warnings on stderr, and it keeps serving the last good revision meanwhile).
 */
async function served(ctx: Context): Promise<Served> {
  const src = sourceOf(ctx);
  if ('path' in src) {
    const { loc } = readState(src.path);
    return { loc, current: () => readState(loc.path), close: async () => undefined };
  }
  const follower = await followNats(src.nats);
  warnOnError(follower, ctx.io);
  const loc = src.nats;
  return { loc, current: () => ({ snap: follower.snapshot(), loc }), close: () => follower.close() };
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
  summary: 'Serve /metrics (Prometheus) and /api/summary (JSON) over HTTP.',
  positionals: [SOURCE_ARG],
  options: {
    ...SOURCE_OPTIONS,
    port: { type: 'string', short: 'p', value: '<port>', default: String(DEFAULT_PORT), help: 'TCP port (0 = any free port)' },
    host: { type: 'string', value: '<host>', default: '127.0.0.1', help: 'address to listen on (0.0.0.0 for all interfaces)' },
    ...JSON_OPTION,
  },
  description: 'Reads the state on every request (no lock, no writes; unchanged files are not read again),\n'
    + 'so it can run beside the writer for as long as you like. A request made while the state\n'
    + 'cannot be read gets 503 with the reason. Prints the URL once listening; stops on Ctrl-C.\n'
    + 'With --nats <url> --cluster <id>: a remote follower keeps the newest revision the cluster\'s master\n'
    + 'replicates there, and every request answers from it.\n'
    + 'With --json the startup line is JSON: { url, metrics, summary, dir } (with --nats: nats and cluster instead of dir).',
  examples: [
    'cluster-state serve ./.cluster-state --port 9464',
    'curl -s localhost:9464/api/summary | jq .tasks',
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

/** Serves `source` over HTTP on host:port until Ctrl-C (or SIGTERM). */
async function listen(ctx: Context, port: number, host: string, source: Served): Promise<number> {
  const { loc } = source;
  // The root page and startup line name the absolute path, or the cluster and server.
  const label = loc.kind === 'nats' ? describe(loc) : loc.path;
  let lastError = '';
  const fail = (res: ServerResponse, e: unknown, json: boolean) => {
    const msg = printable((e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' '));
    if (msg !== lastError) ctx.io.err.write(`cluster-state: warning: ${msg}\n`);
    lastError = msg;
    const code = isStateError(e) ? (e as { code: string }).code : 'ERROR';
    res.writeHead(503, { 'content-type': json ? 'application/json' : 'text/plain; charset=utf-8' });
    res.end(json ? `${JSON.stringify({ error: msg, code })}\n` : `${msg}\n`);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      // A request target that is not a URL (e.g. "http://["): the client's error, not the state's.
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`bad request target ${show(req.url)}: not a URL path; try /metrics or /api/summary\n`);
      return;
    }
    if (url.pathname === '/metrics') {
      let body: string;
      let type: string;
      try {
        const { snap } = source.current();
        const reg = metricsRegistry(snap, loc);
        body = await reg.metrics();
        type = reg.contentType;
      } catch (e) {
        fail(res, e, false);
        return;
      }
      lastError = '';
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } else if (url.pathname === '/api/summary') {
      let body: string;
      try {
        const { snap } = source.current();
        body = `${JSON.stringify({ ...getClusterStatusSummary(snap), revision: snap.revision })}\n`;
      } catch (e) {
        fail(res, e, true);
        return;
      }
      lastError = '';
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } else if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`cluster-state serve: ${label}\n  /metrics       Prometheus metrics\n  /api/summary   status summary (JSON)\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /metrics or /api/summary\n');
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((e) => fail(res, e, false));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new CliFailure(`cannot listen on ${host}:${port}: the port is in use (try --port 0 or another port)`));
      else if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') reject(new CliFailure(`cannot listen on ${show(host)}: no such local address`));
      else if (e.code === 'EACCES') reject(new CliFailure(`cannot listen on ${host}:${port}: permission denied`));
      else reject(e);
    });
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const base = `http://${shownHost}:${actualPort}`;
  const where = loc.kind === 'nats' ? { nats: loc.url, cluster: loc.clusterId } : { dir: loc.path };
  if (ctx.values.json) printJson(ctx.io, { url: base, metrics: `${base}/metrics`, summary: `${base}/api/summary`, ...where }, true);
  else println(ctx.io.out, `serving ${label} at ${base}/metrics and ${base}/api/summary (Ctrl-C to stop)`);
  const stop = untilSignal();
  try {
    await stop.promise;
  } finally {
    stop.dispose();
    server.close();
    server.closeAllConnections();
  }
  return 0;
}
