/** One chunk (record batch) of a list<utf8> column (peers, capabilities, providers, input_cids, ...). */
import { Type, type Data } from 'apache-arrow';
import { StrChunk } from './str-chunk.js';
import { Validity } from './validity.js';

export class ListChunk {
  readonly length: number;
  readonly valid: Validity;
  readonly offsets: Int32Array | null = null;
  readonly child: StrChunk | null = null;

  constructor(data: Data | null, parent: Data | null, length: number) {
    this.length = length;
    this.valid = new Validity(data, parent);
    if (!data) return;
    this.offsets = data.valueOffsets as Int32Array;
    const c = data.children[0]!;
    // list<null> (pyarrow's type for lists that only ever held nothing): items read as ''.
    this.child = new StrChunk(c.type.typeId === Type.Null ? null : c, null, c.length);
  }

  /** Start and end (exclusive) of row i's items in the child column; empty for null. */
  start(i: number): number {
    return this.valid.ok(i) ? this.offsets![i]! : 0;
  }

  end(i: number): number {
    return this.valid.ok(i) ? this.offsets![i + 1]! : 0;
  }

  /** The items of row i ([] for a null list; a null item reads as ''). */
  get(i: number): string[] {
    const out: string[] = [];
    if (!this.valid.ok(i)) return out;
    const o = this.offsets!;
    const c = this.child!;
    for (let k = o[i]!; k < o[i + 1]!; k++) out.push(c.get(k) ?? '');
    return out;
  }

  /** True when row i's list holds `target` (UTF-8 bytes) or, for a dictionary child, its string. */
  contains(i: number, target: Uint8Array, value: string): boolean {
    if (!this.valid.ok(i)) return false;
    const o = this.offsets!;
    const c = this.child!;
    if (c.codes) {
      const code = c.codeOf(value);
      for (let k = o[i]!; k < o[i + 1]!; k++) if (c.codes[k] === code && c.valid.ok(k)) return true;
      return false;
    }
    for (let k = o[i]!; k < o[i + 1]!; k++) if (c.eqBytes(k, target)) return true;
    return false;
  }
}

