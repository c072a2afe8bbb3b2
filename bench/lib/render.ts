/**
 * The performance page (docs/performance.md) and the README's headline figures, rendered from a
 * results file. `node dist/bench/readme.js` (and a complete `npm run bench`) rewrites the part of
 * docs/performance.md between `<!-- bench:start -->` and `<!-- bench:end -->` and the part of
 * README.md between `<!-- headline:start -->` and `<!-- headline:end -->`; a test checks that
 * both still match the committed results, so no figure in either is hand-written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fmt, fmtRatio, type Figure } from './report.js';

export interface Results {
  date: string;
  mode: string;
  machine: { cpus: number; cpu?: string; memoryBytes: number; platform: string; node: string; versions: Record<string, string> };
  figures: Figure[];
  skipped: { what: string; why: string }[];
  /** Partial runs merged in afterwards (bench/merge.ts): their suites and scales replace the complete run's. */
  merged?: { date: string; suites: string[]; scales: string[]; machine: Results['machine'] }[];
}

/** The generated page, relative to the repository root. */
export const PERFORMANCE_DOC = 'docs/performance.md';
export const START = '<!-- bench:start -->';
export const END = '<!-- bench:end -->';
export const HEADLINE_START = '<!-- headline:start -->';
export const HEADLINE_END = '<!-- headline:end -->';

const SUITES: Record<string, string> = {
  writer: 'Writer: mutation throughput and Arrow tables',
  shared: 'Shared memory: mutation → worker thread',
  persist: 'State directory: durability, followers, Parquet',
  helpers: 'Helpers: columnar vs row objects',
  memory: 'Memory',
  queries: 'Queries and loading — against SQLite, lmdb-js and arquero',
  journal: 'Journal: durable flushes, group commit, followers, watch, recovery — against SQLite and lmdb-js',
  replication: 'Replication over NATS JetStream: remote followers, replicated throughput, snapshots, bytes on the wire',
  cluster: 'The cluster acting: node agents, heartbeat storms, scheduling, failover',
};

/** What a suite's figures were measured against, said once above its table. */
const SUITE_NOTES: Record<string, string> = {
  queries: 'Peers, on the same records in the same run: SQLite (better-sqlite3; WAL, `synchronous=FULL`; the record as JSON beside the queried fields as columns), asked twice — with an index on each column (a schema made before the question was known: the ad-hoc case the query API is for) and with an index built for the question (a composite, an expression or a covering index: SQLite at its best); lmdb-js (one entry per entity, msgpack; no secondary indexes, so its questions are scans); arquero 7.2.1 (filters and rollups as arquero expressions over the same Arrow tables, decoded by its own reader beforehand, not timed). Ours: the query API (`queryState`) on a snapshot, against the hand-written column scan of the same question (the baseline: the goal is at most 1.5× its time) and the helper + JavaScript filter route; warm (each route is called for 50 ms before its timed runs). Loading is opening a state directory that holds the cluster\'s seed-layout Parquet file (imported with every row checked, then checkpointed); the lookup runs in a worker thread over shared memory. Every route\'s answers are checked equal. Targets are the goals of issues 13 and 14.',
  cluster: 'Each scale starts its own nats-server (JetStream on a temporary directory, loopback) and stops it after. Masters start from the scale\'s tables (`ClusterState.open({ clusterId, nodeId, nats, import, liveness: { heartbeatTimeoutMs: 10000 }, scheduler })`, in memory) in the bench process; node agents (`arrow-cluster-state/agent`) run in a child process, so the master\'s process is not the client\'s. Agent calls: one agent, sequential `addProvider`/`removeProvider` on one content item, each a written revision, timed from the call to its reply with the applying revision. Heartbeat storm: simulated agents on a few `AgentConnection`s in one child (at M the scale\'s 10,000 node ids, joining upserts them), `heartbeatMs: 2000` with a `resources()` function (load figures, coalesced by liveness); answered = heartbeats the master\'s liveness took (coalesced + written) per second; CPU = `process.cpuUsage()` of the master\'s process over the window, in % of one core. Pending → running: the scale\'s nodes set offline and its pending tasks cancelled first (one revision), so 20 agents of 8 cpus are the only place for work; the scheduler ticks every 50 ms and soon after a commit that adds pending work; each task is stamped with the wall clock before `addTask` and timed until the agent\'s `updateTask(id, { status: \'running\' })` resolved (the clock is shared). Failover: the master is test/fixtures/nats-master.js in a child process (a small state directory, not the scale), the standby in the bench process (`standby: true`), both with `leaseMs` 2000; kill -9, then the time until `leadership()` resolves and until the standby accepts a `registerNode`.',
  replication: 'Each scale starts its own nats-server (JetStream on a temporary directory, loopback) and stops it after; every master starts from the scale\'s tables (`ClusterState.open({ clusterId, nodeId, nats, import })`, in memory unless a state directory is named), with the default replication settings (a snapshot every 10,000 revisions) unless said otherwise. Followers run in their own process (`followState({ nats, clusterId, projection })`), one at a time while latencies are measured; each calls `snapshot()` on every `change`, so "holds it in its Tables" includes building them; the clock is shared (`performance.timeOrigin + performance.now()`). The latency mutation toggles a node\'s status (online ⇄ degraded: in both projections), one at a time, 2 ms apart. Replicated mutations/s: a burst of single heartbeats (each its own revision), from the first mutation until `replicated()` resolves, beside the same burst on a writer without NATS until `published()` (in memory) or `flush()` (state directory) — snapshots written during the burst are included. Bytes per mutation: message payloads received by the follower (headers excluded; payloads of 512 bytes and more are deflated), heartbeats of 100 nodes each seen once before the run (the leecher view publishes an entity\'s first change after the master starts in full), each mutation replicated before the next (one message per revision: the worst case; bursts are grouped), against re-sending the gzip full snapshot per change. Not measured at L: loading L and importing it into the suite\'s writers takes several minutes before the first figure.',
  journal: 'Peers, on the same records in the same run: SQLite (better-sqlite3; WAL, `synchronous=FULL`, one row per entity holding its record as JSON) and lmdb-js (`overlappingSync`, its Linux default; one entry per entity). A mutation changes one task\'s priority (the peers read the record, change it and write it back). "Durable" means: ours once `flush()` resolves (journal appended and fdatasynced), SQLite when the commit returns, lmdb-js once `flushed` resolves. The peers\' followers poll every 1 ms (SQLite: `PRAGMA data_version`, then the changed row; lmdb-js: a renewed read transaction) and see a change at its commit, ours once it is durable. Targets are the goals of issue 12, at M.',
};

/** The baseline column: the baseline and every peer, each with how many times better (or worse) ours is. */
function baselines(f: Figure): string {
  const all = [...(f.baseline ? [{ ...f.baseline, advantage: f.advantage! }] : []), ...(f.peers ?? [])];
  return all.map((b) => `${b.name}: ${fmt(b.value.median)} ${f.unit} → **${fmtRatio(b.advantage)}**`).join('<br>');
}

function cell(f: Figure): string {
  const v = f.value;
  const spreadText = v.runs.length > 1 ? ` <sub>(${fmt(v.min)}–${fmt(v.max)})</sub>` : '';
  return `${fmt(v.median)} ${f.unit}${spreadText}`;
}

function measuredBy(r: Results): string {
  const m = r.machine;
  return `Measured by \`npm run bench${r.mode === 'quick' ? ' -- --quick' : ''}\` on ${r.date.slice(0, 10)}: ${m.cpus} × ${m.cpu ?? 'CPU'}, ${Math.round(m.memoryBytes / 2 ** 30)} GiB, ${m.platform}, Node ${m.node}, apache-arrow ${m.versions['apache-arrow']}, parquet-wasm ${m.versions['parquet-wasm']}.`;
}

/**
 * The performance page's generated part. Links are relative to `base`, the way from the page to
 * the repository root (`../` for docs/performance.md).
 */
export function renderResults(r: Results, base = '../'): string {
  const out: string[] = [];
  out.push(measuredBy(r));
  for (const x of r.merged ?? []) {
    out.push(`The ${x.suites.join(', ')} figures at ${x.scales.join(', ')} come from a later run (\`npm run bench -- --suites ${x.suites.join(',')} --scales ${x.scales.join(',')}\`, merged by \`node dist/bench/merge.js\`) on ${x.date.slice(0, 10)}: ${x.machine.cpus} × ${x.machine.cpu ?? 'CPU'}, Node ${x.machine.node}, better-sqlite3 ${x.machine.versions['better-sqlite3'] ?? 'missing'}, lmdb ${x.machine.versions.lmdb ?? 'missing'}.`);
  }
  out.push('Scales: S = 1k nodes / 10k tasks / 10k content, M = 10k / 100k / 100k, L = 100k / 1M / 1M. Values are medians (min–max over repeated runs where there were several); latencies are p50/p99 over the trials of one run. "vs" gives a baseline measured in the same run on the same data, and how many times better (or worse) we are.');
  out.push('');
  if (r.mode === 'full') out.push(`![How latency and throughput scale from S to L](${base}bench/results/scaling.svg)`, '');
  const suites = [...new Set(r.figures.map((f) => f.suite))];
  for (const s of suites) {
    out.push(`### ${SUITES[s] ?? s}`);
    out.push('');
    if (SUITE_NOTES[s]) out.push(SUITE_NOTES[s]!, '');
    out.push('| scale | figure | ours | target | baseline (same run) |');
    out.push('|---|---|---|---|---|');
    for (const f of r.figures.filter((x) => x.suite === s)) {
      out.push(`| ${f.scale} | ${f.name} | ${cell(f)} | ${f.target ?? ''} | ${baselines(f)} |`);
    }
    out.push('');
  }
  if (r.skipped.length) out.push(`Skipped: ${r.skipped.map((x) => `${x.what} (${x.why})`).join('; ')}.`, '');
  out.push(`Raw figures: [\`bench/results/latest-${r.mode}.json\`](${base}bench/results/latest-${r.mode}.json).`);
  return out.join('\n');
}

/** The README's headline figures: one row per figure, one column per scale. */
export const HEADLINE: readonly { label: string; suite: string; name: string }[] = [
  { label: '`addTask`, one mutation at a time', suite: 'writer', name: 'addTask' },
  { label: '`getTables()` after one mutation', suite: 'writer', name: 'getTables() after one mutation' },
  { label: 'publish a fixed-width change to shared memory, p50', suite: 'shared', name: 'publish cost (vs full rebuild + IPC + copy)' },
  { label: 'mutation → worker thread, p50', suite: 'shared', name: 'fixed: node status → worker p50' },
  { label: 'mutation → worker thread, p99', suite: 'shared', name: 'fixed: node status → worker p99' },
  { label: 'heartbeat storm, one heartbeat per event-loop turn', suite: 'shared', name: 'sustained, 1 per turn, adaptive publishing (heartbeat storm)' },
  { label: '… heartbeat → visible to worker threads, p99', suite: 'shared', name: 'sustained, 1 per turn, adaptive publishing (heartbeat storm): mutation → visible p99' },
  { label: 'one mutation, then durable (`flush()`), p50', suite: 'journal', name: 'one mutation then durable (flush) p50' },
  { label: 'point lookup by id → full record, in a worker thread', suite: 'queries', name: 'point lookup by id → full record, in a worker thread, warm' },
  { label: 'query: count tasks by status', suite: 'queries', name: 'count tasks by status (query API)' },
  { label: 'query: content with fewer providers than its replication', suite: 'queries', name: 'content with fewer providers than its replication (query API)' },
  { label: 'mutation → another process holds the tables, p50', suite: 'persist', name: 'mutation → follower process holds Tables p50' },
  { label: 'follower cold load (another process)', suite: 'persist', name: 'follower cold load (other process)' },
  { label: 'mutation → remote follower (over NATS JetStream) holds the tables, p50', suite: 'replication', name: 'mutation → full follower process holds it in its Tables p50' },
  { label: '… p99', suite: 'replication', name: 'mutation → full follower process holds it in its Tables p99' },
  { label: 'replicated mutations/s (heartbeat burst, then `replicated()`)', suite: 'replication', name: 'replicated mutations/s, a burst of heartbeats then replicated()' },
  { label: 'reopening the state directory (`open`)', suite: 'persist', name: 'recovery to a usable state (open)' },
  { label: 'Parquet export (zstd, on its own thread)', suite: 'persist', name: 'Parquet export (zstd, in a worker)' },
  { label: 'writer event-loop stall during that export', suite: 'persist', name: 'writer event-loop stall during Parquet export' },
  { label: '`getClusterStatusSummary()` on the writer', suite: 'helpers', name: 'getClusterStatusSummary() (writer)' },
  { label: 'shared memory after load', suite: 'memory', name: 'shared memory after load' },
];

/** The headline table (S, M, L columns; the baseline measured at M), linking to the full page. */
export function renderHeadline(r: Results): string {
  const scales = ['S', 'M', 'L'];
  const find = (suite: string, name: string, scale: string) => r.figures.find((f) => f.suite === suite && f.name === name && f.scale === scale);
  const out: string[] = [];
  out.push(`${measuredBy(r)} Medians; S = 1k nodes / 10k tasks / 10k content, M = 10k / 100k / 100k, L = 100k / 1M / 1M; "—" = not measured at that scale.`);
  out.push('');
  out.push('| figure | S | M | L | baseline or peers at M (same run) |');
  out.push('|---|--:|--:|--:|---|');
  for (const h of HEADLINE) {
    const cells = scales.map((s) => {
      const f = find(h.suite, h.name, s);
      return f ? `${fmt(f.value.median)} ${f.unit}` : '—';
    });
    const m = find(h.suite, h.name, 'M');
    const base = [
      ...(m?.baseline ? [`${m.baseline.name}: ${fmt(m.baseline.value.median)} ${m.unit} → **${fmtRatio(m.advantage!)}**`] : []),
      ...(m?.peers ?? []).map((p) => `${p.name}: ${fmt(p.value.median)} ${m!.unit} → **${fmtRatio(p.advantage)}**`),
    ].join('; ');
    out.push(`| ${h.label} | ${cells.join(' | ')} | ${base} |`);
  }
  out.push('');
  out.push(`Every figure, the targets and the misses: [docs/performance.md](${PERFORMANCE_DOC}).`);
  return out.join('\n');
}

/** `text` with the part between `start` and `end` replaced by `body`. */
function between(text: string, start: string, end: string, body: string, file: string): string {
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${file} has no ${start} … ${end} markers`);
  return `${text.slice(0, a + start.length)}\n${body}\n${text.slice(b)}`;
}

/** The section of `text` between `start` and `end`, trimmed (for the test). */
export function section(text: string, start: string, end: string): string {
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`no ${start} … ${end} markers`);
  return text.slice(a + start.length, b).trim();
}

/** docs/performance.md's text with its generated part replaced by the rendering of `r`. */
export function withResults(page: string, r: Results): string {
  return between(page, START, END, renderResults(r), PERFORMANCE_DOC);
}

/** README.md's text with its headline figures replaced by the rendering of `r`. */
export function withHeadline(readme: string, r: Results): string {
  return between(readme, HEADLINE_START, HEADLINE_END, renderHeadline(r), 'README.md');
}

/**
 * Rewrites docs/performance.md and the README's headline figures under the repository `root`
 * from `r`. Returns the files written.
 */
export function writeResultDocs(root: URL, r: Results): string[] {
  const page = new URL(PERFORMANCE_DOC, root);
  const readme = new URL('README.md', root);
  writeFileSync(page, withResults(readFileSync(page, 'utf8'), r));
  writeFileSync(readme, withHeadline(readFileSync(readme, 'utf8'), r));
  return [PERFORMANCE_DOC, 'README.md'];
}
