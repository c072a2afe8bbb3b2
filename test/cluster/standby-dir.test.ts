// A standby master with its own state directory (the contract's example): it makes every
// replicated revision durable in its directory, takes over as a master on that directory when the
// master is killed -9, and the directory then reopens as a plain writer with every acknowledged
// revision. The old master comes back as a standby on its own directory (behind the stream: its
// state is replaced by the replicated one); a directory ahead of the stream is renamed aside,
// never deleted.
import test from 'ava';
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterState, isStateError, type StateError } from '../../src/index.js';
import { NatsServer } from '../support/nats-server.js';
import { rowDiff, rowsOf, startLineChild, tempDir } from '../replicate/support.js';
import { until } from './support.js';

const MASTER = new URL('../fixtures/nats-master.js', import.meta.url).pathname;
type MasterLine = { t: 'ready' | 'mutated' | 'replicated' | 'flushed'; revision: number } | { t: 'error' | 'fatal'; code: string; message: string };

test('standby on a directory: durable while following, a master on its directory after the takeover; the old master rejoins as a standby', async (t) => {
  const server = await NatsServer.start();
  const nats = { servers: server.url, requestTimeoutMs: 1000 };
  const dirA = tempDir('acs-sbdir-a-');
  const dirB = tempDir('acs-sbdir-b-');
  const a = startLineChild<MasterLine>(MASTER, [server.url, 'sbd', dirA, 'master-a', '900']);
  let b: ClusterState | null = null;
  let a2: ClusterState | null = null;
  try {
    await a.until((l) => l.t === 'ready');
    a.send('mutate 40');
    a.send('replicated');
    await a.until((l) => l.t === 'replicated');
    b = await ClusterState.open({ clusterId: 'sbd', statePath: dirB, nodeId: 'master-b', nats, standby: true, replication: { leaseMs: 900 } });
    const s = b;
    t.true(s.isStandby);
    t.truthy(s.files(), 'the standby has files');
    a.send('mutate 60');
    a.send('replicated');
    const acked = (await a.until((l) => l.t === 'replicated' && l.revision > 40)) as { revision: number };
    await until(s, () => s.revision >= acked.revision);
    // What it follows is durable in its directory.
    t.true(await s.flush() >= acked.revision);
    t.true(s.files()!.durableRevision >= acked.revision);
    const refused = await s.flush().then(() => null, (e: StateError) => e);
    t.is(refused, null, 'flush is not a mutation: a standby answers it');
    a.proc.kill('SIGKILL');
    await a.stop();
    const leaderAt = await s.leadership();
    t.true(leaderAt >= acked.revision, `no acknowledged revision lost (${leaderAt} >= ${acked.revision})`);
    s.registerNode({ id: 'after', role: 'worker' });
    const last = await s.replicated();
    t.is(s.files()!.durableRevision, last, 'replicated implies durable on the new master\'s directory');
    const expected = rowsOf(s.getTables());
    // The old master rejoins as a standby on its own directory: behind the stream, so replaced.
    a2 = await ClusterState.open({ clusterId: 'sbd', statePath: dirA, nodeId: 'master-a', nats, standby: true, replication: { leaseMs: 900 } });
    const s2 = a2;
    t.true(s2.isStandby);
    await until(s2, () => s2.revision >= last);
    t.deepEqual(rowDiff(rowsOf(s2.getTables()), expected), [], 'the rejoined standby holds the new master\'s state');
    t.deepEqual(readdirSync(dirA).filter((n) => n.includes('.superseded-')), [], 'a directory behind the stream is replaced, not kept aside');
    const e = (() => {
      try {
        s2.addTask({ id: 'x', type: 't' });
      } catch (err) {
        return err as StateError;
      }
      return null;
    })();
    t.true(isStateError(e, 'LOCKED'));
    t.regex(e!.message, /mastered by "master-b"/);
    await a2.close();
    a2 = null;
    await b.close();
    b = null;
    // The new master's directory reopens as a plain writer with everything.
    const reopened = await ClusterState.open({ statePath: dirB });
    t.is(reopened.revision, last);
    t.deepEqual(rowDiff(rowsOf(reopened.getTables()), expected), []);
    await reopened.close();
  } finally {
    a.proc.kill('SIGKILL');
    await a.stop();
    await a2?.close().catch(() => undefined);
    await b?.close().catch(() => undefined);
    await server.stop();
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  }
});

test('standby on a directory ahead of the stream: its files are renamed aside (never deleted), with a warning', async (t) => {
  const server = await NatsServer.start();
  const nats = { servers: server.url, requestTimeoutMs: 1000 };
  const dirM = tempDir('acs-sbdir-m-');
  const dirS = tempDir('acs-sbdir-s-');
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    // A directory of cluster "ahead" at revision 300, made without NATS.
    const local = await ClusterState.open({ clusterId: 'ahead', statePath: dirS });
    for (let i = 0; i < 300; i++) local.registerNode({ id: `local-${i}`, role: 'worker' });
    await local.close();
    // The cluster's master replicates 5 revisions.
    const m = await ClusterState.open({ clusterId: 'ahead', statePath: dirM, nodeId: 'm', nats, replication: { leaseMs: 900 } });
    for (let i = 0; i < 5; i++) m.registerNode({ id: `n${i}`, role: 'worker' });
    await m.replicated();
    const sb = await ClusterState.open({ clusterId: 'ahead', statePath: dirS, nodeId: 's', nats, standby: true, replication: { leaseMs: 900 } });
    t.is(sb.revision, 5);
    t.deepEqual(rowDiff(rowsOf(sb.getTables()), rowsOf(m.getTables())), []);
    const aside = readdirSync(dirS).filter((n) => n.includes('.superseded-'));
    t.true(aside.some((n) => n.startsWith('state_metadata.json.superseded-')), aside.join(', '));
    t.true(aside.some((n) => /\.arena\.superseded-/.test(n)), aside.join(', '));
    t.true(warnings.some((w) => /revision 300, ahead of the replicated revision 5/.test(w)), warnings.join(' | '));
    await sb.close();
    await m.close();
    // The state renamed aside is intact: moved back, it reopens at revision 300.
    const restored = tempDir('acs-sbdir-r-');
    for (const n of aside) {
      renameSync(join(dirS, n), join(restored, n.replace(/\.superseded-.*$/, '')));
    }
    t.true(existsSync(join(restored, 'state_metadata.json')));
    const back = await ClusterState.open({ statePath: restored });
    t.is(back.revision, 300);
    await back.close();
    rmSync(restored, { recursive: true, force: true });
  } finally {
    process.off('warning', onWarning);
    await server.stop();
    rmSync(dirM, { recursive: true, force: true });
    rmSync(dirS, { recursive: true, force: true });
  }
});
