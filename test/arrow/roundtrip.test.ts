// The writer's state as Arrow: getState() survives IPC, the single-row and flat tables hold exactly
// the records the getters return, in insertion order, cached per revision.
import test from 'ava';
import { tableFromIPC, tableToIPC, Vector, type Table } from 'apache-arrow';
import { ClusterState } from '../../src/index.js';

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof v === 'object') {
    const o = v as { toJSON?: () => unknown; toArray?: () => unknown[] };
    if (v instanceof Vector) return [...(v.toArray() as unknown[])].map(plain);
    if (typeof o.toJSON === 'function') return plain(o.toJSON());
    if (Array.isArray(v)) return v.map(plain);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

function rows(t: Table, col: string): unknown[] {
  return plain(t.getChild(col)!.get(0)) as unknown[];
}

function populated(): ClusterState {
  let now = 1_700_000_000_000;
  const s = ClusterState.inMemory({ clusterId: 'rt', nodeId: 'm', clock: () => (now += 7) });
  s.registerNode({ id: 'm', role: 'master', peers: ['w-ü'], resources: { cpu: 8, memory: '16GiB', disk: '1TB', gpu: 2 }, metadata: { zone: 'a', tags: ['x', 'y'] } });
  s.registerNode({ id: 'w-ü', role: 'worker', address: '10.0.0.2', capabilities: ['gpu', 'pinning'] });
  s.registerNode({ id: 'l', role: 'leecher', status: 'degraded' });
  for (let i = 0; i < 50; i++) {
    s.addTask({ id: `t${i}`, type: ['process', 'analyze', `custom-${i % 3}`][i % 3]!, priority: i - 25, resources: i % 2 ? { cpu: 2, memory: '4GB' } : null, input_cids: [`bafy${i}`], payload: i % 5 ? { i } : null });
  }
  s.assignTask('t1', 'w-ü');
  s.updateTask('t1', { status: 'running' });
  s.assignTask('t2', 'm');
  s.updateTask('t2', { status: 'failed', error: 'boom ✗' });
  s.addContent({ cid: 'bafy1', size: '1.5MB', providers: ['m', 'w-ü'], pinned: true, replication: 3 });
  s.addContent({ cid: 'bafy2', size: 0 });
  s.removeTask('t10');
  return s;
}

test('getState() → IPC → tableFromIPC gives back identical records', (t) => {
  const s = populated();
  const table = s.getState();
  const back = tableFromIPC(tableToIPC(table, 'stream'));
  t.deepEqual(String(back.schema), String(table.schema));
  for (const col of ['nodes', 'tasks', 'content']) t.deepEqual(rows(back, col), rows(table, col));
  t.is(back.getChild('cluster_id')!.get(0), 'rt');
  t.is(back.getChild('master_id')!.get(0), 'm');
  t.is(Number(back.getChild('updated_at')!.get(0)), s.updatedAt);
});

test('the single-row state holds exactly the records the getters return', (t) => {
  const s = populated();
  const state = s.getState();
  const nodes = rows(state, 'nodes') as Record<string, unknown>[];
  const tasks = rows(state, 'tasks') as Record<string, unknown>[];
  const content = rows(state, 'content') as Record<string, unknown>[];
  t.is(nodes.length, 3);
  t.is(tasks.length, 49);
  t.is(content.length, 2);
  for (const n of nodes) {
    const rec = s.getNode(n.id as string)!;
    t.deepEqual({ ...n, metadata: n.metadata === null ? null : JSON.parse(n.metadata as string) }, rec as unknown as Record<string, unknown>);
  }
  for (const x of tasks) {
    const rec = s.getTask(x.id as string)!;
    const decoded = { ...x, payload: x.payload === null ? null : JSON.parse(x.payload as string), result: x.result === null ? null : JSON.parse(x.result as string) };
    t.deepEqual(decoded, rec as unknown as Record<string, unknown>);
  }
  for (const c of content) t.deepEqual(c, s.getContent(c.cid as string) as unknown as Record<string, unknown>);
});

test('getTables() and getState() are cached per revision and rebuilt after a mutation', (t) => {
  const s = populated();
  const a = s.getTables();
  const b = s.getTables();
  t.is(a, b);
  t.is(s.getState(), s.getState());
  const rev = s.revision;
  s.heartbeat('w-ü', { cpu_load: 12.5 });
  t.is(s.revision, rev + 1);
  const c = s.getTables();
  t.not(c, a);
  const i = (c.nodes.getChild('id')!.toArray() as string[]).indexOf('w-ü');
  t.is(c.nodes.getChild('resources')!.get(i)!.toJSON().cpu_load, 12.5);
  // the old tables still hold the old revision's values
  t.is(a.nodes.getChild('resources')!.get(i)!.toJSON().cpu_load, null);
});

test('flat tables keep insertion order across deletes and batch boundaries', (t) => {
  const s = ClusterState.inMemory({ clusterId: 'big' });
  for (let i = 0; i < 9000; i++) s.addTask({ id: `t${i}`, type: 'process' });
  s.getTables();
  for (let i = 0; i < 9000; i += 7) s.removeTask(`t${i}`);
  s.addTask({ id: 'last', type: 'analyze' });
  const ids = s.getTables().tasks.getChild('id')!.toArray() as string[];
  const expected = [];
  for (let i = 0; i < 9000; i++) if (i % 7) expected.push(`t${i}`);
  expected.push('last');
  t.deepEqual(ids, expected);
  t.is(s.getTask('t8999')!.id, 't8999');
  t.is(s.getTask('t7'), undefined);
  t.is(s.getTables().tasks.data.length, 3, 'three record batches of at most 4096 rows');
});
