/**
 * Baselines measured beside ours in the same run: the state as plain JS records (what the Python
 * original and naive ports hold), rebuilt into Arrow per change — row by row with Builders as the
 * original's pandas round trip does, or column-wise (the fastest full rebuild) — and serialised.
 */
import { makeBuilder, Table, tableToIPC, RecordBatch, Struct, makeData, Schema, Field } from 'apache-arrow';
import { columnWriter } from '../../src/arrow/encode/column-writer.js';
import { StringDictionary } from '../../src/arrow/encode/dictionary.js';
import { toColumnValue } from '../../src/tables/batch-encoding.js';
import { readRecord } from '../../src/arrow/decode/table-view.js';
import { ENTITIES, ENTITY_KINDS, type EntityKind } from '../../src/schema/entities.js';
import { entityStruct } from '../../src/schema/state-schema.js';
import type { ClusterState } from '../../src/index.js';

export type Records = Record<EntityKind, Record<string, unknown>[]>;

/** Every record of the state as plain objects (JSON fields as text, as a file row holds them). */
export function recordsOf(state: ClusterState): Records {
  const t = state.getTables();
  const out = {} as Records;
  for (const kind of ENTITY_KINDS) {
    const rows: Record<string, unknown>[] = [];
    t[kind].data.forEach((d, b) => {
      for (let i = 0; i < d.length; i++) {
        const r = readRecord(kind, t[kind], b, i);
        for (const c of ENTITIES[kind].columns) r[c.name] = toColumnValue(c, r[c.name]);
        rows.push(r);
      }
    });
    out[kind] = rows;
  }
  return out;
}

/** Python-original style: rebuild every table row by row with Arrow Builders. */
export function rebuildRowByRow(recs: Records): Record<EntityKind, Table> {
  const out = {} as Record<EntityKind, Table>;
  for (const kind of ENTITY_KINDS) {
    const type = entityStruct(ENTITIES[kind], true);
    const b = makeBuilder({ type, nullValues: [null, undefined] });
    for (const r of recs[kind]) {
      const row: Record<string, unknown> = {};
      for (const c of ENTITIES[kind].columns) {
        const v = r[c.name];
        row[c.name] = typeof v === 'number' && (c.kind === 'int64' || c.kind === 'timestamp') ? BigInt(v) : v;
        if (c.kind === 'struct' && v) {
          const s = { ...(v as Record<string, unknown>) };
          for (const ch of c.children) if (ch.kind === 'int64' && typeof s[ch.name] === 'number') s[ch.name] = BigInt(s[ch.name] as number);
          row[c.name] = s;
        }
      }
      b.append(row as never);
    }
    const data = b.finish().flush() as unknown as ReturnType<typeof makeData>;
    out[kind] = new Table(new Schema(type.children), [new RecordBatch(new Schema(type.children), data as never)]);
  }
  return out;
}

/** The fastest full rebuild: every column written column-wise (makeData) from the records. */
export function rebuildColumnWise(recs: Records): Record<EntityKind, Table> {
  const dicts = new Map<number, StringDictionary>();
  const lookup = (id: number) => {
    let d = dicts.get(id);
    if (!d) dicts.set(id, (d = new StringDictionary(id, [], 32)));
    return d;
  };
  const out = {} as Record<EntityKind, Table>;
  for (const kind of ENTITY_KINDS) {
    const cols = ENTITIES[kind].columns.map((c) => {
      const spec = c.kind === 'dict' ? { name: c.name, kind: 'utf8' as const } : c;
      const w = columnWriter(spec, lookup);
      w.reset();
      for (const r of recs[kind]) w.push(r[c.name]);
      return w.finish();
    });
    const fields = cols.map((d, i) => new Field(ENTITIES[kind].columns[i]!.name, d.type, true));
    const schema = new Schema(fields);
    const data = makeData({ type: new Struct(fields), length: recs[kind].length, nullCount: 0, children: cols });
    out[kind] = new Table(schema, [new RecordBatch(schema, data)]);
  }
  return out;
}

/** IPC bytes of the three tables (stream format). */
export function ipcOf(tables: Record<EntityKind, Table>): Uint8Array[] {
  return ENTITY_KINDS.map((k) => tableToIPC(tables[k], 'stream'));
}
