// The files of a state directory: recovery from damage, the metadata, the Parquet mirror read by
// an independent reader (hyparquet), and a directory written by pyarrow taken over as a state.
import test from 'ava';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { ClusterState, StateError, stateSchema } from '../../src/index.js';
import { ArenaReader } from '../../src/statedir/arena-reader.js';
import { encodeMark, MARK_OFFSET, SLOT_OFFSETS } from '../../src/statedir/meta-slot.js';
import { consistencyWriter } from '../fixtures/consistency-writer.js';

// Every temp directory of this file is removed at the end, also when a test failed.
const made: string[] = [];
test.after.always(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
const tracked = (prefix: string): string => {
  const d = mkdtempSync(prefix);
  made.push(d);
  return d;
};
import { hashRows } from '../fixtures/invariants.js';
import { pyarrowFixtures } from '../helpers/support.js';

const FIXTURES = pyarrowFixtures();

/**
 * A directory as a crash right after two checkpoints leaves it: the arena file's meta slots hold
 * the older and the newer checkpoint, the journal every revision (with `history: 0`, only those
 * after the newer checkpoint).
 */
async function twoRevisions(history = 10_000) {
  const dir = tracked(join(tmpdir(), 'acs-files-'));
  const s = await ClusterState.open({ statePath: dir, clusterId: 'files', checkpoint: { revisions: 1_000_000 }, history: { revisions: history } });
  const { step } = consistencyWriter(s, 9, 300);
  for (let i = 0; i < 50; i++) step();
  const older = await s.flush();
  await s.checkpoint();
  const olderHash = hashRows(s.getTables());
  for (let i = 0; i < 50; i++) step();
  const newer = await s.flush();
  await s.checkpoint();
  const newerHash = hashRows(s.getTables());
  const crashed = { arena: readFileSync(arenaOf(dir)), journal: readFileSync(join(dir, 'state_files.journal')) };
  await s.close();
  writeFileSync(arenaOf(dir), crashed.arena);
  writeFileSync(join(dir, 'state_files.journal'), crashed.journal);
  return { dir, older, olderHash, newer, newerHash, arena: arenaOf(dir), journal: join(dir, 'state_files.journal'), parquet: join(dir, 'state_files.parquet') };
}

/** The one arena file of a closed directory. */
function arenaOf(dir: string): string {
  const names = readdirSync(dir).filter((n) => /^state_files\.\d+\.arena$/.test(n));
  if (names.length !== 1) throw new Error(`expected one arena file in ${dir}, found ${names.join(', ')}`);
  return join(dir, names[0]!);
}

/** The revision recovery would use (the writer's policy), read without opening a writer. */
function readArenaFile(dir: string) {
  const r = new ArenaReader(dir, { policy: 'writer' });
  const rev = r.open()!;
  r.close();
  return rev;
}

// Every state file by content hash (writer.json only says who last held the lock).
const snapshotFiles = (dir: string) => Object.fromEntries(readdirSync(dir).filter((n) => n !== 'writer.json').map((n) => [n, createHash('sha256').update(readFileSync(join(dir, n))).digest('hex')]));

async function corruptOpen(t: import('ava').ExecutionContext, dir: string, pattern: RegExp) {
  const before = snapshotFiles(dir);
  const e = await t.throwsAsync(ClusterState.open({ statePath: dir, clusterId: 'files' }), { instanceOf: StateError });
  t.is(e!.code, 'CORRUPT');
  t.regex(e!.message, pattern);
  t.deepEqual(snapshotFiles(dir), before, 'a refused open changes no file (nothing is replaced by an empty state)');
}

test('reopening gives the last flushed revision exactly; metadata names the durable revision and the files', async (t) => {
  const d = await twoRevisions();
  const meta = JSON.parse(readFileSync(join(d.dir, 'state_metadata.json'), 'utf8'));
  t.is(meta.version, d.newer);
  t.is(meta.cluster_id, 'files');
  t.is(meta.parquet_path, join(d.dir, 'state_files.parquet'));
  t.is(meta.arena_path, d.arena);
  t.is(meta.state_path, d.dir);
  t.is(meta.schema_version, 1);
  t.is(meta.parquet_revision, d.newer, 'close() exported the last revision');
  t.is(meta.schema.fields.length, 6);
  t.true(typeof meta.updated_at === 'number' && meta.updated_at > 1e9 && meta.updated_at < 1e11, 'epoch seconds');
  const s = await ClusterState.open({ statePath: d.dir });
  t.is(s.revision, d.newer);
  t.is(hashRows(s.getTables()), d.newerHash);
  await s.close();
  rmSync(d.dir, { recursive: true, force: true });
});

test('a truncated arena file is CORRUPT, not an empty state', async (t) => {
  const d = await twoRevisions();
  truncateSync(d.arena, Math.floor(readFileSync(d.arena).byteLength / 2));
  await corruptOpen(t, d.dir, /outside the file|truncated|end of file/);
  rmSync(d.dir, { recursive: true, force: true });
});

test('a flipped byte in an extent of the newest revision is CORRUPT (checksum)', async (t) => {
  const d = await twoRevisions();
  const rec = readArenaFile(d.dir);
  const batch = rec.dir.tables.tasks.batches[0]!;
  const bytes = readFileSync(d.arena);
  bytes[batch.offset + Math.floor(batch.length / 2)] ^= 0x40;
  writeFileSync(d.arena, bytes);
  await corruptOpen(t, d.dir, /checksum/);
  rmSync(d.dir, { recursive: true, force: true });
});

test('a flipped byte in the newest meta slot: the older checkpoint and the journal restore every acknowledged revision', async (t) => {
  const d = await twoRevisions();
  const rec = readArenaFile(d.dir);
  t.is(rec.slot.revision, d.newer);
  const bytes = readFileSync(d.arena);
  bytes[SLOT_OFFSETS[rec.slot.slot] + 9] ^= 0x01;
  writeFileSync(d.arena, bytes);
  t.is(readArenaFile(d.dir).slot.revision, d.older, 'the damaged slot is not used');
  const s = await ClusterState.open({ statePath: d.dir, parquet: false });
  t.is(s.revision, d.newer);
  t.is(hashRows(s.getTables()), d.newerHash, 'exactly the newer revision');
  await s.close();
});

test('a flipped byte in the newest meta slot when the journal was cut behind it: CORRUPT (what was acknowledged is missing); recoverOlder continues from the older slot', async (t) => {
  const d = await twoRevisions(0);
  const rec = readArenaFile(d.dir);
  t.is(rec.slot.revision, d.newer);
  const bytes = readFileSync(d.arena);
  bytes[SLOT_OFFSETS[rec.slot.slot] + 9] ^= 0x01;
  writeFileSync(d.arena, bytes);
  await corruptOpen(t, d.dir, new RegExp(`journal .* follows revision ${d.newer}, but the checkpoint holds revision ${d.older}`));
  const s = await ClusterState.open({ statePath: d.dir, recoverOlder: true, parquet: false });
  t.is(s.revision, d.older);
  t.is(hashRows(s.getTables()), d.olderHash, 'exactly the older revision');
  await s.close();
});

test('a torn newest meta slot (a checkpoint cut short by a crash) falls back to the older checkpoint, and the journal restores the rest', async (t) => {
  const d = await twoRevisions();
  const rec = readArenaFile(d.dir);
  const slot = rec.slot.slot;
  const bytes = readFileSync(d.arena);
  bytes.fill(0x5a, SLOT_OFFSETS[slot] + 20, SLOT_OFFSETS[slot] + 40); // as if the slot write was cut short
  bytes.set(encodeMark({ revision: d.older, generation: rec.generation }), MARK_OFFSET); // ... before the checkpoint was marked
  writeFileSync(d.arena, bytes);
  const s = await ClusterState.open({ statePath: d.dir, parquet: false });
  t.is(s.revision, d.newer);
  t.is(hashRows(s.getTables()), d.newerHash);
  await s.close();
});

test('garbage metadata does not stop recovery from the arena file, and is rewritten at open', async (t) => {
  const d = await twoRevisions();
  writeFileSync(join(d.dir, 'state_metadata.json'), '{ not json');
  const s = await ClusterState.open({ statePath: d.dir, clusterId: 'files', parquet: false });
  t.is(s.revision, d.newer);
  t.is(hashRows(s.getTables()), d.newerHash);
  t.is(JSON.parse(readFileSync(join(d.dir, 'state_metadata.json'), 'utf8')).version, d.newer);
  await s.close();
  rmSync(d.dir, { recursive: true, force: true });
});

test('a truncated Parquet file: the arena file still recovers (Parquet is rewritten); a missing arena file is CORRUPT (never the lagging mirror instead); without our metadata the damaged Parquet is CORRUPT, or moved aside with startFresh', async (t) => {
  const d = await twoRevisions();
  truncateSync(d.parquet, 100);
  const s = await ClusterState.open({ statePath: d.dir, clusterId: 'files' });
  t.is(s.revision, d.newer);
  await s.exportParquet();
  await s.close();
  const rows = await parquetReadObjects({ file: toArrayBuffer(readFileSync(d.parquet)), compressors });
  t.is(rows.length, 1);
  // Now without the arena file.
  rmSync(arenaOf(d.dir));
  await corruptOpen(t, d.dir, /state_files\.\d+\.arena", which is missing/);
  // A directory another tool wrote (no metadata of ours): its Parquet file is the state.
  rmSync(join(d.dir, 'state_metadata.json'));
  truncateSync(d.parquet, 100);
  await corruptOpen(t, d.dir, /Parquet/);
  const fresh = await ClusterState.open({ statePath: d.dir, clusterId: 'files', startFresh: true, parquet: false });
  t.is(fresh.revision, 0);
  t.deepEqual(fresh.counts, { nodes: 0, tasks: 0, content: 0 });
  t.true(readdirSync(d.dir).some((n) => n.startsWith('state_files.parquet.corrupt-')), 'the damaged file was moved aside, not deleted');
  await fresh.close();
  rmSync(d.dir, { recursive: true, force: true });
});

test('stray temp files of a crashed writer are swept at open', async (t) => {
  const d = await twoRevisions();
  writeFileSync(join(d.dir, 'state_files.parquet.123.abc.acs-tmp'), 'partial');
  writeFileSync(join(d.dir, 'state_metadata.json.9.x.acs-tmp'), '{');
  const s = await ClusterState.open({ statePath: d.dir, parquet: false });
  t.false(readdirSync(d.dir).some((n) => n.endsWith('.acs-tmp')));
  await s.close();
  rmSync(d.dir, { recursive: true, force: true });
});

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

const plainish = (v: unknown): unknown => {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  if (Array.isArray(v)) return v.map(plainish);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainish(x)]));
  return v;
};

test('hyparquet (an independent reader) reads every value of the Parquet mirror as the writer holds it', async (t) => {
  const dir = tracked(join(tmpdir(), 'acs-pq-'));
  let now = 1_750_000_000_000;
  const s = await ClusterState.open({ statePath: dir, clusterId: 'pq', clock: () => (now += 1000) });
  s.registerNode({ id: 'm', role: 'master', peers: ['w-ü'], capabilities: ['gpu'], resources: { cpu: 8, memory: '16GiB', gpu: 2, cpu_load: 12.5 }, metadata: { zone: 'a' } });
  s.registerNode({ id: 'w-ü', role: 'worker', address: '10.0.0.2' });
  for (let i = 0; i < 40; i++) s.addTask({ id: `t${i}`, type: i % 3 ? 'process' : 'analyze', priority: i, resources: i % 2 ? { cpu: 2, memory: '1GiB' } : null, input_cids: [`c${i}`], payload: { i } });
  s.assignTask('t1', 'w-ü');
  s.updateTask('t1', { status: 'completed', result: { ok: 1 }, output_cid: 'c-out' });
  for (let i = 0; i < 10; i++) s.addContent({ cid: `c${i}`, size: 1000 * i, providers: i % 2 ? ['m'] : [], pinned: i % 3 === 0 });
  await s.exportParquet();
  const [row] = (await parquetReadObjects({ file: toArrayBuffer(readFileSync(join(dir, 'state_pq.parquet'))), compressors })) as Record<string, unknown>[];
  t.is(row!.cluster_id, 'pq');
  t.is(row!.master_id, 'm');
  t.is(plainish(row!.updated_at), s.updatedAt);
  const decodeJson = (r: Record<string, unknown>, keys: string[]) => {
    for (const k of keys) if (typeof r[k] === 'string') r[k] = JSON.parse(r[k] as string);
    return r;
  };
  const nodes = (plainish(row!.nodes) as Record<string, unknown>[]).map((n) => decodeJson(n, ['metadata']));
  const tasks = (plainish(row!.tasks) as Record<string, unknown>[]).map((x) => decodeJson(x, ['payload', 'result']));
  const content = plainish(row!.content) as Record<string, unknown>[];
  t.is(nodes.length, 2);
  t.is(tasks.length, 40);
  t.is(content.length, 10);
  for (const n of nodes) t.deepEqual(n, { ...s.getNode(n.id as string)!, resources: { ...s.getNode(n.id as string)!.resources } } as unknown as Record<string, unknown>);
  for (const x of tasks) t.deepEqual(x, s.getTask(x.id as string) as unknown as Record<string, unknown>);
  for (const c of content) t.deepEqual(c, s.getContent(c.cid as string) as unknown as Record<string, unknown>);
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a directory written by pyarrow in the seed layout opens as a state with every record', async (t) => {
  const dir = tracked(join(tmpdir(), 'acs-pyarrow-'));
  cpSync(FIXTURES, dir, { recursive: true });
  const golden = JSON.parse(readFileSync(join(dir, 'state_golden-cluster.json'), 'utf8'));
  const s = await ClusterState.open({ statePath: dir, parquet: false });
  t.is(s.clusterId, 'golden-cluster');
  t.is(s.masterId, golden.master_id);
  t.is(s.updatedAt, golden.updated_at);
  t.deepEqual(s.counts, { nodes: golden.nodes.length, tasks: golden.tasks.length, content: golden.content.length });
  const seedFields = (kind: number) => (stateSchema(true).fields[kind]!.type.children[0]!.type.children as { name: string }[]).map((f) => f.name);
  const pick = (r: Record<string, unknown>, names: string[]) => Object.fromEntries(names.map((n) => [n, r[n] ?? null]));
  // Our records normalise a null list to [] and a null resources struct to all-unknown fields.
  const nullResources = (keys: string[]) => Object.fromEntries(keys.map((k) => [k, null]));
  const norm = (r: Record<string, unknown>, resourceKeys: string[] = []) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k,
    v === null && ['peers', 'capabilities', 'input_cids', 'output_cids', 'providers'].includes(k) ? [] : v === null && k === 'resources' ? nullResources(resourceKeys) : v]));
  for (const n of golden.nodes) t.deepEqual(pick(s.getNode(n.id) as unknown as Record<string, unknown>, seedFields(3)), norm(n, ['cpu_count', 'cpu_load', 'gpu_count', 'gpu_available', 'memory_total', 'memory_available', 'disk_total', 'disk_available']));
  for (const x of golden.tasks) t.deepEqual(pick(s.getTask(x.id) as unknown as Record<string, unknown>, seedFields(4)), norm(x, ['cpu_cores', 'gpu_cores', 'memory_mb']));
  for (const c of golden.content) t.deepEqual(pick(s.getContent(c.cid) as unknown as Record<string, unknown>, seedFields(5)), norm(c));
  // and it keeps working as a writer
  s.heartbeat('worker-1');
  await s.flush();
  await s.close();
  t.true(readdirSync(dir).some((n) => /^state_golden-cluster\.\d+\.arena$/.test(n)), 'it now has an arena file');
  rmSync(dir, { recursive: true, force: true });
});
