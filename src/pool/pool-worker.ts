/**
 * A piscina worker: attaches once to the shared state (the handle arrives in workerData) and
 * runs each query on a fresh snapshot, released before the result is returned.
 */
import { workerData } from 'node:worker_threads';
import { attachState } from '../shm/reader.js';
import { runQuery } from './queries.js';
import { isStateError } from '../errors.js';

const reader = attachState((workerData as { handle: unknown }).handle);

/** What crosses back to the writer: a value, or a StateError's code and message. */
export type QueryReply = { ok: true; value: unknown; revision: number } | { ok: false; code: string; message: string };

/** Task: `{ name, args }`. StateErrors are returned as data so their code survives the thread hop. */
export default function run(task: { name: string; args: unknown[] }): QueryReply {
  try {
    const snap = reader.snapshot();
    try {
      return { ok: true, value: runQuery(task.name, snap, task.args), revision: snap.revision };
    } finally {
      snap.release();
    }
  } catch (e) {
    if (isStateError(e)) return { ok: false, code: e.code, message: e.message.replace(`${e.code}: `, '') };
    throw e;
  }
}
