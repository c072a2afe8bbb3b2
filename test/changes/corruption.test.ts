import test, { type ExecutionContext } from 'ava';
import { Int64, Int8, makeData, tableFromIPC, TimestampMillisecond, Utf8, vectorFromArray, type Data } from 'apache-arrow';
import { isStateError } from '../../src/index.js';
import { encodeChangeBatch } from '../../src/changes/encode.js';
import { decodeChangeBatch } from '../../src/changes/decode.js';
import type { ChangeSet } from '../../src/changes/change-set.js';
import { H, HEADER_BYTES, SECTIONS, type SectionName } from '../../src/changes/codec-format.js';
import { assemble, prng, randomRun, recordPool, reseal, revision, section, sectionBounds } from './support.js';

const pool = recordPool(11);

/** Decodes fully (checks, then every record); returns the change sets or the error thrown. */
function attempt(bytes: Uint8Array, what: string): ChangeSet[] | Error {
  try {
    return decodeChangeBatch(bytes, what).changeSets();
  } catch (e) {
    return e as Error;
  }
}

function corrupt(t: ExecutionContext, bytes: Uint8Array, why: RegExp, label: string): void {
  const what = `case <${label}>`;
  const r = attempt(bytes, what);
  if (!(r instanceof Error)) {
    t.fail(`${label}: decoded although damaged`);
    return;
  }
  t.true(isStateError(r, 'CORRUPT'), `${label}: ${r.name} ${r.message}`);
  t.true(r.message.includes(what), `${label}: the message names the batch: ${r.message}`);
  t.regex(r.message, why, label);
}

const i64 = (xs: number[]): Data => makeData({ type: new Int64(), length: xs.length, nullCount: 0, data: new BigInt64Array(xs.map(BigInt)) });
const ts = (xs: number[]): Data => makeData({ type: new TimestampMillisecond(), length: xs.length, nullCount: 0, data: new BigInt64Array(xs.map(BigInt)) });
const i8 = (xs: number[]): Data => makeData({ type: new Int8(), length: xs.length, nullCount: 0, data: new Int8Array(xs) });
const str = (xs: (string | null)[]): Data => vectorFromArray(xs, new Utf8()).data[0]!;
const revisionsSection = (first: number, revs: number[], times = revs.map((r) => 1_700_000_000_000 + r), masters: (string | null)[] = revs.map(() => 'm')) =>
  section('revisions', revs.length, [i64(revs), ts(times), str(masters)]);

/** The sections of an encoded batch, with one section's columns replaced. */
function edited(bytes: Uint8Array, s: SectionName, edit: (cols: Data[]) => Data[]): Record<string, Uint8Array> {
  const bounds = sectionBounds(bytes);
  const out: Record<string, Uint8Array> = {};
  for (const name of SECTIONS) {
    const [a, z] = bounds[name];
    if (a === z) continue;
    if (name !== s) {
      out[name] = bytes.slice(a, z);
      continue;
    }
    const data = tableFromIPC(bytes.subarray(a, z)).data[0]!;
    out[name] = section(name, data.length, edit(data.children.slice()));
  }
  return out;
}

test('damaged headers are CORRUPT, saying what is wrong', (t) => {
  const good = encodeChangeBatch([revision(5, { upserts: { nodes: pool.nodes.slice(0, 2) }, deletes: { tasks: ['t'] } }), revision(6)]);
  const patch = (edit: (dv: DataView, b: Uint8Array) => void, seal = true) => {
    const b = good.slice();
    edit(new DataView(b.buffer), b);
    return seal ? reseal(b) : b;
  };
  corrupt(t, new Uint8Array(0), /too short/, 'empty');
  corrupt(t, good.subarray(0, 71), /too short/, 'header cut');
  corrupt(t, patch((dv) => dv.setUint32(H.magic, 0x46534341, true)), /not a change batch/, 'magic');
  corrupt(t, patch((dv) => dv.setUint16(H.version, 2, true)), /format version 2/, 'version');
  corrupt(t, patch((dv) => dv.setUint16(H.headerLength, 80, true)), /header of 80 bytes/, 'header length');
  corrupt(t, good.subarray(0, good.byteLength - 8), /truncated/, 'truncated');
  const longer = new Uint8Array(good.byteLength + 8);
  longer.set(good);
  corrupt(t, longer, /extended/, 'extended');
  corrupt(t, patch((_, b) => (b[good.byteLength - 100]! ^= 4), false), /checksum mismatch/, 'bit flip');
  corrupt(t, patch((dv) => dv.setUint32(H.crc, dv.getUint32(H.crc, true) ^ 1, true), false), /checksum mismatch/, 'checksum flip');
  corrupt(t, patch((dv) => dv.setUint32(H.reserved, 1, true)), /reserved/, 'reserved');
  corrupt(t, patch((dv) => { dv.setUint32(H.firstRevision, 0, true); dv.setUint32(H.lastRevision, 1, true); }), /not a run/, 'revision 0');
  corrupt(t, patch((dv) => dv.setUint32(H.lastRevision, 4, true)), /not a run/, 'last < first');
  corrupt(t, patch((dv) => dv.setUint32(H.lastRevision + 4, 0x200000, true)), /exceeds 2\^53/, 'past 2^53');
  corrupt(t, patch((dv) => dv.setUint32(H.lastRevision, 7, true)), /section revisions: 2 rows, the header says 3/, 'one revision more');
  corrupt(t, patch((dv) => dv.setUint32(H.rows, 3, true)), /section nodes: 2 rows, the header says 3/, 'row count');
  corrupt(t, patch((dv) => dv.setUint32(H.rows + 4, 1, true)), /section tasks is absent/, 'rows without a section');
  corrupt(t, patch((dv) => dv.setUint32(H.rows + 12, 0, true)), /section deletes is present/, 'section without rows');
  corrupt(t, patch((dv) => dv.setUint32(H.sectionLengths + 4, dv.getUint32(H.sectionLengths + 4, true) + 4, true)), /not a multiple of 8/, 'odd length');
  corrupt(t, patch((dv) => dv.setUint32(H.sectionLengths + 4, dv.getUint32(H.sectionLengths + 4, true) + 8, true)), /add up to/, 'lengths disagree');
  corrupt(t, patch((dv) => {
    const a = dv.getUint32(H.sectionLengths, true);
    dv.setUint32(H.sectionLengths, a + 8, true);
    dv.setUint32(H.sectionLengths + 4, dv.getUint32(H.sectionLengths + 4, true) - 8, true);
  }), /section/, 'boundary moved');
});

test('well-framed batches whose contents break the format are CORRUPT', (t) => {
  const r1 = revisionsSection(1, [1]);
  corrupt(t, assemble(1, 2, {}, { revisions: revisionsSection(1, [1, 3]) }), /row 1 is revision 3, expected 2/, 'revisions not consecutive');
  corrupt(t, assemble(1, 1, {}, {}), /section revisions is absent/, 'no revisions section');
  corrupt(t, assemble(1, 1, {}, { revisions: revisionsSection(1, [1], [-1]) }), /updated_at -1/, 'negative time');
  corrupt(t, assemble(1, 1, {}, { revisions: revisionsSection(1, [1], [8.64e15 + 1]) }), /updated_at/, 'time past the Date range');
  t.deepEqual(decodeChangeBatch(assemble(1, 1, {}, { revisions: section('revisions', 1, [i64([1]), ts([1]), str([null])]) }), 'ok').changeSets(), [{ revision: 1, updatedAt: 1, masterId: null, changes: [] }]);
  const trailing = new Uint8Array(r1.byteLength + 8);
  trailing.set(r1);
  corrupt(t, assemble(1, 1, {}, { revisions: trailing }), /8 bytes after its record batch/, 'trailing bytes');
  corrupt(t, assemble(1, 1, { deletes: 1 }, { revisions: r1, deletes: revisionsSection(1, [1]) }), /not the deletes section's/, 'another section\'s schema');
  const del = (revs: number[], codes: number[], ids: (string | null)[]) => section('deletes', revs.length, [i64(revs), i8(codes), str(ids)]);
  corrupt(t, assemble(1, 1, { deletes: 1 }, { revisions: r1, deletes: del([1], [3], ['x']) }), /unknown table code 3/, 'table code 3');
  corrupt(t, assemble(1, 1, { deletes: 1 }, { revisions: r1, deletes: del([1], [-1], ['x']) }), /unknown table code -1/, 'table code -1');
  corrupt(t, assemble(1, 1, { deletes: 1 }, { revisions: r1, deletes: del([1], [0], [null]) }), /column "id" has 1 nulls/, 'null id');
  corrupt(t, assemble(1, 1, { deletes: 1 }, { revisions: r1, deletes: del([2], [0], ['x']) }), /revision 2, outside 1\.\.1/, 'delete outside the batch');
  corrupt(t, assemble(1, 2, { deletes: 2 }, { revisions: revisionsSection(1, [1, 2]), deletes: del([2, 1], [0, 0], ['x', 'y']) }), /out of order/, 'deletes out of order');
  corrupt(t, assemble(1, 1, { deletes: 2 }, { revisions: r1, deletes: del([1, 1], [1, 1], ['x', 'x']) }), /task "x" more than once/, 'deleted twice');
  t.deepEqual(decodeChangeBatch(assemble(1, 1, { deletes: 2 }, { revisions: r1, deletes: del([1, 1], [0, 1], ['x', 'x']) }), 'ok').changeSets()[0]!.changes.length, 2);

  // Upsert sections: take a real batch and edit its columns.
  const good = encodeChangeBatch([revision(1, { upserts: { nodes: pool.nodes.slice(0, 2) }, deletes: { nodes: ['gone'] } }), revision(2, { upserts: { nodes: [pool.nodes[2]!] } })]);
  const rows = { nodes: 3, deletes: 1 };
  const withNodes = (edit: (cols: Data[]) => Data[]) => assemble(1, 2, rows, edited(good, 'nodes', edit));
  t.deepEqual(attempt(withNodes((c) => c), 'unchanged'), decodeChangeBatch(good, 'x').changeSets(), 're-assembled unchanged decodes the same');
  corrupt(t, withNodes((c) => [i64([1, 2, 1]), ...c.slice(1)]), /row 2 belongs to revision 1, out of order/, 'upserts out of order');
  corrupt(t, withNodes((c) => [i64([1, 1, 3]), ...c.slice(1)]), /revision 3, outside 1\.\.2/, 'upsert outside the batch');
  corrupt(t, withNodes((c) => [i64([0, 1, 2]), ...c.slice(1)]), /revision 0, outside/, 'upsert before the batch');
  corrupt(t, withNodes((c) => [c[0]!, str(['a', null, 'c']), ...c.slice(2)]), /column "id" has 1 nulls/, 'null key');
  corrupt(t, withNodes((c) => [c[0]!, str(['a', 'a', 'c']), ...c.slice(2)]), /node "a" more than once/, 'upserted twice');
  corrupt(t, withNodes((c) => [c[0]!, str(['gone', 'b', 'c']), ...c.slice(2)]), /node "gone" more than once/, 'upserted and deleted');
  t.notThrows(() => decodeChangeBatch(withNodes((c) => [c[0]!, str(['a', 'b', 'a']), ...c.slice(2)]), 'same id, other revision'));
  corrupt(t, withNodes((c) => [c[0]!, c[1]!, c[3]!, c[2]!, ...c.slice(4)]), /row 0 has role "(online|offline|degraded)", not one of master, worker, leecher/, 'role and status swapped');
  corrupt(t, withNodes((c) => [c[0]!, c[1]!, c[2]!, str(['online', null, 'online']), ...c.slice(4)]), /column "status" has 1 nulls/, 'null status');
  const task = encodeChangeBatch([revision(1, { upserts: { tasks: [pool.tasks[0]!] } })]);
  corrupt(t, assemble(1, 1, { tasks: 1 }, edited(task, 'tasks', (c) => [c[0]!, c[1]!, str([null]), ...c.slice(3)])), /column "type" has 1 nulls/, 'null type');
  corrupt(t, assemble(1, 1, { tasks: 1 }, edited(task, 'tasks', (c) => [c[0]!, c[1]!, c[2]!, str(['done']), ...c.slice(4)])), /row 0 has status "done"/, 'unknown task status');
  t.notThrows(() => decodeChangeBatch(assemble(1, 1, { tasks: 1 }, edited(task, 'tasks', (c) => [c[0]!, c[1]!, str(['any-type-ü']), ...c.slice(3)])), 'open set'));
  corrupt(t, withNodes((c) => [c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, str(['{', '{}', 'null'])]), /section nodes: column metadata holds text that is not JSON, "\{"/, 'metadata that is not JSON');
});

/** A random damage: flips, a cut, an extension, an overwritten run; `from` protects the header's first bytes. */
function damage(rnd: () => number, good: Uint8Array, from: number): Uint8Array {
  const n = good.byteLength;
  const at = () => from + Math.floor(rnd() * (n - from));
  const kind = Math.floor(rnd() * 5);
  if (kind === 0) {
    const b = good.slice();
    const flips = 1 + Math.floor(rnd() * 8);
    for (let k = 0; k < flips; k++) {
      const p = at();
      b[p]! ^= 1 << Math.floor(rnd() * 8);
    }
    return b;
  }
  if (kind === 1) return good.slice(0, Math.floor(rnd() * n));
  if (kind === 2) {
    const b = new Uint8Array(n + 1 + Math.floor(rnd() * 64));
    b.set(good);
    for (let p = n; p < b.byteLength; p++) b[p] = Math.floor(rnd() * 256);
    return b;
  }
  const b = good.slice();
  const p = at();
  const len = 1 + Math.floor(rnd() * 16);
  for (let k = p; k < Math.min(n, p + len); k++) b[k] = kind === 3 ? Math.floor(rnd() * 256) : kind === 4 && rnd() < 0.5 ? 0xff : 0;
  return b;
}

function fuzz(t: ExecutionContext, seed: number, cases: number, sealed: boolean): void {
  const rnd = prng(seed);
  const bases = [1, 3, 25].map((count, i) => randomRun(prng(seed * 10 + i), pool, 1 + i * 1000, count, { maxPerTable: 3 }));
  const outcomes = { corrupt: 0, same: 0, other: 0 };
  for (let c = 0; c < cases; c++) {
    const base = bases[c % bases.length]!;
    const good = encodeChangeBatch(base.revs);
    let bad = damage(rnd, good, sealed ? H.firstRevision : 0);
    if (sealed && bad.byteLength >= HEADER_BYTES) {
      new DataView(bad.buffer).setUint32(H.totalLength, bad.byteLength, true);
      bad = reseal(bad);
    }
    const what = `fuzz ${seed}/${c}`;
    const r = attempt(bad, what);
    if (r instanceof Error) {
      if (!isStateError(r, 'CORRUPT') || !r.message.includes(what)) {
        t.fail(`${what}: ${r.name}: ${r.message}\n${r.stack}`);
        return;
      }
      outcomes.corrupt++;
    } else if (sealed) {
      // Behind a valid checksum the damage may still decode (a changed value): anything but a crash.
      outcomes.other++;
    } else {
      t.deepEqual(r, base.expected, `${what}: decoded, so it must be exactly what was encoded`);
      outcomes.same++;
    }
  }
  t.log(`${cases} cases (${sealed ? 'checksum recomputed after the damage' : 'damage as it comes'}): ${JSON.stringify(outcomes)}`);
  t.is(outcomes.corrupt + outcomes.same + outcomes.other, cases, 'every damaged batch was refused as CORRUPT or decoded');
  t.true(outcomes.corrupt > 0, 'some damage was detected');
}

test('fuzz: bit flips, cuts, extensions and overwritten runs are CORRUPT or decode exactly', (t) => fuzz(t, 1234, 400, false));

test('fuzz behind a recomputed checksum: the structural checks give CORRUPT, never another exception', (t) => fuzz(t, 4321, 400, true));
