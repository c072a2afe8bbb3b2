// Bench worker: point lookups by id → the full record, warm, in a worker thread, against ours
// (attachState over shared memory + getTaskById), SQLite (its own read-only connection, a
// prepared statement by primary key, JSON.parse) or lmdb-js (its own read-only env, get).
// Posts { us } (µs per lookup over `rounds` passes of `ids`, after rounds/10 warm-up passes).
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { attachState } from '../../src/worker.js';
import { getTaskById } from '../../src/helpers/index.js';
import { SQL } from './peer-queries.js';

const { kind, handle, path, ids, rounds } = workerData as { kind: 'ours' | 'sqlite' | 'lmdb'; handle?: unknown; path?: string; ids: string[]; rounds: number };
const require = createRequire(import.meta.url);

let lookup: (id: string) => unknown;
let done = () => undefined as void;
if (kind === 'ours') {
  const reader = attachState(handle);
  const snap = reader.snapshot();
  lookup = (id) => getTaskById(snap, id);
  done = () => reader.close();
} else if (kind === 'sqlite') {
  const Database = require('better-sqlite3') as new (f: string, o: object) => { prepare(s: string): { pluck(): { get(...a: unknown[]): unknown } }; close(): void };
  const db = new Database(path!, { readonly: true });
  const get = db.prepare(SQL.lookup).pluck();
  lookup = (id) => JSON.parse(get.get(id) as string);
  done = () => db.close();
} else {
  const lmdb = require('lmdb') as { open(o: object): { openDB(o: object): { get(k: string): unknown }; close(): Promise<void> } };
  const env = lmdb.open({ path: path!, readOnly: true, compression: false });
  const tasks = env.openDB({ name: 'tasks' });
  lookup = (id) => tasks.get(id);
  done = () => void env.close();
}
/**
 * µs per lookup over `rounds` passes of `ids`. The loop runs in a function, not in the module's
 * top-level code: V8 does not optimise a module body's loop as it does a function's, so timed
 * there every peer paid ~1-2 µs per call of loop overhead that is no part of its lookup.
 */
function timeLookups(): number {
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) for (let i = 0; i < ids.length; i++) lookup(ids[i]!);
  return ((performance.now() - t0) * 1000) / (rounds * ids.length);
}

let missing = 0;
for (const id of ids) if (!lookup(id)) missing++;
// Warm-up: a tenth of the timed lookups (one pass was not enough: on a busy 2-core machine the
// optimising compiler takes tens of ms per function, so the first ~20,000 lookups ran at 2-3×
// the steady cost and weighed on the mean). The same for every peer.
for (let r = 1; r < Math.ceil(rounds / 10); r++) for (const id of ids) lookup(id);
const us = timeLookups();
done();
parentPort!.postMessage({ us, missing });
