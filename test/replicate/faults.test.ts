// Faults across machines, with real nats-server processes: the server killed (-9) and restarted on
// its store while the master mutates; a second master; a master deposed while paused; a 3-server
// NATS cluster losing a server under a replicated stream.
import test from 'ava';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterState, followState, isStateError, type StateError } from '../../src/index.js';
import { clusterNames } from '../../src/nats/names.js';
import { connectNats, checkNatsOptions } from '../../src/nats/connect.js';
import { lastMessage } from '../../src/nats/stream.js';
import { NatsServer } from '../support/nats-server.js';
import { freePort, rowDiff, rowsOf, startLineChild, tempDir } from './support.js';

const MASTER = new URL('../fixtures/nats-master.js', import.meta.url).pathname;
type MasterLine = { t: 'ready' | 'mutated' | 'replicated' | 'flushed'; revision: number } | { t: 'error' | 'fatal'; code: string; message: string };

test('faults: nats-server killed and restarted under a mutating master: nothing acknowledged is lost, the follower resumes without gap or duplicate', async (t) => {
  const server = await NatsServer.start();
  const nats = { servers: server.url, requestTimeoutMs: 1000 };
  const master = await ClusterState.open({ clusterId: 'fault-restart', nodeId: 'm1', nats });
  const f = await followState({ nats, clusterId: 'fault-restart' });
  try {
    master.registerNode({ id: 'w1', role: 'worker' });
    const seen: number[] = [];
    const start = f.revision;
    const watching = (async () => {
      for await (const cs of f.watch()) seen.push(cs.revision);
    })().catch((e: unknown) => e);
    for (let i = 0; i < 200; i++) master.heartbeat('w1', { cpu_load: i / 1000 });
    const acked = await master.replicated();
    await server.kill();
    // The engine is away: mutations go on locally; replicated() waits, then says UNAVAILABLE.
    for (let i = 0; i < 200; i++) master.updateNode('w1', { address: `10.0.0.${i % 250}` });
    const down = await master.replicated({ timeoutMs: 300 }).catch((e: unknown) => e as StateError);
    t.true(isStateError(down, 'UNAVAILABLE'), `replicated() while the server is down: ${String(down)}`);
    t.regex((down as Error).message, new RegExp(`not acknowledged by JetStream at ${server.url.replace(/[.]/g, '\\.')}`));
    t.true(master.replicationStats()!.lagRevisions >= 200, 'the lag is visible in the figures');
    await server.restart();
    for (let i = 0; i < 200; i++) master.heartbeat('w1', { cpu_load: 0.5 + i / 1000 });
    const final = await master.replicated({ timeoutMs: 30_000 });
    t.is(final, master.revision);
    t.true(final > acked);
    await f.waitFor(final, 30_000);
    while (seen.length < final - start) await new Promise((r) => setImmediate(r));
    t.deepEqual(seen, Array.from({ length: final - start }, (_, i) => start + 1 + i), 'the watch saw every revision once, in order, across the restart');
    t.deepEqual(rowDiff(rowsOf(f.snapshot()), rowsOf(master.getTables())), []);
    // A follower starting now reads every acknowledged revision back from the restarted server's store.
    const late = await followState({ nats, clusterId: 'fault-restart' });
    t.is(late.revision, final);
    await late.close();
    await f.close();
    await watching;
  } finally {
    await f.close();
    await master.close();
    await server.stop();
  }
});

test('faults: a second master is refused while the first holds the lease; a master deposed while paused is fenced and stops writing', async (t) => {
  const server = await NatsServer.start();
  const nats = { servers: server.url, requestTimeoutMs: 1000 };
  const dirA = tempDir('acs-fence-a-');
  const dirB = join(tempDir('acs-fence-b-'), 'state');
  const a = startLineChild<MasterLine>(MASTER, [server.url, 'fence-1', dirA, 'master-a', '900']);
  let b: ClusterState | null = null;
  try {
    await a.until((l) => l.t === 'ready');
    a.send('mutate 40');
    await a.until((l) => l.t === 'mutated');
    a.send('replicated');
    const acked = (await a.until((l) => l.t === 'replicated')) as { revision: number };
    // A second master, live or not, while master-a holds the lease: LOCKED naming it; nothing published.
    const second = await ClusterState.open({ clusterId: 'fence-1', nodeId: 'master-b', nats }).catch((e: unknown) => e as StateError);
    t.true(isStateError(second, 'LOCKED'), String(second));
    t.regex((second as Error).message, /mastered by "master-a"/);
    // master-a pauses (SIGSTOP) past its lease; master-b takes over from a copy of a's directory.
    process.kill(a.proc.pid!, 'SIGSTOP');
    cpSync(dirA, dirB, { recursive: true });
    rmSync(join(dirB, 'writer.lock'), { recursive: true, force: true });
    rmSync(join(dirB, 'writer.json'), { force: true });
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        b = await ClusterState.open({ clusterId: 'fence-1', statePath: dirB, nodeId: 'master-b', nats, replication: { leaseMs: 900 } });
        break;
      } catch (e) {
        if (!isStateError(e, 'LOCKED') || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100)); // master-a's lease has not expired yet
      }
    }
    t.true(b.revision >= acked.revision, 'the new master holds every acknowledged revision');
    b.registerNode({ id: 'from-b', role: 'worker' });
    const bRev = await b.replicated();
    process.kill(a.proc.pid!, 'SIGCONT');
    // master-a learns it was deposed (its lease renewal or its next publish is refused) and stops.
    const fatal = (await a.until((l) => l.t === 'fatal')) as { code: string; message: string };
    t.is(fatal.code, 'LOCKED');
    t.regex(fatal.message, /master-a|fenced|lost the lease/);
    a.send('mutate 1');
    const refused = (await a.until((l) => l.t === 'error')) as { code: string; message: string };
    t.is(refused.code, 'LOCKED', 'the deposed master refuses mutations');
    // The stream's tail is master-b's: nothing of master-a's landed after the takeover.
    const link = await connectNats(checkNatsOptions(nats));
    const last = await lastMessage(link, clusterNames('fence-1'), clusterNames('fence-1').changes);
    await link.nc.close();
    t.true(last!.writer.startsWith('master-b/'), `last writer ${last!.writer}`);
    t.true(last!.last >= bRev);
    const f = await followState({ nats, clusterId: 'fence-1' });
    t.deepEqual(rowDiff(rowsOf(f.snapshot()), rowsOf(b.getTables())), [], 'a follower holds master-b\'s state');
    await f.close();
  } finally {
    try {
      process.kill(a.proc.pid!, 'SIGCONT');
    } catch {
      // gone
    }
    await a.stop();
    await b?.close();
    await server.stop();
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  }
});

test('faults: a master killed -9 and restarted on its directory continues the log — also with revisions made while the engine was away', async (t) => {
  const server = await NatsServer.start();
  const nats = { servers: server.url, requestTimeoutMs: 1000 };
  const dir = tempDir('acs-restart-');
  const args = [server.url, 'restart-1', dir, 'master-r', '700'];
  let m = startLineChild<MasterLine>(MASTER, args);
  try {
    await m.until((l) => l.t === 'ready');
    m.send('mutate 30');
    m.send('replicated');
    const acked = (await m.until((l) => l.t === 'replicated')) as { revision: number };
    const f = await followState({ nats, clusterId: 'restart-1' });
    t.teardown(() => f.close());
    const seen: number[] = [];
    void (async () => {
      for await (const cs of f.watch()) seen.push(cs.revision);
    })().catch(() => undefined);
    // The engine goes away; the master goes on, flushes to its directory, and is killed.
    await server.kill();
    m.send('mutate 25');
    m.send('flush');
    const flushed = (await m.until((l) => l.t === 'flushed')) as { revision: number };
    t.true(flushed.revision > acked.revision);
    m.proc.kill('SIGKILL');
    await m.stop();
    await server.restart();
    // Restarted on the same directory and node id: it waits out its own lease, then publishes what the stream lacks.
    m = startLineChild<MasterLine>(MASTER, args);
    const ready = (await m.until((l) => l.t === 'ready')) as { revision: number };
    t.is(ready.revision, flushed.revision, 'the directory kept every flushed revision');
    m.send('mutate 5');
    m.send('replicated');
    const final = (await m.until((l) => l.t === 'replicated')) as { revision: number };
    t.is(final.revision, flushed.revision + 5);
    await f.waitFor(final.revision, 20_000);
    while (seen.length < final.revision - acked.revision) await new Promise((r) => setImmediate(r));
    const from = seen[0]!;
    t.deepEqual(seen, Array.from({ length: seen.length }, (_, i) => from + i), 'every revision once, in order');
    t.is(seen[seen.length - 1], final.revision);
  } finally {
    m.proc.kill('SIGKILL');
    await m.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});


test('faults: a 3-server NATS cluster with a replicated stream loses a server; replication goes on and a follower converges', async (t) => {
  const ports = [await freePort(), await freePort(), await freePort()];
  const routes = ports.map((p) => `nats://127.0.0.1:${p}`);
  const servers = await Promise.all(ports.map((port, i) => NatsServer.start({ cluster: { name: 'acs-c', serverName: `n${i}`, port, routes } })));
  const urls = servers.map((s) => s.url);
  const nats = { servers: urls, requestTimeoutMs: 2000 };
  let master: ClusterState | null = null;
  try {
    // JetStream in a fresh cluster needs a meta leader before a stream can be made: retry the open.
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        master = await ClusterState.open({ clusterId: 'cluster-3', nodeId: 'm1', nats, replication: { replicas: 3 } });
        break;
      } catch (e) {
        if (!isStateError(e, 'UNAVAILABLE') || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    master.registerNode({ id: 'w1', role: 'worker' });
    for (let i = 0; i < 100; i++) master.heartbeat('w1', { cpu_load: i / 100 });
    const before = await master.replicated({ timeoutMs: 20_000 });
    await servers[0]!.kill();
    for (let i = 0; i < 100; i++) master.updateNode('w1', { address: `10.9.0.${i}` });
    const after = await master.replicated({ timeoutMs: 30_000 });
    t.true(after > before);
    // While the streams that lost their leader elect a new one (seconds), requests time out: UNAVAILABLE, retried.
    const until = Date.now() + 30_000;
    let f;
    for (;;) {
      try {
        f = await followState({ nats: { servers: urls.slice(1), requestTimeoutMs: 2000 }, clusterId: 'cluster-3' });
        break;
      } catch (e) {
        if (!isStateError(e, 'UNAVAILABLE') || Date.now() > until) throw e;
      }
    }
    await f.waitFor(after, 30_000);
    t.deepEqual(rowDiff(rowsOf(f.snapshot()), rowsOf(master.getTables())), [], 'the follower (on the surviving servers) holds the master\'s state');
    await f.close();
  } finally {
    await master?.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
});
