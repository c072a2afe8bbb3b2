import test from 'ava';
import { tableFromIPC, tableToIPC, Type } from 'apache-arrow';
import { ENTITY_KINDS, flatSchema, isStateError, type EntityKind } from '../../src/index.js';
import { encodeChangeBatch } from '../../src/changes/encode.js';
import { decodeChangeBatch } from '../../src/changes/decode.js';
import type { ChangeSet, RevisionChanges } from '../../src/changes/change-set.js';
import { HEADER_BYTES, SECTIONS, TABLE_CODES } from '../../src/changes/codec-format.js';
import { assemble, keyOf, prng, randomRun, recordPool, revision, sectionBounds } from './support.js';

const pool = recordPool(7);

function roundTrip(revs: RevisionChanges[]): ChangeSet[] {
  const bytes = encodeChangeBatch(revs);
  const b = decodeChangeBatch(bytes, 'test batch');
  if (b.byteLength !== bytes.byteLength || b.firstRevision !== revs[0]!.revision || b.lastRevision !== revs.at(-1)!.revision) throw new Error('bad batch fields');
  return b.changeSets();
}

test('random runs of one and of many revisions decode to exactly the change sets encoded', (t) => {
  const counts = [1, 1, 2, 3, 7, 50, 300];
  for (let seed = 1; seed <= 35; seed++) {
    const rnd = prng(seed);
    const count = counts[seed % counts.length]!;
    const first = seed % 5 === 0 ? Number.MAX_SAFE_INTEGER - count + 1 : 1 + Math.floor(rnd() * 1e6);
    const { revs, expected } = randomRun(rnd, pool, first, count, { maxPerTable: seed % 3 === 0 ? 12 : 3 });
    const bytes = encodeChangeBatch(revs);
    const b = decodeChangeBatch(bytes, `seed ${seed}`);
    t.is(b.firstRevision, first);
    t.is(b.lastRevision, first + count - 1);
    t.is(b.revisionCount, count);
    t.is(b.byteLength, bytes.byteLength);
    t.deepEqual(b.changeSets(), expected, `seed ${seed}`);
    for (const j of [0, Math.floor(count / 2), count - 1]) t.deepEqual(b.changeSet(first + j), expected[j], `seed ${seed}, revision ${first + j}`);
  }
});

test('every entity kind alone, upserts only, deletes only', (t) => {
  for (const kind of ENTITY_KINDS) {
    const rows = pool[kind].slice(0, 5);
    const cs = roundTrip([revision(10, { upserts: { [kind]: rows } }), revision(11, { deletes: { [kind]: ['a', 'ü-😀', ''] } })]);
    t.deepEqual(cs[0]!.changes, rows.map((r) => ({ table: kind, op: 'upsert', id: keyOf(kind, r), record: r })));
    t.deepEqual(cs[1]!.changes, ['a', 'ü-😀', ''].map((id) => ({ table: kind, op: 'delete', id })));
  }
  const rnd = prng(99);
  for (const shape of [{ deletes: false }, { upserts: false }]) {
    const { revs, expected } = randomRun(rnd, pool, 5, 40, shape);
    t.deepEqual(roundTrip(revs), expected);
  }
});

test('revisions with no change, and revisions whose only change is a delete', (t) => {
  const revs = [revision(1), revision(2, { deletes: { tasks: ['t-1'] }, masterId: null }), revision(3), revision(4, { deletes: { content: ['c'] } })];
  t.deepEqual(roundTrip(revs), [
    { revision: 1, updatedAt: revs[0]!.updatedAt, masterId: 'm', changes: [] },
    { revision: 2, updatedAt: revs[1]!.updatedAt, masterId: null, changes: [{ table: 'tasks', op: 'delete', id: 't-1' }] },
    { revision: 3, updatedAt: revs[2]!.updatedAt, masterId: 'm', changes: [] },
    { revision: 4, updatedAt: revs[3]!.updatedAt, masterId: 'm', changes: [{ table: 'content', op: 'delete', id: 'c' }] },
  ]);
  t.deepEqual(roundTrip([revision(1, { updatedAt: 0, masterId: '' })]), [{ revision: 1, updatedAt: 0, masterId: '', changes: [] }]);
});

test('each call gives fresh objects owned by the caller', (t) => {
  const rows = [pool.nodes.at(-1)!, pool.nodes.at(-3)!];
  const b = decodeChangeBatch(encodeChangeBatch([revision(1, { upserts: { nodes: rows, tasks: [pool.tasks.at(-1)!] } })]), 'x');
  const a = b.changeSets();
  const change = a[0]!.changes[0]!;
  if (change.op !== 'upsert') throw new Error('expected an upsert');
  t.not(change.record, rows[0]);
  (change.record as { resources: { cpu_load: number } }).resources.cpu_load = -1;
  (change.record as { metadata: unknown }).metadata = 'changed';
  a[0]!.changes.length = 0;
  t.deepEqual(b.changeSets()[0]!.changes.map((c) => (c.op === 'upsert' ? c.record : null)), [...rows, pool.tasks.at(-1)!]);
  t.deepEqual(b.changeSet(1), b.changeSets()[0]);
  t.not(b.changeSet(1), b.changeSet(1));
});

test('the upsert rows as Arrow tables with their revision column, and the deletes', (t) => {
  const revs = [
    revision(20, { upserts: { nodes: pool.nodes.slice(0, 2), tasks: pool.tasks.slice(0, 3) }, deletes: { content: ['c1'] } }),
    revision(21, { deletes: { nodes: ['n-x'], tasks: ['t-y'] } }),
    revision(22, { upserts: { tasks: pool.tasks.slice(3, 4) } }),
  ];
  const b = decodeChangeBatch(encodeChangeBatch(revs), 'x');
  for (const kind of ENTITY_KINDS) {
    const table = b.upserts(kind);
    const flat = flatSchema(kind);
    t.deepEqual(table.schema.fields.map((f) => f.name), ['revision', ...flat.fields.map((f) => f.name)]);
    t.is(table.schema.fields[0]!.type.typeId, Type.Int);
    t.false(table.schema.fields.some((f) => f.type.typeId === Type.Dictionary), 'self-contained: no dictionaries');
  }
  t.is(b.upserts('nodes').numRows, 2);
  t.is(b.upserts('tasks').numRows, 4);
  t.is(b.upserts('content').numRows, 0);
  t.deepEqual([...b.upserts('tasks').getChild('revision')!].map(Number), [20, 20, 20, 22]);
  t.deepEqual(b.upserts('tasks').getChild('status')!.get(0), pool.tasks[0]!.status);
  t.deepEqual(b.upsertRange('tasks', 20), { start: 0, end: 3 });
  t.deepEqual(b.upsertRange('tasks', 21), { start: 3, end: 3 });
  t.deepEqual(b.upsertRange('tasks', 22), { start: 3, end: 4 });
  t.deepEqual(b.upsertRange('content', 22), { start: 0, end: 0 });
  t.deepEqual(b.deleteRange(20), { start: 0, end: 1 });
  t.deepEqual(b.deleteRange(21), { start: 1, end: 3 });
  t.deepEqual(b.deleteRange(22), { start: 3, end: 3 });
  const d = b.deletes;
  t.deepEqual([...d.getChild('revision')!].map(Number), [20, 21, 21]);
  t.deepEqual([...d.getChild('table')!], [TABLE_CODES.content, TABLE_CODES.nodes, TABLE_CODES.tasks]);
  t.deepEqual([...d.getChild('id')!], ['c1', 'n-x', 't-y']);
  t.deepEqual([...b.revisions.getChild('master_id')!], ['m', 'm', 'm']);
  t.deepEqual([...b.revisions.getChild('updated_at')!].map(Number), revs.map((r) => r.updatedAt));
  for (const bad of [19, 23, 20.5, NaN]) t.throws(() => b.changeSet(bad), { code: 'INVALID_ARGUMENT' } as never);
  t.throws(() => b.upsertRange('nodes', 0), { code: 'INVALID_ARGUMENT' } as never);
});

test('each section is a standard Arrow IPC stream, and a batch re-encoded by apache-arrow decodes the same', (t) => {
  const { revs, expected } = randomRun(prng(5), pool, 1000, 30);
  const bytes = encodeChangeBatch(revs);
  const bounds = sectionBounds(bytes);
  const rewritten: Record<string, Uint8Array> = {};
  for (const s of SECTIONS) {
    const [a, z] = bounds[s];
    if (a === z) continue;
    const table = tableFromIPC(bytes.subarray(a, z));
    t.true(table.numRows > 0, s);
    const ipc = tableToIPC(table, 'stream');
    rewritten[s] = ipc.subarray(0, ipc.byteLength - 8); // without the end-of-stream marker
  }
  const b = decodeChangeBatch(bytes, 'x');
  const rows = { nodes: b.upserts('nodes').numRows, tasks: b.upserts('tasks').numRows, content: b.upserts('content').numRows, deletes: b.deletes.numRows };
  const foreign = assemble(1000, 1029, rows, rewritten);
  t.notDeepEqual(foreign, bytes);
  t.deepEqual(decodeChangeBatch(foreign, 'apache-arrow-written').changeSets(), expected);
});

test('bytes that are not 8-aligned in their buffer decode the same (copied once)', (t) => {
  const { revs, expected } = randomRun(prng(6), pool, 1, 10);
  const bytes = encodeChangeBatch(revs);
  for (const shift of [1, 3, 4]) {
    const holder = new Uint8Array(bytes.byteLength + shift);
    holder.set(bytes, shift);
    t.deepEqual(decodeChangeBatch(holder.subarray(shift), 'unaligned').changeSets(), expected);
  }
  t.is(HEADER_BYTES % 8, 0);
});

test('the encoder refuses what a writer never produces, with an internal error', (t) => {
  const node = pool.nodes[0]!;
  const cases: [string, RevisionChanges[]][] = [
    ['no revisions', []],
    ['not consecutive', [revision(1), revision(3)]],
    ['descending', [revision(2), revision(1)]],
    ['revision 0', [revision(0)]],
    ['fractional', [revision(1.5)]],
    ['past 2^53', [revision(Number.MAX_SAFE_INTEGER), revision(Number.MAX_SAFE_INTEGER + 1)]],
    ['bad time', [revision(1, { updatedAt: -1 })]],
    ['twice upserted', [revision(1, { upserts: { nodes: [node, node] } })]],
    ['upserted and deleted', [revision(1, { upserts: { nodes: [node] }, deletes: { nodes: [node.id] } })]],
    ['twice deleted', [revision(1, { deletes: { tasks: ['x', 'x'] } })]],
    ['no key', [revision(1, { upserts: { content: [{ size: 1 }] } })]],
  ];
  for (const [name, revs] of cases) {
    const e = t.throws(() => encodeChangeBatch(revs), undefined, name);
    t.false(isStateError(e), name);
    t.regex(e!.message, /^internal: /, name);
  }
  // The same key in different tables, or in different revisions, is fine.
  const cs = roundTrip([revision(1, { upserts: { nodes: [node] }, deletes: { tasks: [node.id] } }), revision(2, { upserts: { nodes: [node] } })]);
  t.is(cs.length, 2);
});

test('decoding a value that is not bytes is INVALID_ARGUMENT', (t) => {
  for (const v of [null, 'bytes', [1, 2], new ArrayBuffer(80)]) {
    t.throws(() => decodeChangeBatch(v as unknown as Uint8Array, 'arg'), { code: 'INVALID_ARGUMENT' } as never);
  }
});

test('kinds are listed in the order the change sets use', (t) => {
  t.deepEqual(ENTITY_KINDS as readonly EntityKind[], ['nodes', 'tasks', 'content']);
  t.deepEqual(Object.keys(TABLE_CODES), ['nodes', 'tasks', 'content']);
});
