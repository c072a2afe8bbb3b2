/**
 * The whole-cluster demo (`cluster-state demo --nats <url>`): a cluster on one machine, every
 * part its own process talking only through the NATS server — a master (`cluster-state master`:
 * a state directory, replication, liveness, the scheduler, a generator of toy tasks), a standby
 * on its own directory, N agents (`cluster-state agent`) that run the tasks, and a remote
 * follower (in this process) that the live view reads. With --failover the master is killed -9
 * halfway: the standby takes over, the agents go on, and the old master rejoins as a standby.
 *
 * A fresh start removes the cluster "demo" from the server first (its stream, snapshots and
 * lease; refused while a master of it runs) and the demo's own files in <dir>/cluster/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isStateError } from '../errors.js';
import { followState } from '../follower/follower.js';
import type { RemoteFollower } from '../follower/remote.js';
import { checkNatsOptions, connectNats } from '../nats/connect.js';
import { removeCluster } from '../nats/remove-cluster.js';
import type { Context } from '../cli/command.js';
import { CliFailure } from '../cli/command.js';
import { countPairs } from '../cli/counts.js';
import { displayPath, duration, int, jsonText, println } from '../cli/format.js';
import { untilSignal } from '../cli/signals.js';
import { DEMO_CLUSTER_ID, prepareDir } from './prepare.js';
import { demoDashboard } from './dashboard.js';
import type { Dashboard } from '../dashboard/server.js';

/** What the cluster demo runs with (parsed by cli/commands/demo.ts). */
export interface ClusterDemoOptions {
  dir: string;
  nats: string;
  agents: number;
  /** Toy tasks per second the master adds. */
  rate: number;
  durationMs: number | null;
  /** Kill the master -9 halfway (at half the duration; after FAILOVER_AFTER_MS without one). */
  failover: boolean;
  json: boolean;
  leaseMs: number;
  heartbeatTimeoutMs: number;
  /** The dashboard's port (0: any free one); null: 9464, or any free one when that is taken. */
  dashboardPort: number | null;
}

/** When --failover kills the master without a --duration. */
export const FAILOVER_AFTER_MS = 20_000;
/** How long the end of the demo waits for a master that is still opening (the old one rejoining). */
const REJOIN_WAIT_MS = 20_000;
/** The agents' heartbeat period. */
const AGENT_HEARTBEAT_MS = 1000;
const MAIN_JS = fileURLToPath(new URL('../cli/main.js', import.meta.url));

type Line = Record<string, unknown> & { t?: string };

/** One child process of the demo (a master, a standby or an agent) speaking JSON lines. */
class Part {
  readonly p: ChildProcess;
  readonly lines: Line[] = [];
  stderr = '';
  /** Set when the demo itself killed it (a death it did not cause is a failure). */
  killedByUs = false;
  readonly exited: Promise<number | null>;
  private readonly waiting: { pred: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];

  constructor(readonly name: string, args: string[], private readonly onLine: (part: Part, l: Line) => void) {
    this.p = spawn(process.execPath, [MAIN_JS, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.p.stderr!.on('data', (d) => (this.stderr = (this.stderr + String(d)).slice(-4000)));
    createInterface({ input: this.p.stdout! }).on('line', (text) => {
      let l: Line;
      try {
        l = JSON.parse(text) as Line;
      } catch {
        return;
      }
      if (l.t !== 'status') this.lines.push(l);
      this.onLine(this, l);
      for (const w of this.waiting.splice(0)) (w.pred(l) ? w.resolve(l) : this.waiting.push(w));
    });
    this.exited = new Promise((r) => this.p.once('exit', (code) => r(code)));
  }

  /** The first line matching `pred`; rejects if the process exits first or after `timeoutMs`. */
  until(pred: (l: Line) => boolean, timeoutMs = 60_000): Promise<Line> {
    const hit = this.lines.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new CliFailure(`${this.name} did not start within ${timeoutMs} ms: ${this.stderr.trim().split('\n').pop() ?? ''}`)), timeoutMs);
      this.waiting.push({ pred, resolve: (l) => {
        clearTimeout(timer);
        resolve(l);
      } });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new CliFailure(`${this.name} exited (code ${code}): ${this.stderr.trim().split('\n').pop() ?? ''}`));
      });
    });
  }

  get alive(): boolean {
    return this.p.exitCode === null && this.p.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    this.killedByUs = true;
    if (this.alive) this.p.kill(signal);
  }
}

/** What the view shows of the cluster, from the remote follower and the parts' lines. */
interface Tally {
  completed: number;
  failed: number;
  refused: number;
  /** The first refusals' messages (an agent told a task moved elsewhere, …). */
  refusals: string[];
  completedIds: Map<string, number>;
  byAgent: Map<string, number>;
  events: string[];
  leader: string;
  failover: { killedAt: number; tookMs: number | null; revision: number | null } | null;
}

export async function runClusterDemo(o: ClusterDemoOptions, io: Context['io']): Promise<number> {
  const out = io.out;
  const tty = !o.json && !!out.isTTY;
  const say = (text: string) => {
    if (!o.json) println(out, text);
  };
  const emit = (obj: Record<string, unknown>) => {
    if (o.json) println(out, jsonText(obj));
  };
  const started = Date.now();
  const t0 = () => duration(Date.now() - started);
  const tally: Tally = { completed: 0, failed: 0, refused: 0, refusals: [], completedIds: new Map(), byAgent: new Map(), events: [], leader: 'master-1', failover: null };
  const event = (text: string, obj: Record<string, unknown>) => {
    tally.events.push(`${t0().padStart(6)}  ${text}`);
    if (tally.events.length > 6) tally.events.shift();
    emit({ event: 'cluster', ...obj });
    if (!tty) say(text);
  };

  // Fresh start: the demo's own directories, and the cluster "demo" on the server.
  const dirs = { 'master-1': join(o.dir, 'cluster', 'master-1'), 'master-2': join(o.dir, 'cluster', 'master-2') };
  for (const d of Object.values(dirs)) await prepareDir(d, true);
  const link = await connectNats(checkNatsOptions({ servers: o.nats }));
  try {
    const removed = await removeCluster(link, DEMO_CLUSTER_ID);
    if (removed.length) say(`removed the earlier demo cluster from ${o.nats} (${removed.join(', ')})`);
  } finally {
    await link.nc.close().catch(() => undefined);
  }

  const parts: Part[] = [];
  const stop = untilSignal();
  let follower: RemoteFollower | null = null;
  let dash: Dashboard | null = null;
  let onLeader: (() => void) | null = null;
  const leaderSeen = new Promise<void>((r) => (onLeader = r));
  const onLine = (part: Part, l: Line) => {
    if (l.t === 'completed') {
      tally.completed++;
      const id = String(l.task);
      tally.completedIds.set(id, (tally.completedIds.get(id) ?? 0) + 1);
      tally.byAgent.set(part.name, (tally.byAgent.get(part.name) ?? 0) + 1);
    } else if (l.t === 'failed') tally.failed++;
    else if (l.t === 'refused') {
      tally.refused++;
      if (tally.refusals.length < 5) tally.refusals.push(`${part.name} ${String(l.task)}: ${String(l.message)}`);
    }
    else if (l.t === 'leader') {
      tally.leader = part.name;
      onLeader?.();
      if (tally.failover && tally.failover.tookMs === null) {
        tally.failover.tookMs = Date.now() - tally.failover.killedAt;
        tally.failover.revision = Number(l.revision);
      }
      event(`${part.name} took over as master at revision ${int(Number(l.revision))}${tally.failover ? ` (${duration(tally.failover.tookMs!)} after the kill; lease ${duration(o.leaseMs)})` : ''}`,
        { what: 'leader', node: part.name, revision: l.revision, took_ms: tally.failover?.tookMs ?? null });
    } else if (l.t === 'fatal') {
      event(`${part.name}: ${String(l.message)}`, { what: 'fatal', node: part.name, message: l.message });
    }
  };
  const common = ['--nats', o.nats, '--cluster', DEMO_CLUSTER_ID];
  const masterArgs = (id: 'master-1' | 'master-2', standby: boolean) => [
    'master', ...common, '--id', id, '--dir', dirs[id], '--lease-ms', String(o.leaseMs), '--heartbeat-timeout-ms', String(o.heartbeatTimeoutMs),
    ...(standby ? ['--standby'] : []), '--rate', String(o.rate),
  ];
  let code = 0;
  try {
    say(`starting a cluster on ${o.nats}: master-1, standby master-2, ${o.agents} agents (cluster "${DEMO_CLUSTER_ID}", directories in ${displayPath(join(o.dir, 'cluster'))})`);
    const m1 = new Part('master-1', masterArgs('master-1', false), onLine);
    parts.push(m1);
    await m1.until((l) => l.t === 'open');
    const m2 = new Part('master-2', masterArgs('master-2', true), onLine);
    parts.push(m2);
    await m2.until((l) => l.t === 'open');
    const agents: Part[] = [];
    for (let i = 1; i <= o.agents; i++) {
      agents.push(new Part(`worker-${i}`, ['agent', ...common, '--id', `worker-${i}`, '--cpus', '2', '--memory', '2GiB', '--heartbeat-ms', String(AGENT_HEARTBEAT_MS)], onLine));
    }
    parts.push(...agents);
    await Promise.all(agents.map((a) => a.until((l) => l.t === 'joined')));
    follower = await followState({ nats: { servers: o.nats }, clusterId: DEMO_CLUSTER_ID }) as RemoteFollower;
    dash = await demoDashboard(follower, `cluster "${DEMO_CLUSTER_ID}" on ${o.nats}`, o.dashboardPort, (msg) => io.err.write(`cluster-state demo: dashboard: ${msg}\n`));
    emit({ event: 'dashboard', url: `${dash.url}/` });
    say(`dashboard: ${dash.url}/  (live, read-only, from the remote follower)`);
    event(`cluster up: master-1 leads, master-2 stands by, ${o.agents} agents joined; a remote follower reads revision ${int(follower.revision)}`,
      { what: 'up', agents: o.agents, revision: follower.revision });

    const failAt = o.failover ? started + (o.durationMs ? o.durationMs / 2 : FAILOVER_AFTER_MS) : Infinity;
    const endAt = o.durationMs ? started + o.durationMs : Infinity;
    let rejoined = false;
    let rejoining: Promise<unknown> | null = null;
    let frames = 0;
    const f = follower;
    const tick = async () => {
      const now = Date.now();
      if (now >= failAt && !tally.failover) {
        tally.failover = { killedAt: now, tookMs: null, revision: null };
        m1.kill('SIGKILL');
        event(`killed master-1 (kill -9) at revision ${int(f.revision)}; master-2 takes over when its lease expires`, { what: 'killed', node: 'master-1', revision: f.revision });
      }
      if (tally.failover?.tookMs != null && !rejoined && !m1.alive) {
        rejoined = true;
        const back = new Part('master-1', masterArgs('master-1', true), onLine);
        parts.push(back);
        rejoining = back.until((l) => l.t === 'open').then(
          () => event('master-1 came back: it rejoined as a standby on its own directory', { what: 'rejoined', node: 'master-1' }),
          (e: Error) => event(`master-1 could not rejoin: ${e.message}`, { what: 'rejoin-failed', message: e.message }),
        );
      }
      for (const p of parts) {
        if (!p.alive && !p.killedByUs) {
          p.killedByUs = true; // said once
          event(`${p.name} exited unexpectedly: ${p.stderr.trim().split('\n').pop() ?? ''}`, { what: 'exited', node: p.name });
          code = 1;
        }
      }
      frames++;
      render(f, frames);
      if (now >= endAt) stop.resolve('duration');
    };
    const render = (fl: RemoteFollower, n: number) => {
      const snap = fl.snapshot();
      const nodes = countPairs(snap.nodes, 'role', 'status');
      const tasks = countPairs(snap.tasks, 'status', 'type');
      const byStatus: Record<string, number> = {};
      for (const [st, m] of tasks) byStatus[st] = [...m.values()].reduce((a, b) => a + b, 0);
      const online = [...nodes.values()].reduce((a, m) => a + (m.get('online') ?? 0), 0);
      const offline = [...nodes.values()].reduce((a, m) => a + (m.get('offline') ?? 0), 0);
      const twice = [...tally.completedIds.values()].filter((c) => c > 1).length;
      const sample = {
        event: 'sample', elapsed_ms: Date.now() - started, revision: fl.revision, leader: tally.leader,
        nodes: { online, offline }, tasks: byStatus, completed_by_agents: tally.completed, completed_twice: twice, refused: tally.refused,
        follower: fl.stats(),
      };
      if (o.json) {
        emit(sample);
        return;
      }
      const taskLine = ['pending', 'assigned', 'running', 'completed', 'failed'].map((s) => `${s} ${int(byStatus[s] ?? 0)}`).join('  ');
      if (!tty) {
        say(`${t0()}  rev ${int(fl.revision)}  master ${tally.leader}  nodes online ${online} offline ${offline}  tasks ${taskLine}`);
        return;
      }
      const agentLine = [...tally.byAgent].sort().map(([a, c]) => `${a} ${c}`).join('  ');
      const frame = [
        `\x1b[H\x1b[2J\x1b[1marrow-cluster-state — a cluster over NATS\x1b[0m   ${o.nats}  cluster "${DEMO_CLUSTER_ID}"   ${t0()}${o.durationMs ? ` of ${duration(o.durationMs)}` : '  (Ctrl-C stops)'}`,
        '',
        `  master      ${tally.leader}${tally.failover ? (tally.failover.tookMs === null ? '   (master-1 killed: waiting for the lease to expire…)' : `   (took over in ${duration(tally.failover.tookMs)})`) : o.failover ? `   (--failover: master-1 is killed at ${duration(failAt - started)})` : ''}`,
        `  revision    ${int(fl.revision)}   as read by a remote follower (snapshot + change sets from JetStream)`,
        `  nodes       online ${online}   offline ${offline}`,
        `  tasks       ${taskLine}`,
        `  agents      ${agentLine || '(no task completed yet)'}`,
        `  checks      completed twice: ${twice}   refused calls: ${tally.refused}`,
        `  dashboard   ${dash ? `${dash.url}/` : '-'}`,
        '',
        ...tally.events.map((e) => `  ${e}`),
        '',
        n % 2 ? '' : ' ',
      ];
      out.write(`${frame.join('\n')}\n`);
    };
    const timer = setInterval(() => void tick(), 1000);
    try {
      await stop.promise;
      // A takeover under way is shown to its end, and a master still opening (the old one
      // rejoining) finishes that first: neither is cut off half-way by the end of --duration.
      const bounded = (p: Promise<unknown>) => Promise.race([p, new Promise((r) => setTimeout(r, REJOIN_WAIT_MS).unref())]);
      if (tally.failover && tally.failover.tookMs === null && m2.alive) {
        await bounded(leaderSeen);
        await tick();
      }
      if (rejoining) await bounded(rejoining);
    } finally {
      clearInterval(timer);
    }
  } catch (e) {
    if (e instanceof CliFailure || isStateError(e)) {
      io.err.write(`cluster-state demo: ${(e as Error).message}\n`);
      code = 1;
    } else throw e;
  } finally {
    stop.dispose();
    // Agents first (so they do not see the masters go), then the masters.
    const isAgent = (p: Part) => p.name.startsWith('worker');
    for (const group of [parts.filter(isAgent), parts.filter((p) => !isAgent(p))]) {
      for (const p of group) p.kill('SIGTERM');
      await Promise.all(group.map((p) => p.exited));
    }
    const finalRevision = follower?.revision ?? -1;
    await dash?.close().catch(() => undefined);
    await follower?.close().catch(() => undefined);
    const twice = [...tally.completedIds.entries()].filter(([, c]) => c > 1).map(([id]) => id);
    const summary = {
      event: 'summary', revision: finalRevision, completed_by_agents: tally.completed, failed: tally.failed, refused: tally.refused, refusals: tally.refusals, completed_twice: twice,
      failover: tally.failover ? { took_ms: tally.failover.tookMs, lease_ms: o.leaseMs, revision: tally.failover.revision } : null, exit: code,
    };
    if (o.json) emit(summary);
    else {
      if (tty) out.write('\n');
      say(`stopped after ${t0()}: ${int(tally.completed)} tasks completed by the agents (${twice.length} twice), ${tally.refused} calls refused, revision ${int(finalRevision)}`
        + (tally.failover?.tookMs != null ? `; the failover took ${duration(tally.failover.tookMs)} (lease ${duration(o.leaseMs)})` : ''));
      say(`the masters' state directories: ${displayPath(dirs['master-1'])}, ${displayPath(dirs['master-2'])}`);
      say(`look into it (while the server runs): npx cluster-state status --nats ${o.nats} --cluster ${DEMO_CLUSTER_ID}`);
    }
  }
  return code;
}
