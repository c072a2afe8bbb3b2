// The package loads no native addon: every runtime part runs in a child process with no .node file mapped.
import test from 'ava';
import { execFileSync } from 'node:child_process';

test('native-free: writer, pool, Parquet, lock and follower run without loading any native addon', (t) => {
  const probe = new URL('./fixtures/native-probe.js', import.meta.url).pathname;
  const out = JSON.parse(execFileSync(process.execPath, [probe], { encoding: 'utf8', timeout: 60_000 }).trim().split('\n').pop()!);
  t.deepEqual(out.addons, [], 'no .node file is mapped into the process (all its threads)');
  t.deepEqual(out.counted, { pending: 100 }, 'the pool really ran a query');
  t.true(out.followerRevision >= 101, 'the follower really loaded the state');
  t.is(out.parquetTasks, 100, 'parquet-wasm really read the file');
});
