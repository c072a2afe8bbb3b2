// The demo's living cluster keeps up: run in simulated time (each tick is 50 ms of cluster life,
// driven by the test, no sleeps), the pending tasks of the loaded cluster are placed and the
// pending count then stays bounded while new tasks keep arriving, failing, retrying and nodes
// go offline (their tasks requeued). Placements are read-your-writes: no node is handed more
// tasks than the placement score allows (each placement sees the previous one).
import test from 'ava';
import { ClusterState, StateError } from '../../src/index.js';
import { loadSynthetic } from '../../src/demo/synthetic.js';
import { getClusterStatusSummary } from '../../src/helpers/index.js';
import { Simulator } from '../../src/demo/simulator.js';

test('the demo simulator places pending tasks as fast as they come: pending stays bounded over 20 simulated seconds', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'demo-sim' });
  try {
    await loadSynthetic(s, { nodes: 150, tasks: 1200, content: 600 }, { seed: 4 });
    const pendingAt = () => getClusterStatusSummary(s).tasks.by_status.pending ?? 0;
    const initial = pendingAt();
    t.true(initial > 50, `the loaded cluster starts with pending tasks (${initial})`);
    const sim = new Simulator(s, { rate: 50, seed: 5, placeBudgetMs: Infinity });
    let now = Date.now();
    const pending: number[] = [];
    for (let tick = 1; tick <= 400; tick++) {
      now += 50;
      sim.tick(now, 50);
      if (tick % 20 === 0) pending.push(pendingAt()); // once per simulated second
    }
    await sim.stop();
    t.true(sim.stats.created >= 990, `tasks kept arriving (${sim.stats.created})`);
    t.true(sim.stats.placed >= sim.stats.created, `placed ${sim.stats.placed} ≥ created ${sim.stats.created}`);
    // After the first seconds only tasks no node fits yet (retried each second, cancelled after
    // five tries) and the last tick's arrivals are pending: far below the 1,000 that arrived.
    const later = pending.slice(5);
    const worst = Math.max(...later);
    t.true(worst < 150, `pending after the first 5 s peaks at ${worst} (samples ${pending.join(', ')})`);
    t.true(pending[pending.length - 1]! < initial, `pending ends at ${pending[pending.length - 1]} < the initial ${initial}`);
  } finally {
    await s.close();
  }
});

test('the simulator refuses an unknown option (CLI-internal option objects are checked too)', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'demo-sim-opts' });
  try {
    t.throws(() => new Simulator(s, { rate: 1, seed: 1, maxInflight: 8 } as never), { instanceOf: StateError, message: /simulator options\.maxInflight .*accepted: rate, seed, placeBudgetMs/ });
  } finally {
    await s.close();
  }
});
