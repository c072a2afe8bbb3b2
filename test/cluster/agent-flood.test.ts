// A flood of agent requests does not starve the writer: the master sheds what its bounded queue
// cannot hold with UNAVAILABLE at once (never unbounded memory), keeps its own event loop turning,
// and answers normally once the flood is over.
import test from 'ava';
import { connect } from '@nats-io/transport-node';
import { ClusterState } from '../../src/index.js';
import { agentSubject, decodeJson, encodeJson } from '../../src/nats/agent-protocol.js';
import { NatsServer } from '../support/nats-server.js';

test('agents: a flood of 40,000 requests is answered (applied or shed with UNAVAILABLE); the writer keeps turning and serves afterwards', async (t) => {
  const server = await NatsServer.start();
  const master = await ClusterState.open({ clusterId: 'flood-1', nodeId: 'm1', nats: { servers: server.url } });
  const nc = await connect({ servers: server.url });
  try {
    master.registerNode({ id: 'w1', role: 'worker', resources: { cpu_count: 2, memory_total: 2 ** 31 } });
    await master.replicated();
    // The writer's own loop: a timer that must keep firing during the flood.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const n = 40_000;
    const replies = await Promise.all(Array.from({ length: n }, (_, i) =>
      nc.request(agentSubject('flood-1'), encodeJson({ v: 1, op: 'heartbeat', rid: `f-${i}`, node: 'w1', args: [{ cpu_load: i % 100 }] }), { timeout: 60_000 })
        .then((m) => decodeJson(m.data) as { ok: boolean; code?: string })));
    clearInterval(timer);
    const ok = replies.filter((r) => r.ok).length;
    const shed = replies.filter((r) => !r.ok && r.code === 'UNAVAILABLE').length;
    t.log(`${ok} applied, ${shed} shed, ${ticks} timer ticks during the flood`);
    t.is(ok + shed, n, 'every request answered: applied or UNAVAILABLE, nothing else');
    t.true(ok > 0);
    t.true(ticks > 0, 'the writer\'s event loop kept turning');
    // Afterwards: served normally, and the state is the writer's to change.
    const after = decodeJson((await nc.request(agentSubject('flood-1'), encodeJson({ v: 1, op: 'heartbeat', rid: 'after', node: 'w1', args: [{ cpu_count: 4 }] }), { timeout: 10_000 })).data) as { ok: boolean; revision: number };
    t.true(after.ok);
    t.is(master.getNode('w1')!.resources.cpu_count, 4);
    master.registerNode({ id: 'w2', role: 'worker' });
    t.is(await master.replicated(), master.revision);
  } finally {
    await nc.close();
    await master.close();
    await server.stop();
  }
});

test('agents: past the queue bound (replication.maxAgentQueue) requests are shed with UNAVAILABLE at once, nothing of them applied; a retry is applied once', async (t) => {
  const server = await NatsServer.start();
  const master = await ClusterState.open({ clusterId: 'flood-2', nodeId: 'm1', nats: { servers: server.url }, replication: { maxAgentQueue: 50 } });
  const nc = await connect({ servers: server.url });
  try {
    master.registerNode({ id: 'w1', role: 'worker' });
    await master.replicated();
    const n = 5000;
    const send = (i: number) => nc.request(agentSubject('flood-2'), encodeJson({ v: 1, op: 'addContent', rid: `c-${i}`, node: 'w1', args: [{ cid: `cid-${i}`, size: i }] }), { timeout: 60_000 })
      .then((m) => decodeJson(m.data) as { ok: boolean; code?: string; message?: string });
    const replies = await Promise.all(Array.from({ length: n }, (_, i) => send(i)));
    const applied = replies.flatMap((r, i) => (r.ok ? [i] : []));
    const shed = replies.filter((r) => !r.ok);
    t.log(`${applied.length} applied, ${shed.length} shed (bound 50)`);
    t.true(shed.length > 0, 'the bound was reached');
    for (const r of shed) {
      t.is(r.code, 'UNAVAILABLE');
      t.regex(r.message!, /is busy: \d+ agent requests are waiting; retry later/);
    }
    t.is(master.counts.content, applied.length, 'exactly the applied requests changed the state');
    // Retrying everything (same request ids) applies each missing one once and answers the others from the dedup window.
    let missing = replies.flatMap((r, i) => (r.ok ? [] : [i]));
    for (let round = 0; missing.length && round < 100; round++) {
      const again: { ok: boolean }[] = [];
      for (let k = 0; k < missing.length; k += 40) again.push(...await Promise.all(missing.slice(k, k + 40).map(send)));
      missing = missing.filter((_, j) => !again[j]!.ok);
    }
    t.deepEqual(missing, []);
    const dup = await send(applied[0]!);
    t.true(dup.ok, 'a request applied earlier, sent again, is answered from the dedup window');
    t.is(master.counts.content, n, 'every content item once');
  } finally {
    await nc.close();
    await master.close();
    await server.stop();
  }
});
