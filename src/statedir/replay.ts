/**
 * Replaying the journal onto a checkpoint: recovery (the writer) and loading (replicas) apply the
 * journal's change sets after the checkpoint's revision, in order, through its valid prefix.
 * Says exactly what is wrong when it cannot: a journal that starts after the checkpoint (a gap),
 * damage before acknowledged data (journal-reader.ts), or acknowledged revisions that are not
 * there (the metadata or the journal's mark says more was durable than can be restored).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodeChangeBatch } from '../changes/decode.js';
import { corrupt, show } from '../errors.js';
import { applyChangeSet } from '../tables/apply.js';
import type { Model } from '../tables/model.js';
import type { JournalRecord } from './journal-format.js';
import { JournalReader, type JournalPosition } from './journal-reader.js';
import { journalFileName } from './names.js';

/** What a replay did. */
export interface Replayed {
  /** Whether the directory had a journal. */
  present: boolean;
  /** The journal's intact records (all of them, in order). */
  records: JournalRecord[];
  /** Why the journal's end was cut (a torn tail past the mark), or null. */
  torn: string | null;
  /** The journal's durable mark (-1 when none). */
  mark: number;
  /** Where a follower continues reading (null without a journal). */
  position: JournalPosition | null;
  /** The file's identity (a cut or a takeover replaces it). */
  fileId: string | null;
}

/**
 * Applies the journal of `dir` after `m`'s revision (the checkpoint's): every intact record for
 * recovery (a record synced past the mark was durable before the crash), only up to the
 * journal's durable mark for a reader (`durableOnly`: it never shows a revision that is not yet
 * durable). `acknowledged` is a revision known to be durable from elsewhere (the metadata's
 * version): reaching less than it or the mark is CORRUPT unless `recoverOlder`.
 */
export function replayJournal(dir: string, clusterId: string, m: Model, acknowledged: number, opts: { durableOnly?: boolean; recoverOlder?: boolean; keepRecords?: boolean } = {}): Replayed {
  const path = join(dir, journalFileName(clusterId));
  const checkpoint = m.revision;
  if (!existsSync(path)) {
    if (acknowledged > checkpoint && !opts.recoverOlder) throw corrupt(`revision ${acknowledged} was acknowledged as durable, but ${show(dir)} has no journal and the newest valid checkpoint holds revision ${checkpoint}${opts.durableOnly ? '' : `; pass { recoverOlder: true } to continue from ${checkpoint}, or { startFresh: true }`}`);
    return { present: false, records: [], torn: null, mark: -1, position: null, fileId: null };
  }
  const reader = new JournalReader(path, clusterId);
  try {
    const base = reader.header.baseRevision;
    if (base > checkpoint && opts.recoverOlder) return { present: true, records: [], torn: `the journal follows revision ${base}, after the checkpoint (${checkpoint}): not replayed`, mark: -1, position: null, fileId: reader.id };
    if (base > checkpoint) throw corrupt(`journal ${show(path)} follows revision ${base}, but the checkpoint holds revision ${checkpoint}: revisions ${checkpoint + 1}..${base} are missing`);
    const mark = reader.mark() ?? -1;
    const mustHave = Math.max(mark, acknowledged);
    const records: JournalRecord[] = [];
    const bound = opts.durableOnly && mark >= 0 ? Math.max(mark, checkpoint) : Infinity;
    // The history before the checkpoint is skipped by its record headers (never read, never
    // checked: a damaged history record does not stop recovery); the writer reads it back only
    // to carry it into its new journal, and carries none when it is not intact.
    const from = reader.seek(reader.start, checkpoint);
    if (opts.keepRecords !== false && from.offset > reader.start.offset) {
      try {
        const h = reader.scan(reader.start, -1, from.next - 1, (r) => records.push({ first: r.first, last: r.last, payload: r.payload, crc: r.crc }));
        if (h.position.offset !== from.offset) records.length = 0;
      } catch {
        records.length = 0;
      }
    }
    const res = reader.scan(from, Math.max(mustHave, checkpoint), bound, (r) => {
      if (opts.keepRecords !== false) records.push({ first: r.first, last: r.last, payload: r.payload, crc: r.crc });
      if (r.last <= m.revision) return;
      const what = `journal ${show(path)} revisions ${r.first}..${r.last}`;
      const batch = decodeChangeBatch(r.payload, what);
      for (let rev = Math.max(r.first, m.revision + 1); rev <= Math.min(r.last, bound); rev++) applyChangeSet(m, batch.changeSet(rev), what);
    });
    if (m.revision < mustHave && !opts.recoverOlder) {
      const by = mark >= acknowledged ? `the journal's durable mark` : 'the durable mark of the checkpoint or state_metadata.json';
      throw corrupt(`${by} says revision ${mustHave} was acknowledged as durable, but the newest valid checkpoint and the journal of ${show(dir)} restore only up to revision ${m.revision}${res.torn ? ` (${res.torn})` : ''}${opts.durableOnly ? '' : `; pass { recoverOlder: true } to continue from ${m.revision}, or { startFresh: true }`}`);
    }
    return { present: true, records, torn: res.torn, mark, position: res.position, fileId: reader.id };
  } finally {
    reader.close();
  }
}
