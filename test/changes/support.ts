// Shared by the change-batch tests: a pool of real records (made by ClusterState mutations and
// read back with the getters, so their shapes are exactly the store's), seeded random runs of
// RevisionChanges built from them, the change sets those runs must decode to, and a low-level
// assembler that builds change batches from hand-made sections (for inputs our encoder refuses
// to produce).
import { crc32 } from 'node:zlib';
import type { Data } from 'apache-arrow';
import { ClusterState, ENTITY_KINDS, type Json, type ContentRecord, type EntityKind, type NodeRecord, type TaskRecord } from '../../src/index.js';
import { prng } from '../../src/demo/synthetic.js';
import type { Change, ChangeSet, RevisionChanges, Row } from '../../src/changes/change-set.js';
import { encodeRecordBatch, encodeSchema, writeMessage } from '../../src/arrow/encode/ipc-message.js';
import { H, HEADER_BYTES, sectionSchemas, SECTIONS, type SectionName } from '../../src/changes/codec-format.js';
import { randomState } from '../helpers/support.js';

export { prng };

export interface Pool {
  nodes: NodeRecord[];
  tasks: TaskRecord[];
  content: ContentRecord[];
}

const KEYS: Record<EntityKind, string> = { nodes: 'id', tasks: 'id', content: 'cid' };
export const keyOf = (kind: EntityKind, r: Row): string => (r as Record<string, string>)[KEYS[kind]]!;

/**
 * Real records: a seeded random state (nulls, empty lists, non-ASCII ids, every task status,
 * several record batches' worth of types) plus the oddities it lacks — sizes and memory up to
 * 2^53 − 1, float32 loads, nested and non-ASCII JSON payloads, results and metadata, empty
 * strings — each read back with getNode/getTask/getContent, several versions per entity.
 */
export function recordPool(seed: number): Pool {
  const { state, nodeIds, taskIds, cids } = randomState(seed, { nodes: 40, tasks: 120, content: 40 });
  const pool: Pool = { nodes: [], tasks: [], content: [] };
  const snap = (s: ClusterState) => {
    for (const id of nodeIds) pool.nodes.push(s.getNode(id)!);
    for (const id of taskIds) pool.tasks.push(s.getTask(id)!);
    for (const id of cids) pool.content.push(s.getContent(id)!);
  };
  snap(state);
  const s = state;
  s.registerNode({ id: '节点-🚀', role: 'worker', address: '', metadata: { 'ключ': ['ü', { deep: [1, 2.5, -3e300, null, true] }], '': '' }, resources: { cpu_load: 73.3, memory_total: 2 ** 53 - 1, memory_available: 2 ** 53 - 1, disk_total: 2 ** 52, gpu: 2 } });
  s.heartbeat('节点-🚀', { cpu_load: 0.1 });
  pool.nodes.push(s.getNode('节点-🚀')!);
  s.heartbeat('节点-🚀', { cpu_load: 33.333333333, gpu_available: true }); // float32: reads back as 33.333332, as getNode shows it
  pool.nodes.push(s.getNode('节点-🚀')!);
  s.heartbeat('节点-🚀', { cpu_load: 99.9 });
  pool.nodes.push(s.getNode('节点-🚀')!);
  s.addContent({ cid: 'bafy-max-é', size: 2 ** 53 - 1, providers: ['节点-🚀'], pinned: true, replication: 2 ** 31 - 1 });
  pool.content.push(s.getContent('bafy-max-é')!);
  s.addContent({ cid: 'bafy-zero', size: 0 });
  pool.content.push(s.getContent('bafy-zero')!);
  const payloads: Json[] = [null, 0, -1.5, 'text ✓', [], {}, [1, 'two', { three: [3] }], { 'ü': { '😀': 'x'.repeat(300) } }, true, false];
  payloads.forEach((payload, i) => {
    const id = `task-json-${i}-ß`;
    s.addTask({ id, type: i % 2 ? 'résumé-ü' : `t-${i}`, priority: -(2 ** 31) + i, payload, input_cids: i % 3 ? [] : ['bafy-a', 'bafy-b'], resources: { cpu: i, memory: '1GiB' } });
    pool.tasks.push(s.getTask(id)!);
    s.assignTask(id, '节点-🚀');
    s.updateTask(id, { status: 'running' });
    s.updateTask(id, { status: i % 2 ? 'completed' : 'failed', result: payloads[payloads.length - 1 - i]!, error: i % 2 ? null : 'échec ✗' });
    pool.tasks.push(s.getTask(id)!);
  });
  snap(s);
  return pool;
}

/** Random ids that are never keys of pool records (delete targets), some non-ASCII. */
function deleteId(rnd: () => number, i: number): string {
  return rnd() < 0.2 ? `gone-ü-${i}` : rnd() < 0.1 ? `gone-😀-${i}` : `gone-${i}`;
}

/** Options of randomRun: probability of upserts, deletes, and revisions with no change. */
export interface RunShape {
  upserts?: boolean;
  deletes?: boolean;
  emptyChance?: number;
  maxPerTable?: number;
}

/**
 * A run of `count` consecutive revisions from `first`, each upserting random pool records and
 * deleting random ids (each entity at most once per revision), with the change sets it must
 * decode to (tables in order nodes, tasks, content; each table's upserts then its deletes).
 */
export function randomRun(rnd: () => number, pool: Pool, first: number, count: number, shape: RunShape = {}): { revs: RevisionChanges[]; expected: ChangeSet[] } {
  const { upserts = true, deletes = true, emptyChance = 0.05, maxPerTable = 4 } = shape;
  const revs: RevisionChanges[] = [];
  const expected: ChangeSet[] = [];
  let t = 1_700_000_000_000 + Math.floor(rnd() * 1e9);
  for (let i = 0; i < count; i++) {
    const rev: RevisionChanges = {
      revision: first + i,
      updatedAt: (t += Math.floor(rnd() * 1000)),
      masterId: rnd() < 0.2 ? null : rnd() < 0.5 ? 'n-0000' : '节点-🚀',
      upserts: { nodes: [], tasks: [], content: [] },
      deletes: { nodes: [], tasks: [], content: [] },
    };
    const changes: Change[] = [];
    const empty = rnd() < emptyChance;
    for (const kind of ENTITY_KINDS) {
      const used = new Set<string>();
      const ups: Row[] = [];
      const dels: string[] = [];
      const nu = !empty && upserts ? Math.floor(rnd() * (maxPerTable + 1)) : 0;
      for (let k = 0; k < nu; k++) {
        const r = pool[kind][Math.floor(rnd() * pool[kind].length)]!;
        if (used.has(keyOf(kind, r))) continue;
        used.add(keyOf(kind, r));
        ups.push(r);
        changes.push({ table: kind, op: 'upsert', id: keyOf(kind, r), record: structuredClone(r) } as Change);
      }
      const nd = !empty && deletes ? Math.floor(rnd() * (maxPerTable + 1)) : 0;
      for (let k = 0; k < nd; k++) {
        const id = deleteId(rnd, Math.floor(rnd() * 50));
        if (used.has(id)) continue;
        used.add(id);
        dels.push(id);
      }
      for (const id of dels) changes.push({ table: kind, op: 'delete', id });
      (rev.upserts as Record<EntityKind, Row[]>)[kind] = ups;
      (rev.deletes as Record<EntityKind, string[]>)[kind] = dels;
    }
    revs.push(rev);
    expected.push({ revision: rev.revision, updatedAt: rev.updatedAt, masterId: rev.masterId, changes });
  }
  return { revs, expected };
}

/** A revision with no changes except those given. */
export function revision(r: number, changes: { upserts?: Partial<Record<EntityKind, Row[]>>; deletes?: Partial<Record<EntityKind, string[]>>; masterId?: string | null; updatedAt?: number } = {}): RevisionChanges {
  return {
    revision: r,
    updatedAt: changes.updatedAt ?? 1_700_000_000_000 + r,
    masterId: changes.masterId === undefined ? 'm' : changes.masterId,
    upserts: { nodes: [], tasks: [], content: [], ...changes.upserts },
    deletes: { nodes: [], tasks: [], content: [], ...changes.deletes },
  };
}

/** One section's bytes (schema message + one record batch) from hand-made columns. */
export function section(name: SectionName, rows: number, columns: Data[], schema = sectionSchemas()[name]): Uint8Array {
  const msgs = [encodeSchema(schema), encodeRecordBatch(rows, columns)];
  const out = new Uint8Array(msgs.reduce((a, m) => a + m.byteLength, 0));
  let at = 0;
  for (const m of msgs) {
    writeMessage(m, out.subarray(at));
    at += m.byteLength;
  }
  return out;
}

/** A change batch with a valid header and checksum around the given sections (any content). */
export function assemble(first: number, last: number, rows: { nodes?: number; tasks?: number; content?: number; deletes?: number }, sections: Partial<Record<SectionName, Uint8Array>>): Uint8Array {
  const total = HEADER_BYTES + SECTIONS.reduce((a, s) => a + (sections[s]?.byteLength ?? 0), 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0x43534341, true);
  dv.setUint16(4, 1, true);
  dv.setUint16(6, HEADER_BYTES, true);
  dv.setUint32(8, total, true);
  dv.setUint32(H.firstRevision, first % 2 ** 32, true);
  dv.setUint32(H.firstRevision + 4, Math.floor(first / 2 ** 32), true);
  dv.setUint32(H.lastRevision, last % 2 ** 32, true);
  dv.setUint32(H.lastRevision + 4, Math.floor(last / 2 ** 32), true);
  [rows.nodes, rows.tasks, rows.content, rows.deletes].forEach((n, i) => dv.setUint32(H.rows + 4 * i, n ?? 0, true));
  let at = HEADER_BYTES;
  SECTIONS.forEach((s, i) => {
    const b = sections[s];
    dv.setUint32(H.sectionLengths + 4 * i, b?.byteLength ?? 0, true);
    if (b) out.set(b, at);
    at += b?.byteLength ?? 0;
  });
  reseal(out);
  return out;
}

/** Recomputes the checksum of a (modified) batch, so that only the structural checks can catch it. */
export function reseal(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength >= HEADER_BYTES) new DataView(bytes.buffer, bytes.byteOffset).setUint32(H.crc, crc32(bytes.subarray(H.firstRevision)), true);
  return bytes;
}

/** Where each section starts and ends in a batch (from its header). */
export function sectionBounds(bytes: Uint8Array): Record<SectionName, [number, number]> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const out = {} as Record<SectionName, [number, number]>;
  let at = HEADER_BYTES;
  SECTIONS.forEach((s, i) => {
    const n = dv.getUint32(H.sectionLengths + 4 * i, true);
    out[s] = [at, at + n];
    at += n;
  });
  return out;
}
