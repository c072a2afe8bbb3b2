/**
 * Arrow Data of a given type whose every value is null: a validity bitmap of zeros and
 * zero-filled buffers of the right sizes (offsets of zero-length values for strings and lists).
 * Used to leave columns out of a projection without changing the schema.
 */
import { makeData, Type, type Data, type DataType } from 'apache-arrow';

/** `length` nulls of `type` (dictionary types are not supported: they would need their dictionary). */
export function nullData(type: DataType, length: number): Data {
  const nullBitmap = new Uint8Array((length + 7) >> 3);
  const t = type as DataType & { children: { type: DataType }[]; ArrayType: new (n: number) => ArrayBufferView; bitWidth?: number };
  switch (type.typeId) {
    case Type.Utf8:
      return makeData({ type, length, nullCount: length, nullBitmap, valueOffsets: new Int32Array(length + 1), data: new Uint8Array(0) } as never);
    case Type.List:
      return makeData({ type, length, nullCount: length, nullBitmap, valueOffsets: new Int32Array(length + 1), child: nullData(t.children[0]!.type, 0) } as never);
    case Type.Struct:
      return makeData({ type, length, nullCount: length, nullBitmap, children: t.children.map((c) => nullData(c.type, length)) } as never);
    case Type.Bool:
      return makeData({ type, length, nullCount: length, nullBitmap, data: new Uint8Array((length + 7) >> 3) } as never);
    case Type.Int:
    case Type.Float:
    case Type.Timestamp:
      return makeData({ type, length, nullCount: length, nullBitmap, data: new t.ArrayType(length) } as never);
    default:
      throw new Error(`internal: nullData has no rule for ${String(type)}`);
  }
}
