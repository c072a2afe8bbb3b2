/**
 * Connecting to NATS: the `nats` option (`{ servers, ...connection options }`), checked like every
 * options object (an unknown key is INVALID_ARGUMENT naming it), and the connection itself —
 * UNAVAILABLE naming the URL when no server answers in time, and a refusal naming the version when
 * the server lacks what we rely on (JetStream; server 2.9.0 or newer). Shared by the master's
 * replication and the remote follower (readers and writers both connect).
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { invalid, show, StateError, unavailable } from '../errors.js';
import { checkInt32, checkOptions } from '../validate/values.js';

/** Connection options of the `nats` option (a subset of nats.js's ConnectionOptions, passed through). */
export interface NatsOptions {
  /** `nats://host:port`, or several (one cluster). */
  servers: string | string[];
  /** Connection name shown by the server's monitoring. */
  name?: string;
  user?: string;
  pass?: string;
  token?: string;
  /** TLS options as nats.js takes them. */
  tls?: Record<string, unknown>;
  /** How long to wait for the first connection (ms, default 5000). */
  timeout?: number;
  /** How long a JetStream request (publish ack, object store, KV, stream info) may take (ms, default 5000). */
  requestTimeoutMs?: number;
  /** Reconnect attempts after a lost connection (default -1: forever; the engine may come back). */
  maxReconnectAttempts?: number;
  /** Pause between reconnect attempts (ms, default 250). */
  reconnectTimeWait?: number;
  /** Ping interval (ms, default 10,000): how soon a dead connection is noticed. */
  pingInterval?: number;
}

export const NATS_OPTION_KEYS = ['servers', 'name', 'user', 'pass', 'token', 'tls', 'timeout', 'requestTimeoutMs', 'maxReconnectAttempts', 'reconnectTimeWait', 'pingInterval'] as const;

/** The oldest server version used (the client's consumers API needs 2.9.4; Debian ships 2.9.10). */
export const MIN_SERVER_VERSION = [2, 9, 4] as const;

/** The `nats` option after the checks. */
export interface CheckedNats {
  servers: string[];
  requestTimeoutMs: number;
  connect: Record<string, unknown>;
}

/** Checks the `nats` option (`what` names it in messages). */
export function checkNatsOptions(value: unknown, what = 'options.nats'): CheckedNats {
  const o = checkOptions(value, NATS_OPTION_KEYS, what, false);
  const servers = typeof o.servers === 'string' ? [o.servers] : o.servers;
  if (!Array.isArray(servers) || servers.length === 0 || servers.some((s) => typeof s !== 'string' || !/^(nats|tls|ws|wss):\/\/\S+$|^[^\s/:]+(:\d+)?$/.test(s))) {
    throw invalid(`${what}.servers`, o.servers, 'a NATS server URL such as "nats://127.0.0.1:4222", or a non-empty array of them');
  }
  for (const k of ['name', 'user', 'pass', 'token'] as const) if (o[k] !== undefined && typeof o[k] !== 'string') throw invalid(`${what}.${k}`, o[k], 'a string');
  if (o.tls !== undefined && (o.tls === null || typeof o.tls !== 'object')) throw invalid(`${what}.tls`, o.tls, 'an object of TLS options');
  const connectOpts: Record<string, unknown> = {
    servers: servers as string[],
    timeout: o.timeout === undefined ? 5000 : checkInt32(o.timeout, `${what}.timeout`, 1),
    maxReconnectAttempts: o.maxReconnectAttempts === undefined ? -1 : checkInt32(o.maxReconnectAttempts, `${what}.maxReconnectAttempts`, -1),
    reconnectTimeWait: o.reconnectTimeWait === undefined ? 250 : checkInt32(o.reconnectTimeWait, `${what}.reconnectTimeWait`, 0),
    pingInterval: o.pingInterval === undefined ? 10_000 : checkInt32(o.pingInterval, `${what}.pingInterval`, 1),
  };
  for (const k of ['name', 'user', 'pass', 'token', 'tls'] as const) if (o[k] !== undefined) connectOpts[k] = o[k];
  return { servers: servers as string[], requestTimeoutMs: o.requestTimeoutMs === undefined ? 5000 : checkInt32(o.requestTimeoutMs, `${what}.requestTimeoutMs`, 1), connect: connectOpts };
}

/** An open connection with its JetStream handles. */
export interface NatsLink {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** The server's version, e.g. "2.9.10". */
  version: string;
  /** The largest message the server takes (bytes). */
  maxPayload: number;
  /** The URL(s) connected to, for messages. */
  url: string;
  requestTimeoutMs: number;
}

/** `a.b.c` ≥ `min`. */
function atLeast(version: string, min: readonly number[]): boolean {
  const v = version.split(/[.-]/).map((x) => Number.parseInt(x, 10));
  for (let i = 0; i < min.length; i++) {
    const a = Number.isFinite(v[i]) ? v[i]! : 0;
    if (a !== min[i]) return a > min[i]!;
  }
  return true;
}

/**
 * Connects to the servers of `o`: UNAVAILABLE naming the URL when none answers within the
 * timeout; UNAVAILABLE as well when the server has no JetStream or is older than 2.9.4 (the
 * message says which). Nothing is created on the server.
 */
export async function connectNats(o: CheckedNats): Promise<NatsLink> {
  const url = o.servers.join(', ');
  let nc: NatsConnection;
  try {
    nc = await connect(o.connect as never);
  } catch (e) {
    throw unavailable(`no NATS server answered at ${url} within ${o.connect.timeout} ms (${(e as Error).message})`, e);
  }
  try {
    const info = nc.info;
    const version = info?.version ?? '0.0.0';
    if (!atLeast(version, MIN_SERVER_VERSION)) throw unavailable(`the NATS server at ${url} is version ${version}; arrow-cluster-state needs ${MIN_SERVER_VERSION.join('.')} or newer`);
    if (info && info.jetstream === false) throw unavailable(`the NATS server at ${url} runs without JetStream: start it with -js`);
    const jsm = await jetstreamManager(nc, { timeout: o.requestTimeoutMs });
    return { nc, js: jetstream(nc, { timeout: o.requestTimeoutMs }), jsm, version, maxPayload: info?.max_payload ?? 1 << 20, url, requestTimeoutMs: o.requestTimeoutMs };
  } catch (e) {
    await nc.close().catch(() => undefined);
    if (e instanceof StateError) throw e;
    throw unavailable(`JetStream at ${url} did not answer (${(e as Error).message}); is the server started with -js?`, e);
  }
}

/** Whether `e` is a JetStream API error with `code` (e.g. 10071 "wrong last sequence", 10059 "stream not found"). */
export function isApiError(e: unknown, code: number): boolean {
  const x = e as { code?: unknown; api_error?: { err_code?: unknown } } | null;
  return !!x && (x.code === code || x.api_error?.err_code === code);
}

/** A message for an engine failure that names where it happened. */
export function engineFailure(what: string, link: { url: string }, e: unknown): StateError {
  return unavailable(`${what} at ${link.url} failed: ${(e as Error)?.message ?? show(e)}`, e);
}
