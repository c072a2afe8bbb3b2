/**
 * Validity bits: the one place a null bitmap is read. Index conventions follow apache-arrow's:
 * value and offset buffers are indexed by the row (a sliced Data has them sub-arrayed already),
 * validity bitmaps and boolean bits by `data.offset + row`
 * (https://arrow.apache.org/docs/format/Columnar.html#validity-bitmaps).
 */
import type { Data } from 'apache-arrow';

/** True when row `i` (already offset-adjusted for value buffers) of `data` is valid. */
export function isValidAt(data: Data, i: number): boolean {
  if (data.nullCount <= 0) return true;
  const bm = data.nullBitmap;
  if (!bm || bm.length === 0) return true;
  const b = data.offset + i;
  return ((bm[b >> 3]! >> (b & 7)) & 1) === 1;
}

/** The validity bitmap of `d` if it has nulls, else null. */
export function bitmapOf(d: Data | null | undefined): Uint8Array | null {
  if (!d) return null;
  if (d.nullCount <= 0) return null;
  const bm = d.nullBitmap;
  return bm && bm.length > 0 ? bm : null;
}

/**
 * Validity of a column chunk, combining its own bitmap with its parent struct's (a null
 * `resources` struct makes every child null, whatever the child's own bits say).
 */
export class Validity {
  readonly a: Uint8Array | null;
  readonly ao: number;
  readonly b: Uint8Array | null;
  readonly bo: number;
  /** No nulls at all (the common case: checks can be skipped). */
  readonly none: boolean;
  /** Every row is null (a missing column). */
  readonly allNull: boolean;

  constructor(data: Data | null, parent: Data | null) {
    this.allNull = data === null;
    this.a = bitmapOf(data);
    this.ao = data?.offset ?? 0;
    this.b = bitmapOf(parent);
    this.bo = parent?.offset ?? 0;
    this.none = !this.allNull && this.a === null && this.b === null;
  }

  ok(i: number): boolean {
    if (this.none) return true;
    if (this.allNull) return false;
    const a = this.a;
    if (a !== null) {
      const x = this.ao + i;
      if (((a[x >> 3]! >> (x & 7)) & 1) === 0) return false;
    }
    const b = this.b;
    if (b !== null) {
      const x = this.bo + i;
      if (((b[x >> 3]! >> (x & 7)) & 1) === 0) return false;
    }
    return true;
  }
}

