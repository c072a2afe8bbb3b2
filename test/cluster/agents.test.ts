// Node agents through a real nats-server: tasks flow from pending to completed through the
// scheduler; agents' bad calls get the master's StateError and change nothing; a retried request
// is applied once; no master → UNAVAILABLE; an agent process killed -9 goes offline, its tasks are
// requeued and completed by the others, none twice.
import test from 'ava';
import { createInterface } from 'node:readline';
import { spawn } from 'node:child_process';
import { connect } from '@nats-io/transport-node';
import { ClusterState, isStateError, type StateError, type TaskRecord } from '../../src/index.js';
import { AgentConnection, joinCluster, type Agent } from '../../src/agent/index.js';
import { agentSubject, decodeJson, encodeJson } from '../../src/nats/agent-protocol.js';
import { NatsServer } from '../support/nats-server.js';
import { until } from './support.js';

const CLI = new URL('../../src/cli/main.js', import.meta.url).pathname;
const GiB = 2 ** 30;


const allTasks = (s: ClusterState) => s.getTables().tasks.toArray().map((r) => s.getTask(String(r.id))!);

/** Runs an agent's tasks (running, then completed with its node id) until it is closed. */
function work(a: Agent): Promise<void> {
  return (async () => {
    for await (const task of a.tasks()) {
      await a.updateTask(task.id, { status: 'running' });
      await a.updateTask(task.id, { status: 'completed', result: { by: a.nodeId } });
    }
  })();
}

test('agents: tasks flow through the scheduler to agents and back; bad calls are refused with the master\'s error; retries apply once', async (t) => {
  const server = await NatsServer.start();
  const nats = { servers: server.url };
  const master = await ClusterState.open({ clusterId: 'ag-1', nodeId: 'm1', nats, scheduler: { intervalMs: 20 }, liveness: { heartbeatTimeoutMs: 5000 } });
  const conn = await AgentConnection.connect({ nats, clusterId: 'ag-1' });
  try {
    const a1 = await conn.join({ node: { id: 'w1', role: 'worker', resources: { cpu_count: 2, memory_total: 4 * GiB } }, heartbeatMs: 100, resources: false });
    const a2 = await conn.join({ node: { id: 'w2', role: 'worker', resources: { cpu_count: 2, memory_total: 4 * GiB } }, heartbeatMs: 100, resources: false });
    t.is(master.getNode('w1')!.status, 'online');
    const loops = [work(a1), work(a2)];
    master.transaction(() => {
      for (let i = 0; i < 20; i++) master.addTask({ id: `t${i}`, type: 'process', priority: i % 3, resources: { cpu_cores: 1, memory_mb: 256 } });
    });
    await until(master, () => allTasks(master).every((x) => x.status === 'completed'));
    const tasks = allTasks(master);
    t.true(tasks.every((x) => x.attempts === 1), 'each task ran once');
    t.true(tasks.every((x) => (x.result as { by: string }).by === x.assigned_to), 'completed by the node it was assigned to');
    t.true(new Set(tasks.map((x) => x.assigned_to)).size === 2, 'both agents took work');
    // Bad calls: the master's StateError, nothing changes.
    const mine = tasks.find((x) => x.assigned_to === 'w1')!;
    const theirs = tasks.find((x) => x.assigned_to === 'w2')!;
    const rev = master.revision;
    const refuse = async (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as StateError);
    const other = await refuse(a1.updateTask(theirs.id, { status: 'running' }));
    t.true(isStateError(other, 'INVALID_ARGUMENT'), String(other));
    t.regex(String(other), /assigned to this agent's node "w1" \(it is assigned to "w2"\)/);
    const again = await refuse(a1.updateTask(mine.id, { status: 'running' }));
    t.true(isStateError(again, 'INVALID_TRANSITION'), String(again));
    const local = (() => {
      try {
        master.updateTask(mine.id, { status: 'running' });
      } catch (e) {
        return e as StateError;
      }
      return null;
    })();
    t.is(again!.message, local!.message, 'the same message as a local mutation');
    t.true(isStateError(await refuse(a1.updateTask('no-such-task', { status: 'running' })), 'NOT_FOUND'));
    t.true(isStateError(await refuse(a1.updateTask(mine.id, { status: 42 as never })), 'INVALID_ARGUMENT'));
    t.true(isStateError(await refuse(a1.heartbeat({ cpu_load: 'busy' as never })), 'INVALID_ARGUMENT'));
    t.is(master.revision, rev, 'refused calls changed nothing');
    // Garbage on the wire: refused, the master keeps serving.
    const nc = await connect({ servers: server.url });
    const garbage = decodeJson((await nc.request(agentSubject('ag-1'), new TextEncoder().encode('{not json'), { timeout: 2000 })).data) as { ok: boolean; code: string };
    t.deepEqual([garbage.ok, garbage.code], [false, 'INVALID_ARGUMENT']);
    // A retried request (same request id) is applied once and answered the same.
    master.addContent({ cid: 'bafy-x', size: 10 });
    const body = encodeJson({ v: 1, op: 'addProvider', rid: 'retry-1', node: 'w1', args: ['bafy-x'] });
    const r1 = decodeJson((await nc.request(agentSubject('ag-1'), body, { timeout: 2000 })).data) as { ok: boolean; revision: number };
    const after = master.revision;
    const r2 = decodeJson((await nc.request(agentSubject('ag-1'), body, { timeout: 2000 })).data) as { ok: boolean; revision: number };
    t.true(r1.ok);
    t.deepEqual(r2, r1, 'the same reply');
    t.is(master.revision, after, 'not applied twice');
    t.deepEqual(master.getContent('bafy-x')!.providers, ['w1']);
    await nc.close();
    // addContent and removeProvider act for the agent's own node.
    await a2.addContent({ cid: 'bafy-y', size: 5 });
    t.deepEqual(master.getContent('bafy-y')!.providers, ['w2']);
    await a1.removeProvider('bafy-x');
    t.deepEqual(master.getContent('bafy-x')!.providers, []);
    // leave(): the node is removed.
    await a2.leave();
    t.is(master.getNode('w2'), undefined);
    await a1.close();
    await Promise.all(loops);
  } finally {
    await conn.close();
    await master.close();
    await server.stop();
  }
});

test('agents: no master within the timeout is UNAVAILABLE', async (t) => {
  const server = await NatsServer.start();
  try {
    const e = await joinCluster({ nats: { servers: server.url }, clusterId: 'nobody', node: { id: 'w1', role: 'worker' }, timeoutMs: 400, heartbeatMs: 0 }).catch((x: unknown) => x as StateError);
    t.true(isStateError(e, 'UNAVAILABLE'), String(e));
    t.regex(String(e), /no master of cluster "nobody" answered join of node "w1"/);
  } finally {
    await server.stop();
  }
});

test('agents: an agent process killed -9 goes offline; its tasks are requeued and completed by the others, none twice', async (t) => {
  const server = await NatsServer.start();
  const master = await ClusterState.open({
    clusterId: 'ag-2', nodeId: 'm1', nats: { servers: server.url },
    scheduler: { intervalMs: 20 }, liveness: { heartbeatTimeoutMs: 800, requeueAfterMs: 100 },
  });
  const events: Record<string, { t: string; task?: string }[]> = {};
  const procs = ['w1', 'w2', 'w3'].map((id) => {
    const p = spawn(process.execPath, [CLI, 'agent', '--nats', server.url, '--cluster', 'ag-2', '--id', id, '--cpus', '2', '--memory', '4GiB', '--heartbeat-ms', '100', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    events[id] = [];
    createInterface({ input: p.stdout! }).on('line', (l) => events[id]!.push(JSON.parse(l)));
    return { id, p };
  });
  try {
    await until(master, () => ['w1', 'w2', 'w3'].every((id) => master.getNode(id)?.status === 'online'));
    master.transaction(() => {
      for (let i = 0; i < 30; i++) master.addTask({ id: `k${i}`, type: 'process', payload: { ms: 150 }, resources: { cpu_cores: 1, memory_mb: 256 } });
    });
    // Once w1 runs something, it dies.
    await until(master, () => allTasks(master).some((x) => x.assigned_to === 'w1' && x.status === 'running'));
    const onW1 = allTasks(master).filter((x) => x.assigned_to === 'w1' && (x.status === 'running' || x.status === 'assigned')).map((x) => x.id);
    procs[0]!.p.kill('SIGKILL');
    await until(master, () => master.getNode('w1')!.status === 'offline', 10_000);
    await until(master, () => allTasks(master).every((x: TaskRecord) => x.status === 'completed'), 60_000);
    const tasks = allTasks(master);
    const requeued = tasks.filter((x) => onW1.includes(x.id));
    t.true(requeued.length > 0);
    t.true(requeued.every((x) => x.assigned_to !== 'w1' && (x.result as { by: string }).by !== 'w1'), 'w1\'s tasks were completed by the others');
    const completions = new Map<string, number>();
    for (const id of ['w2', 'w3']) for (const e of events[id]!) if (e.t === 'completed') completions.set(e.task!, (completions.get(e.task!) ?? 0) + 1);
    for (const e of events.w1!) if (e.t === 'completed') completions.set(e.task!, (completions.get(e.task!) ?? 0) + 1);
    t.deepEqual([...completions.values()].filter((n) => n > 1), [], 'no task completed twice');
    t.is(tasks.length, 30);
  } finally {
    for (const { p } of procs) p.kill('SIGTERM');
    await Promise.all(procs.map(({ p }) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : null)));
    await master.close();
    await server.stop();
  }
});
