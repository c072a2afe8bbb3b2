/**
 * A verifier for the flatbuffer metadata of Arrow IPC messages, run before apache-arrow decodes
 * it. apache-arrow's generated readers trust every offset and count in the bytes: a damaged
 * vector length makes them loop (and allocate) billions of times, a damaged offset makes them
 * read past the end. This walks the same tables the decoder will read — Message, Schema, Field,
 * DictionaryEncoding, RecordBatch, DictionaryBatch, and the field types this library writes — and
 * checks that every table, vtable, field, string and vector lies inside the bytes, with a bound
 * on nesting and on the number of tables visited (work is linear in the metadata's size). Any
 * violation is CORRUPT naming what is wrong.
 *
 * Reads use the same signedness as the flatbuffers runtime (int32 offsets, int16 vtable words).
 */
import { corrupt } from '../../errors.js';

type Spec =
  | { t: 'scalar'; size: 1 | 2 | 4 | 8 }
  | { t: 'string' }
  | { t: 'table'; of: () => TableSpec }
  | { t: 'union'; typeSlot: number; of: () => Record<number, TableSpec> }
  | { t: 'structs'; size: number }
  | { t: 'tables'; of: () => TableSpec };

/** A table: the spec of each vtable slot (index = field id); slots the spec lacks are not read by the decoder. */
type TableSpec = readonly (Spec | null)[];

const scalar = (size: 1 | 2 | 4 | 8): Spec => ({ t: 'scalar', size });
const KEY_VALUE: TableSpec = [{ t: 'string' }, { t: 'string' }];
const KVS: Spec = { t: 'tables', of: () => KEY_VALUE };
const EMPTY: TableSpec = [];
const INT: TableSpec = [scalar(4), scalar(1)];

/** Arrow `Type` union members this library writes (Schema.fbs ids); any other is CORRUPT. */
const TYPES: Record<number, TableSpec> = {
  2: INT, // Int { bitWidth, is_signed }
  3: [scalar(2)], // FloatingPoint { precision }
  5: EMPTY, // Utf8
  6: EMPTY, // Bool
  10: [scalar(2), { t: 'string' }], // Timestamp { unit, timezone }
  12: EMPTY, // List
  13: EMPTY, // Struct_
};
const DICTIONARY_ENCODING: TableSpec = [scalar(8), { t: 'table', of: () => INT }, scalar(1), scalar(2)];
const FIELD: TableSpec = [
  { t: 'string' }, // name
  scalar(1), // nullable
  scalar(1), // type_type
  { t: 'union', typeSlot: 2, of: () => TYPES }, // type
  { t: 'table', of: () => DICTIONARY_ENCODING }, // dictionary
  { t: 'tables', of: () => FIELD }, // children
  KVS, // custom_metadata
];
const SCHEMA: TableSpec = [scalar(2), { t: 'tables', of: () => FIELD }, KVS, { t: 'structs', size: 8 }];
const BODY_COMPRESSION: TableSpec = [scalar(1), scalar(1)];
const RECORD_BATCH: TableSpec = [
  scalar(8), // length
  { t: 'structs', size: 16 }, // nodes: FieldNode { length, null_count }
  { t: 'structs', size: 16 }, // buffers: Buffer { offset, length }
  { t: 'table', of: () => BODY_COMPRESSION },
  { t: 'structs', size: 8 }, // variadicBufferCounts
];
const DICTIONARY_BATCH: TableSpec = [scalar(8), { t: 'table', of: () => RECORD_BATCH }, scalar(1)];
const MESSAGE: TableSpec = [
  scalar(2), // version
  scalar(1), // header_type
  { t: 'union', typeSlot: 1, of: () => ({ 1: SCHEMA, 2: DICTIONARY_BATCH, 3: RECORD_BATCH }) }, // header
  scalar(8), // bodyLength
  KVS, // custom_metadata
];

const MAX_DEPTH = 64;

class Verifier {
  private readonly dv: DataView;
  private readonly len: number;
  private budget: number;

  constructor(bytes: Uint8Array, private readonly what: string) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.len = bytes.byteLength;
    this.budget = Math.floor(this.len / 4) + 16; // every table takes at least 4 bytes
  }

  fail(why: string): never {
    throw corrupt(`${this.what}: IPC metadata ${why}`);
  }

  private i32(pos: number, label: string): number {
    if (pos < 0 || pos + 4 > this.len) this.fail(`${label} at byte ${pos} lies outside its ${this.len} bytes`);
    return this.dv.getInt32(pos, true);
  }

  private i16(pos: number, label: string): number {
    if (pos < 0 || pos + 2 > this.len) this.fail(`${label} at byte ${pos} lies outside its ${this.len} bytes`);
    return this.dv.getInt16(pos, true);
  }

  root(spec: TableSpec): void {
    if (this.len < 8) this.fail(`of ${this.len} bytes is too short`);
    this.table(this.i32(0, 'root offset'), spec, 0, 'root table');
  }

  private table(pos: number, spec: TableSpec, depth: number, label: string): void {
    if (depth > MAX_DEPTH) this.fail(`nests deeper than ${MAX_DEPTH} tables`);
    if (--this.budget < 0) this.fail('names more tables than its size allows');
    if (pos % 4 !== 0) this.fail(`${label} at byte ${pos} is misaligned`);
    const vt = pos - this.i32(pos, label);
    if (vt % 2 !== 0) this.fail(`vtable of ${label} at byte ${vt} is misaligned`);
    const vtSize = this.i16(vt, `vtable of ${label}`);
    const tSize = this.i16(vt + 2, `vtable of ${label}`);
    if (vtSize < 4 || vtSize % 2 !== 0 || vt + vtSize > this.len) this.fail(`vtable of ${label} has a bad size ${vtSize}`);
    if (tSize < 4 || pos + tSize > this.len) this.fail(`${label} has a bad size ${tSize}`);
    const slots = (vtSize - 4) / 2;
    const fieldAt = (i: number): number => {
      if (i >= slots) return 0;
      const fo = this.i16(vt + 4 + 2 * i, `vtable of ${label}`);
      if (fo !== 0 && fo < 4) this.fail(`field ${i} of ${label} has a bad offset ${fo}`);
      return fo;
    };
    for (let i = 0; i < spec.length; i++) {
      const s = spec[i];
      if (!s) continue;
      const fo = fieldAt(i);
      if (fo === 0) continue;
      const at = pos + fo;
      const name = `field ${i} of ${label}`;
      if (s.t === 'scalar') {
        if (fo + s.size > tSize) this.fail(`${name} runs past its table`);
        continue;
      }
      if (fo + 4 > tSize) this.fail(`${name} runs past its table`);
      const target = at + this.i32(at, name);
      switch (s.t) {
        case 'table':
          this.table(target, s.of(), depth + 1, name);
          break;
        case 'union': {
          const typeOffset = fieldAt(s.typeSlot);
          const type = typeOffset === 0 ? 0 : this.dv.getUint8(pos + typeOffset);
          const member = s.of()[type];
          if (!member) this.fail(`${name} is a union member of type ${type}, which this library does not read`);
          this.table(target, member, depth + 1, name);
          break;
        }
        case 'string': {
          const n = this.vectorLength(target, name);
          if (target + 4 + n + 1 > this.len) this.fail(`string ${name} of ${n} bytes runs past the end`);
          break;
        }
        case 'structs': {
          const n = this.vectorLength(target, name);
          if (target + 4 + n * s.size > this.len) this.fail(`vector ${name} of ${n} elements runs past the end`);
          break;
        }
        case 'tables': {
          const n = this.vectorLength(target, name);
          if (target + 4 + n * 4 > this.len) this.fail(`vector ${name} of ${n} tables runs past the end`);
          for (let j = 0; j < n; j++) {
            const e = target + 4 + 4 * j;
            this.table(e + this.i32(e, name), s.of(), depth + 1, `element ${j} of ${name}`);
          }
          break;
        }
      }
    }
  }

  private vectorLength(pos: number, label: string): number {
    if (pos % 4 !== 0) this.fail(`${label} at byte ${pos} is misaligned`);
    const n = this.i32(pos, label);
    if (n < 0 || n > this.len) this.fail(`${label} has a bad length ${n}`);
    return n;
  }
}

/**
 * Checks that the flatbuffer metadata of an Arrow IPC message (the bytes after the length
 * prefix) can be decoded without reading outside it; CORRUPT (naming `what`) otherwise.
 */
export function verifyMessageMetadata(meta: Uint8Array, what: string): void {
  new Verifier(meta, what).root(MESSAGE);
}
