// Replication across processes through a real nats-server: a master on a state directory, remote
// followers in other processes with no access to its directory — a full one, a leecher, one that
// starts late and one that falls behind the trimmed history — under random mutations; at the end
// every follower's tables equal the master's row by row and the leecher holds exactly its projection.
import test from 'ava';
import { rmSync } from 'node:fs';
import { ClusterState, followState } from '../../src/index.js';
import { consistencyWriter } from '../fixtures/consistency-writer.js';
import { startRemoteFollower } from '../fixtures/remote-child.js';
import { NatsServer } from '../support/nats-server.js';
import { leecherProblems, rowDiff, rowsFrom, rowsOf, tempDir } from './support.js';

test('replication: full, leecher, late and trimmed-behind followers in other processes end with the master\'s rows', async (t) => {
  const server = await NatsServer.start();
  const dir = tempDir('acs-repl-');
  const master = await ClusterState.open({
    clusterId: 'repl-1', statePath: dir, nodeId: 'master-1', nats: { servers: server.url },
    replication: { snapshotEveryRevisions: 150, keepSnapshots: 1 },
  });
  const children = [];
  try {
    const w = consistencyWriter(master, 7, 40);
    await master.replicated();
    const full = startRemoteFollower(server.url, 'repl-1', 'full');
    const leech = startRemoteFollower(server.url, 'repl-1', 'leecher');
    const slow = startRemoteFollower(server.url, 'repl-1', 'full');
    children.push(full, leech, slow);
    await Promise.all(children.map((c) => c.untilKind('ready')));
    process.kill(slow.proc.pid!, 'SIGSTOP'); // it will fall behind the trimmed stream
    let late = null;
    for (let i = 0; i < 1200; i++) {
      w.step(i % 100 === 99 ? 20 : 0);
      // Many separate messages: more than the stopped follower's pull window (it must miss some).
      if (i % 3 === 0) await master.replicated();
      if (i === 600) {
        late = startRemoteFollower(server.url, 'repl-1', 'full');
        children.push(late);
      }
    }
    const stats = master.replicationStats()!;
    const rev = await master.replicated();
    t.true(master.replicationStats()!.snapshots >= 2, 'snapshots were written as the log grew');
    // The stream was trimmed behind the newest snapshot: the stopped follower's position is gone.
    process.kill(slow.proc.pid!, 'SIGCONT');
    const want = rowsOf(master.getTables());
    for (const [name, c] of [['full', full], ['late', late!], ['slow', slow]] as const) {
      const st = await c.dump(rev);
      t.is(st.revision, rev, `${name} follower reached the master's revision`);
      t.deepEqual(rowDiff(rowsFrom(st.rows), want), [], `${name} follower's rows equal the master's`);
      t.deepEqual(c.lines.filter((l) => l.t === 'gap'), [], `${name} follower's watch delivered every revision once, in order`);
    }
    t.true(slow.lines.some((l) => l.t === 'reload'), 'the follower that fell behind the trim reloaded from a snapshot and said so');
    const ls = await leech.dump(rev);
    t.deepEqual(leecherProblems(rowsFrom(ls.rows), master.getTables()), [], 'the leecher holds exactly its projection');
    const fs = (await full.dump(rev)).stats;
    t.true(ls.stats.bytes < fs.bytes / 2, `the leecher received less than half the full follower's bytes (${ls.stats.bytes} vs ${fs.bytes})`);
    t.true(stats.messages > 0);
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await master.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replication: an in-memory master; a follower in this process sees every revision; watch, waitFor and the helpers work on it', async (t) => {
  const server = await NatsServer.start();
  const nats = { servers: server.url };
  const master = await ClusterState.open({ clusterId: 'repl-mem', nodeId: 'm1', nats });
  try {
    master.registerNode({ id: 'm1', role: 'master' });
    master.registerNode({ id: 'w1', role: 'worker', resources: { cpu: 8, memory: '16GiB' }, capabilities: ['gpu'] });
    await master.replicated();
    const f = await followState({ nats, clusterId: 'repl-mem' });
    t.teardown(() => f.close());
    t.is(f.revision, master.revision, 'followState resolves once the follower holds what the stream held');
    const from = f.revision;
    t.is(f.snapshot().masterId, 'm1');
    const seen: number[] = [];
    const watching = (async () => {
      for await (const cs of f.watch()) {
        seen.push(cs.revision);
        if (cs.revision === from + 3) return cs;
      }
      return null;
    })();
    master.addTask({ id: 't1', type: 'process', payload: { n: 1 } });
    master.assignTask('t1', 'w1');
    master.updateTask('t1', { status: 'completed', result: { ok: true } });
    const last = await watching;
    t.deepEqual(seen, [from + 1, from + 2, from + 3]);
    t.deepEqual(last!.changes.map((c) => [c.table, c.op, c.id]), [['tasks', 'upsert', 't1']]);
    t.is(await f.waitFor(from + 3, 5000), from + 3);
    t.deepEqual(f.snapshot().tasks.numRows, 1);
    t.deepEqual(rowDiff(rowsOf(f.snapshot()), rowsOf(master.getTables())), []);
    // Its own worker threads read it zero-copy from its own shared memory, revision by revision.
    t.is(await f.query('revision'), from + 3);
    t.deepEqual(await f.query('findTasksByStatus', 'completed'), JSON.parse(JSON.stringify(await master.query('findTasksByStatus', 'completed'))));
    master.removeTask('t1');
    await f.waitFor(from + 4, 5000);
    t.is(await f.query('revision'), from + 4);
    t.deepEqual(await f.query('findTasksByStatus', 'completed'), []);
    t.is(f.shared().kind, 'arrow-cluster-state');
    await f.close();
  } finally {
    await master.close();
    await server.stop();
  }
});
