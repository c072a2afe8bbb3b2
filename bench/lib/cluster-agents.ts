// Bench child: node agents (src/agent) in their own process, so the master's process is not the
// client's. Arguments: <server url> <clusterId>. Commands on stdin, one per line:
//   LAT <node> <cid> <n> <warm>   joins <node> (8 cpus, 16 GiB, no heartbeats), then <warm> + <n>
//                                 sequential addProvider/removeProvider(<cid>) calls, alternating;
//                                 prints `LAT <ms>,<ms>,…` (the <n> timed ones, call → revision).
//   SIM <n> <scaleNodes> <conns>  joins <n> agents on <conns> AgentConnections (ids: the scale's
//                                 nodeId(i) for i < scaleNodes, else sim-<i>), heartbeatMs 2000 with
//                                 a resources() function; prints `SIMREADY <joinMs> <joinErrors>`.
//   SIMSTATS                      `SIMSTATS <heartbeats sent> <errors> <unavailable errors>`
//   SIMSTOP                       closes the simulated agents: `SIMSTOPPED`
//   RUN <k> <prefix>              joins k agents <prefix>-<j> (8 cpus, 16 GiB, heartbeats every 2 s)
//                                 that take their tasks from tasks(), report running (printing
//                                 `RAN <taskId> <wall ms>` when updateTask resolved) and then completed;
//                                 prints `RUNREADY` once all have joined and their tasks() started.
//   CPU <ms>                      this process's CPU over a window (child.ts)
// Exits when stdin ends.
import { AgentConnection, type Agent } from '../../src/agent/index.js';
import type { StateError } from '../../src/index.js';
import { nodeId } from '../../src/demo/synthetic.js';
import { serveCpuWindows, wallClock } from './child.js';

const [url, clusterId] = process.argv.slice(2) as [string, string];
const GiB = 2 ** 30;
const say = (s: string) => process.stdout.write(`${s}\n`);
const conns: AgentConnection[] = [];
const connect = async () => {
  const c = await AgentConnection.connect({ nats: { servers: url }, clusterId });
  conns.push(c);
  return c;
};
// memory_available given too: a join upserts, and a scale node's stored memory_available may exceed 16 GiB (refused).
const capacity = { cpu_count: 8, memory_total: 16 * GiB, memory_available: 8 * GiB, cpu_load: 0 };

let sim: Agent[] = [];
const simStats = { sent: 0, errors: 0, unavailable: 0 };
const runners: Agent[] = [];

async function lat(node: string, cid: string, n: number, warm: number): Promise<void> {
  const conn = await connect();
  const agent = await conn.join({ node: { id: node, role: 'worker', resources: capacity }, heartbeatMs: 0, resources: false });
  const out: number[] = [];
  let on = false;
  for (let k = 0; k < warm + n; k++) {
    const t0 = performance.now();
    on = !on;
    if (on) await agent.addProvider(cid);
    else await agent.removeProvider(cid);
    if (k >= warm) out.push(performance.now() - t0);
  }
  if (on) await agent.removeProvider(cid);
  await agent.leave(); // its node must not take the scheduler's tasks afterwards
  say(`LAT ${out.map((x) => x.toFixed(3)).join(',')}`);
}

async function simulate(n: number, scaleNodes: number, nConns: number): Promise<void> {
  const cs = await Promise.all(Array.from({ length: nConns }, () => connect()));
  const t0 = performance.now();
  let next = 0;
  let joinErrors = 0;
  const resources = () => {
    simStats.sent++;
    return { cpu_load: Math.round(Math.random() * 1000) / 10, memory_available: Math.floor(16 * GiB * (0.2 + 0.8 * Math.random())) };
  };
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      const id = i < scaleNodes ? nodeId(i) : `sim-${i}`;
      try {
        const a = await cs[i % nConns]!.join({ node: { id, role: 'worker', resources: capacity }, heartbeatMs: 2000, resources, timeoutMs: 30_000 });
        a.on('error', (e: StateError) => {
          simStats.errors++;
          if (e.code === 'UNAVAILABLE') simStats.unavailable++;
        });
        sim.push(a);
      } catch (e) {
        if (joinErrors++ < 3) process.stderr.write(`cluster-agents: join of ${id}: ${(e as Error).message}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: 200 }, worker));
  say(`SIMREADY ${(performance.now() - t0).toFixed(1)} ${joinErrors}`);
}

async function run(k: number, prefix: string): Promise<void> {
  const conn = await connect();
  const joined = await Promise.all(Array.from({ length: k }, (_, j) => conn.join({
    node: { id: `${prefix}-${j}`, role: 'worker', resources: capacity }, heartbeatMs: 2000,
    resources: () => ({ cpu_load: 5, memory_available: 12 * GiB }),
  })));
  runners.push(...joined);
  for (const a of joined) {
    void (async () => {
      try {
        for await (const task of a.tasks()) {
          await a.updateTask(task.id, { status: 'running' });
          say(`RAN ${task.id} ${wallClock().toFixed(3)}`);
          await a.updateTask(task.id, { status: 'completed', result: { ok: true } });
        }
      } catch (e) {
        process.stderr.write(`cluster-agents: agent ${a.nodeId}: ${(e as Error).message}\n`);
      }
    })();
  }
  // tasks() asks the master for its assigned tasks before it listens: one round trip each.
  await Promise.all(joined.map((a) => a.heartbeat({ cpu_load: 5 })));
  say(`RUNREADY ${k}`);
}

serveCpuWindows(
  () => void (async () => {
    for (const a of [...sim, ...runners]) await a.close();
    for (const c of conns) await c.close();
    process.exit(0);
  })(),
  (line) => {
    const [cmd, ...a] = line.split(' ');
    const fail = (e: unknown) => say(`FAIL ${(e as Error).message.replace(/\n/g, ' ')}`);
    if (cmd === 'LAT') lat(a[0]!, a[1]!, Number(a[2]), Number(a[3])).catch(fail);
    else if (cmd === 'SIM') simulate(Number(a[0]), Number(a[1]), Number(a[2])).catch(fail);
    else if (cmd === 'SIMSTATS') say(`SIMSTATS ${simStats.sent} ${simStats.errors} ${simStats.unavailable}`);
    else if (cmd === 'SIMSTOP') {
      const all = sim;
      sim = [];
      void Promise.all(all.map((x) => x.close())).then(() => say('SIMSTOPPED 1'));
    } else if (cmd === 'RUN') run(Number(a[0]), a[1]!).catch(fail);
  },
);
