/**
 * Atomic changes: a mutation, or a transaction of many, either applies whole or not at all. While
 * one runs, every row write records an undo step (entity-table.ts, model.ts); if it throws, the
 * steps run backwards and the state is exactly as before. The outermost level commits one
 * revision. Nested transactions roll back to their own start (savepoints).
 *
 * The clock is read once per mutation, when it starts (a mutation called by another one, e.g.
 * updateNodeStatus → updateNode, uses its caller's reading; each mutation inside a transaction
 * reads its own), before anything changes: a bad reading changes nothing. A revision is stamped
 * with the latest reading of its mutations; the clock is never read at commit, so committing
 * cannot fail half-way.
 */
import { ENTITY_KINDS } from '../schema/entities.js';
import type { RevisionChanges } from '../changes/change-set.js';
import type { Undo } from '../tables/entity-table.js';
import type { Model } from '../tables/model.js';

/** What happens at the outermost commit, with the revision's changes (the facade records them and publishes). */
export type OnCommit = (changes: RevisionChanges) => void;

/**
 * Runs `fn` as one atomic change on `m` (a savepoint when nested); commits a revision at the
 * outermost level — for a transaction only if it changed something — and calls `onCommit`.
 */
export function atomically<T>(m: Model, fn: () => T, onCommit: OnCommit, isTransaction = false): T {
  const outer = m.undo === null;
  const reads = !isTransaction && m.mutationNow === null;
  if (reads) {
    const t = m.readClock();
    m.mutationNow = t;
    m.revisionNow = Math.max(m.revisionNow ?? t, t);
  }
  if (outer) {
    setUndo(m, []);
    m.beginRevision();
  }
  const log = m.undo!;
  const mark = log.length;
  const master = m.masterId;
  try {
    const result = fn();
    if (reads) m.mutationNow = null;
    if (outer) {
      const now = m.revisionNow!;
      m.revisionNow = null;
      setUndo(m, null);
      if (!isTransaction || log.length > 0) {
        m.revision++;
        m.updatedAt = Math.max(now, m.updatedAt);
        onCommit(m.takeChanges());
      } else m.discardChanges();
    }
    return result;
  } catch (e) {
    for (let i = log.length - 1; i >= mark; i--) log[i]!();
    log.length = mark;
    m.masterId = master;
    if (reads) m.mutationNow = null;
    if (outer) {
      m.revisionNow = null;
      setUndo(m, null);
      m.discardChanges();
    }
    throw e;
  }
}

function setUndo(m: Model, log: Undo[] | null): void {
  m.undo = log;
  for (const k of ENTITY_KINDS) m.tables[k].undo = log;
}
