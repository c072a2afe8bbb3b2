// The journal file: appends, the durable mark, scans, and every kind of damage — CORRUPT before
// acknowledged data, a torn tail after it (real files).
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateError } from '../../src/errors.js';
import { fsyncDir } from '../../src/persist/atomic.js';
import { JournalWriter } from '../../src/persist/journal-writer.js';
import { JOURNAL_DATA_START, RECORD_HEADER_BYTES, recordSize, type JournalRecord } from '../../src/statedir/journal-format.js';
import { JournalReader, type ScannedRecord } from '../../src/statedir/journal-reader.js';

function setup(t: import('ava').ExecutionContext) {
  const dir = mkdtempSync(join(tmpdir(), 'acs-journal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, path: join(dir, 'state_j.journal') };
}

/** The writer session every journal of these tests names. */
const SESSION = { writer: 7, recovered: 0 };
const payload = (r: number, n = 40) => Uint8Array.from({ length: n + (r % 7) }, (_, i) => (r * 31 + i) & 255);
const rec = (first: number, last = first): JournalRecord => ({ first, last, payload: payload(first) });

function scanAll(path: string, bound = Infinity) {
  const r = new JournalReader(path, 'j');
  const seen: ScannedRecord[] = [];
  try {
    const res = r.scan(r.start, r.mark() ?? r.header.baseRevision, bound, (x) => seen.push(x));
    return { seen, res, mark: r.mark(), base: r.header.baseRevision };
  } finally {
    r.close();
  }
}

/** A journal following revision 10 with records 11..15 (13..14 in one group), marked up to `mark`. */
async function written(path: string, mark: number) {
  const dir = join(path, '..');
  const w = await JournalWriter.create(path, 'j', SESSION, 10, [rec(11)], 11, () => fsyncDir(dir));
  await w.append([rec(12)]);
  await w.append([rec(13, 14), rec(15)]);
  await w.writeMark(mark);
  await w.close();
}

test('records appended in groups read back in order with their payloads; the mark bounds what is acknowledged', async (t) => {
  const { path } = setup(t);
  await written(path, 15);
  const { seen, res, mark, base } = scanAll(path);
  t.is(base, 10);
  t.is(mark, 15);
  t.deepEqual(seen.map((s) => [s.first, s.last]), [[11, 11], [12, 12], [13, 14], [15, 15]]);
  t.deepEqual(seen.map((s) => [...s.payload]), [payload(11), payload(12), payload(13), payload(15)].map((p) => [...p]));
  t.is(res.torn, null);
  t.deepEqual(res.position.next, 16);
  // A bounded scan stops before the first record past the bound and resumes from there.
  const r = new JournalReader(path, 'j');
  const first: number[] = [];
  const p = r.scan(r.start, 15, 12, (x) => first.push(x.first)).position;
  t.deepEqual(first, [11, 12]);
  const rest: number[] = [];
  r.scan(p, 15, Infinity, (x) => rest.push(x.first));
  t.deepEqual(rest, [13, 15]);
  r.close();
});

test('a damaged record at or below the mark is CORRUPT; past the mark it is a torn tail the scan stops at', async (t) => {
  const { path } = setup(t);
  await written(path, 12);
  const bytes = readFileSync(path);
  // Record 13..14 starts after records 11 and 12.
  const at13 = JOURNAL_DATA_START + recordSize(payload(11).byteLength) + recordSize(payload(12).byteLength);
  const flip = (at: number) => {
    const b = Buffer.from(bytes);
    b[at]! ^= 0x10;
    writeFileSync(path, b);
  };
  flip(at13 + RECORD_HEADER_BYTES + 3); // payload of 13..14: past the mark (12) → torn
  let s = scanAll(path);
  t.deepEqual(s.seen.map((x) => x.first), [11, 12]);
  t.regex(s.res.torn!, /revision 13 .*checksum/);
  flip(JOURNAL_DATA_START + RECORD_HEADER_BYTES + 1); // payload of 11: acknowledged → CORRUPT
  const e = t.throws(() => scanAll(path), { instanceOf: StateError });
  t.is(e!.code, 'CORRUPT');
  t.regex(e!.message, /revision 11 .*damaged.*acknowledged/);
  // Cut inside a record past the mark: a torn tail; inside one at or below it: CORRUPT.
  writeFileSync(path, bytes);
  truncateSync(path, at13 + 10);
  s = scanAll(path);
  t.deepEqual(s.seen.map((x) => x.first), [11, 12]);
  t.regex(s.res.torn!, /ends inside/);
  writeFileSync(path, bytes);
  truncateSync(path, JOURNAL_DATA_START + 20);
  t.is(t.throws(() => scanAll(path), { instanceOf: StateError })!.code, 'CORRUPT');
});

test('a gap, an overlap, a damaged header, another cluster\'s journal: CORRUPT, saying which', async (t) => {
  const { dir, path } = setup(t);
  const w = await JournalWriter.create(path, 'j', SESSION, 0, [], 0, () => fsyncDir(dir));
  await w.append([rec(1)]);
  await t.throwsAsync(w.append([rec(3)]), { message: /internal/ }, 'the writer itself refuses a gap');
  await w.close();
  // Forge a gap and an overlap by framing records by hand after record 1.
  const good = readFileSync(path);
  const { encodeRecords } = await import('../../src/statedir/journal-format.js');
  writeFileSync(path, Buffer.concat([good, encodeRecords([rec(3)])]));
  t.regex(t.throws(() => scanAll(path), { instanceOf: StateError })!.message, /revisions 2\.\.2 are missing/);
  writeFileSync(path, Buffer.concat([good, encodeRecords([rec(1)])]));
  t.regex(t.throws(() => scanAll(path), { instanceOf: StateError })!.message, /already holds/);
  const h = Buffer.from(good);
  h[9]! ^= 1;
  writeFileSync(path, h);
  t.regex(t.throws(() => scanAll(path), { instanceOf: StateError })!.message, /header is damaged/);
  writeFileSync(path, good);
  t.regex(t.throws(() => new JournalReader(path, 'other'), { instanceOf: StateError })!.message, /belongs to cluster "j", not "other"/);
});

test('a new journal replaces the old file (a new inode): a writer still holding the old one appends where nothing reads', async (t) => {
  const { dir, path } = setup(t);
  const old = await JournalWriter.create(path, 'j', SESSION, 0, [rec(1)], 1, () => fsyncDir(dir));
  const fresh = await JournalWriter.create(path, 'j', SESSION, 1, [], 1, () => fsyncDir(dir));
  await old.append([rec(2)]); // the zombie's append
  await fresh.append([rec(2)]);
  await fresh.writeMark(2);
  const { seen, base } = scanAll(path);
  t.is(base, 1);
  t.deepEqual(seen.map((x) => [...x.payload]), [[...payload(2)]]);
  await old.close();
  await fresh.close();
});
