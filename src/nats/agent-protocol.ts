/**
 * The agent protocol (docs/cluster.md), shared by the master's agent service and the agents:
 * request/reply over core NATS, JSON bodies.
 *
 * - Requests go to `acs.<id>.agent` (the master answers; no master → no responders/timeout →
 *   the agent retries, then UNAVAILABLE): `{ v: 1, op, rid, node, args }`. `rid` is the request
 *   id: a retried request carries the same one, and the master answers it from its dedup window
 *   without applying it twice.
 * - Replies: `{ ok: true, revision, result? }` or `{ ok: false, code, message }` — the master's
 *   StateError, code and message as they are.
 * - Assignments are pushed to `acs.<id>.tasks.<node token>` as `{ seq, task }` (`seq`: the
 *   master's assignment counter, which orders them and names each assignment once); an agent
 *   also asks `op: 'assigned'` when it (re)connects, for what it may have missed.
 * Why request/reply rather than a work stream: an agent's call must answer with the revision that
 * applied it or the master's refusal, which is a reply; the state itself is the durable record
 * (a lost reply is retried under the same request id), so a second durable log of requests would
 * only duplicate it.
 */
import { clusterToken } from './names.js';

export const AGENT_PROTOCOL_VERSION = 1;

/** The operations of the protocol. */
export const AGENT_OPS = ['join', 'heartbeat', 'updateTask', 'addContent', 'addProvider', 'removeProvider', 'leave', 'assigned'] as const;
export type AgentOp = (typeof AGENT_OPS)[number];

export interface AgentRequest {
  v: number;
  op: AgentOp;
  rid: string;
  node: string;
  args: unknown[];
}

export type AgentReply =
  | { ok: true; revision: number; result?: unknown }
  | { ok: false; code: string; message: string };

/** One assignment pushed to an agent. */
export interface AssignmentMessage {
  seq: number;
  task: Record<string, unknown>;
}

/** The subject the master answers requests on. */
export function agentSubject(clusterId: string): string {
  return `acs.${clusterToken(clusterId)}.agent`;
}

/** The subject assignments to `nodeId` are pushed on. */
export function taskSubject(clusterId: string, nodeId: string): string {
  return `acs.${clusterToken(clusterId)}.tasks.${clusterToken(nodeId)}`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const encodeJson = (v: unknown): Uint8Array => encoder.encode(JSON.stringify(v));
export const decodeJson = (b: Uint8Array): unknown => JSON.parse(decoder.decode(b));
