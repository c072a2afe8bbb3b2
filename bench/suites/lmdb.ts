/**
 * Against lmdb-js (npm `lmdb`), the strongest shared-state store in the Node world, when it is
 * installed as an optional dev dependency (it is native, so never a dependency of ours): point
 * reads by id, a scan counting tasks by status, and durable writes — beside ours on the same
 * data. When it is not installed the suite is reported as skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterState } from '../../src/index.js';
import { countBy, findById } from '../../src/arrow/decode/table-view.js';
import { taskId, type SyntheticScale } from '../../src/demo/synthetic.js';
import type { Report } from '../lib/report.js';

type LmdbModule = { open(opts: { path: string; compression?: boolean }): LmdbDb };
interface LmdbDb {
  put(key: string, value: unknown): Promise<boolean>;
  get(key: string): unknown;
  getRange(opts?: object): Iterable<{ key: string; value: { status: string } }>;
  transaction<T>(fn: () => T): Promise<T>;
  flushed: Promise<void>;
  close(): Promise<void>;
}

export async function lmdbSuite(report: Report, state: ClusterState, scale: string, loaded: SyntheticScale): Promise<void> {
  let lmdb: LmdbModule;
  try {
    lmdb = (await import('lmdb' as string)) as LmdbModule;
  } catch {
    report.skip(`lmdb-js comparison at ${scale}`, 'the optional dev dependency `lmdb` is not installed (npm install --no-save lmdb to include it)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'acs-lmdb-'));
  const db = lmdb.open({ path: dir, compression: false });
  const snap = state.snapshot();
  const n = Math.min(loaded.tasks, 100_000);
  await db.transaction(() => {
    for (let i = 0; i < n; i++) void db.put(taskId(i), findById('tasks', snap.tasks, taskId(i)));
  });
  const reads = 2000;
  let t0 = performance.now();
  for (let i = 0; i < reads; i++) db.get(taskId((i * 7919) % n));
  const lm = (performance.now() - t0) / reads;
  t0 = performance.now();
  for (let i = 0; i < reads; i++) state.getTask(taskId((i * 7919) % n));
  const ours = (performance.now() - t0) / reads;
  report.add({ suite: 'lmdb', scale, name: 'point read by id (writer)', unit: 'ms', better: 'lower', runs: [ours], baseline: { name: 'lmdb get', runs: [lm] } });
  t0 = performance.now();
  const counts: Record<string, number> = {};
  for (const { value } of db.getRange()) counts[value.status] = (counts[value.status] ?? 0) + 1;
  const lmScan = performance.now() - t0;
  t0 = performance.now();
  countBy(snap.tasks, 'status');
  const ourScan = performance.now() - t0;
  report.add({ suite: 'lmdb', scale, name: `count ${n.toLocaleString()} tasks by status`, unit: 'ms', better: 'lower', runs: [ourScan], baseline: { name: 'lmdb range scan', runs: [lmScan] } });
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
