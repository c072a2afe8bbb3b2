// Shared by the cluster tests: waiting for the state to reach a condition, revision by revision.
import type { ClusterState } from '../../src/index.js';

/** Resolves once `pred()` holds (checked now and after every revision); rejects after `timeoutMs`. */
export async function until(s: ClusterState, pred: () => boolean, timeoutMs = 20_000): Promise<void> {
  if (pred()) return;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    for await (const _cs of s.watch({ signal: ac.signal })) if (pred()) return;
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`condition not reached within ${timeoutMs} ms`);
}
