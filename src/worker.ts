/**
 * `arrow-cluster-state/worker`: for code running inside a worker thread.
 *
 * ```ts
 * import { attachState } from 'arrow-cluster-state/worker';
 * const reader = attachState(workerData.handle);   // handle = state.shared() in the writer
 * const snap = reader.snapshot();                    // zero-copy views, pinned until released
 * ```
 */
export { attachState, StateReader, checkHandle, type SharedHandle } from './shm/reader.js';
export type { Snapshot } from './snapshot.js';
