// The lease against clock jumps: the lease expires by the NATS server's clock (the KV bucket's
// TTL), never by a client's, so a master or standby whose clock jumps an hour forward or back
// neither loses nor steals the lease. Synchronised on the lease's own renewals (a KV watch), not
// on sleeps.
import test from 'ava';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { ClusterState } from '../../src/index.js';
import { clusterNames, LEASE_KEY } from '../../src/nats/names.js';
import { NatsServer } from '../support/nats-server.js';

test('lease: clock jumps of an hour, forward and back, neither lose the master its lease nor let the standby take over', async (t) => {
  const server = await NatsServer.start();
  const nats = { servers: server.url, requestTimeoutMs: 1000 };
  const realNow = Date.now;
  const master = await ClusterState.open({ clusterId: 'clock-1', nodeId: 'm1', nats, replication: { leaseMs: 600 } });
  const standby = await ClusterState.open({ clusterId: 'clock-1', nodeId: 'm2', nats, standby: true, replication: { leaseMs: 600 } });
  const nc = await connect({ servers: server.url });
  try {
    master.registerNode({ id: 'n1', role: 'worker' });
    await master.replicated();
    const kv = await new Kvm(nc).open(clusterNames('clock-1').lease);
    const renewals = await kv.watch({ key: LEASE_KEY });
    const it = renewals[Symbol.asyncIterator]();
    const seen = async (n: number) => {
      for (let k = 0; k < n; k++) {
        const r = await it.next();
        if (r.done) throw new Error('the lease watch ended');
        t.is(r.value.operation, 'PUT');
        t.regex(r.value.string(), /"nodeId":"m1"/, 'the lease stays the master\'s');
      }
    };
    for (const jump of [3_600_000, -3_600_000]) {
      Date.now = () => realNow() + jump;
      // Six renewals by the master: two whole lease periods pass on the server's clock.
      await seen(6);
      t.true(standby.isStandby, `the standby did not take over (clock ${jump > 0 ? 'forward' : 'back'} an hour)`);
      master.registerNode({ id: `n-${jump}`, role: 'worker' });
      t.true((await master.replicated()) > 0, 'the master still replicates');
      Date.now = realNow;
    }
    renewals.stop();
  } finally {
    Date.now = realNow;
    await nc.close();
    await standby.close();
    await master.close();
    await server.stop();
  }
});
