// The key index (src/arrow/decode/key-index.ts) agrees with a Map of first rows: random ids with
// non-ASCII, duplicates and full 32-bit hash collisions, plain and dictionary-coded chunks, nulls
// (own and a parent struct's), sliced data and empty batches, across batches; probes by string, by
// bytes inside a larger buffer, and from rows of other columns.
import test from 'ava';
import { Data, Dictionary, Int32, Int8, makeData, makeVector, Struct, Utf8, vectorFromArray, Field } from 'apache-arrow';
import { hashAscii, hashBytes, KeyIndex } from '../../../src/arrow/decode/key-index.js';
import { StrChunk } from '../../../src/arrow/decode/str-chunk.js';
import { Rng } from '../../fixtures/rng.js';

const encoder = new TextEncoder();

/** Pairs of distinct strings with the same 32-bit hash (found by brute force, deterministic). */
function collisions(max: number): [string, string][] {
  const seen = new Map<number, string>();
  const out: [string, string][] = [];
  for (let i = 0; out.length < max; i++) {
    const s = `node-${i.toString(36)}`;
    const b = encoder.encode(s);
    const h = hashBytes(b, 0, b.length);
    const other = seen.get(h);
    if (other !== undefined) out.push([other, s]);
    else seen.set(h, s);
  }
  return out;
}
const COLLIDING = collisions(6);

/** Ids a column may hold: non-ASCII, empty, long, near-identical, and colliding pairs. */
function idPool(r: Rng): string[] {
  const base = [
    '', 'a', 'b', 'ab', 'ba', 'w1', 'w10', 'w1 ', 'nö-ü', 'no-u', 'bafy😀', 'bafy😁', '中文', 'é', 'e\u0301', 'ß', 'ss',
    'x'.repeat(300), `${'x'.repeat(299)}y`, 'tab\there', 'nul\u0000byte', '\u{10ffff}',
  ];
  for (let i = 0; i < 40; i++) base.push(`id-${r.int(1000)}-${r.pick(['', 'ü', '😀', 'ab'])}`);
  for (const [x, y] of COLLIDING) base.push(x, y);
  return [...new Set(base)];
}

/** A probe that is in no column: absent ids, and the colliding partners of present ones. */
const ABSENT = ['zz-absent', 'w1  ', 'x'.repeat(301), 'nö-ü!', 'e', '😀', 'id-'];

interface Chunk {
  chunk: StrChunk;
  /** What row i holds, by construction (null for a null row). */
  values: (string | null)[];
}

/** A utf8 Data of `values` (null entries are nulls). */
function utf8(values: (string | null)[]): Data {
  return vectorFromArray(values, new Utf8()).data[0]!;
}

/** A dictionary-coded Data: codes into `dict` (which may repeat values and hold a null). */
function dictionary(values: (string | null)[], r: Rng, wide: boolean, repeats = true): Data {
  const distinct = [...new Set(values.filter((v): v is string => v !== null))];
  // Foreign writers may repeat dictionary values or hold unused ones: add both.
  const dict: (string | null)[] = [...distinct];
  if (r.chance(0.5)) dict.push('unused-dictionary-value');
  if (repeats && r.chance(0.3) && distinct.length) dict.splice(r.int(dict.length + 1), 0, r.pick(distinct));
  if (r.chance(0.3)) dict.push(null);
  const codes = wide ? new Int32Array(values.length) : new Int8Array(values.length);
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  let nulls = 0;
  values.forEach((v, i) => {
    if (v === null) {
      nulls++;
      codes[i] = r.int(dict.length); // a null row's code is never read
      return;
    }
    bitmap[i >> 3]! |= 1 << (i & 7);
    const at: number[] = [];
    dict.forEach((d, k) => d === v && at.push(k));
    codes[i] = r.pick(at); // with a repeated value, either code means it
  });
  const type = new Dictionary(new Utf8(), (wide ? new Int32() : new Int8()) as Int32, 0);
  return makeData({ type, length: values.length, nullCount: nulls, nullBitmap: nulls ? bitmap : null, data: codes, dictionary: makeVector(utf8(dict)) } as never);
}

/** One random chunk of `n` rows: plain or dictionary, maybe sliced, maybe under a struct with nulls. */
function randomChunk(r: Rng, pool: readonly string[], n: number, dict: boolean, repeats = true): Chunk {
  const nullP = r.pick([0, 0, 0.1, 0.5]);
  let values: (string | null)[] = Array.from({ length: n }, () => (r.chance(nullP) ? null : r.pick(pool)));
  let data = dict ? dictionary(values, r, r.chance(0.5), repeats) : utf8(values);
  if (!dict && n > 2 && r.chance(0.3)) {
    // Sliced data: offsets sub-arrayed, bytes and validity bits shared with the whole.
    const from = r.int(n - 1);
    const len = r.int(n - from);
    data = data.slice(from, len);
    values = values.slice(from, from + len);
  }
  if (r.chance(0.25) && data.length > 0) {
    // A parent struct whose null rows make the child null whatever its own bits say.
    const bitmap = new Uint8Array(Math.ceil(data.length / 8));
    let nulls = 0;
    for (let i = 0; i < data.length; i++) {
      if (r.chance(0.3)) {
        nulls++;
        values[i] = null;
      } else bitmap[i >> 3]! |= 1 << (i & 7);
    }
    const parent = makeData({ type: new Struct([new Field('id', data.type, true)]), length: data.length, nullCount: nulls, nullBitmap: bitmap, children: [data] });
    return { chunk: new StrChunk(data, parent, data.length), values };
  }
  return { chunk: new StrChunk(data, null, data.length), values };
}

/** A column of several chunks (some empty) and the Map of first global rows it must agree with. */
function randomColumn(r: Rng, pool: readonly string[], dictMode: 'none' | 'all' | 'mixed') {
  const chunks: Chunk[] = [];
  for (let b = 1 + r.int(6); b > 0; b--) {
    const n = r.chance(0.15) ? 0 : r.int(r.chance(0.2) ? 2000 : 60);
    const dict = dictMode === 'all' || (dictMode === 'mixed' && r.chance(0.5));
    chunks.push(r.chance(0.05) ? { chunk: new StrChunk(null, null, n), values: new Array(n).fill(null) } : randomChunk(r, pool, n, dict));
  }
  const starts: number[] = [];
  const first = new Map<string, number>();
  let at = 0;
  for (const c of chunks) {
    starts.push(at);
    c.values.forEach((v, i) => {
      if (v !== null && !first.has(v)) first.set(v, at + i);
    });
    at += c.values.length;
  }
  return { chunks, starts, first, rows: at };
}

for (const [seed, dictMode] of [[1, 'none'], [2, 'none'], [3, 'none'], [4, 'all'], [5, 'mixed'], [6, 'mixed']] as const) {
  test(`key index: agrees with a Map of first rows on 150 random columns (${dictMode === 'none' ? 'utf8' : dictMode === 'all' ? 'dictionary-coded' : 'utf8 and dictionary'} chunks, seed ${seed})`, (t) => {
    const r = new Rng(seed);
    let probes = 0;
    for (let round = 0; round < 150; round++) {
      const pool = idPool(r).filter(() => r.chance(0.7));
      const col = randomColumn(r, pool, dictMode);
      const ix = new KeyIndex(col.chunks.map((c) => c.chunk), col.starts);
      const where = `seed ${seed}, round ${round}`;
      const all = [...new Set([...idPool(r), ...ABSENT, ...COLLIDING.flat()])];
      for (const v of all) {
        const want = col.first.get(v) ?? -1;
        const got = ix.find(v);
        probes++;
        if (got !== want) return void t.fail(`${where}: find(${JSON.stringify(v)}) = ${got}, the Map says ${want}`);
        // The same key given as bytes in the middle of a larger buffer.
        const b = encoder.encode(v);
        const pad = r.int(9);
        const buf = r.bytes(pad + b.length + r.int(9));
        buf.set(b, pad);
        const byBytes = ix.findBytes(buf, pad, pad + b.length);
        if (byBytes !== want) return void t.fail(`${where}: findBytes(${JSON.stringify(v)}) = ${byBytes}, the Map says ${want}`);
      }
      // Probing with the rows of another column (plain, dictionary, with nulls): a join.
      const other = randomColumn(r, [...pool, ...ABSENT], r.pick(['none', 'all', 'mixed'] as const));
      for (const c of other.chunks) {
        for (let i = 0; i < c.values.length; i++) {
          const v = c.values[i]!;
          const want = v === null ? -1 : (col.first.get(v) ?? -1);
          const got = ix.findFrom(c.chunk, i);
          probes++;
          if (got !== want) return void t.fail(`${where}: findFrom(row ${i} = ${JSON.stringify(v)}) = ${got}, the Map says ${want}`);
        }
      }
      // Every row's own key finds the first row holding it (a duplicate finds its first copy).
      for (const c of col.chunks) {
        for (let i = 0; i < c.values.length; i++) {
          const v = c.values[i]!;
          const got = ix.findFrom(c.chunk, i);
          if (got !== (v === null ? -1 : col.first.get(v))) return void t.fail(`${where}: own row ${i} (${JSON.stringify(v)}) finds ${got}`);
        }
      }
    }
    t.true(probes > 20_000, `${probes} probes`);
  });
}

test('key index: keys with the same 32-bit hash are told apart by their bytes, in either order and across batches', (t) => {
  t.true(COLLIDING.length >= 6);
  for (const [x, y] of COLLIDING) {
    const bx = encoder.encode(x);
    const by = encoder.encode(y);
    t.not(x, y);
    t.is(hashBytes(bx, 0, bx.length), hashBytes(by, 0, by.length), `${x} and ${y} collide`);
    const only = new KeyIndex([new StrChunk(utf8([x]), null, 1)], [0]);
    t.is(only.find(x), 0);
    t.is(only.find(y), -1, 'the colliding partner is not found');
    const both = new KeyIndex([new StrChunk(utf8(['p', y, null]), null, 3), new StrChunk(utf8([x, y, x]), null, 3)], [0, 3]);
    t.is(both.find(y), 1);
    t.is(both.find(x), 3);
    t.is(both.find('p'), 0);
  }
});

test('key index: an empty column, all-null chunks and empty batches find nothing', (t) => {
  t.is(new KeyIndex([], []).find('a'), -1);
  const ix = new KeyIndex([new StrChunk(null, null, 5), new StrChunk(utf8([]), null, 0), new StrChunk(utf8([null, null]), null, 2)], [0, 5, 5]);
  t.is(ix.find('a'), -1);
  t.is(ix.find(''), -1);
  t.is(ix.findFrom(new StrChunk(utf8(['a', null]), null, 2), 1), -1);
  t.is(ix.findFrom(new StrChunk(null, null, 3), 0), -1);
  // After empty batches, rows are found at their global numbers.
  const later = new KeyIndex([new StrChunk(utf8([]), null, 0), new StrChunk(utf8(['a', 'b']), null, 2), new StrChunk(utf8([]), null, 0), new StrChunk(utf8(['c', 'a']), null, 2)], [0, 0, 2, 2]);
  t.deepEqual(['a', 'b', 'c', 'd'].map((v) => later.find(v)), [0, 1, 2, -1]);
});

test('key index: StrChunk.firstOf agrees with the index on every lookup, before and after it builds its own index (dictionaries without repeated values)', (t) => {
  const r = new Rng(77);
  let lookups = 0;
  for (let round = 0; round < 100; round++) {
    const pool = idPool(r);
    const { chunk, values } = randomChunk(r, pool, r.int(200), r.chance(0.3), false);
    const ix = new KeyIndex([chunk], [0]);
    // Three lookups or more make the chunk build its own index: ask each key several times.
    for (let pass = 0; pass < 4; pass++) {
      for (const v of [...pool, ...ABSENT]) {
        const want = values.indexOf(v);
        const got = chunk.firstOf(v, encoder.encode(v));
        if (got !== want || ix.find(v) !== want) return void t.fail(`round ${round}, pass ${pass}: ${JSON.stringify(v)}: firstOf ${got}, index ${ix.find(v)}, want ${want}`);
        lookups++;
      }
    }
  }
  t.true(lookups > 100 * 4, `${lookups} lookups agreed`);
});

test('key index: hashBytes is an int32 that depends only on the bytes in [s, e), not on where they lie', (t) => {
  const r = new Rng(5);
  const hashes = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const b = r.bytes(r.int(40));
    const alone = hashBytes(b, 0, b.length);
    if (!Number.isInteger(alone) || alone !== (alone | 0)) return void t.fail(`not an int32: ${alone}`);
    const pad = r.int(5);
    const buf = r.bytes(pad + b.length + r.int(5));
    buf.set(b, pad);
    const got = hashBytes(buf, pad, pad + b.length);
    if (got !== alone) return void t.fail(`${Buffer.from(b).toString('hex')} at ${pad}: ${got}, alone ${alone}`);
    hashes.add(alone);
  }
  t.true(hashes.size > 1800, `${hashes.size} distinct hashes of 2,000 random byte strings (it depends on the bytes)`);
});

// A dictionary that repeats a value (legal Arrow that foreign writers produce, e.g. pyarrow's
// DictionaryArray.from_arrays): every code path of StrChunk finds rows coded with either entry,
// as the key index does (they once used only the first code: findNodesByRole missed workers).
test('key index: StrChunk.firstOf finds a value coded by a repeated dictionary entry, as the key index does', (t) => {
  const type = new Dictionary(new Utf8(), new Int32(), 0);
  // Dictionary ['w1', 'w2', 'w1']: rows 0 and 2 both hold 'w1' (codes 2 and 0).
  const data = makeData({ type, length: 3, nullCount: 0, data: new Int32Array([2, 1, 0]), dictionary: makeVector(utf8(['w1', 'w2', 'w1'])) } as never) as Data;
  const chunk = new StrChunk(data, null, 3);
  t.deepEqual([0, 1, 2].map((i) => chunk.get(i)), ['w1', 'w2', 'w1']);
  t.is(new KeyIndex([chunk], [0]).find('w1'), 0);
  t.is(chunk.firstOf('w1', encoder.encode('w1')), 0);
  const eq = chunk.equals('w1');
  t.deepEqual([0, 1, 2].map((i) => eq(i)), [true, false, true]);
});

test('hashAscii hashes an ASCII string as hashBytes hashes its UTF-8 bytes, and refuses any other string', (t) => {
  const r = new Rng(41);
  let checked = 0;
  const ascii = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'node-000001-12D3KooW', '\u0000\u007f', 'x'.repeat(301), ...COLLIDING.flat()];
  for (let i = 0; i < 500; i++) ascii.push(Array.from({ length: r.int(40) }, () => String.fromCharCode(r.int(128))).join(''));
  for (const s of ascii) {
    const b = encoder.encode(s);
    t.is(hashAscii(s), hashBytes(b, 0, b.length), JSON.stringify(s));
    checked++;
  }
  for (const s of ['é', 'abcé', 'abcdé', 'é'.repeat(5), 'bafy😀', '\u0080', 'abcd\u0080', '中文']) {
    t.is(hashAscii(s), null, JSON.stringify(s));
    checked++;
  }
  t.is(checked, ascii.length + 8);
});
