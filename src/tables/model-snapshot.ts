/**
 * A replica's model as a Snapshot: the changed batches re-encoded on the heap (not shared), the
 * tables cached per revision by the caller. Used by the followers of a state directory and of a
 * cluster through NATS.
 */
import type { Table } from 'apache-arrow';
import { ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import type { Snapshot, SnapshotSource } from '../snapshot.js';
import type { Model } from './model.js';

const cache = new WeakMap<Model, { revision: number; snap: Snapshot }>();

/** The model's current revision as a Snapshot (immutable heap tables; the same object until the revision changes). */
export function modelSnapshot(m: Model, source: SnapshotSource): Snapshot {
  const hit = cache.get(m);
  if (hit?.revision === m.revision) return hit.snap;
  const tables = {} as Record<EntityKind, Table>;
  for (const k of ENTITY_KINDS) {
    if (m.tables[k].dirty) m.tables[k].materialize(null, () => undefined);
    tables[k] = m.tables[k].table();
  }
  const snap: Snapshot = { revision: m.revision, clusterId: m.clusterId, masterId: m.masterId, updatedAt: m.updatedAt, ...tables, source, release: () => undefined };
  cache.set(m, { revision: m.revision, snap });
  return snap;
}
