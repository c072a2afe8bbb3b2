/**
 * Decoding Arrow IPC messages (encoded by ../encode/ipc-message.ts, or by any Arrow writer)
 * zero-copy: the body stays a view on the bytes given.
 *
 * Decoding trusts nothing in the bytes: the flatbuffer metadata is verified before apache-arrow
 * reads it (flatbuffer-verify.ts), and every node length, null count, buffer offset and length,
 * value offset and dictionary code is checked against the body and the schema before a column is
 * built — damaged bytes give CORRUPT, never a TypeError/RangeError, a hang, or an allocation
 * sized by a damaged count. Only the writer's own freshly encoded messages skip the checks
 * (`{ trusted: true }`).
 */
import { Data, DataType, Field, makeData, Schema, Struct, Type, type Vector } from 'apache-arrow';
import { DictionaryBatch as DictionaryBatchHeader, Message, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import { MessageHeader, MetadataVersion } from 'apache-arrow/enum';
import { VectorLoader } from 'apache-arrow/visitor/vectorloader';
import { corrupt } from '../../errors.js';
import { CONTINUATION } from '../ipc-format.js';
import { verifyMessageMetadata } from './flatbuffer-verify.js';

/** Decoding options. */
export interface DecodeOptions {
  /** The bytes were just encoded by this process (the writer's own master copy): skip the checks. */
  trusted?: boolean;
}

/** A decoded message: its header and a zero-copy view of its body. */
export interface DecodedMessage {
  readonly message: Message;
  readonly body: Uint8Array;
  readonly byteLength: number;
}

/**
 * Decodes the message at the start of `bytes` (a view; the body stays a view on it). Unless
 * trusted, the metadata is verified first and only metadata versions V4/V5 are accepted.
 */
export function decodeMessage(bytes: Uint8Array, what = 'message', opts: DecodeOptions = {}): DecodedMessage {
  if (bytes.byteLength < 8) throw corrupt(`${what}: ${bytes.byteLength} bytes is too short for an IPC message`);
  if (!opts.trusted && bytes.byteOffset % 8 !== 0) throw corrupt(`${what}: message at byte ${bytes.byteOffset} of its buffer is not 8-byte aligned`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 8);
  if (dv.getUint32(0, true) !== CONTINUATION) throw corrupt(`${what}: no IPC continuation marker`);
  const metaLength = dv.getInt32(4, true);
  if (metaLength <= 0 || metaLength % 8 !== 0 || 8 + metaLength > bytes.byteLength) throw corrupt(`${what}: metadata length ${metaLength} out of range`);
  const meta = bytes.subarray(8, 8 + metaLength);
  if (!opts.trusted) verifyMessageMetadata(meta, what);
  let message: Message;
  try {
    message = Message.decode(meta);
  } catch (e) {
    throw corrupt(`${what}: unreadable IPC metadata`, e);
  }
  if (!opts.trusted && message.version !== MetadataVersion.V4 && message.version !== MetadataVersion.V5) {
    throw corrupt(`${what}: IPC metadata version ${message.version} is not V4 or V5`);
  }
  const bodyStart = 8 + metaLength;
  const bodyLength = Number(message.bodyLength);
  if (!Number.isSafeInteger(bodyLength) || bodyLength < 0 || bodyStart + bodyLength > bytes.byteLength) {
    throw corrupt(`${what}: body of ${bodyLength} bytes runs past the end (${bytes.byteLength})`);
  }
  return { message, body: bytes.subarray(bodyStart, bodyStart + bodyLength), byteLength: bodyStart + bodyLength };
}

/** The header of a decoded message, or CORRUPT if apache-arrow cannot build it. */
function headerOf<T>(message: Message, what: string): T {
  try {
    return message.header() as T;
  } catch (e) {
    throw corrupt(`${what}: unreadable IPC header`, e);
  }
}

/** Checks the batch-level header fields apache-arrow would otherwise trust. */
function checkBatchHeader(header: RecordBatchHeader, what: string): void {
  if (!Number.isSafeInteger(header.length) || header.length < 0 || header.length > MAX_ROWS) throw corrupt(`${what}: batch length ${header.length} out of range`);
  if (header.compression) throw corrupt(`${what}: compressed bodies are not supported`);
  if (header.variadicBufferCounts.length > 0) throw corrupt(`${what}: variadic buffers are not supported`);
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
  opts: DecodeOptions = {},
): Data<Struct> {
  const { message, body } = decodeMessage(bytes, what, opts);
  if (message.headerType !== MessageHeader.RecordBatch) throw corrupt(`${what}: expected a record batch message, got type ${message.headerType}`);
  const header = headerOf<RecordBatchHeader>(message, what);
  if (!opts.trusted) {
    checkBatchHeader(header, what);
    checkBody(fields.map((f) => f.type as DataType), header, body, dictionaries, what);
  }
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
  const header = headerOf<DictionaryBatchHeader>(message, what);
  const type = types.get(header.id);
  if (!type) throw corrupt(`${what}: unknown dictionary id ${header.id}`);
  if (header.isDelta) throw corrupt(`${what}: delta dictionaries are not supported`);
  checkBatchHeader(header.data, what);
  checkBody([type], header.data, body, new Map(), what);
  let data: Data;
  try {
    [data] = new VectorLoader(body, header.nodes, header.buffers, new Map(), message.version).visitMany([type]) as [Data];
  } catch (e) {
    throw corrupt(`${what}: body does not match its type`, e);
  }
  return { id: header.id, data, byteLength };
}

/** Decodes a schema message; CORRUPT if it uses a type this library does not write. */
export function decodeSchemaMessage(bytes: Uint8Array, what = 'schema'): { schema: Schema; byteLength: number } {
  const { message, byteLength } = decodeMessage(bytes, what);
  if (message.headerType !== MessageHeader.Schema) throw corrupt(`${what}: expected a schema message`);
  const schema = headerOf<Schema>(message, what);
  for (const f of schema.fields) checkType(f.type as DataType, `${what} field ${JSON.stringify(f.name)}`, 0);
  return { schema, byteLength };
}

// ─────────────────────────── checks of decoded metadata ───────────────────────────

/** Rows a batch may claim (Arrow's int32 offsets bound every column to this). */
const MAX_ROWS = 2 ** 31 - 1;

/** Checks that `type` is one this library writes (and decodes); CORRUPT otherwise. */
function checkType(type: DataType, what: string, depth: number): void {
  if (depth > 32) throw corrupt(`${what}: types nest too deeply`);
  switch (type.typeId) {
    case Type.Struct:
      for (const c of type.children) checkType(c.type as DataType, `${what}.${c.name}`, depth + 1);
      return;
    case Type.List:
      if (type.children.length !== 1) throw corrupt(`${what}: a list needs one child type`);
      checkType(type.children[0]!.type as DataType, `${what}[]`, depth + 1);
      return;
    case Type.Dictionary: {
      const d = type as unknown as { dictionary: DataType; indices: DataType };
      if (d.dictionary.typeId !== Type.Utf8) throw corrupt(`${what}: dictionaries of ${String(d.dictionary)} are not supported`);
      if (indexWidth(d.indices) === 0) throw corrupt(`${what}: dictionary indices of ${String(d.indices)} are not supported`);
      return;
    }
    case Type.Utf8:
    case Type.Bool:
    case Type.Timestamp:
      return;
    case Type.Int:
    case Type.Float:
      if (fixedWidth(type) === 0) throw corrupt(`${what}: ${String(type)} is not supported`);
      return;
    default:
      throw corrupt(`${what}: type ${String(type)} is not supported`);
  }
}

/** Bytes per value of a fixed-width type (Int, Float, Timestamp), 0 if not one we read. */
function fixedWidth(type: DataType): number {
  switch (type.typeId) {
    case Type.Int: {
      const w = (type as unknown as { bitWidth: number }).bitWidth;
      return w === 8 || w === 16 || w === 32 || w === 64 ? w / 8 : 0;
    }
    case Type.Float: {
      const p = (type as unknown as { precision: number }).precision;
      return p === 0 ? 2 : p === 1 ? 4 : p === 2 ? 8 : 0;
    }
    case Type.Timestamp:
      return 8;
    default:
      return 0;
  }
}

/** Bytes per dictionary index (signed 8/16/32-bit only), 0 otherwise. */
function indexWidth(type: DataType): number {
  const t = type as unknown as { bitWidth: number; isSigned: boolean };
  return type.typeId === Type.Int && t.isSigned && t.bitWidth <= 32 ? fixedWidth(type) : 0;
}

/**
 * Checks a batch body against the column types before apache-arrow builds views on it: walks the
 * field nodes and buffers in the order VectorLoader consumes them, and checks every count,
 * offset and length against the body, every value offset against its values, and every
 * dictionary code against its dictionary. Linear in the rows.
 */
function checkBody(types: readonly DataType[], header: RecordBatchHeader, body: Uint8Array, dictionaries: Map<number, Vector>, what: string): void {
  const nodes = header.nodes;
  const buffers = header.buffers;
  let ni = 0;
  let bi = 0;
  const bad = (why: string): never => {
    throw corrupt(`${what}: ${why}`);
  };
  const node = (path: string) => {
    if (ni >= nodes.length) bad(`${path}: no field node left (${nodes.length} in the batch)`);
    const n = nodes[ni++]!;
    if (!Number.isSafeInteger(n.length) || n.length < 0 || n.length > MAX_ROWS) bad(`${path}: length ${n.length} out of range`);
    if (!Number.isSafeInteger(n.nullCount) || n.nullCount < 0 || n.nullCount > n.length) bad(`${path}: null count ${n.nullCount} of ${n.length} rows`);
    return n;
  };
  const buffer = (path: string, minBytes: number, unit: number) => {
    if (bi >= buffers.length) bad(`${path}: no buffer left (${buffers.length} in the batch)`);
    const b = buffers[bi++]!;
    if (!Number.isSafeInteger(b.offset) || !Number.isSafeInteger(b.length) || b.offset < 0 || b.length < 0 || b.offset + b.length > body.byteLength) {
      bad(`${path}: buffer at ${b.offset}+${b.length} lies outside the ${body.byteLength}-byte body`);
    }
    if ((body.byteOffset + b.offset) % 8 !== 0) bad(`${path}: buffer at ${b.offset} is not 8-byte aligned`);
    if (b.length < minBytes) bad(`${path}: buffer of ${b.length} bytes, at least ${minBytes} needed`);
    if (b.length % unit !== 0) bad(`${path}: buffer of ${b.length} bytes is not a multiple of ${unit}`);
    return b;
  };
  const validity = (path: string, length: number, nullCount: number) => buffer(`${path} validity`, nullCount > 0 ? Math.ceil(length / 8) : 0, 1);
  /** Checks an offsets buffer of `length` rows; returns the last offset. */
  const offsets = (path: string, length: number, limit: number | null): number => {
    const b = buffer(`${path} offsets`, length > 0 ? (length + 1) * 4 : 0, 4);
    if (length === 0) return 0;
    const vo = new Int32Array(body.buffer, body.byteOffset + b.offset, length + 1);
    let prev = vo[0]!;
    if (prev < 0) bad(`${path}: first value offset ${prev} is negative`);
    for (let i = 1; i <= length; i++) {
      const o = vo[i]!;
      if (o < prev) bad(`${path}: value offsets decrease at row ${i - 1} (${prev} then ${o})`);
      prev = o;
    }
    if (limit !== null && prev > limit) bad(`${path}: value offsets reach ${prev}, past the ${limit} values`);
    return prev;
  };
  const visit = (type: DataType, path: string, length: number, exact: boolean): void => {
    const n = node(path);
    if (exact ? n.length !== length : n.length < length) bad(`${path}: ${n.length} rows where ${exact ? '' : 'at least '}${length} are needed`);
    const rows = n.length;
    validity(path, rows, n.nullCount);
    switch (type.typeId) {
      case Type.Struct:
        for (const c of type.children) visit(c.type as DataType, `${path}.${c.name}`, rows, true);
        return;
      case Type.List: {
        const last = offsets(path, rows, null);
        visit(type.children[0]!.type as DataType, `${path}[]`, last, false);
        return;
      }
      case Type.Utf8: {
        const values = buffers[bi + 1];
        offsets(path, rows, values && Number.isSafeInteger(values.length) ? values.length : 0);
        buffer(`${path} values`, 0, 1);
        return;
      }
      case Type.Bool:
        buffer(`${path} values`, Math.ceil(rows / 8), 1);
        return;
      case Type.Dictionary: {
        const d = type as unknown as { id: number; indices: DataType };
        const w = indexWidth(d.indices);
        if (w === 0) bad(`${path}: dictionary indices of ${String(d.indices)} are not supported`);
        const b = buffer(`${path} indices`, rows * w, w);
        const dict = dictionaries.get(d.id);
        if (!dict) bad(`${path}: dictionary ${d.id} is missing`);
        checkCodes(body, b.offset, rows, w, dict!.length, n.nullCount > 0 ? buffers[bi - 2]! : null, path, bad);
        return;
      }
      default: {
        const w = fixedWidth(type);
        if (w === 0) bad(`${path}: type ${String(type)} is not supported`);
        buffer(`${path} values`, rows * w, w);
      }
    }
  };
  types.forEach((t, i) => visit(t, `column ${i}`, header.length, true));
  if (ni !== nodes.length || bi !== buffers.length) bad(`${nodes.length} field nodes and ${buffers.length} buffers, the schema uses ${ni} and ${bi}`);
}

/** Checks that every non-null dictionary code is in [0, size). */
function checkCodes(
  body: Uint8Array, offset: number, rows: number, width: number, size: number,
  validity: { offset: number; length: number } | null, path: string, bad: (why: string) => never,
): void {
  const at = body.byteOffset + offset;
  const codes = width === 1 ? new Int8Array(body.buffer, at, rows) : width === 2 ? new Int16Array(body.buffer, at, rows) : new Int32Array(body.buffer, at, rows);
  for (let i = 0; i < rows; i++) {
    const c = codes[i]!;
    if (c >= 0 && c < size) continue;
    if (validity && ((body[validity.offset + (i >> 3)]! >> (i & 7)) & 1) === 0) continue; // a null row: its code is not read
    bad(`${path}: dictionary code ${c} at row ${i} is outside the dictionary's ${size} values`);
  }
}
