/**
 * What the demo shows once a second: a redrawn terminal view on a TTY, one summary line per
 * second otherwise, or one JSON object per line with --json.
 */
import { NODE_ROLES, NODE_STATUSES, TASK_STATUSES } from '../index.js';
import { bytes, clip, duration, int } from '../cli/format.js';

export interface Sample {
  elapsedMs: number;
  /** The planned run time (null: until Ctrl-C). */
  durationMs: number | null;
  dir: string;
  revision: { writer: number; worker: number | null; follower: number | null; durable: number; parquet: number; replicated?: number };
  /** Per second over the last interval. */
  rates: {
    mutations: number; revisions: number; heartbeats: number; created: number; placed: number; started: number;
    completed: number; failed: number; replicated: number; offline: number;
  };
  nodes: Record<string, Record<string, number>>;
  nodesTotal: number;
  nodesOnline: number;
  tasks: Record<string, number>;
  tasksTotal: number;
  content: { total: number; bytes: number };
  /** placeP50: findAvailableNodeForTask on the writer, per placement; query*: pool round trips. */
  latency: { queryP50: number | null; queryP99: number | null; queries: number; placeP50: number | null; flushMs: number | null; followerLagMs: number | null };
  memory: { sharedBytes: number; rssBytes: number };
  follower: string;
}

/** The p-th percentile (0..100) of `values` (null when empty). */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const a = [...values].sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1))]!;
}

const ms = (x: number | null) => (x === null ? '-' : x < 10 ? `${x.toFixed(1)} ms` : `${Math.round(x)} ms`);
const rev = (x: number | null) => (x === null || x < 0 ? '-' : int(x));

function elapsed(s: Sample): string {
  const e = duration(s.elapsedMs).replace(/\.\d s$/, ' s');
  return s.durationMs === null ? `up ${e}` : `${e} of ${duration(s.durationMs).replace(/\.\d s$/, ' s')}`;
}

/** The full-screen frame for a terminal (lines clipped to `width`). */
export function frame(s: Sample, width: number): string[] {
  const r = s.rates;
  const lines = [
    `arrow-cluster-state demo  ${s.dir}  ${elapsed(s)}  (Ctrl-C to stop)`,
    '',
    `revision    writer ${rev(s.revision.writer)}  worker ${rev(s.revision.worker)}  follower ${rev(s.revision.follower)}  durable ${rev(s.revision.durable)}${s.revision.replicated === undefined ? '' : `  replicated ${rev(s.revision.replicated)}`}`,
    `throughput  ${int(r.mutations)} mutations/s (${int(r.revisions)} revisions/s), ${int(s.latency.queries)} queries/s`,
    `  per s     heartbeats ${int(r.heartbeats)}  new ${int(r.created)}  placed ${int(r.placed)}  done ${int(r.completed)}  failed ${int(r.failed)}`,
    `latency     query ${ms(s.latency.queryP50)}, p99 ${ms(s.latency.queryP99)}   place ${ms(s.latency.placeP50)}   flush ${ms(s.latency.flushMs)}   lag ${ms(s.latency.followerLagMs)}`,
    '',
    `nodes       ${NODE_STATUSES.map((x) => x.padStart(10)).join('')}     total`,
  ];
  for (const role of NODE_ROLES) {
    const row = s.nodes[role] ?? {};
    const total = Object.values(row).reduce((a, b) => a + b, 0);
    lines.push(`  ${role.padEnd(10)}${NODE_STATUSES.map((x) => int(row[x] ?? 0).padStart(10)).join('')}${int(total).padStart(10)}`);
  }
  const t = s.tasks;
  lines.push(
    '',
    `tasks       ${int(s.tasksTotal)} total`,
    `            ${taskBar(t, s.tasksTotal, Math.max(10, Math.min(60, width - 14)))}`,
    `            ${['pending', 'assigned', 'running'].map((k) => `${BAR_CHARS[k]} ${k} ${int(t[k])}`).join('   ')}`,
    `            ${['completed', 'failed', 'cancelled'].map((k) => `${BAR_CHARS[k]} ${k} ${int(t[k])}`).join('   ')}`,
    `content     ${int(s.content.total)} items, ${bytes(s.content.bytes)}; ${int(r.replicated)} replicas added/s`,
    `memory      shared buffer ${bytes(s.memory.sharedBytes)}, process RSS ${bytes(s.memory.rssBytes)}`,
    `follower    ${s.follower}`,
  );
  return lines.map((l) => clip(l, width));
}

const BAR_CHARS: Record<string, string> = { pending: '.', assigned: ':', running: '>', completed: '#', failed: 'x', cancelled: '-' };

/** A one-line bar of task statuses (legend: . pending  : assigned  > running  # completed  x failed  - cancelled). */
function taskBar(t: Record<string, number>, total: number, width: number): string {
  if (total <= 0) return '';
  let out = '';
  let acc = 0;
  for (const st of TASK_STATUSES) {
    acc += t[st] ?? 0;
    const upto = Math.round((acc / total) * width);
    out += (BAR_CHARS[st] ?? '?').repeat(Math.max(0, upto - out.length));
  }
  return `[${out}]`;
}

/** One line per second for logs and pipes. */
export function line(s: Sample): string {
  const t = s.tasks;
  return `[${(s.elapsedMs / 1000).toFixed(0).padStart(4)}s] rev ${rev(s.revision.writer)} (worker ${rev(s.revision.worker)}, follower ${rev(s.revision.follower)}, durable ${rev(s.revision.durable)}${s.revision.replicated === undefined ? '' : `, replicated ${rev(s.revision.replicated)}`})`
    + ` | ${int(s.rates.mutations)} mut/s | nodes ${int(s.nodesOnline)}/${int(s.nodesTotal)} online`
    + ` | tasks pending ${int(t.pending)} assigned ${int(t.assigned)} running ${int(t.running)} completed ${int(t.completed)} failed ${int(t.failed)} cancelled ${int(t.cancelled)}`
    + ` | content ${int(s.content.total)} | query p50 ${ms(s.latency.queryP50)} place ${ms(s.latency.placeP50)} flush ${ms(s.latency.flushMs)} lag ${ms(s.latency.followerLagMs)}`;
}

/** The JSON form of a sample (one line per second with --json). */
export function json(s: Sample): Record<string, unknown> {
  return {
    event: 'sample',
    elapsed_s: Math.round(s.elapsedMs) / 1000,
    revision: s.revision,
    per_second: s.rates,
    nodes: { total: s.nodesTotal, online: s.nodesOnline, by_role_status: s.nodes },
    tasks: { total: s.tasksTotal, by_status: s.tasks },
    content: s.content,
    latency_ms: { query_p50: s.latency.queryP50, query_p99: s.latency.queryP99, queries_per_s: s.latency.queries, place_p50: s.latency.placeP50, flush: s.latency.flushMs, follower_lag: s.latency.followerLagMs },
    memory: { shared_bytes: s.memory.sharedBytes, rss_bytes: s.memory.rssBytes },
  };
}
