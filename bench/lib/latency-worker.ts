// Bench worker: follows the shared state and reports, for each new revision, when it held the
// revision's tables (wall-clock ms) and what the snapshot cost. Also serves the baselines:
// receiving the whole state by postMessage, or re-parsing a full IPC copy in shared memory.
import { parentPort, workerData } from 'node:worker_threads';
import { tableFromIPC } from 'apache-arrow';
import { attachState } from '../../src/worker.js';

const { handle, mode, control, holdMs = 20 } = workerData as { handle?: unknown; mode: 'shared' | 'slow' | 'clone' | 'full-ipc'; control?: SharedArrayBuffer; holdMs?: number };
const now = () => performance.timeOrigin + performance.now();

if (mode === 'shared') {
  const t0 = now();
  const reader = attachState(handle);
  const first = reader.snapshot();
  parentPort!.postMessage({ attachMs: now() - t0, revision: first.revision });
  first.release();
  const stop = new Int32Array(control!, 0, 1);
  let last = first.revision;
  while (Atomics.load(stop, 0) === 0) {
    reader.waitForRevisionSync(last, 200);
    if (reader.publishedRevision <= last) continue;
    const a = performance.now();
    const snap = reader.snapshot();
    const rows = snap.nodes.numRows + snap.tasks.numRows + snap.content.numRows;
    const t = now();
    parentPort!.postMessage({ revision: snap.revision, t, snapshotMs: performance.now() - a, decoded: reader.lastDecoded, rows });
    last = snap.revision;
    snap.release();
  }
  reader.close();
} else if (mode === 'slow') {
  // A slow reader: always holds a snapshot for holdMs, back to back.
  const reader = attachState(handle);
  const stop = new Int32Array(control!, 0, 1);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  parentPort!.postMessage({ ready: true });
  while (Atomics.load(stop, 0) === 0) {
    const snap = reader.snapshot();
    Atomics.wait(sleeper, 0, 0, holdMs);
    snap.release();
  }
  reader.close();
} else if (mode === 'clone') {
  parentPort!.on('message', (m: { revision: number; state: { nodes: unknown[]; tasks: unknown[]; content: unknown[] } }) => {
    const rows = m.state.nodes.length + m.state.tasks.length + m.state.content.length;
    parentPort!.postMessage({ revision: m.revision, t: now(), rows });
  });
} else {
  // full-ipc: the writer copies a complete IPC stream into shared memory per publish.
  parentPort!.on('message', (m: { revision: number; sab: SharedArrayBuffer; lengths: number[] }) => {
    let off = 0;
    let rows = 0;
    for (const len of m.lengths) {
      rows += tableFromIPC(new Uint8Array(m.sab, off, len)).numRows;
      off += Math.ceil(len / 8) * 8;
    }
    parentPort!.postMessage({ revision: m.revision, t: now(), rows });
  });
}
