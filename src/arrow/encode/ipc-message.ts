/**
 * Encoding Arrow IPC messages, one at a time: a record batch (or dictionary batch, or schema) as
 * an encapsulated IPC message — continuation marker, metadata length, flatbuffer metadata padded
 * to 8 bytes, then the body with every buffer 8-aligned — written straight into a destination
 * (an extent of the shared arena or a scratch buffer). A sequence [schema, dictionaries...,
 * batches...] of these messages is a valid Arrow IPC stream (spec:
 * https://arrow.apache.org/docs/format/Columnar.html#encapsulated-message-format).
 *
 * The metadata is built with apache-arrow's own (internal) message classes; the body layout is
 * ours so that buffers go straight to their destination with one copy each. Pinned to
 * apache-arrow 21.2.0; test/arrow/ipc-message.test.ts covers the internal imports. Decoding:
 * ../decode/ipc-message.ts.
 */
import { Data, Schema, Type } from 'apache-arrow';
import {
  BufferRegion, DictionaryBatch as DictionaryBatchHeader, FieldNode, Message,
  RecordBatch as RecordBatchHeader,
} from 'apache-arrow/ipc/metadata/message';
import { CONTINUATION, pad8 } from '../ipc-format.js';
import { cachedCrc32, crc32, crc32Combine, knownCrc, seedCrc } from '../../arena/crc.js';


/** A message ready to be written: its metadata and the body parts in order. */
export interface EncodedMessage {
  /** Total bytes the message occupies (framing + padded metadata + body), a multiple of 8. */
  readonly byteLength: number;
  readonly metadata: Uint8Array;
  /** Body buffers with their offsets within the body, and the typed array each was read from. */
  readonly parts: readonly { offset: number; bytes: Uint8Array | null; src: ArrayBufferView | null }[];
  readonly bodyLength: number;
  /** Offset of the body from the start of the message. */
  readonly bodyStart: number;
}

interface BodyPlan {
  nodes: FieldNode[];
  regions: BufferRegion[];
  parts: { offset: number; bytes: Uint8Array | null; src: ArrayBufferView | null }[];
  bodyLength: number;
}

function bytesOf(view: ArrayBufferView | undefined, byteLength: number): Uint8Array | null {
  if (!view || byteLength === 0) return null;
  return new Uint8Array(view.buffer, view.byteOffset, byteLength);
}

function addBuffer(plan: BodyPlan, bytes: Uint8Array | null, src: ArrayBufferView | null | undefined = null): void {
  const length = bytes ? bytes.byteLength : 0;
  plan.regions.push(new BufferRegion(plan.bodyLength, length));
  plan.parts.push({ offset: plan.bodyLength, bytes, src: bytes ? (src ?? null) : null });
  plan.bodyLength += pad8(length);
}

function planData(plan: BodyPlan, data: Data): void {
  if (data.offset !== 0) throw new Error('internal: cannot encode sliced Arrow data');
  const n = data.length;
  const nulls = data.nullCount;
  plan.nodes.push(new FieldNode(n, nulls));
  const validity = nulls > 0 ? bytesOf(data.nullBitmap, (n + 7) >> 3) : null;
  const bitmap = data.nullBitmap;
  const typeId = data.typeId as Type;
  switch (typeId) {
    case Type.Struct:
      addBuffer(plan, validity, bitmap);
      for (const child of data.children) planData(plan, child);
      return;
    case Type.List: {
      const vo = data.valueOffsets as Int32Array;
      if (n > 0 && vo[0] !== 0) throw new Error('internal: list offsets must start at 0');
      addBuffer(plan, validity, bitmap);
      addBuffer(plan, bytesOf(vo, (n + 1) * 4), vo);
      planData(plan, data.children[0]!);
      return;
    }
    case Type.Utf8: {
      const vo = data.valueOffsets as Int32Array;
      if (n > 0 && vo[0] !== 0) throw new Error('internal: utf8 offsets must start at 0');
      addBuffer(plan, validity, bitmap);
      addBuffer(plan, bytesOf(vo, (n + 1) * 4), vo);
      addBuffer(plan, bytesOf(data.values as Uint8Array, n > 0 ? vo[n]! : 0), data.values as Uint8Array);
      return;
    }
    case Type.Bool:
      addBuffer(plan, validity, bitmap);
      addBuffer(plan, bytesOf(data.values as Uint8Array, (n + 7) >> 3), data.values as Uint8Array);
      return;
    default: {
      // Int, Float, Timestamp and dictionary codes: fixed-width values.
      const values = data.values as Int32Array;
      addBuffer(plan, validity, bitmap);
      addBuffer(plan, bytesOf(values, n * values.BYTES_PER_ELEMENT), values);
    }
  }
}

function frame(metadata: Uint8Array, plan: BodyPlan): EncodedMessage {
  const bodyStart = 8 + pad8(metadata.byteLength);
  return {
    byteLength: bodyStart + plan.bodyLength,
    metadata,
    parts: plan.parts,
    bodyLength: plan.bodyLength,
    bodyStart,
  };
}

/** Plans a record-batch message for columns of equal `length` (the batch's top-level columns). */
export function encodeRecordBatch(length: number, columns: readonly Data[]): EncodedMessage {
  const plan: BodyPlan = { nodes: [], regions: [], parts: [], bodyLength: 0 };
  for (const c of columns) planData(plan, c);
  const header = new RecordBatchHeader(length, plan.nodes, plan.regions, null);
  return frame(Message.encode(Message.from(header, plan.bodyLength)), plan);
}

/** Plans a dictionary-batch message holding `values` (a Utf8 Data) under dictionary `id`. */
export function encodeDictionaryBatch(id: number, values: Data): EncodedMessage {
  const plan: BodyPlan = { nodes: [], regions: [], parts: [], bodyLength: 0 };
  planData(plan, values);
  const batch = new RecordBatchHeader(values.length, plan.nodes, plan.regions, null);
  const header = new DictionaryBatchHeader(batch, id, false);
  return frame(Message.encode(Message.from(header, plan.bodyLength)), plan);
}

/** Plans a schema message. */
export function encodeSchema(schema: Schema): EncodedMessage {
  const plan: BodyPlan = { nodes: [], regions: [], parts: [], bodyLength: 0 };
  return frame(Message.encode(Message.from(schema)), plan);
}

/**
 * Writes a planned message into `dest` (at least `msg.byteLength` long, 8-aligned for
 * zero-copy reading). Padding bytes are zeroed so identical content gives identical bytes.
 */
export function writeMessage(msg: EncodedMessage, dest: Uint8Array): void {
  const dv = new DataView(dest.buffer, dest.byteOffset, 8);
  dv.setUint32(0, CONTINUATION, true);
  dv.setInt32(4, msg.bodyStart - 8, true);
  dest.set(msg.metadata, 8);
  dest.fill(0, 8 + msg.metadata.byteLength, msg.bodyStart);
  let cursor = msg.bodyStart;
  for (const part of msg.parts) {
    const at = msg.bodyStart + part.offset;
    if (at > cursor) dest.fill(0, cursor, at);
    if (part.bytes) {
      dest.set(part.bytes, at);
      cursor = at + part.bytes.byteLength;
    } else cursor = at;
  }
  if (msg.byteLength > cursor) dest.fill(0, cursor, msg.byteLength);
}


/**
 * The CRC32 of a message written by writeMessage into `dest`, equal to crc32 of those bytes,
 * computed from the body buffers' cached CRC32s (crc.ts cachedCrc32, kept with each source
 * typed array) and the framing read from `dest`: a batch re-encoded with most columns reused
 * costs the CRC of the changed columns, not of the whole message.
 */
export function messageCrc(msg: EncodedMessage, dest: Uint8Array, partCrcs?: number[]): number {
  let crc = crc32(dest.subarray(0, msg.bodyStart));
  let cursor = msg.bodyStart;
  for (const part of msg.parts) {
    if (!part.bytes) {
      partCrcs?.push(0);
      continue;
    }
    const at = msg.bodyStart + part.offset;
    if (at > cursor) crc = crc32(dest.subarray(cursor, at), crc);
    const n = part.bytes.byteLength;
    const c = part.src ? cachedCrc32(part.src, part.bytes) : crc32(part.bytes);
    partCrcs?.push(c);
    crc = crc32Combine(crc, c, n);
    cursor = at + n;
  }
  if (msg.byteLength > cursor) crc = crc32(dest.subarray(cursor, msg.byteLength), crc);
  return crc >>> 0;
}

/**
 * The typed arrays a message of `columns` reads its body buffers from, in body order (null where
 * the message holds no bytes): the same walk as encodeRecordBatch, for Data decoded from such a
 * message or rebased onto a copy of it.
 */
function bufferSources(columns: readonly Data[]): (ArrayBufferView | null)[] {
  const out: (ArrayBufferView | null)[] = [];
  const walk = (d: Data): void => {
    out.push(d.nullCount > 0 ? (d.nullBitmap ?? null) : null);
    switch (d.typeId as Type) {
      case Type.Struct:
        for (const c of d.children) walk(c);
        return;
      case Type.List:
        out.push(d.valueOffsets ?? null);
        walk(d.children[0]!);
        return;
      case Type.Utf8:
        out.push(d.valueOffsets ?? null, (d.values as Uint8Array | undefined) ?? null);
        return;
      default:
        out.push((d.values as ArrayBufferView | undefined) ?? null);
    }
  };
  for (const c of columns) walk(c);
  return out;
}

/**
 * After a message of `msg` was written and decoded as `columns`: records the body buffers'
 * CRC32s (from messageCrc's `partCrcs`) with the decoded typed arrays, so the next encoding of
 * the batch does not read the columns it reuses again.
 */
export function seedMessageCrcs(msg: EncodedMessage, partCrcs: readonly number[], columns: readonly Data[]): void {
  const views = bufferSources(columns);
  if (views.length !== msg.parts.length) return; // another layout: nothing cached (still correct)
  msg.parts.forEach((p, i) => {
    const v = views[i];
    if (p.bytes && v && v.byteLength >= p.bytes.byteLength) seedCrc(v, new Uint8Array(v.buffer, v.byteOffset, p.bytes.byteLength), partCrcs[i]!);
  });
}

/**
 * Carries the cached CRC32s of `from`'s body buffers to the same buffers of `to`, a byte-for-byte
 * copy of the same message (a rebased batch): the next encoding reads neither again.
 */
export function carryMessageCrcs(from: readonly Data[], to: readonly Data[]): void {
  const a = bufferSources(from);
  const b = bufferSources(to);
  if (a.length !== b.length) return;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (!x || !y) continue;
    const e = knownCrc(x);
    if (e && e.offset === x.byteOffset && y.byteLength === x.byteLength && e.length <= y.byteLength) seedCrc(y, new Uint8Array(y.buffer, y.byteOffset, e.length), e.crc);
  }
}
