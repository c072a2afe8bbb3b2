/**
 * Reading a cluster's stream: whether it exists and holds what we expect (its description names
 * the format and the cluster: anything else is CORRUPT and is never written to), and the header of
 * a stream message (the revisions it covers, its kind, its writer). Used by the master before it
 * publishes and by remote followers before they read.
 */
import type { MsgHdrs } from '@nats-io/transport-node';
import { corrupt, show } from '../errors.js';
import { engineFailure, isApiError, type NatsLink } from './connect.js';
import { inflateRawSync } from 'node:zlib';
import { HEADER, STREAM_FORMAT, STREAM_FORMAT_VERSION, type ClusterNames, type MessageKind, type PayloadEncoding } from './names.js';

/** What a stream message says about itself. */
export interface MessageHead {
  seq: number;
  kind: MessageKind;
  first: number;
  last: number;
  writer: string;
  /** For a rebase: the snapshot object to load. */
  snapshot: string | null;
  encoding: PayloadEncoding;
  /** For an `empty` payload: revision `last`'s commit time and master. */
  updatedAt: number;
  masterId: string | null;
}

/** The description a cluster's stream carries. */
export function streamDescription(clusterId: string): string {
  return JSON.stringify({ format: STREAM_FORMAT, version: STREAM_FORMAT_VERSION, clusterId });
}

/** The stream's state, or null when it does not exist; CORRUPT when it holds something else. */
export async function readStream(link: NatsLink, names: ClusterNames): Promise<{ firstSeq: number; lastSeq: number; messages: number; bytes: number; replicas: number } | null> {
  let info;
  try {
    info = await link.jsm.streams.info(names.stream);
  } catch (e) {
    if (isApiError(e, 10059) || /stream not found/i.test((e as Error).message)) return null;
    throw engineFailure(`reading stream ${names.stream}`, link, e);
  }
  checkDescription(info.config.description, names);
  return { firstSeq: info.state.first_seq, lastSeq: info.state.last_seq, messages: info.state.messages, bytes: info.state.bytes, replicas: info.config.num_replicas };
}

/** CORRUPT unless `description` says the stream holds our change batches for this cluster. */
export function checkDescription(description: string | undefined, names: ClusterNames): void {
  type Described = { format?: unknown; version?: unknown; clusterId?: unknown };
  let d: Described | null;
  try {
    d = JSON.parse(description ?? '') as Described | null;
  } catch {
    d = null;
  }
  if (!d || d.format !== STREAM_FORMAT) {
    throw corrupt(`NATS stream ${names.stream} does not hold arrow-cluster-state change batches (its description is ${show(description ?? '')}); nothing was written to it`);
  }
  if (d.version !== STREAM_FORMAT_VERSION) throw corrupt(`NATS stream ${names.stream} holds change batches of format version ${show(d.version)}; this library reads version ${STREAM_FORMAT_VERSION}`);
  if (d.clusterId !== names.clusterId) throw corrupt(`NATS stream ${names.stream} holds cluster ${show(d.clusterId)}, not ${show(names.clusterId)}; nothing was written to it`);
}

/** The head of a message from its headers; CORRUPT when they are missing or inconsistent. */
export function messageHead(seq: number, h: MsgHdrs | undefined, where: string): MessageHead {
  const num = (k: string) => {
    const v = h?.get(k) ?? '';
    const n = Number(v);
    if (v === '' || !Number.isSafeInteger(n) || n < 0) throw corrupt(`${where}: message ${seq} has header ${k} = ${show(v)}, not a revision`);
    return n;
  };
  const kind = h?.get(HEADER.kind) ?? '';
  if (kind !== 'changes' && kind !== 'rebase') throw corrupt(`${where}: message ${seq} has header ${HEADER.kind} = ${show(kind)}`);
  const first = num(HEADER.first);
  const last = num(HEADER.last);
  if (last < first) throw corrupt(`${where}: message ${seq} covers revisions ${first}..${last}`);
  const encoding = (h?.get(HEADER.encoding) || 'none') as PayloadEncoding;
  if (encoding !== 'deflate' && encoding !== 'none' && encoding !== 'empty') throw corrupt(`${where}: message ${seq} has header ${HEADER.encoding} = ${show(encoding)}`);
  const updatedAt = encoding === 'empty' && kind === 'changes' ? num(HEADER.updatedAt) : 0;
  return {
    seq, kind, first, last, writer: h?.get(HEADER.writer) ?? '', snapshot: kind === 'rebase' ? h?.get(HEADER.snapshot) || null : null,
    encoding, updatedAt, masterId: h?.get(HEADER.master) || null,
  };
}

/** The change batch a message carries: inflated when deflated; null for an `empty` one. CORRUPT when it does not inflate. */
export function messagePayload(head: MessageHead, data: Uint8Array, where: string): Uint8Array | null {
  if (head.encoding === 'empty') return null;
  if (head.encoding === 'none') return data;
  try {
    return inflateRawSync(data);
  } catch (e) {
    throw corrupt(`${where}: message ${head.seq} does not inflate (${(e as Error).message})`, e);
  }
}

/** The newest message on `subject`, or null when there is none. */
export async function lastMessage(link: NatsLink, names: ClusterNames, subject: string): Promise<MessageHead | null> {
  let m;
  try {
    m = await link.jsm.streams.getMessage(names.stream, { last_by_subj: subject });
  } catch (e) {
    if (isApiError(e, 10037) || /no message found/i.test((e as Error).message)) return null;
    throw engineFailure(`reading the last message of ${subject}`, link, e);
  }
  if (!m) return null;
  return messageHead(m.seq, m.header, `stream ${names.stream}`);
}
