/**
 * Reading whole records out of one record batch of our own flat layout (the writer's encoded
 * batches): the column readers of the batch are made once per (immutable) batch data and kept
 * with it, and each record is built by the entity's generated record builder (records.ts) — the
 * same values, in the same shape, as the helpers' records. Nothing is copied but the values read.
 */
import type { Data, Struct } from 'apache-arrow';
import type { ColumnSpec } from '../../schema/columns.js';
import { ENTITIES, type EntityKind } from '../../schema/entities.js';
import { ListChunk } from './list-chunk.js';
import { NumChunk } from './num-chunk.js';
import { recordFactory } from './records.js';
import { StrChunk } from './str-chunk.js';

const readerCache = new WeakMap<Data<Struct>, unknown[]>();

/** The column readers of a batch of `kind` in our flat layout, in recordFactory(kind).paths order (cached per data). */
function readersOf(kind: EntityKind, data: Data<Struct>): unknown[] {
  let r = readerCache.get(data);
  if (r) return r;
  const cols = ENTITIES[kind].columns;
  const n = data.length;
  r = recordFactory(kind).paths.map((p) => {
    const dot = p.path.indexOf('.');
    const top = dot < 0 ? p.path : p.path.slice(0, dot);
    const k = cols.findIndex((c) => c.name === top);
    let d: Data | null = data.children[k] ?? null;
    let parent: Data | null = null;
    if (d && dot >= 0) {
      const spec = cols[k] as ColumnSpec & { children: { name: string }[] };
      const j = spec.children.findIndex((c) => c.name === p.path.slice(dot + 1));
      parent = d;
      d = d.children[j] ?? null;
    }
    if (p.kind === 'str') return new StrChunk(d, parent, n);
    if (p.kind === 'num') return new NumChunk(d, parent, n);
    return new ListChunk(d, parent, n);
  });
  readerCache.set(data, r);
  return r;
}

/**
 * The record at row `i` of a batch of `kind` in our flat layout, as a fresh object (nested
 * objects and lists fresh too): JSON fields parsed, int64 and times as numbers, float32 as the
 * shortest decimal, dictionary codes as their strings.
 */
export function batchRecord(kind: EntityKind, data: Data<Struct>, i: number): Record<string, unknown> {
  return recordFactory(kind).fn(readersOf(kind, data), i);
}
