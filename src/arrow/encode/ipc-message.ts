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


/** A message ready to be written: its metadata and the body parts in order. */
export interface EncodedMessage {
  /** Total bytes the message occupies (framing + padded metadata + body), a multiple of 8. */
  readonly byteLength: number;
  readonly metadata: Uint8Array;
  /** Body buffers with their offsets within the body. */
  readonly parts: readonly { offset: number; bytes: Uint8Array | null }[];
  readonly bodyLength: number;
  /** Offset of the body from the start of the message. */
  readonly bodyStart: number;
}

interface BodyPlan {
  nodes: FieldNode[];
  regions: BufferRegion[];
  parts: { offset: number; bytes: Uint8Array | null }[];
  bodyLength: number;
}

function bytesOf(view: ArrayBufferView | undefined, byteLength: number): Uint8Array | null {
  if (!view || byteLength === 0) return null;
  return new Uint8Array(view.buffer, view.byteOffset, byteLength);
}

function addBuffer(plan: BodyPlan, bytes: Uint8Array | null): void {
  const length = bytes ? bytes.byteLength : 0;
  plan.regions.push(new BufferRegion(plan.bodyLength, length));
  plan.parts.push({ offset: plan.bodyLength, bytes });
  plan.bodyLength += pad8(length);
}

function planData(plan: BodyPlan, data: Data): void {
  if (data.offset !== 0) throw new Error('internal: cannot encode sliced Arrow data');
  const n = data.length;
  const nulls = data.nullCount;
  plan.nodes.push(new FieldNode(n, nulls));
  const validity = nulls > 0 ? bytesOf(data.nullBitmap, (n + 7) >> 3) : null;
  const typeId = data.typeId as Type;
  switch (typeId) {
    case Type.Struct:
      addBuffer(plan, validity);
      for (const child of data.children) planData(plan, child);
      return;
    case Type.List: {
      const vo = data.valueOffsets as Int32Array;
      if (n > 0 && vo[0] !== 0) throw new Error('internal: list offsets must start at 0');
      addBuffer(plan, validity);
      addBuffer(plan, bytesOf(vo, (n + 1) * 4));
      planData(plan, data.children[0]!);
      return;
    }
    case Type.Utf8: {
      const vo = data.valueOffsets as Int32Array;
      if (n > 0 && vo[0] !== 0) throw new Error('internal: utf8 offsets must start at 0');
      addBuffer(plan, validity);
      addBuffer(plan, bytesOf(vo, (n + 1) * 4));
      addBuffer(plan, bytesOf(data.values as Uint8Array, n > 0 ? vo[n]! : 0));
      return;
    }
    case Type.Bool:
      addBuffer(plan, validity);
      addBuffer(plan, bytesOf(data.values as Uint8Array, (n + 7) >> 3));
      return;
    default: {
      // Int, Float, Timestamp and dictionary codes: fixed-width values.
      const values = data.values as Int32Array;
      addBuffer(plan, validity);
      addBuffer(plan, bytesOf(values, n * values.BYTES_PER_ELEMENT));
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

