// The whole cluster, every part a real process through a real nats-server (the test):
// a master and a standby (`cluster-state master`, each on its own state directory) and five
// agents (`cluster-state agent`). Tasks flow from pending to completed through the scheduler. An
// agent is killed -9: its node goes offline within the timeout, its tasks are requeued and
// completed by others. The master is killed -9 mid-flow: the standby takes over within twice the
// lease, with every revision that was replicated; the agents go on. The old master brought back
// is fenced (LOCKED). At the end: no task completed twice, every completion an agent was told of
// is in the state, no node over-committed, and the new master's directory reopens with it all.
import test from 'ava';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterState, followState, type NodeRecord, type TaskRecord } from '../../src/index.js';
import type { RemoteFollower } from '../../src/follower/index.js';
import { NatsServer } from '../support/nats-server.js';
import { rowDiff, rowsOf, tempDir } from '../replicate/support.js';
import { run, stopAll, type Line, type Proc } from './processes.js';

const LEASE_MS = 1500;
const TIMEOUT_MS = 2500;

/** Resolves once `pred()` holds on the follower's newest revision (checked at every revision). */
async function until(f: RemoteFollower, pred: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  if (pred()) return;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    for await (const _cs of f.watch({ signal: ac.signal, afterRevision: f.revision })) if (pred()) return;
  } catch (e) {
    if (!ac.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms`);
}

test('the whole cluster: master, standby, five agents; an agent and then the master killed -9; nothing acknowledged lost, nothing done twice', async (t) => {
  const server = await NatsServer.start();
  const u = server.url;
  const root = tempDir('acs-whole-');
  const procs: Proc[] = [];
  let f: RemoteFollower | null = null;
  const master = (id: string, extra: string[] = []) => run(['master', '--nats', u, '--cluster', 'whole', '--id', id, '--dir', join(root, id),
    '--lease-ms', String(LEASE_MS), '--heartbeat-timeout-ms', String(TIMEOUT_MS), '--rate', '12', ...extra]);
  try {
    const m1 = master('master-1');
    procs.push(m1);
    await m1.until((l) => l.t === 'open');
    const m2 = master('master-2', ['--standby']);
    procs.push(m2);
    t.true((await m2.until((l) => l.t === 'open')).standby as boolean);
    const agents = [1, 2, 3, 4, 5].map((i) => run(['agent', '--nats', u, '--cluster', 'whole', '--id', `w${i}`, '--cpus', '2', '--memory', '2GiB', '--heartbeat-ms', '300']));
    procs.push(...agents);
    await Promise.all(agents.map((a) => a.until((l) => l.t === 'joined')));
    f = await followState({ nats: { servers: u }, clusterId: 'whole' });
    const fl = f;
    const tasksNow = () => [...rowsOf(fl.snapshot()).tasks.values()].map((x) => JSON.parse(x) as TaskRecord);
    const nodeNow = (id: string) => {
      const x = rowsOf(fl.snapshot()).nodes.get(id);
      return x === undefined ? undefined : JSON.parse(x) as NodeRecord;
    };

    // Work flows: every agent completes tasks placed by the scheduler.
    await Promise.all(agents.map((a) => a.until((l) => l.t === 'completed', 30_000)));

    // An agent dies: offline within the timeout, its tasks requeued and completed by others.
    const w5 = agents[4]!;
    await w5.until((l) => l.t === 'running');
    w5.p.kill('SIGKILL');
    const killedAgentAt = Date.now();
    await until(fl, () => nodeNow('w5')?.status === 'offline', 'w5 offline');
    // What w5 still held when it went offline (read from that revision: every completion w5 made
    // before it died was applied before it), to be requeued and completed by others.
    const orphaned = tasksNow().filter((x) => x.assigned_to === 'w5' && (x.status === 'assigned' || x.status === 'running')).map((x) => x.id);
    const offlineAfter = Date.now() - killedAgentAt;
    t.log(`w5 offline ${offlineAfter} ms after its kill (timeout ${TIMEOUT_MS} ms, heartbeat 300 ms)`);
    t.true(offlineAfter < TIMEOUT_MS + 2000, `offline within the timeout and a liveness tick (${offlineAfter} ms)`);
    t.true(orphaned.length > 0, 'w5 held tasks when it died');
    await until(fl, () => orphaned.every((id) => {
      const x = tasksNow().find((y) => y.id === id);
      return x?.status === 'completed';
    }), 'w5\'s tasks completed by others', 40_000);
    for (const id of orphaned) {
      const x = tasksNow().find((y) => y.id === id)!;
      t.not((x.result as { by?: string } | null)?.by, 'w5', `${id} completed by another agent`);
      t.true(x.attempts >= 1);
    }

    // The master dies mid-flow: the standby takes over within twice the lease with every replicated revision.
    const replicatedBefore = fl.revision; // the follower read it from the stream: it was replicated
    m1.p.kill('SIGKILL');
    const killedAt = Date.now();
    const leader = await m2.until((l) => l.t === 'leader', 20_000);
    const took = Date.now() - killedAt;
    t.log(`takeover ${took} ms after the master's kill (lease ${LEASE_MS} ms)`);
    t.true(took <= 2 * LEASE_MS, `the standby took over within 2 × the lease (${took} ms)`);
    t.true((leader.revision as number) >= replicatedBefore, `no replicated revision lost (${String(leader.revision)} >= ${replicatedBefore})`);
    // The agents go on through the new master.
    const live = agents.slice(0, 4);
    const count = () => live.reduce((n, a) => n + a.lines.filter((l) => l.t === 'completed').length, 0);
    const atTakeover = count();
    await Promise.race(live.map((a) => a.until((l) => l.t === 'completed' && count() > atTakeover + 3, 30_000)));

    // The old master comes back as a master on its directory: fenced.
    const back = master('master-1');
    procs.push(back);
    t.not(await back.exited, 0);
    t.regex(back.stderr(), /LOCKED: cluster "whole" is mastered by "master-2"/);

    // Stop the agents, then read the final state.
    await stopAll(live);
    const status = await m2.until((l) => l.t === 'status' && (l.revision as number) >= fl.revision, 10_000);
    t.true(status.leading as boolean);
    await until(fl, () => fl.revision >= (status.revision as number), 'the follower reaches the master');
    const final = tasksNow();
    const byId = new Map(final.map((x) => [x.id, x]));
    const completions = agents.flatMap((a, i) => a.lines.filter((l: Line) => l.t === 'completed').map((l) => ({ task: String(l.task), by: `w${i + 1}` })));
    t.true(completions.length >= 10, `${completions.length} completions`);
    const ids = completions.map((c) => c.task);
    t.is(new Set(ids).size, ids.length, 'no task completed twice');
    for (const c of completions) {
      const x = byId.get(c.task);
      t.is(x?.status, 'completed', `${c.task}, whose completion ${c.by} was told of, is completed in the state`);
      t.is((x?.result as { by?: string } | null)?.by, c.by);
    }
    // No node over-committed: active requirements within capacity (2 CPUs, 2 GiB each).
    const active = final.filter((x) => x.status === 'assigned' || x.status === 'running');
    for (const n of ['w1', 'w2', 'w3', 'w4', 'w5']) {
      const mine = active.filter((x) => x.assigned_to === n);
      t.true(mine.reduce((s, x) => s + (x.resources?.cpu_cores ?? 0), 0) <= 2, `${n} not over-committed`);
    }
    for (const x of final) if (x.status !== 'pending') t.truthy(x.assigned_to, `${x.id} (${x.status}) names its node`);
    // The new master stops (its last revisions replicated at close); its directory reopens as a
    // plain writer holding exactly what the remote follower reads at that revision.
    m2.p.kill('SIGTERM');
    t.is(await m2.exited, 0);
    const reopened = await ClusterState.open({ statePath: join(root, 'master-2') });
    await fl.waitFor(reopened.revision, 20_000);
    t.is(fl.revision, reopened.revision);
    t.deepEqual(rowDiff(rowsOf(reopened.getTables()), rowsOf(fl.snapshot())), []);
    await reopened.close();
  } finally {
    await f?.close().catch(() => undefined);
    await stopAll(procs);
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
});
