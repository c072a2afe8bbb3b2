/**
 * What every follower shares, whatever it follows (a state directory, or a cluster through NATS):
 * its events and how `waitFor` waits for a revision.
 */
import type { EventEmitter } from 'node:events';
import { missing, type StateError } from '../errors.js';

/**
 * Events of a follower: `change` with each newer revision loaded; `reload` when it had to load the
 * state afresh (a checkpoint or snapshot: it fell behind the retained history, or the writer
 * rebased) — watchers then end with COMPACTED; `error` when files or messages are missing or
 * damaged, or the engine is away (the last good state is kept).
 */
export interface FollowerEvents {
  change: [revision: number];
  reload: [revision: number];
  error: [error: StateError];
}

/** Resolves with the follower's revision once it is at least `revision`; NOT_FOUND (naming `where`) after `timeoutMs`. */
export function waitForRevision(f: EventEmitter<FollowerEvents>, current: () => number, revision: number, timeoutMs: number, where: string): Promise<number> {
  if (current() >= revision) return Promise.resolve(current());
  return new Promise((resolveP, reject) => {
    const timer = setTimeout(() => {
      f.off('change', onChange);
      reject(missing(`revision ${revision} did not appear in ${where} within ${timeoutMs} ms (at ${current()})`));
    }, timeoutMs);
    const onChange = (r: number) => {
      if (r >= revision) {
        clearTimeout(timer);
        f.off('change', onChange);
        resolveP(r);
      }
    };
    f.on('change', onChange);
  });
}
