/**
 * Replication over NATS JetStream (docs/replication.md) at the loaded scale, each part with a real
 * nats-server started here and stopped after:
 *
 * 1. mutation → a remote follower in another process holds it in its Tables (it calls snapshot()
 *    on every 'change'), p50/p99 — a full follower and a leecher;
 * 2. replicated mutations/s: a burst of single mutations (heartbeats), then `await replicated()`,
 *    beside the same burst on a writer without NATS (in memory; and on a state directory, both
 *    sides then durable);
 * 3. snapshots: the full and leecher snapshot sizes (gzip), `ClusterState.open({ nats, import })`
 *    on a fresh server (import + the first snapshot), and a new follower's cold load (full, leecher);
 * 4. bytes received per mutation by a full and a leecher follower (message payloads), for isolated
 *    heartbeats and for mixed task/content mutations, against re-sending the whole state per change.
 *
 * Every master starts from the loaded scale's tables (`import`), so its revision 1 is the whole
 * state. Follower processes run one at a time while latencies are measured (2 cores are shared).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Table } from 'apache-arrow';
import { ClusterState } from '../../src/index.js';
import { cid, loadSynthetic, nodeId, type SyntheticScale } from '../../src/demo/synthetic.js';
import type { EntityKind } from '../../src/schema/entities.js';
import { NatsServer } from '../../test/support/nats-server.js';
import { Child } from '../lib/child.js';
import type { Report } from '../lib/report.js';
import { summarize, wallNow } from '../lib/stats.js';

const lib = (name: string) => new URL(`../lib/${name}.js`, import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SUITE = 'replication';

export interface ReplicationOptions {
  /** Isolated mutations per follower latency (after 20 warm-up ones). */
  trials: number;
  /** Mutations of one throughput burst. */
  burst: number;
  /** Bursts of each kind (min/median/max over them). */
  bursts: number;
  /** Isolated mutations of each bytes-per-mutation run (heartbeats; mixed: a multiple of 5). */
  byteMutations: number;
  /** Also the durable (state directory) throughput. */
  durable: boolean;
}

type Tables = Record<EntityKind, Table>;

/** A follower process (nats-follower.ts). */
class FollowerChild {
  readonly child: Child;
  coldMs = 0;
  snapshotBytes = 0;
  revision = 0;
  constructor(url: string, clusterId: string, readonly projection: 'full' | 'leecher') {
    this.child = new Child(lib('nats-follower'), [url, clusterId, projection]);
  }
  async ready(): Promise<this> {
    const [rev, ms, bytes] = (await this.child.next('READY', () => true, 300_000)).map(Number);
    this.revision = rev!;
    this.coldMs = ms!;
    this.snapshotBytes = bytes!;
    return this;
  }
  /** The wall time at which it held `rev` (or later). */
  async holds(rev: number, timeoutMs = 60_000): Promise<number> {
    return Number((await this.child.next('REV', (f) => Number(f[0]) >= rev, timeoutMs))[1]);
  }
  async stats(): Promise<{ messages: number; bytes: number; loads: number; snapshotBytes: number; revision: number }> {
    this.child.send('STATS');
    const [messages, bytes, loads, snapshotBytes, revision] = (await this.child.next('STATS')).map(Number);
    return { messages: messages!, bytes: bytes!, loads: loads!, snapshotBytes: snapshotBytes!, revision: revision! };
  }
  end(): Promise<void> {
    return this.child.end();
  }
}

export async function replicationSuite(report: Report, scale: string, loaded: SyntheticScale, opts: ReplicationOptions): Promise<void> {
  const m = scale === 'M';
  const t0 = performance.now();
  const source = ClusterState.inMemory({ clusterId: `bench-repl-src-${scale}` });
  await loadSynthetic(source, loaded, { seed: 7, chunk: 10_000 });
  const tables = source.getTables();
  await source.close();
  process.stdout.write(`  ${scale.padEnd(3)} (replication: scale loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  // Online non-leecher nodes (heartbeat and assignment targets), in table order.
  const online: string[] = [];
  {
    const ids = tables.nodes.getChild('id')!;
    const roles = tables.nodes.getChild('role')!;
    const status = tables.nodes.getChild('status')!;
    for (let i = 0; i < tables.nodes.numRows; i++) if (status.get(i) === 'online' && roles.get(i) !== 'leecher') online.push(ids.get(i) as string);
  }
  const server = await NatsServer.start();
  try {
    await latencyAndSnapshots(report, scale, server.url, tables, online, opts, m);
    await throughput(report, scale, server.url, tables, online, opts);
    await snapshotStall(report, scale, server.url, tables, online);
  } finally {
    await server.stop();
  }
}

/** Parts 1, 3 and 4 on one master. */
async function latencyAndSnapshots(report: Report, scale: string, url: string, tables: Tables, online: string[], opts: ReplicationOptions, m: boolean): Promise<void> {
  const clusterId = `bench-repl-${scale}`;
  // 3. open on a fresh server: import + the first snapshot (a rebase); beside it, the import alone.
  let a = performance.now();
  const plain = ClusterState.inMemory({ clusterId: `${clusterId}-plain`, import: tables });
  const importMs = performance.now() - a;
  const liveBytes = plain.memoryStats().liveBytes;
  await plain.close();
  a = performance.now();
  const master = await ClusterState.open({ clusterId, nodeId: nodeId(0), nats: { servers: url }, import: tables });
  const openMs = performance.now() - a;
  const children: FollowerChild[] = [];
  try {
    const st = master.replicationStats()!;
    report.check('the master wrote its first snapshot at open', st.snapshots === 1 && st.snapshotRevision === master.revision, JSON.stringify(st));
    report.add({
      suite: SUITE, scale, name: 'ClusterState.open({ nats, import }) on a fresh server (import + first snapshot)', unit: 'ms', better: 'lower', runs: [openMs],
      baseline: { name: 'the import alone (in memory, no NATS)', runs: [importMs] },
    });
    report.add({ suite: SUITE, scale, name: 'full snapshot, gzip', unit: 'MB', better: 'lower', runs: [st.snapshotBytes / 1e6], baseline: { name: 'the live Arrow state, uncompressed', runs: [liveBytes / 1e6] } });

    // 1. Mutation → follower process holds it; one follower process at a time (2 cores shared).
    // The mutation: a node's status toggled online ⇄ degraded (in both projections).
    const node = online[Math.floor(online.length / 2)]!;
    let flip = false;
    const mutate = () => {
      flip = !flip;
      master.updateNodeStatus(node, flip ? 'degraded' : 'online');
    };
    const targets = { p50: '≤ 5 ms', p99: '≤ 30 ms' };
    const cold: Record<string, number> = {};
    for (const projection of ['full', 'leecher'] as const) {
      // 3. The cold load of a new follower (followState until it resolves, in its process).
      const f = await new FollowerChild(url, clusterId, projection).ready();
      try {
        report.check(`a new ${projection} follower holds the master's revision`, f.revision === master.revision, `${f.revision} vs ${master.revision}`);
        cold[projection] = f.coldMs;
        if (projection === 'leecher') {
          report.add({ suite: SUITE, scale, name: 'leecher snapshot, gzip', unit: 'MB', better: 'lower', runs: [f.snapshotBytes / 1e6], baseline: { name: 'the full snapshot', runs: [st.snapshotBytes / 1e6] } });
        }
        report.add({
          suite: SUITE, scale, name: `cold load of a new ${projection} follower (followState resolves)`, unit: 'ms', better: 'lower', runs: [f.coldMs],
          baseline: projection === 'leecher' ? { name: 'a full follower', runs: [cold.full!] } : undefined,
        });
        const lat: number[] = [];
        for (let k = 0; k < opts.trials + 20; k++) {
          const t = wallNow();
          mutate();
          const held = await f.holds(master.revision);
          if (k >= 20) lat.push(held - t);
          await sleep(2);
        }
        const L = summarize(lat);
        for (const q of ['p50', 'p99'] as const) {
          report.add({ suite: SUITE, scale, name: `mutation → ${projection} follower process holds it in its Tables ${q}`, unit: 'ms', better: 'lower', runs: [L[q]], target: m && projection === 'full' ? targets[q] : undefined });
        }
      } finally {
        await f.end();
      }
    }
    if (flip) mutate(); // back online
    await master.replicated();
    children.push(await new FollowerChild(url, clusterId, 'full').ready(), await new FollowerChild(url, clusterId, 'leecher').ready());

    // 4. Bytes received per mutation, each mutation replicated on its own (one message per revision).
    const wholeState = master.replicationStats()!.snapshotBytes;
    // Heartbeats of 100 nodes, each seen once before the run: the master's leecher view publishes an
    // entity's first change after it starts (or rebases) in full, then only changes of its projection.
    const beating = online.slice(0, 100);
    for (const id of beating) master.heartbeat(id, { cpu_load: 0 });
    await master.replicated();
    const heartbeats = async (n: number) => {
      for (let k = 0; k < n; k++) {
        master.heartbeat(beating[k % beating.length]!, { cpu_load: (k * 37) % 1000 / 10, memory_available: 1e9 + k });
        await master.replicated();
      }
    };
    let seq = 0;
    const mixed = async (n: number) => {
      // Cycles of 5: add a task, assign it, run it, complete it, add or remove a content provider.
      for (let k = 0; k < n; k += 5) {
        const i = seq++;
        const id = `bench-repl-task-${i}`;
        const w = online[(i * 7919) % online.length]!;
        const c = cid((i * 104729) % tables.content.numRows);
        const steps = [
          () => master.addTask({ id, type: 'process', priority: i % 10, resources: { cpu_cores: 1, gpu_cores: 0, memory_mb: 256 }, input_cids: [c], payload: { shard: i % 64 } }),
          () => master.assignTask(id, w),
          () => master.updateTask(id, { status: 'running' }),
          () => master.updateTask(id, { status: 'completed', result: { ok: true, bytes: 1024 }, output_cid: c, output_cids: [c] }),
          () => (master.getContent(c)!.providers.includes(w) ? master.removeProvider(c, w) : master.addProvider(c, w)),
        ];
        for (const s of steps) {
          s();
          await master.replicated();
        }
      }
    };
    for (const [label, run] of [['heartbeats', heartbeats], ['mixed task and content mutations', mixed]] as const) {
      const n = opts.byteMutations;
      const r0 = master.revision;
      const before = await Promise.all(children.map((f) => f.stats()));
      const pub0 = master.replicationStats()!;
      await run(n);
      const r1 = master.revision;
      await Promise.all(children.map((f) => f.holds(r1)));
      const after = await Promise.all(children.map((f) => f.stats()));
      const pub1 = master.replicationStats()!;
      report.check(`${label}: one revision per mutation`, r1 - r0 === n, `${r1 - r0} vs ${n}`);
      for (let k = 0; k < children.length; k++) {
        report.check(`${label}: the ${children[k]!.projection} follower applied them without a reload`, after[k]!.loads === before[k]!.loads, JSON.stringify([before[k], after[k]]));
        report.add({
          suite: SUITE, scale, name: `bytes received per mutation, ${children[k]!.projection} follower, ${label}`, unit: 'B', better: 'lower',
          runs: [(after[k]!.bytes - before[k]!.bytes) / n], baseline: { name: 're-sending the full snapshot (gzip) per change', runs: [wholeState] },
        });
      }
      report.add({ suite: SUITE, scale, name: `bytes published per mutation (both subjects), ${label}`, unit: 'B', better: 'lower', runs: [(pub1.bytes - pub0.bytes) / n] });
    }
  } finally {
    for (const f of children) await f.end();
    await master.close();
  }
}

/** 2. Replicated mutations/s: a burst of heartbeats, then replicated(); beside the same burst without NATS. */
async function throughput(report: Report, scale: string, url: string, tables: Tables, online: string[], opts: ReplicationOptions): Promise<void> {
  let k0 = 0;
  const burst = (s: ClusterState) => {
    const a = performance.now();
    for (let k = 0; k < opts.burst; k++) {
      const i = k0 + k;
      s.heartbeat(online[i % online.length]!, { cpu_load: (i * 37) % 1000 / 10 });
    }
    k0 += opts.burst;
    return a;
  };
  const rate = (a: number) => (opts.burst / (performance.now() - a)) * 1000;

  /** Bursts on the replicated master (until replicated()) and on the plain writer (until `settle`), alternating. */
  const race = async (master: ClusterState, plain: ClusterState, settle: () => Promise<unknown>, name: string, baseline: string): Promise<void> => {
    const ours: number[] = [];
    const base: number[] = [];
    try {
      for (let r = 0; r < opts.bursts; r++) {
        let a = burst(master);
        await master.replicated({ timeoutMs: 600_000 });
        ours.push(rate(a));
        a = burst(plain);
        await settle();
        base.push(rate(a));
      }
      const st = master.replicationStats()!;
      report.check('every burst was replicated', st.replicatedRevision === master.revision && st.lagRevisions === 0, JSON.stringify(st));
      report.add({
        suite: SUITE, scale, name, unit: 'ops/s', better: 'higher', runs: ours, baseline: { name: baseline, runs: base },
        note: `bursts of ${opts.burst.toLocaleString('en')}; ${st.messages} messages, ${st.snapshots} snapshots, ${st.rebases} rebases over the run`,
      });
    } finally {
      await master.close();
      await plain.close();
    }
  };
  // In memory: the replicated master against a writer without NATS.
  {
    const master = await ClusterState.open({ clusterId: `bench-repl-rate-${scale}`, nodeId: nodeId(0), nats: { servers: url }, import: tables });
    const plain = ClusterState.inMemory({ clusterId: `bench-repl-rate-plain-${scale}`, import: tables });
    await race(master, plain, () => plain.published(), 'replicated mutations/s, a burst of heartbeats then replicated()', 'the same burst, in memory without NATS (until published)');
  }
  if (!opts.durable) return;
  // On a state directory: durable locally (and only durable revisions are replicated) against the same without NATS (until flush()).
  const dirs = [mkdtempSync(join(tmpdir(), `acs-repl-${scale}-`)), mkdtempSync(join(tmpdir(), `acs-repl-plain-${scale}-`))];
  try {
    const master = await ClusterState.open({ clusterId: `bench-repl-durable-${scale}`, nodeId: nodeId(0), statePath: dirs[0]!, parquet: false, nats: { servers: url }, import: tables });
    const plain = await ClusterState.open({ clusterId: `bench-repl-durable-plain-${scale}`, statePath: dirs[1]!, parquet: false, import: tables });
    await race(master, plain, () => plain.flush(), 'replicated mutations/s, state directory, a burst of heartbeats then replicated()', 'the same burst on a state directory without NATS (until flush())');
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

/**
 * The writer's event loop while a periodic snapshot is made: heartbeats paced by a 1 ms timer on a
 * master that snapshots every 500 revisions; the longest gap between ticks before the snapshot
 * starts (the baseline) and until it is written.
 */
async function snapshotStall(report: Report, scale: string, url: string, tables: Tables, online: string[]): Promise<void> {
  const every = 500;
  const master = await ClusterState.open({ clusterId: `bench-repl-stall-${scale}`, nodeId: nodeId(0), nats: { servers: url }, import: tables, replication: { snapshotEveryRevisions: every } });
  try {
    const r0 = master.revision;
    const snaps0 = master.replicationStats()!.snapshots;
    const before: number[] = [];
    const during: number[] = [];
    let last = performance.now();
    let k = 0;
    const ok = await new Promise<boolean>((resolve) => {
      const give = setTimeout(() => {
        clearInterval(timer);
        resolve(false);
      }, 120_000);
      const timer = setInterval(() => {
        const now = performance.now();
        (master.revision - r0 < every - 50 ? before : during).push(now - last);
        last = now;
        master.heartbeat(online[k++ % online.length]!, { cpu_load: (k * 37) % 1000 / 10 });
        if (master.replicationStats()!.snapshots > snaps0) {
          clearInterval(timer);
          clearTimeout(give);
          resolve(true);
        }
      }, 1);
    });
    if (!ok) {
      report.skip(`replication at ${scale}: writer event-loop stall during a periodic snapshot`, 'no snapshot was written within 120 s');
      return;
    }
    report.add({
      suite: SUITE, scale, name: `writer event-loop stall during a periodic snapshot (longest 1 ms timer gap, heartbeats paced at 1/ms)`, unit: 'ms', better: 'lower',
      runs: [Math.max(...during)], baseline: { name: `the longest gap over the ${before.length} ticks before it`, runs: [Math.max(...before)] },
    });
  } finally {
    await master.close();
  }
}
