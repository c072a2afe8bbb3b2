/**
 * Table prefixes in the arena: for each table the schema message followed by its dictionary
 * messages. A prefix is rewritten only when one of its dictionaries grew (a new task type), so
 * readers re-decode it rarely. Prefix + batches form a valid Arrow IPC stream.
 */
import { encodeDictionaryBatch, encodeSchema, writeMessage, type EncodedMessage } from '../arrow/encode/ipc-message.js';
import type { EntityKind } from '../schema/entities.js';
import type { Arena, Extent } from './arena.js';
import { crc32 } from '../arena/crc.js';
import type { DirEntry } from '../arena/directory.js';
import type { EntityTable } from '../tables/entity-table.js';

interface Entry {
  key: string;
  extent: Extent;
  dir: DirEntry;
  /** A heap copy of the prefix (for the arena file). */
  bytes: Uint8Array;
}

export class PrefixCache {
  private readonly entries = new Map<EntityKind, Entry>();

  constructor(
    private readonly arena: Arena,
    private readonly retire: (e: Extent) => void,
    private readonly nextVersion: () => number,
  ) {}

  /** The prefix extent of `kind`, written anew if its dictionaries changed. */
  get(kind: EntityKind, table: EntityTable): DirEntry {
    const dicts = table.dictionaryVectors();
    const key = [...dicts].map(([id, v]) => `${id}:${v.length}`).join(',');
    const cur = this.entries.get(kind);
    if (cur && cur.key === key) return cur.dir;
    const msgs: EncodedMessage[] = [encodeSchema(table.schema)];
    for (const [id, v] of dicts) msgs.push(encodeDictionaryBatch(id, v.data[0]!));
    const total = msgs.reduce((s, m) => s + m.byteLength, 0);
    const extent = this.arena.alloc(total);
    const bytes = this.arena.bytes(extent, total);
    let at = 0;
    for (const m of msgs) {
      writeMessage(m, bytes.subarray(at));
      at += m.byteLength;
    }
    if (cur) this.retire(cur.extent);
    const dir: DirEntry = { offset: extent.offset, length: total, version: this.nextVersion(), crc: crc32(bytes), rows: 0 };
    this.entries.set(kind, { key, extent, dir, bytes: bytes.slice(0, total) });
    return dir;
  }

  /**
   * Copies the prefix of `kind` to a fresh extent under a new version (same bytes, from the heap
   * copy): repairs a prefix extent a reader damaged. The damaged extent is retired.
   */
  relocate(kind: EntityKind): void {
    const cur = this.entries.get(kind);
    if (!cur) return;
    const extent = this.arena.alloc(cur.bytes.byteLength);
    this.arena.bytes(extent, cur.bytes.byteLength).set(cur.bytes);
    this.retire(cur.extent);
    const dir: DirEntry = { ...cur.dir, offset: extent.offset, version: this.nextVersion() };
    this.entries.set(kind, { ...cur, extent, dir });
  }

  /** Every current prefix: its kind, extent, directory entry and heap copy (for the scrub). */
  all(): { kind: EntityKind; extent: Extent; dir: DirEntry; bytes: Uint8Array }[] {
    return [...this.entries].map(([kind, e]) => ({ kind, extent: e.extent, dir: e.dir, bytes: e.bytes }));
  }

  /** The current prefix of `kind` (after get()): its directory entry and a heap copy of its bytes. */
  current(kind: EntityKind): { dir: DirEntry; bytes: Uint8Array } {
    const e = this.entries.get(kind)!;
    return { dir: e.dir, bytes: e.bytes };
  }
}
