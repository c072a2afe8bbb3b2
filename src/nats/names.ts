/**
 * Where a cluster lives in NATS JetStream: one stream of change batches, one object store bucket
 * of snapshots, one KV bucket holding the master's lease — all named from the cluster id — and the
 * subjects and headers of the stream's messages. The names are our on-the-wire format: a follower
 * of another version of this library finds the same cluster under the same names
 * (docs/replication.md, "Names on the server").
 */
import { createHash } from 'node:crypto';

/**
 * The cluster id as it appears in NATS names: itself when it is 1–64 of `A–Z a–z 0–9 _ -` (NATS
 * stream, bucket and subject names refuse `.`, `*`, `>`, whitespace and path separators), else
 * `h` + the first 32 hex digits of its SHA-256. The stream's description holds the real id, so
 * that a hash collision (or another cluster's stream) is seen: CORRUPT.
 */
export function clusterToken(clusterId: string): string {
  if (/^[A-Za-z0-9_-]{1,64}$/.test(clusterId)) return clusterId;
  return `h${createHash('sha256').update(clusterId, 'utf8').digest('hex').slice(0, 32)}`;
}

/** The names of one cluster's objects on the server. */
export interface ClusterNames {
  clusterId: string;
  token: string;
  /** The stream of change batches (one message per group of consecutive revisions). */
  stream: string;
  /** Full change batches: every changed entity's whole record. */
  changes: string;
  /** The leecher projection of the same revisions (leecher.ts): what a leecher may see. */
  leech: string;
  /** The object store bucket of snapshots. */
  snapshots: string;
  /** The KV bucket of the master's lease. */
  lease: string;
}

export function clusterNames(clusterId: string): ClusterNames {
  const token = clusterToken(clusterId);
  return {
    clusterId, token,
    stream: `ACS_${token}`,
    changes: `acs.${token}.changes`,
    leech: `acs.${token}.leech`,
    snapshots: `acs_${token}_snapshots`,
    lease: `acs_${token}_lease`,
  };
}

/** The stream's description (JSON): what it holds, for which cluster. Anything else: CORRUPT. */
export const STREAM_FORMAT = 'arrow-cluster-state/change-batches';
export const STREAM_FORMAT_VERSION = 1;

/** Headers of a stream message. */
export const HEADER = {
  /** First and last revision the message covers (a change batch of consecutive revisions). */
  first: 'Acs-First',
  last: 'Acs-Last',
  /** `changes` (a change batch) or `rebase` (load the snapshot named by `snapshot`: the log does not continue without it). */
  kind: 'Acs-Kind',
  /** The snapshot object a rebase points to. */
  snapshot: 'Acs-Snapshot',
  /** The writer that published it: `<nodeId>/<session>`. */
  writer: 'Acs-Writer',
  /** How the payload is encoded: `deflate` (a raw-deflated change batch), `none` (the batch as it is), `empty` (no payload: nothing on this subject changed in first..last). */
  encoding: 'Acs-Encoding',
  /** For `empty`: the commit time (epoch ms) and master of revision `last`. */
  updatedAt: 'Acs-Updated-At',
  master: 'Acs-Master',
} as const;

export type PayloadEncoding = 'deflate' | 'none' | 'empty';

export type MessageKind = 'changes' | 'rebase';

/** The key of the master's lease in the lease bucket. */
export const LEASE_KEY = 'master';

/** Object names of snapshots: `<projection>-<revision, 16 digits>` (sorted by name = by revision). */
export function snapshotObjectName(projection: 'full' | 'leecher', revision: number): string {
  return `${projection}-${String(revision).padStart(16, '0')}`;
}

/** The revision in a snapshot object's name, or null when the name is not one of ours for `projection`. */
export function snapshotRevisionOf(name: string, projection: 'full' | 'leecher'): number | null {
  const m = /^(full|leecher)-(\d{16})$/.exec(name);
  return m && m[1] === projection ? Number(m[2]) : null;
}
