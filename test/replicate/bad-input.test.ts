// Bad input across machines: every refusal is a StateError naming the value, and nothing is
// created or overwritten on the server (or on disk) by a refused open.
import test from 'ava';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ClusterState, followState, isStateError } from '../../src/index.js';
import { NatsServer } from '../support/nats-server.js';
import { freePort } from './support.js';


const refusal = async (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as Error & { code?: string });

test('bad input: options are checked before anything is opened', async (t) => {
  const cases: [string, Promise<unknown>, string, RegExp][] = [
    ['unknown nats key', ClusterState.open({ clusterId: 'c', nats: { servers: 'nats://127.0.0.1:1', serverz: 1 } as never }), 'INVALID_ARGUMENT', /options\.nats\.serverz/],
    ['servers not a URL', ClusterState.open({ clusterId: 'c', nats: { servers: 'http://x y' } }), 'INVALID_ARGUMENT', /options\.nats\.servers/],
    ['empty servers', ClusterState.open({ clusterId: 'c', nats: { servers: [] } }), 'INVALID_ARGUMENT', /options\.nats\.servers/],
    ['replication without nats', ClusterState.open({ clusterId: 'c', statePath: '/nonexistent/x', replication: {} } as never), 'INVALID_ARGUMENT', /options\.replication/],
    ['unknown replication key', ClusterState.open({ clusterId: 'c', nats: { servers: 'nats://127.0.0.1:1' }, replication: { snapshotsEvery: 5 } as never }), 'INVALID_ARGUMENT', /options\.replication\.snapshotsEvery/],
    ['replicas 2', ClusterState.open({ clusterId: 'c', nats: { servers: 'nats://127.0.0.1:1' }, replication: { replicas: 2 } }), 'INVALID_ARGUMENT', /replicas.*1, 3 or 5/],
    ['leaseMs 10', ClusterState.open({ clusterId: 'c', nats: { servers: 'nats://127.0.0.1:1' }, replication: { leaseMs: 10 } }), 'INVALID_ARGUMENT', /leaseMs/],
    ['follower projection', followState({ nats: { servers: 'nats://127.0.0.1:1' }, clusterId: 'c', projection: 'half' as never }), 'INVALID_ARGUMENT', /options\.projection/],
    ['follower unknown key', followState({ nats: { servers: 'nats://127.0.0.1:1' }, clusterId: 'c', polling: true } as never), 'INVALID_ARGUMENT', /options\.polling/],
    ['follower without clusterId', followState({ nats: { servers: 'nats://127.0.0.1:1' } } as never), 'INVALID_ARGUMENT', /options\.clusterId/],
  ];
  for (const [name, p, code, re] of cases) {
    const e = await refusal(p);
    t.true(isStateError(e, code as 'INVALID_ARGUMENT'), `${name}: ${String(e)}`);
    t.regex(String(e), re, name);
  }
  const mem = ClusterState.inMemory({ clusterId: 'c' });
  const e = await refusal(mem.replicated());
  t.true(isStateError(e, 'INVALID_ARGUMENT'), String(e));
  t.is(mem.replicationStats(), null);
  await mem.close();
});

test('bad input: an unreachable server is UNAVAILABLE naming the URL, for the master and the follower', async (t) => {
  const url = `nats://127.0.0.1:${await freePort()}`;
  for (const p of [ClusterState.open({ clusterId: 'c', nats: { servers: url, timeout: 500 } }), followState({ nats: { servers: url, timeout: 500 }, clusterId: 'c' })]) {
    const e = await refusal(p);
    t.true(isStateError(e, 'UNAVAILABLE'), String(e));
    t.true(String(e).includes(url), String(e));
  }
});

test('bad input: a stream holding another cluster\'s or another format\'s data is CORRUPT and left as it was; a state older than the stream is refused; a missing cluster is NOT_FOUND', async (t) => {
  const server = await NatsServer.start();
  const nc = await connect({ servers: server.url });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'ACS_other', subjects: ['acs.other.>'], description: JSON.stringify({ format: 'arrow-cluster-state/change-batches', version: 1, clusterId: 'not-other' }) });
    await jsm.streams.add({ name: 'ACS_foreign', subjects: ['foreign.>'], description: 'orders of a shop' });
    const js = (await import('@nats-io/jetstream')).jetstream(nc);
    await js.publish('foreign.x', new Uint8Array([1, 2, 3]));
    for (const [clusterId, re] of [['other', /holds cluster "not-other", not "other"/], ['foreign', /does not hold arrow-cluster-state change batches/]] as const) {
      const before = await jsm.streams.info(`ACS_${clusterId}`);
      const e = await refusal(ClusterState.open({ clusterId, nodeId: 'm1', nats: { servers: server.url } }));
      t.true(isStateError(e, 'CORRUPT'), String(e));
      t.regex(String(e), re);
      const f = await refusal(followState({ nats: { servers: server.url }, clusterId }));
      t.true(isStateError(f, 'CORRUPT'), String(f));
      const after = await jsm.streams.info(`ACS_${clusterId}`);
      t.deepEqual([after.state.messages, after.state.last_seq, after.config.description], [before.state.messages, before.state.last_seq, before.config.description], 'nothing was written to it');
    }
    // No stream for the cluster: the follower says so.
    const nf = await refusal(followState({ nats: { servers: server.url }, clusterId: 'nobody' }));
    t.true(isStateError(nf, 'NOT_FOUND'), String(nf));
    t.regex(String(nf), /cluster "nobody" has no stream ACS_nobody/);
    // A master whose state is older than what the stream holds is refused (nothing published).
    const m = await ClusterState.open({ clusterId: 'ahead', nodeId: 'm1', nats: { servers: server.url } });
    for (let i = 0; i < 5; i++) m.registerNode({ id: `n${i}`, role: 'worker' });
    await m.replicated();
    await m.close();
    const info = await jsm.streams.info('ACS_ahead');
    const older = await refusal(ClusterState.open({ clusterId: 'ahead', nodeId: 'm1', nats: { servers: server.url } }));
    t.true(isStateError(older, 'CORRUPT'), String(older));
    t.regex(String(older), /holds revision 5 .* this state is at revision 0/);
    t.is((await jsm.streams.info('ACS_ahead')).state.last_seq, info.state.last_seq, 'nothing was published');
  } finally {
    await nc.close();
    await server.stop();
  }
});
