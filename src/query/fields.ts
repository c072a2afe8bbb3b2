/**
 * The fields a query can name, per entity, derived from the one data model (schema/entities.ts):
 * every column, every child of a struct column (`resources.cpu_count`), and the length of every
 * list column (`length(providers)`). Each field has a type that decides which tests, orderings
 * and aggregates accept it.
 */
import { invalid } from '../errors.js';
import type { ColumnSpec, LeafSpec } from '../schema/columns.js';
import { ENTITIES, type EntityKind } from '../schema/entities.js';

/**
 * What a field holds, for the query engine: text (plain or dictionary-coded), a number (integers,
 * floats, int64, timestamps, `length(…)`), a boolean, a list of text, JSON text, or a struct.
 */
export type FieldType = 'str' | 'num' | 'bool' | 'list' | 'json' | 'struct';

/** One field a query names. */
export interface Field {
  /** The name as a query writes it: `status`, `resources.cpu_count`, `length(providers)`. */
  readonly path: string;
  readonly type: FieldType;
  /** The column read (for `length(x)`: the list column `x`). */
  readonly column: string;
  /** `length(x)`: the number of items of list column x (0 for a null list, as records show `[]`). */
  readonly length: boolean;
  /** Epoch time: its unit (task `started_at`/`completed_at` are seconds, every other time is ms). */
  readonly time: 'ms' | 's' | null;
  /** The struct's children (type 'struct' only). */
  readonly children: readonly Field[];
  /** The column's description (its leaf spec; for a struct, the struct's spec). */
  readonly spec: ColumnSpec;
  /** The entity's key field (`id`, or `cid` for content). */
  readonly key: boolean;
}

const SECONDS = new Set(['tasks.started_at', 'tasks.completed_at']);

function leafType(spec: LeafSpec): FieldType {
  switch (spec.kind) {
    case 'utf8': return spec.json ? 'json' : 'str';
    case 'dict': return 'str';
    case 'list': return 'list';
    case 'bool': return 'bool';
    default: return 'num';
  }
}

function leafField(kind: EntityKind, spec: LeafSpec, parent: string | null): Field {
  const path = parent ? `${parent}.${spec.name}` : spec.name;
  const time = spec.kind === 'timestamp' ? 'ms' : SECONDS.has(`${kind}.${path}`) ? 's' : null;
  return { path, type: leafType(spec), column: path, length: false, time, children: [], spec, key: !parent && ENTITIES[kind].key === spec.name };
}

const catalogues = new Map<EntityKind, Map<string, Field>>();

/** Every field of entity `kind` by the name a query uses (built once). */
export function catalogue(kind: EntityKind): ReadonlyMap<string, Field> {
  let c = catalogues.get(kind);
  if (c) return c;
  c = new Map();
  for (const col of ENTITIES[kind].columns) {
    if (col.kind === 'struct') {
      const children = col.children.map((leaf) => leafField(kind, leaf, col.name));
      c.set(col.name, { path: col.name, type: 'struct', column: col.name, length: false, time: null, children, spec: col, key: false });
      for (const f of children) c.set(f.path, f);
    } else {
      const f = leafField(kind, col, null);
      c.set(f.path, f);
      if (f.type === 'list') {
        const path = `length(${col.name})`;
        c.set(path, { path, type: 'num', column: col.name, length: true, time: null, children: [], spec: col, key: false });
      }
    }
  }
  catalogues.set(kind, c);
  return c;
}

/** The names of entity `kind`'s fields, for error messages. */
export function fieldNames(kind: EntityKind): string[] {
  return [...catalogue(kind).keys()];
}

/**
 * The field `path` of entity `kind`; INVALID_ARGUMENT naming `where` (e.g. `where.cpu`) and
 * listing the fields when there is none.
 */
export function fieldOf(kind: EntityKind, path: unknown, where: string): Field {
  const f = typeof path === 'string' ? catalogue(kind).get(path.trim()) : undefined;
  if (!f) throw invalid(where, path, `a field of ${kind} (one of ${fieldNames(kind).join(', ')})`);
  return f;
}

/** The key field of entity `kind`. */
export function keyField(kind: EntityKind): Field {
  return catalogue(kind).get(ENTITIES[kind].key)!;
}
