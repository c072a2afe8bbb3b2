/**
 * Append-only string dictionaries for the `dict` columns (role, status, type). A code, once
 * given, always means the same string, so a batch decoded with an older (shorter) dictionary
 * stays correct after the dictionary grows, and readers can compare codes across batches.
 */
import { makeData, makeVector, Utf8, type Vector } from 'apache-arrow';

const encoder = new TextEncoder();

/** One dictionary column's values and codes. */
export class StringDictionary {
  readonly id: number;
  readonly maxCodes: number;
  private readonly values: string[] = [];
  private readonly codes = new Map<string, number>();
  private cached: Vector<Utf8> | null = null;
  /** Bumped whenever a value is appended (the prefix of the table changes). */
  version = 0;

  constructor(id: number, initial: readonly string[], indexBits: 8 | 32) {
    this.id = id;
    this.maxCodes = indexBits === 8 ? 127 : 2 ** 31 - 1;
    for (const v of initial) this.add(v);
    this.version = 0;
  }

  /** Replaces the values by `values` in code order (recovery: codes must mean what they meant). */
  restore(values: readonly string[]): void {
    if (values.length > this.maxCodes) throw new Error(`dictionary ${this.id}: ${values.length} values exceed its ${this.maxCodes} codes`);
    this.values.length = 0;
    this.codes.clear();
    for (const v of values) this.add(v);
  }

  /** Code of `value`, appending it if new (caller has validated the value). */
  code(value: string): number {
    const c = this.codes.get(value);
    return c === undefined ? this.add(value) : c;
  }

  /** Code of `value` if present, else -1 (never appends). */
  find(value: string): number {
    return this.codes.get(value) ?? -1;
  }

  /** Whether `value` could be coded (it is known, or there is room for it). */
  canCode(value: string): boolean {
    return this.codes.has(value) || this.values.length < this.maxCodes;
  }

  value(code: number): string {
    return this.values[code]!;
  }

  get size(): number {
    return this.values.length;
  }

  /** All values in code order (a copy). */
  list(): string[] {
    return this.values.slice();
  }

  /** The dictionary as an Arrow Utf8 vector (cached until the next append). */
  vector(): Vector<Utf8> {
    if (!this.cached) this.cached = makeVector(utf8Data(this.values));
    return this.cached;
  }

  private add(value: string): number {
    if (this.values.length >= this.maxCodes) throw new Error(`dictionary ${this.id} is full`);
    const code = this.values.length;
    this.values.push(value);
    this.codes.set(value, code);
    this.cached = null;
    this.version++;
    return code;
  }
}

/** Builds a non-null Utf8 Data from strings (used for small arrays such as dictionaries). */
export function utf8Data(values: readonly string[]) {
  const parts = values.map((v) => encoder.encode(v));
  const offsets = new Int32Array(values.length + 1);
  let total = 0;
  for (let i = 0; i < parts.length; i++) {
    total += parts[i]!.length;
    offsets[i + 1] = total;
  }
  const bytes = new Uint8Array(total);
  for (let i = 0; i < parts.length; i++) bytes.set(parts[i]!, offsets[i]!);
  return makeData({ type: new Utf8(), length: values.length, nullCount: 0, valueOffsets: offsets, data: bytes });
}
