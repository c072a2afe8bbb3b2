// The writer's id index (src/tables/id-index.ts) against a Map: random inserts, deletes,
// re-inserts, moves and lookups of present and absent keys, with the real hash and with hashes
// made to collide (every key one hash; a few hashes; distinct hashes sharing one home slot),
// growing through many rehashes. Then an entity table (whose index it is) against a
// Map<string, Row> model through insert, update, remove, materialize (compaction after
// deletes) and transaction rollback, with batches of a few rows so rows move often.
import test from 'ava';
import { hashBytes } from '../../src/arrow/decode/key-index.js';
import { prng } from '../../src/demo/synthetic.js';
import { ENTITIES } from '../../src/schema/entities.js';
import { StringDictionary } from '../../src/arrow/encode/dictionary.js';
import { EntityTable, type Row } from '../../src/tables/entity-table.js';
import { IdIndex, Utf8Scratch, type ByteHash } from '../../src/tables/id-index.js';

const PARTS = ['a', 'b', 'node-', 'task-000', 'ü', '😀', 'bafybeig', '0', '1', 'xyz', '-', 'é'];

/** A random id from a small alphabet of parts (so prefixes are shared and ids repeat); may be ''. */
function randomId(rnd: () => number, maxParts: number): string {
  let s = '';
  const n = Math.floor(rnd() * (maxParts + 1));
  for (let i = 0; i < n; i++) s += PARTS[Math.floor(rnd() * PARTS.length)]!;
  return s;
}

const HASHES: [string, ByteHash][] = [
  ['MurmurHash3', hashBytes],
  ['one hash for every key', () => 0x5bd1e995],
  ['four hashes', (b, s, e) => (e - s) & 3],
  ['distinct hashes, one home slot', (b, s, e) => hashBytes(b, s, e) << 20],
];

for (const [name, hash] of HASHES) {
  test(`id index agrees with a Map on random ids (${name})`, (t) => {
    const collide = hash !== hashBytes;
    const rnd = prng(collide ? 11 : 1);
    const steps = collide ? 6000 : 60000;
    const enc = new TextEncoder();
    // The owner's key storage: the key bytes at each location (locations are never reused).
    const store = new Map<number, Uint8Array>();
    const equals = (loc: number, key: Uint8Array, s: number, e: number) => {
      const k = store.get(loc);
      if (!k) throw new Error(`probe read location ${loc}, which holds no key`);
      if (k.length !== e - s) return false;
      for (let i = 0; i < k.length; i++) if (k[i] !== key[s + i]) return false;
      return true;
    };
    const index = new IdIndex(equals, hash);
    const model = new Map<string, number>();
    let nextLoc = 0;
    let checks = 0;
    let mismatches = 0;
    let rehashes = 0;
    const seen: string[] = [];
    const seenSet = new Set<string>();
    const check = (ok: boolean, what: string) => {
      checks++;
      if (!ok && mismatches++ < 5) t.log(`mismatch: ${what}`);
    };
    const pick = () => (seen.length && rnd() < 0.5 ? seen[Math.floor(rnd() * seen.length)]! : randomId(rnd, collide ? 3 : 6));
    for (let step = 0; step < steps; step++) {
      // Grow for the first two thirds (inserts dominate), then shrink (deletes dominate).
      const growing = step < (steps * 2) / 3;
      const id = pick();
      const bytes = enc.encode(id);
      // Keys are also probed at an offset inside a larger buffer.
      const padded = new Uint8Array(bytes.length + 7);
      padded.set(bytes, 3);
      const r = rnd();
      const want = model.get(id);
      const cap = index.capacity;
      if (r < (growing ? 0.45 : 0.2)) {
        // insert (add when absent; set replaces when present)
        const loc = nextLoc++;
        store.set(loc, bytes);
        if (want === undefined) {
          index.add(index.hashOf(bytes, 0, bytes.length), loc);
          if (!seenSet.has(id) && seen.length < 5000) {
            seen.push(id);
            seenSet.add(id);
          }
        } else {
          index.set(padded, 3, 3 + bytes.length, loc);
        }
        model.set(id, loc);
      } else if (r < (growing ? 0.6 : 0.65)) {
        // delete by key, or by hash and location
        const ok = rnd() < 0.5 ? index.delete(bytes, 0, bytes.length) : want !== undefined && index.deleteAt(index.hashOf(bytes, 0, bytes.length), want);
        check(ok === (want !== undefined), `delete ${JSON.stringify(id)}`);
        model.delete(id);
      } else if (r < 0.7 && want !== undefined) {
        // move to a fresh location (as compaction does), the key bytes copied there first
        const loc = nextLoc++;
        store.set(loc, bytes.slice());
        check(index.move(index.hashOf(bytes, 0, bytes.length), want, loc), `move ${JSON.stringify(id)}`);
        model.set(id, loc);
        check(!index.move(index.hashOf(bytes, 0, bytes.length), want, loc + 1), `moved twice ${JSON.stringify(id)}`);
      } else {
        check(index.get(padded, 3, 3 + bytes.length) === (want ?? -1), `get ${JSON.stringify(id)}`);
      }
      if (index.capacity !== cap) rehashes++;
      check(index.size === model.size, `size at step ${step}`);
      if (step % 2000 === 0 || step === steps - 1) {
        // Every key present is found at its location; every location belongs to a present key.
        for (const [k, loc] of model) {
          const b = enc.encode(k);
          check(index.get(b, 0, b.length) === loc, `sweep ${JSON.stringify(k)}`);
        }
        const locs: number[] = [];
        index.forEachLocation((l) => locs.push(l));
        check(JSON.stringify(locs.sort((a, b) => a - b)) === JSON.stringify([...model.values()].sort((a, b) => a - b)), 'locations');
      }
    }
    // Deleted keys are absent; re-inserting them works.
    let absent = 0;
    for (const id of seen) {
      if (model.has(id)) continue;
      const b = enc.encode(id);
      check(index.get(b, 0, b.length) === -1, `absent ${JSON.stringify(id)}`);
      const loc = nextLoc++;
      store.set(loc, b);
      index.add(index.hashOf(b, 0, b.length), loc);
      model.set(id, loc);
      check(index.get(b, 0, b.length) === loc, `re-inserted ${JSON.stringify(id)}`);
      absent++;
    }
    check(index.size === model.size, 'final size');
    t.is(mismatches, 0);
    t.true(absent > 0, 'some deleted ids were re-inserted');
    t.true(rehashes >= (collide ? 4 : 8), `${rehashes} rehashes`);
    t.true(checks > steps, `${checks} checks`);
  });
}

test('the UTF-8 scratch writes the bytes TextEncoder does', (t) => {
  const rnd = prng(5);
  const scratch = new Utf8Scratch();
  const enc = new TextEncoder();
  let checks = 0;
  for (let i = 0; i < 3000; i++) {
    const s = i === 0 ? 'x'.repeat(5000) : randomId(rnd, 40);
    const n = scratch.encode(s);
    t.deepEqual(scratch.bytes.subarray(0, n), enc.encode(s));
    checks++;
  }
  t.is(checks, 3000);
});

test('the id index refuses locations it cannot hold', (t) => {
  const index = new IdIndex(() => false);
  t.throws(() => index.add(1, -1), { message: /internal/ });
  t.throws(() => index.add(1, 0.5), { message: /internal/ });
  t.throws(() => index.add(1, 2 ** 53), { message: /internal/ });
  t.is(index.size, 0);
});

// ─────────────────────────── the entity table over it ───────────────────────────

function contentTable(batchRows: number): EntityTable {
  const dicts = new Map<number, StringDictionary>();
  let version = 0;
  return new EntityTable({ ...ENTITIES.content, batchRows }, { dictionary: (id) => dicts.get(id)!, nextVersion: () => ++version });
}

function contentRow(rnd: () => number, cid: string): Row {
  return {
    cid,
    size: Math.floor(rnd() * 1e12),
    created_at: 1_700_000_000_000 + Math.floor(rnd() * 1e9),
    providers: rnd() < 0.5 ? [] : [randomId(rnd, 3), randomId(rnd, 2)],
    pinned: rnd() < 0.5,
    replication: 1 + Math.floor(rnd() * 4),
    pinned_at: rnd() < 0.5 ? null : 1_700_000_000_000 + Math.floor(rnd() * 1e9),
  };
}

for (const [seed, batchRows] of [[3, 4], [8, 7], [21, 64]] as const) {
  test(`entity table agrees with a Map<string, Row> through insert, update, remove, materialize and rollback (seed ${seed}, ${batchRows} rows per batch)`, (t) => {
    const rnd = prng(seed);
    const table = contentTable(batchRows);
    let model = new Map<string, Row>();
    const pool = Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? randomId(rnd, 5) : `bafy-${i}-${randomId(rnd, 2)}`));
    let checks = 0;
    let mismatches = 0;
    let rollbacks = 0;
    let materializes = 0;
    const check = (ok: boolean, what: string) => {
      checks++;
      if (!ok && mismatches++ < 5) t.log(`mismatch: ${what}`);
    };
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const compare = (where: string) => {
      check(table.size === model.size, `${where}: size ${table.size} vs ${model.size}`);
      check(same(table.ids(), [...model.keys()]), `${where}: ids in order`);
      for (const [id, row] of model) {
        check(table.has(id), `${where}: has ${JSON.stringify(id)}`);
        check(same(table.get(id), row), `${where}: get ${JSON.stringify(id)}`);
        check(same(table.peek(id), row), `${where}: peek ${JSON.stringify(id)}`);
        check(same(table.field(id, 'providers'), row.providers), `${where}: field ${JSON.stringify(id)}`);
      }
      for (let k = 0; k < 20; k++) {
        const id = pool[Math.floor(rnd() * pool.length)]!;
        check(table.has(id) === model.has(id) && (table.get(id) === undefined) === !model.has(id), `${where}: absent ${JSON.stringify(id)}`);
      }
    };
    const ops = (n: number) => {
      for (let i = 0; i < n; i++) {
        const id = pool[Math.floor(rnd() * pool.length)]!;
        const r = rnd();
        if (!model.has(id)) {
          if (r < 0.7) {
            const row = contentRow(rnd, id);
            table.insert(row);
            model.set(id, row);
          }
        } else if (r < 0.55) {
          const row: Row = { ...model.get(id)!, size: Math.floor(rnd() * 1e9) };
          if (rnd() < 0.3) row.providers = [randomId(rnd, 2)];
          if (rnd() < 0.2) row.pinned_at = rnd() < 0.5 ? null : 1_700_000_000_000;
          table.update(id, row);
          model.set(id, row);
        } else {
          table.remove(id);
          model.delete(id);
        }
      }
    };
    for (let round = 0; round < 120; round++) {
      const r = rnd();
      if (r < 0.3) {
        // A transaction rolled back: everything it did is undone, the index exactly as before.
        const saved = new Map([...model].map(([k, v]) => [k, v]));
        table.undo = [];
        ops(1 + Math.floor(rnd() * 40));
        const undo = table.undo;
        table.undo = null;
        for (let k = undo.length - 1; k >= 0; k--) undo[k]!();
        model = saved;
        rollbacks++;
        compare(`round ${round}, after rollback`);
      } else {
        // A committed transaction (or plain changes).
        if (r < 0.6) table.undo = [];
        ops(1 + Math.floor(rnd() * 60));
        table.undo = null;
        compare(`round ${round}, before materialize`);
      }
      if (rnd() < 0.6) {
        table.materialize(null, () => {});
        materializes++;
        compare(`round ${round}, after materialize`);
        const rows = table.table().numRows;
        check(rows === model.size, `round ${round}: ${rows} encoded rows`);
      }
    }
    t.is(mismatches, 0);
    t.true(rollbacks > 10 && materializes > 30, `${rollbacks} rollbacks, ${materializes} materializes`);
    t.true(checks > 10000, `${checks} checks`);
  });
}
