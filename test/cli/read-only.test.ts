// The commands are read-only: they leave a state directory byte-for-byte unchanged, take no lock,
// and work while a writer holds the lock (which stays held).
import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterState, StateError } from '../../src/index.js';
import { CliFixtures, fingerprint, Live, parsed, populate, run } from './support.js';

const f = new CliFixtures();
const { root, fx } = f;
test.before(() => f.build({ fx: true }));
test.after.always(() => f.remove());

test('read-only commands leave the state directory byte-for-byte unchanged and take no lock', async (t) => {
  const before = fingerprint(fx);
  const out = join(root, 'ro-export.json');
  const results = await Promise.all([
    run(['status', fx]), run(['status', fx, '--json']), run(['nodes', fx]), run(['tasks', fx, '--json']), run(['content', fx]),
    run(['get', 'node', fx, 'm1']), run(['get', 'task', fx, 'nope']), run(['export', fx, out]), run(['export', fx, '-']),
    run(['metrics', fx]), run(['watch', fx, '--summary', '--count', '1']), run(['watch', fx, '--after', '0', '--count', '1', '--json']),
  ]);
  t.deepEqual(results.map((r) => r.code), [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
  const serve = new Live(['serve', fx, '--port', '0', '--json']);
  const { metrics } = await serve.json<{ metrics: string }>((v) => typeof v.metrics === 'string');
  t.is((await fetch(metrics)).status, 200);
  await serve.kill();
  // Nothing was written, created or left behind (a lock would be a writer.lock directory).
  t.deepEqual(fingerprint(fx), before);
  t.false(existsSync(join(fx, 'writer.lock')));
});

test('read-only commands work while a writer holds the lock, and leave it held', async (t) => {
  const dir = join(root, 'locked');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'live' });
  try {
    populate(s);
    const rev = await s.flush();
    const [status, nodes, get, metrics, watch] = await Promise.all([
      run(['status', dir, '--json']), run(['nodes', dir, '--json']), run(['get', 'task', dir, 't-running', '--json']),
      run(['metrics', dir]), run(['watch', dir, '--after', String(rev - 1), '--count', '1', '--json']),
    ]);
    t.is(status.code, 0, status.stderr);
    t.is(parsed(status).revision, rev);
    t.is(parsed(nodes).total, 5);
    t.is(parsed(get).assigned_to, 'w1');
    t.regex(metrics.stdout, new RegExp(`^cluster_state_revision\\{cluster_id="live"\\} ${rev}$`, 'm'));
    t.is(parsed(watch).revision, rev);
    // The writer still owns the directory: a second writer is refused, and this one goes on.
    const err = await t.throwsAsync(ClusterState.open({ statePath: dir, clusterId: 'live' }));
    t.is((err as StateError).code, 'LOCKED');
    s.addTask({ id: 'after', type: 'process' });
    t.true((await s.flush()) > rev);
  } finally {
    await s.close();
  }
});
