/**
 * A piscina worker: attaches once to the shared state (the handle arrives in workerData) and
 * runs each query on a fresh snapshot, released before the result is returned.
 *
 * Results are checked like a seqlock: the query runs (and its result is made into plain
 * values), then the snapshot's pin is checked; if the writer revoked it meanwhile (its memory
 * may have been reused under the query), the result is thrown away and the query runs again on
 * a new snapshot — which still includes every mutation made before the call. A query never
 * returns values read from reused memory.
 */
import { workerData } from 'node:worker_threads';
import { attachState } from '../shm/reader.js';
import { runQuery } from './queries.js';
import { isStateError } from '../errors.js';

const reader = attachState((workerData as { handle: unknown }).handle);

/** Runs of a query before its COMPACTED is reported (each retry follows a revocation). */
const ATTEMPTS = 4;

/** What crosses back to the writer: a value, or a StateError's code and message. */
export type QueryReply = { ok: true; value: unknown; revision: number } | { ok: false; code: string; message: string };

/** Task: `{ name, args }`. StateErrors are returned as data so their code survives the thread hop. */
export default function run(task: { name: string; args: unknown[] }): QueryReply {
  for (let attempt = 1; ; attempt++) {
    try {
      const snap = reader.snapshot();
      try {
        let value: unknown;
        try {
          value = runQuery(task.name, snap, task.args);
        } catch (e) {
          snap.verify?.(); // an error computed from reused memory is COMPACTED, not that error
          throw e;
        }
        snap.verify?.();
        return { ok: true, value, revision: snap.revision };
      } finally {
        snap.release();
      }
    } catch (e) {
      if (isStateError(e, 'COMPACTED') && attempt < ATTEMPTS) continue;
      if (isStateError(e)) return { ok: false, code: e.code, message: e.message.replace(`${e.code}: `, '') };
      throw e;
    }
  }
}
