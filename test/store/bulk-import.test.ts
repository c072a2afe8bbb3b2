// options.import (store/import.ts): a whole state given to a new writer at once — from another
// writer's getTables(), getState(), records as the getters return them, or a seed-layout Parquet
// file — equals the state built by mutations row by row; it is revision 1, visible to worker
// threads, durable on a state directory, refused on a directory that holds a state, and bad
// rows are refused naming the row, the field and the value, with nothing kept.
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays } from 'apache-arrow';
import { ClusterState, readStateSnapshot, StateError } from '../../src/index.js';
import { attachState } from '../../src/worker.js';
import { getAllContent, getAllNodes, getAllTasks } from '../../src/helpers/index.js';
import { loadSynthetic } from '../../src/demo/synthetic.js';

const SCALE = { nodes: 300, tasks: 9000, content: 5000 };

async function source(): Promise<ClusterState> {
  const s = ClusterState.inMemory({ clusterId: 'bulk' });
  await loadSynthetic(s, SCALE, { seed: 11, chunk: 2000 });
  return s;
}

function rows(s: Parameters<typeof getAllNodes>[0]) {
  return { nodes: getAllNodes(s), tasks: getAllTasks(s), content: getAllContent(s) };
}

const tmp = (t: { teardown(fn: () => void): void }) => {
  const d = mkdtempSync(join(tmpdir(), 'acs-bulk-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
};

test('an import of getTables(), getState() or the records equals the state built by mutations, row by row, as revision 1', async (t) => {
  const src = await source();
  const expected = rows(src.snapshot());
  t.is(expected.tasks.length, SCALE.tasks);
  const snap = src.snapshot();
  const sources = {
    tables: src.getTables(),
    state: src.getState(),
    records: { nodes: expected.nodes, tasks: expected.tasks, content: expected.content },
  };
  let compared = 0;
  for (const [name, from] of Object.entries(sources)) {
    const s = ClusterState.inMemory({ clusterId: 'bulk', import: from });
    t.is(s.revision, 1, name);
    t.deepEqual(rows(s.snapshot()), expected, `${name}: every row equals the mutated state's`);
    t.deepEqual(s.counts, src.counts, name);
    const master = s.masterId;
    t.true(master === null || s.getNode(master)!.role === 'master', `${name}: master ${master}`);
    // Worker threads see revision 1 with every row.
    const reader = attachState(s.shared());
    const seen = reader.snapshot();
    t.is(seen.revision, 1);
    t.is(seen.tasks.numRows + seen.nodes.numRows + seen.content.numRows, SCALE.nodes + SCALE.tasks + SCALE.content);
    reader.close();
    // The imported writer goes on as any other: the active tasks per node were derived.
    const busy = expected.tasks.find((x) => x.status === 'assigned' || x.status === 'running')!;
    const e = t.throws(() => s.removeNode(busy.assigned_to!), { instanceOf: StateError });
    t.is((e as StateError).code, 'INVALID_TRANSITION', name);
    s.updateTask(expected.tasks[0]!.id, { priority: 7 });
    t.is(s.revision, 2);
    compared++;
    await s.close();
  }
  t.is(compared, 3);
  t.is(snap.revision, src.revision);
  await src.close();
});

test('an import of a seed-layout Parquet file equals its source; on a new state directory it is durable when open resolves', async (t) => {
  const srcDir = tmp(t);
  const src = await ClusterState.open({ statePath: srcDir, clusterId: 'bulk' });
  await loadSynthetic(src, SCALE, { seed: 12, chunk: 2000 });
  await src.exportParquet();
  const expected = rows(src.snapshot());
  await src.close();
  const pq = join(srcDir, 'state_bulk.parquet');
  const mem = ClusterState.inMemory({ clusterId: 'bulk', import: pq });
  t.deepEqual(rows(mem.snapshot()), expected);
  await mem.close();

  const dir = tmp(t);
  const s = await ClusterState.open({ statePath: dir, clusterId: 'bulk', parquet: false, import: { nodes: expected.nodes, tasks: expected.tasks, content: expected.content } });
  t.is(s.revision, 1);
  await s.close();
  const cold = readStateSnapshot(dir)!;
  t.is(cold.revision, 1);
  t.deepEqual(rows(cold), expected);
  const again = await ClusterState.open({ statePath: dir, clusterId: 'bulk', parquet: false });
  t.is(again.revision, 1);
  t.deepEqual(rows(again.snapshot()), expected);
  await again.close();
});

test('import on a directory that holds a state is ALREADY_EXISTS and changes no file', async (t) => {
  const dir = tmp(t);
  const s = await ClusterState.open({ statePath: dir, clusterId: 'bulk', parquet: false });
  s.registerNode({ id: 'n1', role: 'worker' });
  await s.close();
  const before = readdirSync(dir).sort();
  const e = await t.throwsAsync(ClusterState.open({ statePath: dir, clusterId: 'bulk', parquet: false, import: { nodes: [] } }), { instanceOf: StateError });
  t.is(e!.code, 'ALREADY_EXISTS');
  t.regex(e!.message, /already holds a state of cluster "bulk"/);
  t.deepEqual(readdirSync(dir).sort(), before);
  const reopened = await ClusterState.open({ statePath: dir, clusterId: 'bulk', parquet: false });
  t.deepEqual(reopened.getNode('n1')?.id, 'n1');
  await reopened.close();
});

test('bad imports are refused naming what is wrong, and nothing is kept', async (t) => {
  const src = await source();
  const good = rows(src.snapshot());
  await src.close();
  const cases: [string, unknown, string, RegExp][] = [
    ['a number', 42, 'INVALID_ARGUMENT', /options\.import/],
    ['an empty object', {}, 'INVALID_ARGUMENT', /at least one of nodes, tasks, content/],
    ['an unknown key', { nodes: [], jobs: [] }, 'INVALID_ARGUMENT', /options\.import\.jobs/],
    ['tables mixed with arrays', { nodes: [], tasks: tableFromArrays({ id: ['t'] }) }, 'INVALID_ARGUMENT', /options\.import\.(nodes|tasks)/],
    ['a record that is not an object', { nodes: [7] }, 'INVALID_ARGUMENT', /options\.import\.nodes\[0\]/],
    ['a bad status', { nodes: [{ ...good.nodes[0]!, status: 'sleepy' }] }, 'INVALID_ARGUMENT', /options\.import\.nodes\[0\]\.status.*sleepy/],
    ['a bad task field', { tasks: [good.tasks[0]!, { ...good.tasks[1]!, priority: 'high' }] }, 'INVALID_ARGUMENT', /options\.import\.tasks\[1\]\.priority/],
    ['an id given twice', { content: [good.content[0]!, good.content[0]!] }, 'ALREADY_EXISTS', /options\.import\.content\[1\]\.cid.*given twice/],
    ['a table row with a bad role', { nodes: tableFromArrays({ id: ['a', 'b'], role: ['worker', 'boss'], status: ['online', 'online'] }) }, 'INVALID_ARGUMENT', /nodes row 1.*role.*boss/],
    ['a missing Parquet file', join(tmpdir(), 'acs-no-such-dir', 'state.parquet'), 'IO', /state\.parquet/],
  ];
  let refused = 0;
  for (const [name, value, code, pattern] of cases) {
    const e = t.throws(() => ClusterState.inMemory({ clusterId: 'bulk', import: value as never }), { instanceOf: StateError }, name);
    t.is(e?.code as string, code, `${name}: ${e?.message}`);
    t.regex(e?.message ?? '', pattern, name);
    refused++;
  }
  t.is(refused, cases.length);
  // On a state directory: refused before anything is written; the directory opens empty after.
  const dir = tmp(t);
  const e = await t.throwsAsync(ClusterState.open({ statePath: dir, clusterId: 'bulk', parquet: false, import: { nodes: [{ ...good.nodes[0]!, role: 'boss' }] } }), { instanceOf: StateError });
  t.is(e!.code, 'INVALID_ARGUMENT');
  const empty = await ClusterState.open({ statePath: dir, clusterId: 'bulk', parquet: false });
  t.is(empty.revision, 0);
  t.is(empty.counts.nodes, 0);
  await empty.close();
});
