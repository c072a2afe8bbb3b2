// Master failover through a real nats-server: a standby follows the master, refuses mutations
// (LOCKED naming it), and when the master is killed -9 it wins the lease, takes over with every
// acknowledged revision, serves agents and continues the revision sequence; the old master
// brought back is refused (LOCKED).
import test from 'ava';
import { ClusterState, followState, isStateError, type StateError } from '../../src/index.js';
import { joinCluster } from '../../src/agent/index.js';
import { NatsServer } from '../support/nats-server.js';
import { rowDiff, rowsOf, startLineChild, tempDir } from '../replicate/support.js';
import { existsSync, rmSync } from 'node:fs';
import { until } from './support.js';

const MASTER = new URL('../fixtures/nats-master.js', import.meta.url).pathname;
type MasterLine = { t: 'ready' | 'mutated' | 'replicated' | 'flushed'; revision: number } | { t: 'error' | 'fatal'; code: string; message: string };


test('failover: the standby follows, refuses mutations, takes over when the master is killed, with every acknowledged revision; the old master is refused', async (t) => {
  const server = await NatsServer.start();
  const nats = { servers: server.url, requestTimeoutMs: 1000 };
  const dir = tempDir('acs-failover-');
  let a = startLineChild<MasterLine>(MASTER, [server.url, 'fo-1', dir, 'master-a', '900']);
  let standby: ClusterState | null = null;
  try {
    await a.until((l) => l.t === 'ready');
    a.send('mutate 30');
    a.send('replicated');
    const first = (await a.until((l) => l.t === 'replicated')) as { revision: number };
    standby = await ClusterState.open({ clusterId: 'fo-1', nodeId: 'master-b', nats, standby: true, replication: { leaseMs: 900 }, liveness: { heartbeatTimeoutMs: 5000 } });
    const s = standby;
    t.true(s.isStandby);
    t.true(s.revision >= first.revision, 'the standby holds the replicated state when open resolves');
    const refused = (() => {
      try {
        s.registerNode({ id: 'x', role: 'worker' });
      } catch (e) {
        return e as StateError;
      }
      return null;
    })();
    t.true(isStateError(refused, 'LOCKED'), String(refused));
    t.regex(refused!.message, /standby of cluster "fo-1", mastered by "master-a"/);
    // An agent joins through the master; the standby follows every revision.
    const agent = await joinCluster({ nats, clusterId: 'fo-1', node: { id: 'w9', role: 'worker', resources: { cpu_count: 2, memory_total: 2 ** 31 } }, heartbeatMs: 0, timeoutMs: 20_000 });
    t.teardown(() => agent.close());
    a.send('mutate 20');
    a.send('replicated');
    const acked = (await a.until((l) => l.t === 'replicated' && l.revision > first.revision)) as { revision: number };
    await until(s, () => s.revision >= acked.revision);
    t.is(s.getNode('w9')!.status, 'online');
    // The master dies.
    a.proc.kill('SIGKILL');
    await a.stop();
    const killedAt = Date.now();
    const leaderAt = await s.leadership();
    const tookMs = Date.now() - killedAt;
    t.log(`takeover ${tookMs} ms after the kill (lease 900 ms)`);
    t.false(s.isStandby);
    t.true(leaderAt >= acked.revision, `no acknowledged revision lost (${leaderAt} >= ${acked.revision})`);
    // It writes: the revision sequence continues; replication and agents work.
    const before = s.revision;
    s.registerNode({ id: 'after-failover', role: 'worker' });
    t.is(s.revision, before + 1);
    t.is(await s.replicated(), before + 1);
    const hb = await agent.heartbeat({ cpu_load: 3 });
    t.true(hb >= before + 1, 'the agent is served by the new master');
    const f = await followState({ nats, clusterId: 'fo-1' });
    t.deepEqual(rowDiff(rowsOf(f.snapshot()), rowsOf(s.getTables())), [], 'a follower holds the new master\'s state');
    await f.close();
    // The old master comes back on its directory: refused, the new master holds the lease.
    a = startLineChild<MasterLine>(MASTER, [server.url, 'fo-1', dir, 'master-a', '900']);
    const code = await new Promise<number | null>((r) => a.proc.once('exit', (c) => r(c)));
    t.not(code, 0);
    t.regex(a.stderr(), /LOCKED: cluster "fo-1" is mastered by "master-b"/);
  } finally {
    a.proc.kill('SIGKILL');
    await a.stop();
    await standby?.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('failover: standby options are checked', async (t) => {
  const e1 = await ClusterState.open({ clusterId: 'c', statePath: '/tmp/x', nats: { servers: 'nats://127.0.0.1:1' }, standby: true, import: { nodes: [] } } as never).catch((e: unknown) => e as StateError);
  t.true(isStateError(e1, 'INVALID_ARGUMENT'));
  t.regex(String(e1), /options\.import.*a standby adopts the replicated state/);
  // A standby on a directory: the directory's options are checked before anything is opened.
  const dir = `/tmp/acs-never-${process.pid}`;
  const e3 = await ClusterState.open({ clusterId: 'c', statePath: dir, nats: { servers: 'nats://127.0.0.1:1' }, standby: true, lockStaleMs: -1 } as never).catch((e: unknown) => e as StateError);
  t.true(isStateError(e3, 'INVALID_ARGUMENT'));
  t.regex(String(e3), /options\.lockStaleMs/);
  t.false(existsSync(dir), 'nothing was created');
  const e2 = await ClusterState.open({ clusterId: 'c', standby: true } as never).catch((e: unknown) => e as StateError);
  t.true(isStateError(e2, 'INVALID_ARGUMENT'));
  t.regex(String(e2), /options\.standby/);
  const mem = ClusterState.inMemory({ clusterId: 'c' });
  t.is(await mem.leadership(), 0, 'a writer that is not a standby leads at once');
  await mem.close();
});
