// Compaction writes a new arena generation while Parquet exports and metadata writes go on: the
// writer's own claim must never look like another writer's (it once fenced itself out, stopping
// `npm start` within seconds), and readers follow the generations.
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState, readStateSnapshot, type StateError } from '../../src/index.js';
import { followState } from '../../src/follower/index.js';
import { hashRows } from '../fixtures/invariants.js';

test('compaction under busy Parquet exports: the writer never fences itself out; readers and a reopen follow the new generations', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acs-compact-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let fatal: StateError | null = null;
  const s = await ClusterState.open({ statePath: dir, clusterId: 'compact', parquet: { minIntervalMs: 0, maxAgeMs: 50 }, onFatal: (e) => (fatal = e) });
  s.transaction(() => {
    for (let i = 0; i < 20_000; i++) s.addTask({ id: `t${i}`, type: 'process', payload: { i } });
  });
  await s.flush();
  const f = await followState(dir, { safetyPollMs: 100 });
  t.teardown(() => f.close());
  let round = 0;
  while ((s.files()!.compactions < 2 || round < 50) && round < 2000 && !fatal) {
    for (let k = 0; k < 200; k++) {
      const i = (round * 7919 + k * 104_729) % 20_000;
      s.updateTask(`t${i}`, { priority: round % 100, result: { round, pad: 'x'.repeat(round % 64) } });
    }
    await s.flush();
    round++;
  }
  t.is(fatal, null, `the writer stopped: ${(fatal as StateError | null)?.message}`);
  t.true(s.files()!.compactions >= 2, `${s.files()!.compactions} compactions in ${round} rounds`);
  const last = await s.flush();
  const hash = hashRows(s.getTables());
  await s.exportParquet();
  t.is(await f.waitFor(last, 20_000), last);
  t.is(readStateSnapshot(dir)!.revision, last);
  await s.close();
  t.is(readdirSync(dir).filter((n) => n.endsWith('.arena')).length, 1, 'older generations are removed');
  const again = await ClusterState.open({ statePath: dir, parquet: false });
  t.is(again.revision, last);
  t.is(hashRows(again.getTables()), hash);
  await again.close();
});
