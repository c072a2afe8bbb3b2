/**
 * The cluster as it acts (docs/cluster.md): a master replicating through a real nats-server
 * (started here, stopped after), loaded with the scale's tables (`import`), with liveness and the
 * scheduler on, serving node agents that run in a child process (bench/lib/cluster-agents.ts), so
 * the master's process is not the client's.
 *
 * 1. agent request → acknowledged revision, p50/p99: one agent, sequential addProvider /
 *    removeProvider calls on one content item (each a written revision, never coalesced);
 * 2. simulated agents heartbeating every 2 s (10,000 at M, on a few AgentConnections in one child):
 *    heartbeats/s answered, the master's revisions/s and CPU while it lasts, failures;
 * 3. pending task → running on an agent, p50/p99: 20 agents (8 cpus each) take tasks from
 *    tasks() and report running; tasks added one at a time, stamped with the wall clock;
 * 4. failover: a master in a child process (test/fixtures/nats-master.js) killed -9, a standby
 *    here takes over: kill → leadership(), kill → the first mutation it accepts, against the lease.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Table } from 'apache-arrow';
import { ClusterState, isStateError } from '../../src/index.js';
import { cid, loadSynthetic, type SyntheticScale } from '../../src/demo/synthetic.js';
import type { EntityKind } from '../../src/schema/entities.js';
import { NatsServer } from '../../test/support/nats-server.js';
import { Child } from '../lib/child.js';
import type { Report } from '../lib/report.js';
import { summarize, wallNow } from '../lib/stats.js';

const lib = (name: string) => new URL(`../lib/${name}.js`, import.meta.url);
const MASTER_FIXTURE = new URL('../../test/fixtures/nats-master.js', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SUITE = 'cluster';
type Tables = Record<EntityKind, Table>;

export interface ClusterOptions {
  /** Timed agent calls (after 20 warm-up ones). */
  calls: number;
  /** Simulated agents heartbeating every 2 s, and for how long (ms). */
  agents: number;
  sustainMs: number;
  /** AgentConnections the simulated agents share. */
  connections: number;
  /** Tasks added one at a time for pending → running. */
  tasks: number;
  /** Agents taking them. */
  runners: number;
  /** Failover repetitions, and the lease (ms). */
  failovers: number;
  leaseMs: number;
}

const LIVENESS = { heartbeatTimeoutMs: 10_000 };

export async function clusterSuite(report: Report, scale: string, loaded: SyntheticScale, opts: ClusterOptions): Promise<void> {
  const t0 = performance.now();
  const source = ClusterState.inMemory({ clusterId: `bench-cluster-src-${scale}` });
  await loadSynthetic(source, loaded, { seed: 7, chunk: 10_000 });
  const tables = source.getTables();
  await source.close();
  process.stdout.write(`  ${scale.padEnd(3)} (cluster: scale loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  const server = await NatsServer.start();
  try {
    await heartbeatStorm(report, scale, server.url, tables, loaded, opts);
    await callsAndTasks(report, scale, server.url, tables, opts);
    await failover(report, scale, server.url, opts);
  } finally {
    await server.stop();
  }
}

/** Parts 1 and 3 on one master; the scale's nodes are taken offline and its pending tasks cancelled first, so the agents here are the only place for new work. */
async function callsAndTasks(report: Report, scale: string, url: string, tables: Tables, opts: ClusterOptions): Promise<void> {
  const clusterId = `bench-cluster-${scale}`;
  const master = await ClusterState.open({
    clusterId, nodeId: 'm1', nats: { servers: url }, import: tables,
    // Requeue far away: the scale's nodes are set offline below and keep their tasks.
    liveness: { ...LIVENESS, requeueAfterMs: 3_600_000 }, scheduler: { intervalMs: 50 },
  });
  const child = new Child(lib('cluster-agents'), [url, clusterId]);
  try {
    // Only the agents of this part may take work: the scale's nodes offline, its pending tasks cancelled
    // (transactions of 500 changes, each replicated before the next: one giant revision stalls the
    // agent service and makes the replication rebase — docs/limitations.md).
    const snap = master.snapshot();
    const scaleNodes = [...snap.nodes.getChild('id')!].map(String);
    const pending: string[] = [];
    {
      const ids = snap.tasks.getChild('id')!;
      const st = snap.tasks.getChild('status')!;
      for (let i = 0; i < ids.length; i++) if (st.get(i) === 'pending') pending.push(ids.get(i) as string);
    }
    const cancelled = pending.length;
    const steps: (() => void)[] = [
      ...scaleNodes.map((id) => () => void (master.getNode(id)!.status !== 'offline' && master.updateNodeStatus(id, 'offline'))),
      ...pending.map((id) => () => void (master.getTask(id)!.status === 'pending' && master.updateTask(id, { status: 'cancelled' }))),
    ];
    for (let i = 0; i < steps.length; i += 500) {
      master.transaction(() => {
        for (const f of steps.slice(i, i + 500)) f();
      });
      await master.replicated({ timeoutMs: 120_000 });
    }

    // 1. Agent request → acknowledged revision.
    const item = cid(Math.floor(tables.content.numRows / 2));
    child.send(`LAT bench-agent-lat ${item} ${opts.calls} 20`);
    const r0 = master.revision;
    const lat = (await child.next('LAT', () => true, 120_000))[0]!.split(',').map(Number);
    report.check('every agent call was its own revision', master.revision - r0 >= opts.calls, `${master.revision - r0} revisions for ${opts.calls + 21} calls + join`);
    const s = summarize(lat);
    const note = `one agent in another process, ${opts.calls} sequential addProvider/removeProvider calls on one content item (after 20 warm-up)`;
    report.add({ suite: SUITE, scale, name: 'agent request → acknowledged revision p50', unit: 'ms', better: 'lower', runs: [s.p50], target: scale === 'M' ? '≤ 3 ms' : undefined, note });
    report.add({ suite: SUITE, scale, name: 'agent request → acknowledged revision p99', unit: 'ms', better: 'lower', runs: [s.p99], target: scale === 'M' ? '≤ 20 ms' : undefined, note });

    // 3. Pending task → running on an agent.
    child.send(`RUN ${opts.runners} bench-runner`);
    await child.next('RUNREADY', () => true, 60_000);
    const samples: number[] = [];
    const placed0 = master.policyStats().scheduler!.placed;
    for (let k = 0; k < 10 + opts.tasks; k++) {
      const id = `bench-cluster-task-${k}`;
      const at = wallNow();
      master.addTask({ id, type: 'process', priority: 5, resources: { cpu_cores: 1, gpu_cores: 0, memory_mb: 256 } });
      const ran = Number((await child.next('RAN', (f) => f[0] === id, 30_000))[1]);
      if (k >= 10) samples.push(ran - at);
      await sleep(5);
    }
    const placed = master.policyStats().scheduler!.placed - placed0;
    report.check('every task was placed once', placed === 10 + opts.tasks, `${placed} placements`);
    const p = summarize(samples);
    const tnote = `${opts.runners} agents (8 cpus each) in another process, scheduler every 50 ms (and on commit); ${cancelled.toLocaleString('en')} pending tasks of the scale cancelled and its nodes offline first; addTask in this process, one at a time, 5 ms apart`;
    report.add({ suite: SUITE, scale, name: 'pending task → running on an agent p50', unit: 'ms', better: 'lower', runs: [p.p50], note: tnote });
    report.add({ suite: SUITE, scale, name: 'pending task → running on an agent p99', unit: 'ms', better: 'lower', runs: [p.p99], note: tnote });
  } finally {
    await child.end();
    await master.close();
  }
}

/** 2. Simulated agents heartbeating every 2 s against a master with the scale. */
async function heartbeatStorm(report: Report, scale: string, url: string, tables: Tables, loaded: SyntheticScale, opts: ClusterOptions): Promise<void> {
  const clusterId = `bench-cluster-hb-${scale}`;
  const master = await ClusterState.open({ clusterId, nodeId: 'm1', nats: { servers: url }, import: tables, liveness: LIVENESS, scheduler: true });
  const child = new Child(lib('cluster-agents'), [url, clusterId]);
  try {
    child.send(`SIM ${opts.agents} ${loaded.nodes} ${opts.connections}`);
    const [joinMs, joinErrors] = (await child.next('SIMREADY', () => true, 180_000)).map(Number);
    report.check('every simulated agent joined', joinErrors === 0, `${joinErrors} joins failed`);
    // A period for the heartbeat timers to settle, then the window.
    await sleep(2500);
    child.send('SIMSTATS');
    const [sent0, err0, unav0] = (await child.next('SIMSTATS')).map(Number);
    const ps0 = master.policyStats();
    const rev0 = master.revision;
    const cpu0 = process.cpuUsage();
    const a = performance.now();
    // The event loop's lag over the window (a 10 ms timer's longest overshoot).
    let lag = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      lag = Math.max(lag, now - last - 10);
      last = now;
    }, 10);
    await sleep(opts.sustainMs);
    clearInterval(timer);
    const wall = performance.now() - a;
    const cpu = process.cpuUsage(cpu0);
    const rev1 = master.revision;
    const ps1 = master.policyStats();
    child.send('SIMSTATS');
    const [sent1, err1, unav1] = (await child.next('SIMSTATS')).map(Number);
    const sec = wall / 1000;
    const answered = (ps1.liveness!.coalesced + ps1.liveness!.written) - (ps0.liveness!.coalesced + ps0.liveness!.written);
    const written = ps1.liveness!.written - ps0.liveness!.written;
    const note = `${opts.agents.toLocaleString('en')} agents on ${opts.connections} AgentConnections in another process (joined in ${(joinMs! / 1000).toFixed(1)} s), heartbeatMs 2000, liveness timeout ${LIVENESS.heartbeatTimeoutMs} ms (coalesceMs ${LIVENESS.heartbeatTimeoutMs / 4}), scheduler on; a ${(wall / 1000).toFixed(0)} s window`;
    report.add({ suite: SUITE, scale, name: `${opts.agents.toLocaleString('en')} agents: heartbeats/s answered by the master`, unit: '/s', better: 'higher', runs: [answered / sec], target: `${opts.agents / 2}/s offered`, note: `${note}; sent by the agents ${((sent1! - sent0!) / sec).toFixed(0)}/s` });
    report.add({ suite: SUITE, scale, name: `${opts.agents.toLocaleString('en')} agents: master revisions/s`, unit: '/s', better: 'lower', runs: [(rev1 - rev0) / sec], note: `${written} heartbeats written at once (not coalesced), ${ps1.liveness!.expired - ps0.liveness!.expired} nodes expired in the window` });
    report.add({ suite: SUITE, scale, name: `${opts.agents.toLocaleString('en')} agents: master CPU`, unit: '% core', better: 'lower', runs: [((cpu.user + cpu.system) / 1000 / wall) * 100], note: 'process.cpuUsage() of the bench process (the master, its replication and scheduler) over the window' });
    report.add({ suite: SUITE, scale, name: `${opts.agents.toLocaleString('en')} agents: master event-loop lag, max`, unit: 'ms', better: 'lower', runs: [lag] });
    report.add({ suite: SUITE, scale, name: `${opts.agents.toLocaleString('en')} agents: failed heartbeats (agent error events)`, unit: 'count', better: 'lower', runs: [err1! - err0!], note: `${unav1! - unav0!} of them UNAVAILABLE` });
    child.send('SIMSTOP');
    await child.next('SIMSTOPPED', () => true, 60_000);
  } finally {
    await child.end();
    await master.close();
  }
}

/** A master in its own process (test/fixtures/nats-master.ts), speaking NDJSON. */
function startMaster(args: string[]) {
  const proc = spawn(process.execPath, [MASTER_FIXTURE, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let wake: (() => void) | null = null;
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      return;
    }
    wake?.();
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    exited,
    send: (l: string) => proc.stdin!.write(`${l}\n`),
    async until(pred: (l: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<Record<string, unknown>> {
      const end = performance.now() + timeoutMs;
      for (;;) {
        const i = lines.findIndex(pred);
        if (i >= 0) return lines.splice(0, i + 1).pop()!;
        if (proc.exitCode !== null) throw new Error(`master fixture exited: ${stderr}`);
        if (performance.now() > end) throw new Error(`master fixture: no answer within ${timeoutMs} ms: ${stderr}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100).unref();
        });
      }
    },
  };
}

/** 4. kill -9 of a master in a child process → a standby here leads / accepts a mutation. */
async function failover(report: Report, scale: string, url: string, opts: ClusterOptions): Promise<void> {
  const lead: number[] = [];
  const first: number[] = [];
  for (let r = 0; r < opts.failovers; r++) {
    const clusterId = `bench-failover-${scale}-${r}`;
    const dir = mkdtempSync(join(tmpdir(), 'acs-bench-failover-'));
    const m = startMaster([url, clusterId, dir, 'master-a', String(opts.leaseMs)]);
    let standby: ClusterState | null = null;
    try {
      await m.until((l) => l.t === 'ready');
      m.send('mutate 1000');
      m.send('replicated');
      const acked = Number((await m.until((l) => l.t === 'replicated')).revision);
      standby = await ClusterState.open({ clusterId, nodeId: 'master-b', nats: { servers: url }, standby: true, replication: { leaseMs: opts.leaseMs }, liveness: LIVENESS });
      const s = standby;
      while (s.revision < acked) await sleep(10);
      // Let a renewal or two happen so the kill does not fall right after the lease was written.
      await sleep(opts.leaseMs / 2 + Math.random() * (opts.leaseMs / 3));
      const killedAt = performance.now();
      m.proc.kill('SIGKILL');
      let firstAt = 0;
      const polling = (async () => {
        for (let k = 0; ; k++) {
          try {
            s.registerNode({ id: `after-failover-${r}`, role: 'worker' });
            firstAt = performance.now();
            return;
          } catch (e) {
            if (!isStateError(e, 'LOCKED')) throw e;
          }
          await sleep(5);
          if (performance.now() - killedAt > 60_000) throw new Error('the standby accepted no mutation within 60 s of the kill');
        }
      })();
      const leaderRev = await s.leadership();
      const leadAt = performance.now();
      await polling;
      report.check('the standby took over with every acknowledged revision', leaderRev >= acked, `${leaderRev} vs ${acked}`);
      lead.push(leadAt - killedAt);
      first.push(firstAt - killedAt);
      await m.exited;
    } finally {
      m.proc.kill('SIGKILL');
      await standby?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const note = `master: test/fixtures/nats-master.js in a child process (a state directory with ~1,000 mutations, not the scale), leaseMs ${opts.leaseMs}; standby here (standby: true, same leaseMs); ${opts.failovers} kills -9, each ${opts.leaseMs / 2}–${(opts.leaseMs * 5) / 6} ms after the standby caught up`;
  report.add({ suite: SUITE, scale, name: 'failover: kill -9 of the master → standby leadership() resolves', unit: 'ms', better: 'lower', runs: lead, target: `≤ ${2 * opts.leaseMs} ms (2 × lease)`, note });
  report.add({ suite: SUITE, scale, name: 'failover: kill -9 → the standby accepts its first mutation', unit: 'ms', better: 'lower', runs: first, target: `≤ ${2 * opts.leaseMs} ms (2 × lease)`, note });
  report.add({ suite: SUITE, scale, name: 'failover: kill -9 → leadership(), in leases', unit: '× lease', better: 'lower', runs: lead.map((x) => x / opts.leaseMs), target: '≤ 2' });
}
