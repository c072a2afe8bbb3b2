// Followers (followState) in-process: polling mode, damaged files keep the last good state, a
// missing directory is NOT_FOUND and an empty one is waited on.
import test from 'ava';
import { mkdtempSync, renameSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState, StateError } from '../../src/index.js';
import { followState } from '../../src/follower/index.js';

// Every temp directory of this file is removed at the end, also when a test failed.
const made: string[] = [];
test.after.always(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'acs-follow-'));
  made.push(d);
  return d;
};

function nextError(f: { once(e: 'error', fn: (e: StateError) => void): unknown }, timeoutMs = 10_000): Promise<StateError> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no error event')), timeoutMs);
    f.once('error', (e) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
}

test('a polling follower (for network file systems) sees every flush and a burst\'s last revision', async (t) => {
  const dir = tempDir();
  const s = await ClusterState.open({ statePath: dir, clusterId: 'poll', parquet: false });
  const f = await followState(dir, { polling: true, intervalMs: 50 });
  for (let i = 0; i < 5; i++) {
    s.addTask({ id: `t${i}`, type: 'process' });
    const rev = await s.flush();
    t.is(await f.waitFor(rev, 10_000), rev);
    t.is(f.snapshot().tasks.numRows, i + 1);
  }
  for (let i = 0; i < 500; i++) s.updateTask(`t${i % 5}`, { priority: i % 9 });
  const last = await s.flush();
  t.is(await f.waitFor(last, 10_000), last);
  t.is(f.snapshot().source, 'follower');
  await s.close();
  await f.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a follower keeps its last good state when files go missing or turn to garbage, and says so', async (t) => {
  const dir = tempDir();
  const s = await ClusterState.open({ statePath: dir, clusterId: 'bad', parquet: false });
  s.addTask({ id: 'a', type: 'process' });
  const rev = await s.flush();
  await s.close();
  const f = await followState(dir, { safetyPollMs: 100 });
  t.is(f.revision, rev);
  const errGarbage = nextError(f);
  writeFileSync(join(dir, 'state_metadata.json'), 'garbage{');
  t.is((await errGarbage).code, 'CORRUPT');
  t.is(f.revision, rev);
  t.is(f.snapshot().tasks.numRows, 1);
  const errMissing = nextError(f);
  renameSync(join(dir, readdirSync(dir).find((n) => n.endsWith('.arena'))!), join(dir, 'moved.bin'));
  rmSync(join(dir, 'state_metadata.json'));
  t.is((await errMissing).code, 'NOT_FOUND');
  t.is(f.snapshot().tasks.getChild('id')!.get(0), 'a', 'still the last good state');
  await f.close();
  rmSync(dir, { recursive: true, force: true });
});

test('followState on a missing directory is NOT_FOUND; on an empty one it waits for a writer', async (t) => {
  const missing = join(tmpdir(), `acs-none-${process.pid}-${Date.now()}`);
  t.is((await t.throwsAsync(followState(missing), { instanceOf: StateError }))!.code, 'NOT_FOUND');
  const dir = tempDir();
  const f = await followState(dir);
  t.is(f.revision, -1);
  t.is(t.throws(() => f.snapshot(), { instanceOf: StateError })!.code, 'NOT_FOUND');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'late', parquet: false });
  s.registerNode({ id: 'n', role: 'worker' });
  const rev = await s.flush();
  t.is(await f.waitFor(rev, 10_000), rev);
  t.is(f.snapshot().nodes.numRows, 1);
  await s.close();
  await f.close();
  rmSync(dir, { recursive: true, force: true });
});
