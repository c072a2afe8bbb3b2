/**
 * The dashboard's HTTP server: `/` the live page (assets/dashboard/), `/events` server-sent
 * events, `/api/summary|nodes|tasks|content` JSON, and `/metrics` when the caller gives a
 * Prometheus renderer. Read-only by construction: only GET and HEAD are answered (405 otherwise)
 * and no handler calls anything that mutates. `cluster-state serve` and the demo both run it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { isStateError, show, StateError } from '../errors.js';
import type { Snapshot } from '../snapshot.js';
import { noParams, PageCache, planOf, tableOf, tableQuery } from './api.js';
import { loadAssets, type Asset } from './assets.js';
import { DashboardHub, type HubOptions, type HubStats } from './events.js';
import type { DashboardSource } from './source.js';

/** What `startDashboard` takes. */
export interface DashboardOptions {
  /** The state to serve (a ClusterState, a follower, or any DashboardSource). */
  source: DashboardSource;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** TCP port (default 0: any free port). */
  port?: number;
  /** `/metrics` (Prometheus text): called per request with the newest snapshot; absent: 404. */
  metrics?: (snap: Snapshot) => Promise<{ contentType: string; body: string }>;
  /** What the page's title names (a path, a cluster and server). */
  label?: string;
  /** Warnings: a request the state could not answer (repeats of one message once), a watch that failed. */
  onWarning?: (message: string) => void;
  /** Pacing of the live updates (events.ts). */
  hub?: HubOptions;
}

/** A running dashboard. */
export interface Dashboard {
  /** `http://host:port` (IPv6 hosts in brackets), without a trailing slash. */
  url: string;
  /** The port listened on (the one chosen when port 0 was asked). */
  port: number;
  server: Server;
  /** Counters of the live side (clients, updates, dropped clients, costs). */
  stats(): HubStats;
  /** Stops listening, ends every connection (SSE clients included) and stops following. Idempotent. */
  close(): Promise<void>;
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && mapped[1]!.startsWith('127.');
}

/** Content-Security-Policy of every answer: the page loads only its own files and talks only to this server. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Starts the dashboard server and its live hub; resolves once it listens. Guarantees: the
 * source's first snapshot is read before listening (a source that cannot be read rejects with its
 * error); only GET/HEAD are served; a bad parameter is 400 `{ error, code }` naming it; an
 * unknown path 404; a request the state cannot answer 503 with the reason, the server serving on.
 * EADDRINUSE and the like reject with node's error (its `code` set).
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const assets = loadAssets();
  let lastWarning = '';
  const warn = (msg: string) => {
    if (msg !== lastWarning) options.onWarning?.(msg);
    lastWarning = msg;
  };
  const hub = new DashboardHub(options.source, { ...options.hub, onError: (e) => warn(oneLine(e)) });
  hub.start();
  const pages = new PageCache();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed: the dashboard is read-only (GET and HEAD only)\n');
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`bad request target ${show(req.url)}: not a URL path; try / or /api/summary\n`);
      return;
    }
    const path = url.pathname;
    const asset = assets.get(path);
    if (asset) return sendAsset(req, res, asset);
    if (path === '/events') {
      if ([...url.searchParams].length) return sendJson(req, res, 400, errorBody(paramError('/events', url.searchParams)));
      hub.attach(req, res);
      return;
    }
    if (path === '/metrics' && options.metrics) {
      let m: { contentType: string; body: string };
      try {
        await options.source.settle?.();
        m = await options.metrics(hub.current().snap);
      } catch (e) {
        return unavailable(req, res, e, false);
      }
      lastWarning = '';
      res.writeHead(200, { 'content-type': m.contentType, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : m.body);
      return;
    }
    if (path === '/api/summary') {
      try {
        noParams(path, url.searchParams);
      } catch (e) {
        return sendJson(req, res, 400, errorBody(e));
      }
      let body: unknown;
      try {
        await options.source.settle?.();
        const cur = hub.current();
        body = { ...cur.summary, durable_revision: cur.revisions.durable, replicated_revision: cur.revisions.replicated, replication: hub.health(), now: Date.now() };
      } catch (e) {
        return unavailable(req, res, e, true);
      }
      lastWarning = '';
      return sendJson(req, res, 200, body);
    }
    const kind = tableOf(path);
    if (kind) {
      let plan;
      let key: string;
      try {
        plan = planOf(tableQuery(kind, url.searchParams));
        key = `${kind}?${url.searchParams.toString()}`;
      } catch (e) {
        if (isStateError(e, 'INVALID_ARGUMENT')) return sendJson(req, res, 400, errorBody(e));
        throw e;
      }
      let body: unknown;
      try {
        await options.source.settle?.();
        body = pages.page(hub.current().snap, key, plan);
      } catch (e) {
        // A cursor of another query is the client's error, found only when the plan runs.
        if (isStateError(e, 'INVALID_ARGUMENT')) return sendJson(req, res, 400, errorBody(e));
        return unavailable(req, res, e, true);
      }
      lastWarning = '';
      return sendJson(req, res, 200, body);
    }
    if (path.startsWith('/api/')) return sendJson(req, res, 404, { error: `no endpoint ${show(path)}: try /api/summary, /api/nodes, /api/tasks or /api/content`, code: 'NOT_FOUND' });
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`not found: ${show(path)}; try / (the dashboard), ${options.metrics ? '/metrics, ' : ''}/api/summary or /events\n`);
  };

  const unavailable = (req: IncomingMessage, res: ServerResponse, e: unknown, json: boolean) => {
    const msg = oneLine(e);
    warn(msg);
    const code = isStateError(e) ? (e as StateError).code : 'ERROR';
    res.writeHead(503, { 'content-type': json ? 'application/json' : 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : json ? `${JSON.stringify({ error: msg, code })}\n` : `${msg}\n`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) unavailable(req, res, e, false);
      else res.destroy();
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await hub.close();
    throw e;
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port ?? 0;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    server,
    stats: () => hub.stats(),
    close() {
      closing ??= (async () => {
        await hub.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

function sendAsset(req: IncomingMessage, res: ServerResponse, a: Asset): void {
  const headers = { 'content-type': a.type, etag: a.etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'content-security-policy': CSP };
  if (req.headers['if-none-match'] === a.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': a.body.length });
  res.end(req.method === 'HEAD' ? undefined : a.body);
}

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(req.method === 'HEAD' ? undefined : text);
}

/** `{ error, code }` of a bad request (the message without its code prefix). */
function errorBody(e: unknown): { error: string; code: string } {
  return { error: oneLine(e).replace(/^INVALID_ARGUMENT: /, ''), code: isStateError(e) ? (e as StateError).code : 'INVALID_ARGUMENT' };
}

function paramError(path: string, params: URLSearchParams): StateError {
  try {
    noParams(path, params);
  } catch (e) {
    return e as StateError;
  }
  return new StateError('INVALID_ARGUMENT', `${path} takes no parameters`);
}

/** An error's message on one line. */
function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();
}
