// The arena's checksums: crc32Patched (a CRC updated for patched byte runs) equals crc32 of the patched bytes.
import test from 'ava';
import { crc32, crc32Combine, crc32Patched } from '../../src/arena/crc.js';

/** A seeded xorshift32: rnd(n) is a whole number in [0, n). */
function xorshift(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

test('crc32Patched equals crc32 of the patched bytes (2,000 random messages and patches)', (t) => {
  const rnd = xorshift(12345);
  let checked = 0;
  for (let k = 0; k < 2000; k++) {
    const n = 1 + rnd(9000);
    const before = new Uint8Array(n);
    for (let i = 0; i < n; i++) before[i] = rnd(256);
    const after = before.slice();
    const used = new Set<number>();
    const changes = [];
    for (let j = rnd(6); j > 0; j--) {
      const len = Math.min(n, 1 + rnd(8));
      const at = rnd(n - len + 1);
      let free = true;
      for (let q = at; q < at + len; q++) if (used.has(q)) free = false;
      if (!free) continue;
      for (let q = at; q < at + len; q++) {
        used.add(q);
        if (rnd(4)) after[q] = rnd(256); // some bytes keep their value
      }
      changes.push({ at, before: before.subarray(at, at + len), after: after.subarray(at, at + len) });
    }
    if (crc32Patched(crc32(before), n, changes) !== crc32(after)) t.fail(`message ${k}: ${n} bytes, ${changes.length} runs`);
    checked++;
  }
  t.is(checked, 2000);
  t.throws(() => crc32Patched(0, 10, [{ at: 8, before: new Uint8Array(4), after: new Uint8Array(4) }]));
});

test('crc32Combine gives the CRC32 of two byte strings one after the other (500 random pairs, empty and long ones)', (t) => {
  const rnd = xorshift(987);
  let checked = 0;
  for (let k = 0; k < 500; k++) {
    const a = new Uint8Array(k === 0 ? 0 : rnd(3000));
    const b = new Uint8Array(k === 1 ? 0 : k === 2 ? 1_300_000 : rnd(70_000));
    for (let i = 0; i < a.length; i++) a[i] = rnd(256);
    for (let i = 0; i < b.length; i++) b[i] = rnd(256);
    const ab = new Uint8Array(a.length + b.length);
    ab.set(a);
    ab.set(b, a.length);
    t.is(crc32Combine(crc32(a), crc32(b), b.length), crc32(ab), `pair ${k}: ${a.length} + ${b.length} bytes`);
    checked++;
  }
  t.is(checked, 500);
});
