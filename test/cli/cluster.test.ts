// The cluster on the command line, all real processes and a real nats-server: `cluster-state
// master` (liveness, scheduler, a task generator), a `--standby`, and two `cluster-state agent`s;
// tasks are completed by the agents; the master is killed -9 and the standby takes over; the
// agents go on completing the tasks that were left.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { NatsServer } from '../support/nats-server.js';
import { mainJs } from './support.js';

interface Proc {
  p: ChildProcess;
  lines: Record<string, unknown>[];
  until(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

function run(args: string[]): Proc {
  const p = spawn(process.execPath, [mainJs, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const waiting: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr += String(d)));
  createInterface({ input: p.stdout! }).on('line', (text) => {
    const l = JSON.parse(text) as Record<string, unknown>;
    lines.push(l);
    for (const w of waiting.splice(0)) (w.pred(l) ? w.resolve(l) : waiting.push(w));
  });
  const exited = new Promise((r) => p.once('exit', r));
  return {
    p, lines,
    until: (pred, timeoutMs = 30_000) => {
      const hit = lines.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such line within ${timeoutMs} ms; last ${JSON.stringify(lines.slice(-3))}; stderr ${stderr.slice(-1000)}`)), timeoutMs);
        waiting.push({ pred, resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        } });
        void exited.then(() => reject(new Error(`exited before the line; stderr ${stderr.slice(-1000)}`)));
      });
    },
  };
}

test('cli cluster: master, standby and two agents; the master is killed -9, the standby takes over, the agents go on', async (t) => {
  const server = await NatsServer.start();
  const u = server.url;
  const procs: Proc[] = [];
  try {
    const m1 = run(['master', '--nats', u, '--cluster', 'cli-fo', '--id', 'master-1', '--rate', '8', '--lease-ms', '1200', '--heartbeat-timeout-ms', '3000']);
    procs.push(m1);
    await m1.until((l) => l.t === 'open');
    const m2 = run(['master', '--nats', u, '--cluster', 'cli-fo', '--id', 'master-2', '--standby', '--lease-ms', '1200', '--heartbeat-timeout-ms', '3000']);
    procs.push(m2);
    const opened = await m2.until((l) => l.t === 'open');
    t.true(opened.standby as boolean);
    const agents = ['w1', 'w2'].map((id) => run(['agent', '--nats', u, '--cluster', 'cli-fo', '--id', id, '--cpus', '2', '--memory', '2GiB', '--heartbeat-ms', '300']));
    procs.push(...agents);
    // Work flows: each agent completes tasks.
    await Promise.all(agents.map((a) => a.until((l) => l.t === 'completed')));
    m1.p.kill('SIGKILL');
    const leader = await m2.until((l) => l.t === 'leader', 20_000);
    t.is(leader.node, 'master-2');
    // The tasks left assigned or pending are completed through the new master.
    const done = () => agents.reduce((n, a) => n + a.lines.filter((l) => l.t === 'completed').length, 0);
    const at = done();
    await Promise.race(agents.map((a) => a.until((l) => l.t === 'completed' && a.lines.indexOf(l) >= 0 && done() > at, 20_000)));
    t.true(done() > at, 'agents completed tasks after the takeover');
    const status = await m2.until((l) => l.t === 'status' && (l.leading as boolean));
    t.is((status.nodes as Record<string, number>).online, 2, 'both agents\' nodes stayed online across the takeover');
    // An agent may be refused a task the master moved elsewhere (the fence of a stale assignment), never anything else; no task is completed twice.
    const refusedCalls = agents.flatMap((a) => a.lines.filter((l) => l.t === 'refused'));
    t.deepEqual(refusedCalls.filter((l) => !/must be a task assigned to this agent's node/.test(String(l.message))), []);
    const completed = agents.flatMap((a) => a.lines.filter((l) => l.t === 'completed').map((l) => l.task));
    t.is(new Set(completed).size, completed.length, 'no task completed twice');
  } finally {
    for (const x of procs) x.p.kill('SIGTERM');
    await Promise.all(procs.map((x) => (x.p.exitCode === null && x.p.signalCode === null ? new Promise((r) => x.p.once('exit', r)) : null)));
    await server.stop();
  }
});
