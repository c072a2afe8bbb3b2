/**
 * One chunk (record batch) of a numeric, int64, timestamp or boolean column, read straight from
 * its typed array: 64-bit values as (hi, lo) int32 pairs (exact below 2^53, no BigInt per row),
 * timestamps in s/µs/ns scaled to ms, float32 values as the shortest decimal records show.
 */
import { DataType, Precision, TimeUnit, type Data } from 'apache-arrow';
import { shortFloat32 } from './row-reader.js';
import { Validity } from './validity.js';

const shortCache = new Map<number, number>();
/**
 * The shortest decimal with the same float32 value (row-reader's rule for float32 columns:
 * cpu_load 73.3 reads as 73.3, not 73.30000305175781), cached: such columns hold few values.
 */
export function short32(x: number): number {
  let y = shortCache.get(x);
  if (y === undefined) {
    if (shortCache.size >= 65536) shortCache.clear();
    shortCache.set(x, (y = shortFloat32(x)));
  }
  return y;
}

/**
 * One chunk of a numeric, int64, timestamp or boolean column. `get` gives NaN for null, and
 * for a float32 column the shortest decimal of the value (as the records show it).
 */
export class NumChunk {
  readonly length: number;
  readonly valid: Validity;
  /** The value array of a plain numeric column (not 64-bit, not boolean). */
  readonly f: ArrayLike<number> | null = null;
  /** A 64-bit column's values as (lo, hi) int32 pairs. */
  readonly w: Int32Array | null = null;
  /** A boolean column's bits, from bit `bitOffset`. */
  readonly bits: Uint8Array | null = null;
  readonly bitOffset: number = 0;
  /** Factor to epoch ms for a timestamp in another unit (s, µs, ns); 1 otherwise. */
  readonly scale: number = 1;
  /** A float32 column: values read as the shortest decimal of their float32 (as records show them). */
  readonly f32: boolean = false;

  constructor(data: Data | null, parent: Data | null, length: number) {
    this.length = length;
    this.valid = new Validity(data, parent);
    if (!data) return;
    if (DataType.isFloat(data.type) && data.type.precision === Precision.SINGLE) this.f32 = true;
    if (DataType.isTimestamp(data.type)) {
      const u = data.type.unit;
      this.scale = u === TimeUnit.SECOND ? 1000 : u === TimeUnit.MICROSECOND ? 1e-3 : u === TimeUnit.NANOSECOND ? 1e-6 : 1;
    }
    const v = data.values as ArrayLike<number> | BigInt64Array | BigUint64Array | Uint8Array;
    if (DataType.isBool(data.type)) {
      this.bits = v as Uint8Array;
      this.bitOffset = data.offset;
    } else if (v instanceof BigInt64Array || v instanceof BigUint64Array) {
      // 64-bit values read as (hi, lo) int32 pairs: exact below 2^53, no BigInt per row.
      this.w = new Int32Array(v.buffer, v.byteOffset, v.length * 2);
    } else {
      this.f = v as ArrayLike<number>;
    }
  }

  /** Σ of the non-null values (booleans count 1 per true). */
  sum(): number {
    let t = 0;
    if (this.valid.allNull) return 0;
    if (this.f !== null && this.valid.none && !this.f32) {
      const f = this.f;
      for (let i = 0; i < this.length; i++) t += f[i]!;
      return t;
    }
    for (let i = 0; i < this.length; i++) {
      const v = this.get(i);
      if (v === v) t += v;
    }
    return t;
  }

  /** The number at row i (booleans as 0/1), or NaN when null. */
  get(i: number): number {
    if (!this.valid.ok(i)) return NaN;
    if (this.f !== null) return this.f32 ? short32(this.f[i]!) : this.f[i]!;
    if (this.w !== null) {
      const v = this.w[2 * i + 1]! * 4294967296 + (this.w[2 * i]! >>> 0);
      return this.scale === 1 ? v : Math.floor(v * this.scale);
    }
    if (this.bits !== null) {
      const x = this.bitOffset + i;
      return (this.bits[x >> 3]! >> (x & 7)) & 1;
    }
    return NaN;
  }
}

