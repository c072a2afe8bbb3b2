// The writer's lock: a compromised lock (removed under a running writer) stops all writing with
// LOCKED and is reported loudly.
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState, StateError } from '../../src/index.js';

// Every temp directory of this file is removed at the end, also when a test failed.
const made: string[] = [];
test.after.always(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'acs-lock-'));
  made.push(d);
  return d;
};

test('a compromised lock stops all writing with LOCKED and is reported loudly', async (t) => {
  const dir = tempDir();
  let fatal!: (e: StateError) => void;
  const failed = new Promise<StateError>((r) => (fatal = r));
  const s = await ClusterState.open({ statePath: dir, clusterId: 'lock', lockStaleMs: 2000, parquet: false, onFatal: (e) => fatal(e) });
  s.addTask({ id: 'a', type: 'process' });
  await s.flush();
  const logged: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => logged.push(a.join(' '));
  try {
    rmSync(join(dir, 'writer.lock'), { recursive: true, force: true }); // someone removed our lock
    // The writer notices before its next write (it checks its lock), or proper-lockfile at its next refresh.
    s.addTask({ id: 'b', type: 'process' });
    const err = await failed;
    t.is(err.code, 'LOCKED');
    t.regex(err.message, /compromised|deleted/);
    await t.throwsAsync(s.flush(), { message: /LOCKED/ });
    t.true(logged.some((l) => /compromised|deleted/.test(l)), 'reported on stderr');
    t.is(t.throws(() => s.addTask({ id: 'after', type: 'process' }), { instanceOf: StateError })!.code, 'LOCKED');
  } finally {
    console.error = original;
  }
  await s.close().catch(() => undefined);
  t.false(readdirSync(dir).includes('writer.lock'));
  rmSync(dir, { recursive: true, force: true });
});
