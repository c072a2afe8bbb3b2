// The Parquet mirror under issue 10: a reader that writes into shared memory cannot put damaged
// values into the Parquet file; the export worker only writes a temp file and the owner installs
// it (the `install` seam); and exports work when the writer runs under `node --input-type=module -e`.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { ClusterState, StateError } from '../../src/index.js';
import { ParquetMirror } from '../../src/persist/parquet-mirror.js';

const FAULT_WORKER = new URL('../fixtures/fault-worker.js', import.meta.url);
const INDEX = new URL('../../src/index.js', import.meta.url);

const tempDir = () => mkdtempSync(join(tmpdir(), 'acs-mirror-'));
const toArrayBuffer = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

async function parquetTasks(file: string): Promise<Record<string, unknown>[]> {
  const [row] = (await parquetReadObjects({ file: toArrayBuffer(readFileSync(file)), compressors })) as Record<string, unknown>[];
  return row!.tasks as Record<string, unknown>[];
}

test('finding 9: a worker sorts its snapshot\'s priority column in place — the Parquet mirror never stores the sorted values', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // No background scrub: the export's own verification must catch the damage.
  const s = await ClusterState.open({ statePath: dir, clusterId: 'pqsort', scrub: false });
  s.transaction(() => {
    for (let i = 0; i < 3000; i++) s.addTask({ id: `t${i}`, type: 'process', priority: 3000 - i });
  });
  await s.exportParquet();
  const w = new Worker(FAULT_WORKER, { workerData: { handle: s.shared(), mode: 'sort' } });
  s.trackWorker(w);
  t.teardown(() => void w.terminate());
  const sorted = await new Promise<{ buffer: boolean }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  t.true(sorted.buffer, 'the sort wrote into shared memory');
  s.registerNode({ id: 'n1', role: 'worker' }); // a new revision; the damaged tasks batch is still in it
  const rev = await s.exportParquet();
  t.is(rev, s.revision);
  const tasks = await parquetTasks(join(dir, 'state_pqsort.parquet'));
  t.is(tasks.length, 3000);
  const wrong = tasks.filter((x) => x.priority !== s.getTask(x.id as string)!.priority);
  t.is(wrong.length, 0, 'every priority in the file is the writer\'s');
  t.true(s.memoryStats().repairs >= 1, 'the export asked the writer to repair the damaged batch');
  await s.close();
});

test('the export worker writes a fresh temp file beside the target and the mirror hands it to install(tempPath, revision)', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = ClusterState.inMemory({ clusterId: 'seam' });
  s.addTask({ id: 'a', type: 'x', priority: 5 });
  await s.published();
  const target = join(dir, 'state_seam.parquet');
  const calls: { tempPath: string; revision: number; existed: boolean }[] = [];
  let refuse: unknown = null;
  const mirror = new ParquetMirror(s.shared(), target, () => s.publishedRevision, () => undefined, {}, {
    install: (tempPath, revision) => {
      calls.push({ tempPath, revision, existed: existsSync(tempPath) });
      if (refuse) throw refuse;
      renameSync(tempPath, target);
    },
  });
  t.teardown(() => mirror.close());
  t.is(await mirror.exportNow(), s.revision);
  t.is(calls.length, 1);
  const first = calls[0]!;
  t.is(dirname(first.tempPath), dir, 'in the same directory (a rename stays on one file system)');
  t.regex(basename(first.tempPath), /^\.state_seam\.parquet\.[0-9a-f]{24}\.acs-tmp$/, 'an unpredictable name the open-time sweep recognises');
  t.true(first.existed);
  t.is(first.revision, s.revision);
  t.is(mirror.revision, s.revision);
  t.is((await parquetTasks(target))[0]!.priority, 5);

  // A refusing install (e.g. the writer lost the directory): the export fails with its error,
  // the temp file is removed and the Parquet file is untouched.
  const before = readFileSync(target);
  s.addTask({ id: 'b', type: 'x' });
  await s.published();
  refuse = new StateError('LOCKED', 'this writer no longer owns the directory');
  const e = await t.throwsAsync(mirror.exportNow(), { instanceOf: StateError });
  t.is(e!.code, 'LOCKED');
  t.not(calls[1]!.tempPath, first.tempPath, 'every export gets a new temp name');
  t.false(existsSync(calls[1]!.tempPath), 'the refused temp file is removed');
  t.deepEqual(readFileSync(target), before, 'the Parquet file is unchanged');
  t.deepEqual(readdirSync(dir), ['state_seam.parquet']);
  refuse = new Error('disk on fire');
  t.is((await t.throwsAsync(mirror.exportNow(), { instanceOf: StateError }))!.code, 'IO', 'other errors of install are IO');
  refuse = null;
  t.is(await mirror.exportNow(), s.revision);
  t.is((await parquetTasks(target)).length, 2);
  await s.close();
});

test('a writer run by `node --input-type=module -e` exports Parquet and runs pool queries (workers drop the eval flags)', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = `
    const { ClusterState } = await import(${JSON.stringify(INDEX.href)});
    const s = await ClusterState.open({ statePath: ${JSON.stringify(dir)}, clusterId: 'evalx' });
    s.addTask({ id: 't1', type: 'x', priority: 7 });
    const rev = await s.exportParquet();
    const task = await s.query('getTaskById', 't1');
    await s.close();
    console.log(JSON.stringify({ rev, priority: task.priority }));
  `;
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  t.is(out.code, 0, out.stderr);
  t.deepEqual(JSON.parse(out.stdout.trim()), { rev: 1, priority: 7 });
  t.is((await parquetTasks(join(dir, 'state_evalx.parquet')))[0]!.priority, 7);
});
