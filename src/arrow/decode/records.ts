/**
 * Building records (the public record shape) from column readers: one generated function per
 * entity kind that builds the record as an object literal — one fixed shape, no per-field
 * closures — with a closure-based builder where code generation is disallowed.
 */
import type { ColumnSpec, LeafSpec } from '../../schema/columns.js';
import { ENTITIES, type EntityKind } from '../../schema/entities.js';
import { parseJsonField } from './row-reader.js';

/** Reads one record from a batch's column readers (generated per entity, see recordFactory). */
export type RecordFn = (r: readonly unknown[], i: number) => Record<string, unknown>;

const J = (s: string | null, name: string): unknown => (s === null ? null : parseJsonField(s, name));
const B = (v: number): boolean | null => (v !== v ? null : v === 1);
const N = (v: number): number | null => (v !== v ? null : v);

const factories = new Map<EntityKind, { fn: RecordFn; paths: { path: string; kind: 'str' | 'num' | 'list' }[] }>();

/**
 * The record builder of an entity: one generated function per entity kind (per process) that
 * builds the record as an object literal — one fixed shape, no per-field closures — from the
 * batch's column readers `r` (listed in `paths`, in the same order).
 */
export function recordFactory(kind: EntityKind): { fn: RecordFn; paths: { path: string; kind: 'str' | 'num' | 'list' }[] } {
  let f = factories.get(kind);
  if (f) return f;
  const paths: { path: string; kind: 'str' | 'num' | 'list' }[] = [];
  const expr = (spec: ColumnSpec, parent: string): string => {
    const path = parent ? `${parent}.${spec.name}` : spec.name;
    const k = paths.length;
    switch (spec.kind) {
      case 'struct':
        return `{ ${spec.children.map((c: LeafSpec) => `${JSON.stringify(c.name)}: ${expr(c, spec.name)}`).join(', ')} }`;
      case 'utf8':
      case 'dict':
        paths.push({ path, kind: 'str' });
        return spec.json ? `J(r[${k}].get(i), ${JSON.stringify(path)})` : `r[${k}].get(i)`;
      case 'list':
        paths.push({ path, kind: 'list' });
        return `r[${k}].get(i)`;
      case 'bool':
        paths.push({ path, kind: 'num' });
        return `B(r[${k}].get(i))`;
      default:
        paths.push({ path, kind: 'num' });
        return `N(r[${k}].get(i))`;
    }
  };
  const body = `return { ${ENTITIES[kind].columns.map((c) => `${JSON.stringify(c.name)}: ${expr(c, '')}`).join(', ')} };`;
  let fn: RecordFn;
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    fn = new Function('J', 'B', 'N', `return function read${kind}(r, i) { ${body} };`)(J, B, N) as RecordFn;
  } catch {
    fn = closureRecord(kind); // code generation disallowed (--disallow-code-generation-from-strings)
  }
  f = { fn, paths };
  factories.set(kind, f);
  return f;
}

/** The record builder without code generation: the same fields, in the same order, read by closures. */
function closureRecord(kind: EntityKind): RecordFn {
  let k = 0;
  const make = (spec: ColumnSpec): ((r: readonly unknown[], i: number) => unknown) => {
    if (spec.kind === 'struct') {
      const kids = spec.children.map((c: LeafSpec) => [c.name, make(c)] as const);
      return (r, i) => {
        const o: Record<string, unknown> = {};
        for (const [name, read] of kids) o[name] = read(r, i);
        return o;
      };
    }
    const at = k++;
    const name = spec.name;
    const wrap = spec.kind === 'bool' ? B : spec.kind === 'list' ? (x: unknown) => x : spec.kind === 'utf8' || spec.kind === 'dict' ? (spec.json ? (x: string | null) => J(x, name) : (x: unknown) => x) : N;
    return (r, i) => (wrap as (x: unknown) => unknown)((r[at] as { get(i: number): unknown }).get(i));
  };
  const fields = ENTITIES[kind].columns.map((c) => [c.name, make(c)] as const);
  return (r, i) => {
    const o: Record<string, unknown> = {};
    for (const [name, read] of fields) o[name] = read(r, i);
    return o;
  };
}

