/**
 * Applying change sets to a model: how recovery replays the journal onto a checkpoint, and how a
 * replica (a follower) follows the writer. Each upsert replaces the entity whole (change sets
 * carry full records), each delete removes it; the revision, its time and the master follow the
 * change set. Applying is not validating: change sets come from this library's writer, checked
 * by their codec (src/changes/decode.ts) against damage.
 */
import { corrupt } from '../errors.js';
import type { ChangeSet } from '../changes/change-set.js';
import type { Model, RecordOf } from './model.js';

/** Applies `cs` (the revision after the model's) to `m`; CORRUPT when it does not follow or does not fit. */
export function applyChangeSet(m: Model, cs: ChangeSet, what: string): void {
  if (cs.revision !== m.revision + 1) throw corrupt(`${what}: revision ${cs.revision} does not follow revision ${m.revision}`);
  for (const c of cs.changes) {
    const kind = c.table;
    const before = m.tables[kind].peek(c.id) as RecordOf[typeof kind] | undefined; // read only: no copy
    if (c.op === 'upsert') {
      const rec = c.record as RecordOf[typeof kind];
      if (before) m.update(kind, before, rec);
      else m.insert(kind, rec);
    } else {
      if (!before) throw corrupt(`${what}: revision ${cs.revision} deletes ${kind} ${JSON.stringify(c.id)}, which does not exist`);
      m.remove(kind, before);
    }
  }
  m.revision = cs.revision;
  m.updatedAt = cs.updatedAt;
  m.masterId = cs.masterId;
}
