// Recovery (ClusterState.open) and readers over a damaged journal, with real files: the image a
// crash leaves — a checkpoint at revision 10, the journal holding revisions 1..20 one record each,
// its durable mark at 20 — then one kind of damage. Damage at or below what was acknowledged is
// CORRUPT, the message naming exactly what is wrong, and no file is changed; a torn tail past the
// durable mark is cut and recovery restores every intact revision, with exactly its content.
// Never an acknowledged revision silently dropped.
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState, readStateSnapshot, StateError } from '../../src/index.js';
import { followState } from '../../src/follower/index.js';
import { encodeJournalMark, JOURNAL_MARK_OFFSET, RECORD_HEADER_BYTES, recordSize } from '../../src/statedir/journal-format.js';
import { JournalReader } from '../../src/statedir/journal-reader.js';
import { rowsHash, rowsOf } from '../fixtures/change-replay.js';

const made: string[] = [];
test.after.always(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'acs-jrecover-'));
  made.push(d);
  return d;
};

interface Image {
  dir: string;
  clusterId: string;
  journal: string;
  /** Row hash of the state at each revision 0..20. */
  hashes: Map<number, string>;
  /** Where each record (one revision each) starts, and its payload length. */
  records: Map<number, { offset: number; length: number }>;
  bytes: Buffer;
}

/**
 * The files a crash right after revision 20 was flushed leaves (the arena file's checkpoint at 10,
 * the journal with every revision, the metadata's version at most the journal's mark).
 */
async function crashImage(clusterId = 'jr', mark = 20): Promise<Image> {
  const dir = tempDir();
  const s = await ClusterState.open({ statePath: dir, clusterId, parquet: false, checkpoint: { revisions: 1_000_000 }, history: { revisions: 1000 } });
  const hashes = new Map<number, string>([[0, rowsHash(rowsOf(s.getTables()))]]);
  for (let i = 1; i <= 20; i++) {
    s.transaction(() => { // one revision each
      if (i % 4 === 0) s.removeTask(`t${i - 2}`);
      else s.addTask({ id: `t${i}`, type: 'process', priority: i, payload: { i, text: 'ü'.repeat(i) } });
      if (i % 3 === 0) s.registerNode({ id: `n${i}`, role: i % 2 ? 'worker' : 'master' });
    });
    await s.flush();
    hashes.set(s.revision, rowsHash(rowsOf(s.getTables())));
    if (i === 10) await s.checkpoint();
  }
  const names = readdirSync(dir).filter((n) => n.endsWith('.arena') || n.endsWith('.journal') || n === 'state_metadata.json');
  const crashed = new Map(names.map((n) => [n, readFileSync(join(dir, n))]));
  await s.close();
  for (const n of readdirSync(dir)) if (n.endsWith('.arena')) rmSync(join(dir, n));
  for (const [n, b] of crashed) writeFileSync(join(dir, n), b);
  const journal = join(dir, `state_${clusterId}.journal`);
  const md = JSON.parse(readFileSync(join(dir, 'state_metadata.json'), 'utf8'));
  writeFileSync(join(dir, 'state_metadata.json'), JSON.stringify({ ...md, version: Math.min(md.version, mark) }));
  if (mark !== 20) patch(journal, (b) => b.set(encodeJournalMark(mark), JOURNAL_MARK_OFFSET));
  const records = new Map<number, { offset: number; length: number }>();
  const r = new JournalReader(journal, clusterId);
  try {
    r.scan(r.start, -1, Infinity, (x) => {
      if (x.first !== x.last) throw new Error('one revision per record expected');
      records.set(x.first, { offset: x.offset, length: x.payload.byteLength });
    });
    if (r.header.baseRevision !== 0 || records.size !== 20) throw new Error(`unexpected journal: base ${r.header.baseRevision}, ${records.size} records`);
  } finally {
    r.close();
  }
  return { dir, clusterId, journal, hashes, records, bytes: readFileSync(journal) };
}

function patch(path: string, fn: (b: Buffer) => void): void {
  const b = readFileSync(path);
  fn(b);
  writeFileSync(path, b);
}

const fileHashes = (dir: string) => Object.fromEntries(readdirSync(dir).filter((n) => n !== 'writer.json').map((n) => [n, createHash('sha256').update(readFileSync(join(dir, n))).digest('hex')]));

/** The writer, a one-shot reader and a follower all refuse with CORRUPT matching every pattern; no file changes. */
async function corruptEverywhere(t: ExecutionContext, img: Image, ...patterns: RegExp[]): Promise<void> {
  const before = fileHashes(img.dir);
  const w = await t.throwsAsync(ClusterState.open({ statePath: img.dir, clusterId: img.clusterId, parquet: false }), { instanceOf: StateError });
  t.is(w!.code, 'CORRUPT', w!.message);
  for (const p of patterns) t.regex(w!.message, p);
  const r = t.throws(() => readStateSnapshot(img.dir), { instanceOf: StateError });
  t.is(r!.code, 'CORRUPT', r!.message);
  const f = await t.throwsAsync(followState(img.dir), { instanceOf: StateError });
  t.is(f!.code, 'CORRUPT', f!.message);
  t.deepEqual(fileHashes(img.dir), before, 'a refused recovery changes no file');
}

/** Recovery succeeds at `revision` with exactly that revision's content; a second recovery agrees. */
async function recoversTo(t: ExecutionContext, img: Image, revision: number): Promise<void> {
  const s = await ClusterState.open({ statePath: img.dir, clusterId: img.clusterId, parquet: false });
  t.is(s.revision, revision);
  t.is(rowsHash(rowsOf(s.getTables())), img.hashes.get(revision)!, `exactly the content of revision ${revision}`);
  // The recovered history is watchable: every revision back to the journal's start, gap-free.
  const w = s.watch({ afterRevision: s.history.oldestRevision });
  const revs: number[] = [];
  for (let r = s.history.oldestRevision + 1; r <= revision; r++) revs.push(((await w.next()).value as { revision: number }).revision);
  t.deepEqual(revs, Array.from({ length: revision - s.history.oldestRevision }, (_, i) => s.history.oldestRevision + 1 + i));
  await w.return?.();
  await s.close();
  t.is(readStateSnapshot(img.dir)!.revision, revision, 'a reader agrees');
  const again = await ClusterState.open({ statePath: img.dir, clusterId: img.clusterId, parquet: false });
  t.is(again.revision, revision, 'and so does the next recovery (the torn tail is gone)');
  t.is(rowsHash(rowsOf(again.getTables())), img.hashes.get(revision)!);
  await again.close();
}

test('the crash image itself recovers to revision 20 exactly (checkpoint 10 + journal 11..20)', async (t) => {
  await recoversTo(t, await crashImage(), 20);
});

test('a record with a bad checksum before acknowledged data is CORRUPT, naming the revision, the byte and the acknowledged revision', async (t) => {
  for (const rev of [15, 20]) {
    const img = await crashImage();
    const { offset, length } = img.records.get(rev)!;
    patch(img.journal, (b) => { b[offset + RECORD_HEADER_BYTES + Math.floor(length / 2)] ^= 0x20; });
    await corruptEverywhere(t, img, new RegExp(`the record of revision ${rev} at byte ${offset} is damaged \\(it fails its checksum\\)`), /revision 20 was acknowledged as durable/);
  }
});

test('a bad checksum in the history before the checkpoint costs only that history: recovery restores every acknowledged revision', async (t) => {
  const img = await crashImage();
  const { offset, length } = img.records.get(4)!;
  patch(img.journal, (b) => { b[offset + RECORD_HEADER_BYTES + Math.floor(length / 2)] ^= 0x20; });
  await recoversTo(t, img, 20);
});

test('a damaged record header before acknowledged data is CORRUPT, saying what is wrong with it', async (t) => {
  const img = await crashImage();
  const { offset } = img.records.get(12)!;
  patch(img.journal, (b) => { b[offset] ^= 0xff; }); // the record magic
  await corruptEverywhere(t, img, new RegExp(`revision 12 at byte ${offset} is damaged \\(no record magic\\)`), /acknowledged/);
});

test('a journal that ends mid-record before acknowledged data is CORRUPT (inside the payload, inside the header)', async (t) => {
  const img = await crashImage();
  const { offset, length } = img.records.get(17)!;
  truncateSync(img.journal, offset + RECORD_HEADER_BYTES + Math.floor(length / 3));
  await corruptEverywhere(t, img, new RegExp(`revision 17 at byte ${offset} is damaged \\(the file ends inside its ${length}-byte payload\\)`), /revision 20 was acknowledged/);
  const img2 = await crashImage();
  const at = img2.records.get(19)!.offset;
  truncateSync(img2.journal, at + 10);
  await corruptEverywhere(t, img2, new RegExp(`revision 19 at byte ${at} is damaged \\(the file ends inside a record header\\)`));
});

test('a journal cut at a record boundary below its durable mark is CORRUPT: the mark says more was acknowledged than can be restored', async (t) => {
  const img = await crashImage();
  truncateSync(img.journal, img.records.get(18)!.offset);
  await corruptEverywhere(t, img, /durable mark says revision 20 was acknowledged as durable, but the newest valid checkpoint and the journal .* restore only up to revision 17/);
});

test('a torn tail past the durable mark is cut: recovery restores every intact revision (also those synced past the mark), exactly', async (t) => {
  // Mark at 17; revision 20's record cut short by the crash: 18 and 19 were synced, so they are restored.
  const img = await crashImage('jr', 17);
  const { offset, length } = img.records.get(20)!;
  truncateSync(img.journal, offset + RECORD_HEADER_BYTES + Math.floor(length / 2));
  await recoversTo(t, img, 19);
  // Revision 19's payload damaged past the mark: the scan stops there, 18 is the last intact one.
  const img2 = await crashImage('jr', 17);
  const r19 = img2.records.get(19)!;
  patch(img2.journal, (b) => { b[r19.offset + RECORD_HEADER_BYTES + 5] ^= 0x01; });
  await recoversTo(t, img2, 18);
  // Garbage after the last record (a header cut short, then zeros).
  const img3 = await crashImage('jr', 20);
  writeFileSync(img3.journal, Buffer.concat([img3.bytes, Buffer.from([0x41, 0x43, 0x53, 0x52, 1, 2, 3])]));
  await recoversTo(t, img3, 20);
  const img4 = await crashImage('jr', 20);
  writeFileSync(img4.journal, Buffer.concat([img4.bytes, Buffer.alloc(recordSize(100))]));
  await recoversTo(t, img4, 20);
});

test('a torn tail past the mark that reaches back below what the metadata acknowledged is CORRUPT, not a silent loss', async (t) => {
  const img = await crashImage('jr', 17);
  const md = JSON.parse(readFileSync(join(img.dir, 'state_metadata.json'), 'utf8'));
  writeFileSync(join(img.dir, 'state_metadata.json'), JSON.stringify({ ...md, version: 20 }));
  const { offset, length } = img.records.get(19)!;
  truncateSync(img.journal, offset + RECORD_HEADER_BYTES + Math.floor(length / 2));
  await corruptEverywhere(t, img, /revision 20 was acknowledged as durable/, /restore only up to revision 18|record of revision 19/);
});

test('a journal of another cluster is CORRUPT, naming both clusters', async (t) => {
  const img = await crashImage('jr');
  const other = await crashImage('other');
  writeFileSync(img.journal, readFileSync(other.journal));
  await corruptEverywhere(t, img, /journal ".*state_jr\.journal" belongs to cluster "other", not "jr"/);
});

test('a journal whose first revision does not follow the checkpoint (a gap) is CORRUPT, naming the missing revisions', async (t) => {
  // The arena file from when the checkpoint was at 10; the journal from after a cut behind a
  // later checkpoint (it follows revision 25): revisions 11..25 are nowhere.
  const dir = tempDir();
  const s = await ClusterState.open({ statePath: dir, clusterId: 'gap', parquet: false, checkpoint: { revisions: 1_000_000 }, history: { revisions: 2 } });
  for (let i = 1; i <= 10; i++) {
    s.addTask({ id: `t${i}`, type: 'process' });
    await s.flush();
  }
  await s.checkpoint();
  const arenaName = readdirSync(dir).find((n) => n.endsWith('.arena'))!;
  const oldArena = readFileSync(join(dir, arenaName));
  for (let i = 11; i <= 27; i++) {
    s.addTask({ id: `t${i}`, type: 'process' });
    await s.flush();
  }
  await s.checkpoint(); // cuts the journal behind min(27, 27 - 2) = 25
  const journal = readFileSync(join(dir, 'state_gap.journal'));
  await s.close();
  writeFileSync(join(dir, arenaName), oldArena);
  writeFileSync(join(dir, 'state_gap.journal'), journal);
  const md = JSON.parse(readFileSync(join(dir, 'state_metadata.json'), 'utf8'));
  writeFileSync(join(dir, 'state_metadata.json'), JSON.stringify({ ...md, version: 27 }));
  const r = new JournalReader(join(dir, 'state_gap.journal'), 'gap');
  t.is(r.header.baseRevision, 25);
  r.close();
  await corruptEverywhere(t, { dir, clusterId: 'gap' } as Image, /journal ".*state_gap\.journal" follows revision 25, but the checkpoint holds revision 10: revisions 11\.\.25 are missing/);
});
