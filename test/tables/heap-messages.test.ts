// The writer's heap messages under publishes (issue 13): fixed-width changes are written into a
// batch's message in place and re-encoded messages go into recycled buffers — but only when the
// message was never exported. A Table handed out never changes; readers of shared memory see
// exactly the writer's rows with valid checksums; the scrub finds nothing to repair; a checkpoint
// written while the writer keeps publishing restores exactly its revision.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Table } from 'apache-arrow';
import { ClusterState, readStateSnapshot } from '../../src/index.js';
import { attachState } from '../../src/worker.js';
import { getAllContent, getAllNodes, getAllTasks } from '../../src/helpers/index.js';
import { Rng } from '../fixtures/rng.js';

const NODES = 300;
const TASKS = 9000; // three batches of tasks
const CONTENT = 600;

function seed(s: ClusterState): void {
  s.transaction(() => {
    for (let i = 0; i < NODES; i++) s.registerNode({ id: `n${i}`, role: i === 0 ? 'master' : 'worker', resources: { cpu: 4, memory: '8GiB' } });
    for (let i = 0; i < TASKS; i++) s.addTask({ id: `t${i}`, type: 'process', payload: { i }, priority: i % 5 });
    for (let i = 0; i < CONTENT; i++) s.addContent({ cid: `c${i}`, size: 1000 + i, providers: [`n${i % NODES}`] });
  });
}

/** One random change: mostly fixed-width (priority, heartbeat load, status), some variable-width. */
function change(s: ClusterState, r: Rng, k: number): void {
  const what = r.int(10);
  if (what < 4) s.updateTask(`t${r.int(TASKS)}`, { priority: r.int(1000) });
  else if (what < 6) s.heartbeat(`n${1 + r.int(NODES - 1)}`, { cpu_load: r.int(100) });
  else if (what < 7) s.updateNodeStatus(`n${1 + r.int(NODES - 1)}`, r.chance(0.5) ? 'degraded' : 'online');
  else if (what < 8) s.updateTask(`t${r.int(TASKS)}`, { payload: { k, note: 'é'.repeat(r.int(5)) } });
  else if (what < 9) s.updateContent(`c${r.int(CONTENT)}`, { replication: 1 + r.int(4) });
  else {
    const c = `c${r.int(CONTENT)}`;
    const n = `n${r.int(NODES)}`;
    if (s.getContent(c)!.providers.includes(n)) s.removeProvider(c, n);
    else s.addProvider(c, n);
  }
}

/** Every row of the three tables as JSON text (what a holder of the Tables would read). */
function dump(tables: { nodes: Table; tasks: Table; content: Table }): string {
  return JSON.stringify([tables.nodes.toArray(), tables.tasks.toArray(), tables.content.toArray()], (_k, v) => (typeof v === 'bigint' ? String(v) : v));
}

/** The writer's rows through its getters, in table order. */
function rows(s: ClusterState) {
  const snap = s.snapshot();
  return { nodes: getAllNodes(snap), tasks: getAllTasks(snap), content: getAllContent(snap) };
}

test('a Table handed out never changes while later publishes write unexported messages in place', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'heap' });
  seed(s);
  await s.published();
  const r = new Rng(13);
  const held: { tables: { nodes: Table; tasks: Table; content: Table }; text: string }[] = [];
  let checks = 0;
  for (let round = 0; round < 30; round++) {
    if (round % 5 === 0) {
      const tables = s.getTables();
      held.push({ tables, text: dump(tables) });
    }
    for (let k = 0; k < 50; k++) change(s, r, round * 50 + k);
    await s.published();
    for (const h of held) {
      t.is(dump(h.tables), h.text, `round ${round}: a Table handed out before changed`);
      checks++;
    }
  }
  // And the writer's current tables hold the current rows.
  const now = rows(s);
  t.is(now.tasks.length, TASKS);
  for (const task of now.tasks.filter((_, i) => i % 97 === 0)) {
    t.deepEqual(s.getTask(task.id), task);
    checks++;
  }
  t.true(checks > 60);
  await s.close();
});

test('after publishes written in place, a shared-memory reader sees the writer\'s rows, every checksum holds and the scrub repairs nothing', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'heap-shm' });
  seed(s);
  await s.published();
  const reader = attachState(s.shared());
  const r = new Rng(29);
  let compared = 0;
  for (let round = 0; round < 25; round++) {
    const n = round % 3 === 0 ? 1 : round % 3 === 1 ? 20 : 400;
    for (let k = 0; k < n; k++) change(s, r, round * 1000 + k);
    await s.published();
    const snap = reader.snapshot(); // verifies the CRC32 of every extent it decodes first
    t.is(snap.revision, s.revision);
    const mine = rows(s);
    t.deepEqual({ nodes: getAllNodes(snap), tasks: getAllTasks(snap), content: getAllContent(snap) }, mine, `round ${round}`);
    compared++;
    const scrub = s.scrubNow();
    t.is(scrub.repaired.length, 0, `round ${round}: the scrub found shared memory differing from the heap messages`);
  }
  t.is(compared, 25);
  reader.close();
  await s.close();
});

test('a checkpoint written while the writer keeps publishing in place restores exactly the revisions it acknowledged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acs-heap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = await ClusterState.open({ statePath: dir, clusterId: 'heap-dir', parquet: false, checkpoint: { revisions: 7, bytes: 1 << 30 } });
  seed(s);
  await s.flush();
  const r = new Rng(31);
  const checkpoints: Promise<number>[] = [];
  for (let round = 0; round < 40; round++) {
    for (let k = 0; k < 10; k++) change(s, r, round * 10 + k);
    await s.published();
    if (round % 9 === 0) checkpoints.push(s.checkpoint());
  }
  await Promise.all(checkpoints);
  await s.flush();
  const expected = rows(s);
  const revision = s.revision;
  await s.close();
  const cold = readStateSnapshot(dir)!;
  t.is(cold.revision, revision);
  t.deepEqual({ nodes: getAllNodes(cold), tasks: getAllTasks(cold), content: getAllContent(cold) }, expected);
  const again = await ClusterState.open({ statePath: dir, clusterId: 'heap-dir', parquet: false });
  t.is(again.revision, revision);
  t.deepEqual(rows(again), expected);
  await again.close();
});
