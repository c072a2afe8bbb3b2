// The per-revision directory (src/arena/directory.ts): random directories round-trip through
// writeDirectory/readDirectory, and every truncation or corruption is CORRUPT, never another error.
import test from 'ava';
import { directorySize, DIR_MAGIC, readDirectory, writeDirectory, type DirEntry, type Directory } from '../../src/arena/directory.js';
import { StateError } from '../../src/index.js';
import { ENTITY_KINDS } from '../../src/schema/entities.js';
import { Rng } from '../fixtures/rng.js';

const STRINGS = ['c', 'cluster-1', 'nö-ü', 'bafy😀', '', 'x'.repeat(300), 'quote " and \\ backslash', 'ctrl \u0001\n\t', '中文'];

function randomEntry(r: Rng, rows: number): DirEntry {
  const big = (max: number) => (r.chance(0.1) ? max : r.chance(0.1) ? 0 : r.int(Math.min(max, 2 ** 40)));
  return {
    offset: big(Number.MAX_SAFE_INTEGER),
    length: big(Number.MAX_SAFE_INTEGER),
    version: big(Number.MAX_SAFE_INTEGER),
    crc: r.chance(0.1) ? 0xffffffff : r.int(2 ** 32),
    rows,
  };
}

function randomDirectory(r: Rng): Directory {
  const tables = {} as Directory['tables'];
  for (const k of ENTITY_KINDS) {
    const batches: DirEntry[] = [];
    let rows = 0;
    for (let i = r.chance(0.2) ? 0 : r.int(r.chance(0.1) ? 300 : 6); i > 0; i--) {
      const n = r.chance(0.05) ? 2 ** 31 - 1 : r.int(5000);
      rows += n;
      batches.push(randomEntry(r, n));
    }
    tables[k] = { prefix: randomEntry(r, r.chance(0.8) ? 0 : r.int(100)), batches, rows };
  }
  const meta: Directory['meta'] = {
    cluster_id: r.pick(STRINGS),
    master_id: r.chance(0.3) ? null : r.pick(STRINGS),
    schema_version: r.pick([1, 2, 0]),
  };
  if (r.chance(0.3)) meta.extra = { list: [1, 'two', null, true], nested: { s: r.pick(STRINGS) } };
  return {
    revision: r.chance(0.1) ? 0 : r.chance(0.1) ? Number.MAX_SAFE_INTEGER : r.int(1e9),
    updatedAt: r.chance(0.1) ? 0 : r.chance(0.2) ? 1_700_000_000_000 + r.float() : 1_700_000_000_000 + r.int(1e9),
    tables,
    meta,
  };
}

/** Encodes a directory into a fresh (8-aligned) buffer of exactly its size. */
function encode(dir: Directory): Uint8Array {
  const { bytes, meta } = directorySize(dir);
  const dest = new Uint8Array(bytes);
  const written = writeDirectory(dir, dest, meta);
  if (written !== bytes) throw new Error(`writeDirectory wrote ${written} bytes, directorySize said ${bytes}`);
  return dest;
}

/** 'ok' with the directory, 'corrupt', or the other error (a bug). */
function attempt(bytes: Uint8Array): { kind: 'ok'; dir: Directory } | { kind: 'corrupt' } | { kind: 'other'; error: unknown } {
  try {
    return { kind: 'ok', dir: readDirectory(bytes, 'test directory') };
  } catch (e) {
    if (e instanceof StateError && e.code === 'CORRUPT' && e.message.includes('test directory')) return { kind: 'corrupt' };
    return { kind: 'other', error: e };
  }
}

/** What a directory returned by readDirectory must satisfy, whatever bytes it came from. */
function wellFormed(dir: Directory): string | null {
  if (!Number.isSafeInteger(dir.revision) || dir.revision < 0) return `revision ${dir.revision}`;
  if (!Number.isFinite(dir.updatedAt)) return `updatedAt ${dir.updatedAt}`;
  for (const k of ENTITY_KINDS) {
    const t = dir.tables[k];
    if (!t) return `no table ${k}`;
    let rows = 0;
    for (const e of [t.prefix, ...t.batches]) {
      for (const f of ['offset', 'length', 'version'] as const) if (!Number.isSafeInteger(e[f]) || e[f] < 0) return `${k} entry ${f} ${e[f]}`;
      if (!Number.isInteger(e.crc) || e.crc < 0 || e.crc > 0xffffffff) return `${k} entry crc ${e.crc}`;
      if (!Number.isInteger(e.rows) || e.rows < 0 || e.rows > 2 ** 31 - 1) return `${k} entry rows ${e.rows}`;
    }
    for (const b of t.batches) rows += b.rows;
    if (rows !== t.rows) return `${k} rows ${t.rows}, batches hold ${rows}`;
  }
  const meta = dir.meta as unknown;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return `meta ${JSON.stringify(meta)}`;
  return null;
}

for (const seed of [1, 2, 3]) {
  test(`directory: 300 random directories round-trip exactly (seed ${seed})`, (t) => {
    const r = new Rng(seed);
    for (let i = 0; i < 300; i++) {
      const dir = randomDirectory(r);
      const bytes = encode(dir);
      t.is(bytes.byteLength % 8, (directorySize(dir).meta.byteLength) % 8, 'the words are whole, the meta JSON follows them');
      const back = readDirectory(bytes);
      if (JSON.stringify(back) !== JSON.stringify(dir)) return void t.deepEqual(back, dir, `directory ${i}`);
      t.is(new Float64Array(bytes.buffer, 0, 1)[0], DIR_MAGIC);
      // The same directory in shared memory, at an 8-aligned offset with other bytes around it.
      const sab = new Uint8Array(new SharedArrayBuffer(bytes.byteLength + 64));
      sab.fill(0xa5);
      sab.set(bytes, 32);
      const view = sab.subarray(32, 32 + bytes.byteLength);
      if (JSON.stringify(readDirectory(view)) !== JSON.stringify(dir)) return void t.fail(`directory ${i} read from shared memory differs`);
      // Encoding is deterministic: the same directory gives the same bytes.
      if (Buffer.compare(encode(dir), bytes) !== 0) return void t.fail(`directory ${i} encodes differently twice`);
    }
  });
}

test('directory: every truncation of an encoded directory is CORRUPT', (t) => {
  const r = new Rng(11);
  let cases = 0;
  for (let i = 0; i < 40; i++) {
    const bytes = encode(randomDirectory(r));
    for (let n = 0; n < bytes.byteLength; n++) {
      const res = attempt(bytes.subarray(0, n));
      cases++;
      if (res.kind !== 'corrupt') {
        return void t.fail(`directory ${i} cut to ${n} of ${bytes.byteLength} bytes: ${res.kind === 'ok' ? 'read as a directory' : String((res as { error: unknown }).error)}`);
      }
    }
  }
  t.true(cases > 10_000, `${cases} truncations`);
});

test('directory: a directory that does not start 8-byte aligned in its buffer is CORRUPT', (t) => {
  const bytes = encode(randomDirectory(new Rng(12)));
  const buf = new Uint8Array(bytes.byteLength + 8);
  for (const at of [1, 2, 4, 7]) {
    buf.set(bytes, at);
    t.is(attempt(buf.subarray(at, at + bytes.byteLength)).kind, 'corrupt', `at byte ${at}`);
  }
});

/** Values a damaged word may take: every edge of the header and entry checks. */
const WORDS = [NaN, Infinity, -Infinity, -1, -0.5, 0.5, 2 ** 53, 2 ** 31, 2 ** 32, 1e300, -1e300, 3, 4, 0, 1, 2 ** 31 - 1, Number.MAX_SAFE_INTEGER, DIR_MAGIC];

for (const seed of [21, 22, 23]) {
  test(`directory: 3,000 random corruptions (bit flips, byte overwrites, edge values in any word) are CORRUPT or a well-formed directory, never another error (seed ${seed})`, (t) => {
    const r = new Rng(seed);
    const seen = { ok: 0, corrupt: 0 };
    for (let i = 0; i < 3000; i++) {
      const dir = randomDirectory(r);
      const bytes = encode(dir).slice();
      const words = new Float64Array(bytes.buffer, 0, bytes.byteLength >> 3);
      let how: string;
      const x = r.float();
      if (x < 0.35) {
        const flips: number[] = [];
        for (let k = 1 + r.int(4); k > 0; k--) {
          const bit = r.int(bytes.byteLength * 8);
          bytes[bit >> 3]! ^= 1 << (bit & 7);
          flips.push(bit);
        }
        how = `bits ${flips.join(', ')} flipped`;
      } else if (x < 0.6) {
        const at = r.int(bytes.byteLength);
        const n = 1 + r.int(Math.min(16, bytes.byteLength - at));
        bytes.set(r.bytes(n), at);
        how = `${n} random bytes at ${at}`;
      } else if (x < 0.9) {
        // The header words and the first entries are where most checks are: hit them more often.
        const w = r.chance(0.5) ? r.int(Math.min(words.length, 25)) : r.int(words.length);
        const v = r.pick(WORDS);
        words[w] = v;
        how = `word ${w} set to ${v}`;
      } else {
        // The meta JSON: a byte of it replaced, or its length word changed.
        const metaStart = bytes.byteLength - directorySize(dir).meta.byteLength;
        if (r.chance(0.5) && metaStart < bytes.byteLength) {
          const at = metaStart + r.int(bytes.byteLength - metaStart);
          bytes[at] = r.pick([0, 0x20, 0x22, 0x2c, 0x7b, 0x7d, 0x5b, 0x5d, 0x6e, 0x30, 0xff, r.int(256)]);
          how = `meta byte ${at - metaStart} replaced`;
        } else {
          words[4] = words[4]! + r.pick([-2, -1, 1, 8, -8]);
          how = `meta length ${words[4]}`;
        }
      }
      const res = attempt(bytes);
      if (res.kind === 'other') return void t.fail(`directory ${i}, ${how}: ${String(res.error)}`);
      if (res.kind === 'ok') {
        const bad = wellFormed(res.dir);
        if (bad) return void t.fail(`directory ${i}, ${how}: read as a directory with ${bad}`);
      }
      seen[res.kind]++;
    }
    t.log(JSON.stringify(seen));
    t.true(seen.corrupt > 1000, 'most corruptions are detected by the directory itself');
    t.true(seen.ok > 100, 'some corruptions (in offsets, versions, strings) are only for the CRC to catch');
  });
}

test('directory: the header checks — magic, revision, table count, meta length, updated_at — each give CORRUPT', (t) => {
  const dir = randomDirectory(new Rng(31));
  const cases: [number, number, string][] = [
    [0, 0, 'bad magic'],
    [1, -1, 'bad header'],
    [1, 0.5, 'bad header'],
    [1, 2 ** 53, 'bad header'],
    [2, NaN, 'bad header'],
    [2, Infinity, 'bad header'],
    [3, 2, 'bad header'],
    [3, 4, 'bad header'],
    [4, -8, 'bad header'],
    [4, 1.5, 'bad header'],
    [4, 1e9, 'meta runs past the end'],
  ];
  for (const [word, value, message] of cases) {
    const bytes = encode(dir);
    new Float64Array(bytes.buffer, 0, 5)[word] = value;
    const err = t.throws(() => readDirectory(bytes, 'dir'), { instanceOf: StateError }, `word ${word} = ${value}`);
    t.is(err?.code, 'CORRUPT');
    t.true(err?.message.includes(message), `word ${word} = ${value}: ${err?.message}`);
  }
});

test('directory: a batch count beyond the bytes and rows that do not add up are CORRUPT naming the table', (t) => {
  const dir = randomDirectory(new Rng(32));
  dir.tables.nodes = { prefix: { offset: 64, length: 64, version: 1, crc: 5, rows: 0 }, batches: [{ offset: 128, length: 64, version: 2, crc: 6, rows: 3 }], rows: 3 };
  const counts = 5 + 5; // nodes: prefix entry, then its counts entry
  const check = (mutate: (w: Float64Array) => void, message: RegExp) => {
    const bytes = encode(dir);
    mutate(new Float64Array(bytes.buffer, 0, bytes.byteLength >> 3));
    const err = t.throws(() => readDirectory(bytes, 'dir'), { instanceOf: StateError });
    t.is(err?.code, 'CORRUPT');
    t.regex(err?.message ?? '', message);
  };
  check((w) => (w[counts] = 1e6), /bad batch count 1000000 for nodes/);
  check((w) => (w[counts] = 2 ** 40), /bad batch count/);
  check((w) => (w[counts + 1] = 4), /nodes rows 3 != 4/);
  check((w) => (w[counts + 5 + 4] = 2), /nodes rows 2 != 3/);
  check((w) => (w[counts + 5 + 4] = 2 ** 31), /bad entry/);
  check((w) => (w[counts + 5 + 3] = 2 ** 32), /bad entry/);
  check((w) => (w[counts + 5 + 3] = -1), /bad entry/);
});

test('directory: meta bytes that are not JSON are CORRUPT (unreadable meta)', (t) => {
  const dir = randomDirectory(new Rng(33));
  const bytes = encode(dir);
  const metaStart = bytes.byteLength - directorySize(dir).meta.byteLength;
  bytes[metaStart] = 0x00;
  const err = t.throws(() => readDirectory(bytes, 'dir'), { instanceOf: StateError });
  t.is(err?.code, 'CORRUPT');
  t.regex(err?.message ?? '', /unreadable meta/);
});

// A meta that is valid JSON but not a DirMeta (a foreign or crafted file with a valid CRC) is
// CORRUPT: `null` once made the readers throw a TypeError, `{}` gave a state of cluster "undefined".
test('directory: meta JSON that is not an object with cluster_id, master_id and schema_version is CORRUPT', (t) => {
  const dir = randomDirectory(new Rng(34));
  const encoder = new TextEncoder();
  for (const text of ['null', '[]', '5', '"x"', '{}', '{"cluster_id":5,"master_id":null,"schema_version":1}', '{"cluster_id":"c","master_id":7,"schema_version":1}', '{"cluster_id":"c","master_id":null}']) {
    const meta = encoder.encode(text);
    const size = directorySize(dir);
    const dest = new Uint8Array(size.bytes - size.meta.byteLength + meta.byteLength);
    writeDirectory(dir, dest, meta);
    const err = t.throws(() => readDirectory(dest, 'dir'), { instanceOf: StateError }, `meta ${text}`);
    t.is(err?.code, 'CORRUPT', `meta ${text}`);
  }
});
