/**
 * Arrow IPC messages, one at a time: a record batch (or dictionary batch, or schema) encoded as
 * an encapsulated IPC message — continuation marker, metadata length, flatbuffer metadata padded
 * to 8 bytes, then the body with every buffer 8-aligned — written straight into a destination
 * (an extent of the shared arena or a scratch buffer), and decoded back zero-copy.
 *
 * A sequence [schema, dictionaries..., batches...] of these messages is a valid Arrow IPC
 * stream. The metadata is built with apache-arrow's own (internal) message classes; the body
 * layout is ours so that buffers go straight to their destination with one copy each.
 * Pinned to apache-arrow 21.2.0; test/arrow/ipc-message.test.ts covers the internal imports.
 */
import { Data, DataType, Field, makeData, Schema, Struct, Type, type Vector } from 'apache-arrow';
import {
  BufferRegion, DictionaryBatch as DictionaryBatchHeader, FieldNode, Message,
  RecordBatch as RecordBatchHeader,
} from 'apache-arrow/ipc/metadata/message';
import { MessageHeader } from 'apache-arrow/enum';
import { VectorLoader } from 'apache-arrow/visitor/vectorloader';
import { corrupt } from '../errors.js';

const CONTINUATION = 0xffffffff;
const pad8 = (n: number) => (n + 7) & ~7;

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

/** A decoded message: its header and a zero-copy view of its body. */
export interface DecodedMessage {
  readonly message: Message;
  readonly body: Uint8Array;
  readonly byteLength: number;
}

/** Decodes the message at the start of `bytes` (a view; the body stays a view on it). */
export function decodeMessage(bytes: Uint8Array, what = 'message'): DecodedMessage {
  if (bytes.byteLength < 8) throw corrupt(`${what}: ${bytes.byteLength} bytes is too short for an IPC message`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 8);
  if (dv.getUint32(0, true) !== CONTINUATION) throw corrupt(`${what}: no IPC continuation marker`);
  const metaLength = dv.getInt32(4, true);
  if (metaLength <= 0 || 8 + metaLength > bytes.byteLength) throw corrupt(`${what}: metadata length ${metaLength} out of range`);
  let message: Message;
  try {
    message = Message.decode(bytes.subarray(8, 8 + metaLength));
  } catch (e) {
    throw corrupt(`${what}: unreadable IPC metadata`, e);
  }
  const bodyStart = 8 + metaLength;
  const bodyLength = Number(message.bodyLength);
  if (!(bodyLength >= 0) || bodyStart + bodyLength > bytes.byteLength) {
    throw corrupt(`${what}: body of ${bodyLength} bytes runs past the end (${bytes.byteLength})`);
  }
  return { message, body: bytes.subarray(bodyStart, bodyStart + bodyLength), byteLength: bodyStart + bodyLength };
}

/**
 * Decodes a record-batch message into one struct Data whose children are the columns. Every
 * buffer is a view on `bytes` (zero-copy when `bytes` starts 8-aligned in its buffer).
 */
export function decodeRecordBatch(
  bytes: Uint8Array,
  fields: readonly Field[],
  dictionaries: Map<number, Vector>,
  what = 'record batch',
): Data<Struct> {
  const { message, body } = decodeMessage(bytes, what);
  if (message.headerType !== MessageHeader.RecordBatch) throw corrupt(`${what}: expected a record batch message, got type ${message.headerType}`);
  const header = message.header() as RecordBatchHeader;
  let children: Data[];
  try {
    children = new VectorLoader(body, header.nodes, header.buffers, dictionaries, message.version).visitMany(fields as Field[]);
  } catch (e) {
    throw corrupt(`${what}: body does not match the schema`, e);
  }
  return makeData({ type: new Struct(fields as Field[]), length: header.length, nullCount: 0, children }) as Data<Struct>;
}

/** Decodes a dictionary-batch message; `types` gives the value type of each dictionary id. */
export function decodeDictionaryBatch(
  bytes: Uint8Array,
  types: Map<number, DataType>,
  what = 'dictionary batch',
): { id: number; data: Data; byteLength: number } {
  const { message, body, byteLength } = decodeMessage(bytes, what);
  if (message.headerType !== MessageHeader.DictionaryBatch) throw corrupt(`${what}: expected a dictionary batch message`);
  const header = message.header() as DictionaryBatchHeader;
  const type = types.get(header.id);
  if (!type) throw corrupt(`${what}: unknown dictionary id ${header.id}`);
  let data: Data;
  try {
    [data] = new VectorLoader(body, header.nodes, header.buffers, new Map(), message.version).visitMany([type]) as [Data];
  } catch (e) {
    throw corrupt(`${what}: body does not match its type`, e);
  }
  return { id: header.id, data, byteLength };
}

/** Decodes a schema message. */
export function decodeSchemaMessage(bytes: Uint8Array, what = 'schema'): { schema: Schema; byteLength: number } {
  const { message, byteLength } = decodeMessage(bytes, what);
  if (message.headerType !== MessageHeader.Schema) throw corrupt(`${what}: expected a schema message`);
  return { schema: message.header() as Schema, byteLength };
}
