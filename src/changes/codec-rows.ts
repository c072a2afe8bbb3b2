/**
 * Feeding record-shaped rows (the writer's rows, JSON fields as values) into the column writers
 * of one upsert section (src/arrow/encode/column-writer.ts), one pass over the rows. Each row is
 * read by a function generated per entity kind — fixed property names, so every read is a plain
 * named load — with a closure-based reader where code generation is disallowed (as
 * src/arrow/decode/records.ts does for the opposite direction). Struct columns (`resources`)
 * are built from one writer per child.
 */
import { makeData, type Data, type Struct } from 'apache-arrow';
import { columnWriter, type ColumnWriter } from '../arrow/encode/column-writer.js';
import type { StringDictionary } from '../arrow/encode/dictionary.js';
import { columnField, type ColumnSpec, type LeafSpec } from '../schema/columns.js';
import type { EntityKind } from '../schema/entities.js';
import type { Row } from './change-set.js';
import { upsertSpecs } from './codec-format.js';

const noDictionaries = (): StringDictionary => {
  throw new Error('internal: the change batch has no dictionary columns');
};

/** A JSON field's stored text (null stays null). */
const J = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

type PushRow = (w: readonly ColumnWriter[], row: Row) => void;

/** The leaves in column order: [column, child] (child null for a top-level leaf). */
function leavesOf(specs: readonly ColumnSpec[]): { col: ColumnSpec; leaf: LeafSpec; child: boolean }[] {
  const out: { col: ColumnSpec; leaf: LeafSpec; child: boolean }[] = [];
  for (const c of specs) {
    if (c.kind === 'struct') for (const ch of c.children) out.push({ col: c, leaf: ch, child: true });
    else out.push({ col: c, leaf: c, child: false });
  }
  return out;
}

function generated(specs: readonly ColumnSpec[], kind: EntityKind): PushRow {
  const lines: string[] = [];
  let k = 0;
  const val = (leaf: LeafSpec, expr: string) => (leaf.json ? `J(${expr})` : expr);
  for (const c of specs) {
    const name = JSON.stringify(c.name);
    if (c.kind !== 'struct') {
      lines.push(`w[${k++}].push(${val(c, `row[${name}]`)});`);
      continue;
    }
    const kids = c.children.map((ch, j) => ({ at: k + j, ch }));
    k += c.children.length;
    lines.push(`{ const s = row[${name}];`);
    lines.push(`  if (s === null || s === undefined) { ${kids.map(({ at }) => `w[${at}].push(null);`).join(' ')} }`);
    lines.push(`  else { ${kids.map(({ at, ch }) => `w[${at}].push(${val(ch, `s[${JSON.stringify(ch.name)}]`)});`).join(' ')} } }`);
  }
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('J', `return function push${kind}(w, row) {\n${lines.join('\n')}\n};`)(J) as PushRow;
}

function closures(specs: readonly ColumnSpec[]): PushRow {
  const leaves = leavesOf(specs);
  return (w, row) => {
    const r = row as Record<string, unknown>;
    for (let k = 0; k < leaves.length; k++) {
      const { col, leaf, child } = leaves[k]!;
      let v = r[col.name];
      if (child) v = v === null || v === undefined ? null : (v as Record<string, unknown>)[leaf.name];
      w[k]!.push(leaf.json ? J(v) : v);
    }
  };
}

/**
 * The column writers of one entity's upsert section (after its `revision` column). Reused from
 * one batch to the next: the Data `finish` returns is valid until the next `reset`.
 */
export class RowEncoder {
  private readonly specs: readonly ColumnSpec[];
  private readonly writers: ColumnWriter[];
  private readonly pushRow: PushRow;

  constructor(kind: EntityKind) {
    this.specs = upsertSpecs(kind);
    this.writers = leavesOf(this.specs).map(({ leaf }) => columnWriter(leaf, noDictionaries));
    let fn: PushRow;
    try {
      fn = generated(this.specs, kind);
    } catch {
      fn = closures(this.specs); // code generation disallowed (--disallow-code-generation-from-strings)
    }
    this.pushRow = fn;
  }

  /** Starts a new batch (the Data of the previous one becomes invalid). */
  reset(): void {
    for (const w of this.writers) w.reset();
  }

  /** Appends one row (only read, never kept). */
  push(row: Row): void {
    this.pushRow(this.writers, row);
  }

  /** The section's entity columns, in schema order, for the `n` rows pushed since `reset`. */
  finish(n: number): Data[] {
    const out: Data[] = [];
    let k = 0;
    for (const c of this.specs) {
      if (c.kind !== 'struct') {
        out.push(this.writers[k++]!.finish());
        continue;
      }
      const children = c.children.map(() => this.writers[k++]!.finish());
      out.push(makeData({ type: columnField(c, true).type as Struct, length: n, nullCount: 0, children }));
    }
    return out;
  }
}
