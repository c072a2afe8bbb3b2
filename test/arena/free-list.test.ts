// The arena's free list (src/arena/free-list.ts) against a naive model of occupied bytes: random
// take / takeOrExtend / release / grow sequences, and fromUsed over unsorted, overlapping used ranges.
import test, { type ExecutionContext } from 'ava';
import { align, EXTENT_ALIGN, FreeList } from '../../src/arena/free-list.js';
import { Rng } from '../fixtures/rng.js';

/**
 * The naive model: one flag per byte of [start, end), set while the byte is taken. Free ranges
 * are the maximal runs of clear flags; first fit is the lowest run long enough.
 */
class Occupancy {
  private used = new Uint8Array(1024);
  constructor(readonly start: number, public end: number) {}

  private ensure(n: number): void {
    if (n <= this.used.length) return;
    const next = new Uint8Array(Math.max(n, this.used.length * 2));
    next.set(this.used);
    this.used = next;
  }

  mark(offset: number, size: number, taken: boolean): void {
    this.ensure(offset + size);
    this.used.fill(taken ? 1 : 0, offset, offset + size);
  }

  isFree(offset: number, size: number): boolean {
    this.ensure(offset + size);
    for (let i = offset; i < offset + size; i++) if (this.used[i]) return false;
    return true;
  }

  /** The free ranges of [start, end) as [offset, length] pairs, in order, maximal. */
  gaps(): [number, number][] {
    this.ensure(this.end);
    const out: [number, number][] = [];
    let i = this.start;
    while (i < this.end) {
      if (this.used[i]) {
        i++;
        continue;
      }
      const s = i;
      while (i < this.end && !this.used[i]) i++;
      out.push([s, i - s]);
    }
    return out;
  }

  /** Where first fit puts `size` bytes, or -1. */
  firstFit(size: number): number {
    return this.gaps().find(([, len]) => len >= size)?.[0] ?? -1;
  }

  /** Free bytes that end exactly at `end`. */
  tail(): number {
    const g = this.gaps().at(-1);
    return g && g[0] + g[1] === this.end ? g[1] : 0;
  }
}

/** The free list's private ranges: [offset, length] pairs. */
function rangesOf(f: FreeList): [number, number][] {
  const flat = (f as unknown as { free: number[] }).free;
  const out: [number, number][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/** Every invariant of the free list against the model; returns false (after failing the test) on the first difference. */
/** Checks that `agrees` passed, across the file (a test asserts how many of its own there were). */
let agreements = 0;

function agrees(t: ExecutionContext, f: FreeList, m: Occupancy, where: string): boolean {
  const ranges = rangesOf(f);
  const gaps = m.gaps();
  for (let i = 0; i < ranges.length; i++) {
    const [off, len] = ranges[i]!;
    if (!(len > 0)) return fail(t, `${where}: empty range ${off}+${len} in ${JSON.stringify(ranges)}`);
    if (off < m.start || off + len > f.end) return fail(t, `${where}: range ${off}+${len} outside [${m.start}, ${f.end})`);
    if (i > 0 && ranges[i - 1]![0] + ranges[i - 1]![1] >= off) {
      return fail(t, `${where}: ranges ${JSON.stringify(ranges[i - 1])} and ${JSON.stringify(ranges[i])} overlap or touch (not coalesced)`);
    }
  }
  if (f.end !== m.end) return fail(t, `${where}: end ${f.end}, the model says ${m.end}`);
  if (JSON.stringify(ranges) !== JSON.stringify(gaps)) {
    t.deepEqual(ranges, gaps, `${where}: the free ranges are not the model's maximal free runs`);
    return false;
  }
  const free = gaps.reduce((a, [, len]) => a + len, 0);
  if (f.freeBytes !== free) return fail(t, `${where}: freeBytes ${f.freeBytes}, the model has ${free}`);
  if (f.tailFree() !== m.tail()) return fail(t, `${where}: tailFree ${f.tailFree()}, the model has ${m.tail()}`);
  agreements++;
  return true;
}

function fail(t: ExecutionContext, message: string): false {
  t.fail(message);
  return false;
}

interface Stats {
  take: number;
  takeMiss: number;
  extendIntoTail: number;
  extendPastEnd: number;
  /** Releases by how many free neighbours they merged with: 0, 1 or 2. */
  merges: [number, number, number];
  grow: number;
}

/** Random operations on a free list and the model side by side; checks everything after each. */
function runOps(t: ExecutionContext, r: Rng, f: FreeList, m: Occupancy, allocations: [number, number][], steps: number, label: string): Stats | null {
  const stats: Stats = { take: 0, takeMiss: 0, extendIntoTail: 0, extendPastEnd: 0, merges: [0, 0, 0], grow: 0 };
  if (!agrees(t, f, m, `${label}, at the start`)) return null;
  for (let step = 0; step < steps; step++) {
    // Sizes: aligned as the arenas use them, or any length (the bookkeeping does not care).
    const size = r.chance(0.5) ? align(1 + r.int(6 * EXTENT_ALIGN)) : 1 + r.int(300);
    // Release more often when much is taken, so the space neither fills up nor empties.
    const releaseP = allocations.length > 40 ? 0.7 : allocations.length < 5 ? 0.1 : 0.4;
    const x = r.float();
    let what: string;
    if (allocations.length && x < releaseP) {
      const [off, len] = allocations.splice(r.int(allocations.length), 1)[0]!;
      what = `release(${off}, ${len})`;
      const before = rangesOf(f).length;
      f.release(off, len);
      m.mark(off, len, false);
      stats.merges[before + 1 - rangesOf(f).length]!++;
    } else if (x < releaseP + 0.05) {
      const newEnd = f.end + r.int(3 * EXTENT_ALIGN) - EXTENT_ALIGN;
      what = `grow(${newEnd})`;
      f.grow(newEnd);
      if (newEnd > m.end) {
        m.mark(m.end, newEnd - m.end, false);
        m.end = newEnd;
        stats.grow++;
      }
    } else if (r.chance(0.5)) {
      what = `take(${size})`;
      const want = m.firstFit(size);
      const got = f.take(size);
      if (got !== want) return fail(t, `${label}, step ${step}: ${what} gave ${got}, first fit is ${want}`) || null;
      if (got >= 0) {
        m.mark(got, size, true);
        allocations.push([got, size]);
        stats.take++;
      } else stats.takeMiss++;
    } else {
      what = `takeOrExtend(${size})`;
      let want = m.firstFit(size);
      if (want < 0) {
        // Nothing fits: the space is extended at its end, starting in the free tail if there is one.
        want = m.end - m.tail();
        if (m.tail() > 0) stats.extendIntoTail++;
        else stats.extendPastEnd++;
        m.end = want + size;
      }
      const got = f.takeOrExtend(size);
      if (got !== want) return fail(t, `${label}, step ${step}: ${what} gave ${got}, the model says ${want}`) || null;
      if (!m.isFree(got, size)) return fail(t, `${label}, step ${step}: ${what} gave ${got}, which overlaps taken bytes`) || null;
      m.mark(got, size, true);
      allocations.push([got, size]);
    }
    if (!agrees(t, f, m, `${label}, step ${step} (${what})`)) return null;
  }
  return stats;
}

for (const seed of [1, 2, 3, 42, 20240601]) {
  test(`free list: 4,000 random takes, extensions, releases and grows agree with a byte model (seed ${seed})`, (t) => {
    const r = new Rng(seed);
    const start = r.pick([0, 64, 4096, 8192 + 24]);
    const end = start + r.int(2000);
    const f = new FreeList(start, end);
    const m = new Occupancy(start, end);
    const stats = runOps(t, r, f, m, [], 4000, `seed ${seed}`);
    if (!stats) return;
    t.log(JSON.stringify(stats));
    // The run went through every path of the free list.
    t.true(stats.take > 100, 'first-fit takes');
    t.true(stats.takeMiss > 10, 'takes that found nothing');
    t.true(stats.extendIntoTail > 5, 'extensions starting in the free tail');
    t.true(stats.extendPastEnd > 5, 'extensions past a taken end');
    t.true(stats.merges.every((n) => n > 20), `releases merging with 0, 1 and 2 neighbours: ${stats.merges}`);
    t.true(stats.grow > 10, 'grows');
  });
}

test('free list: take returns -1 and changes nothing when no range fits; an exact fit removes the range', (t) => {
  const f = new FreeList(64, 64 + 256);
  t.is(f.take(257), -1);
  t.deepEqual(rangesOf(f), [[64, 256]]);
  t.is(f.take(64), 64);
  t.is(f.take(64), 128);
  t.deepEqual(rangesOf(f), [[192, 128]]);
  t.is(f.take(128), 192);
  t.deepEqual(rangesOf(f), []);
  t.is(f.take(1), -1);
  t.is(f.freeBytes, 0);
  t.is(f.tailFree(), 0);
  t.is(f.end, 320);
});

test('free list: release coalesces with the range before, the range after, both, or neither', (t) => {
  const f = new FreeList(0, 0);
  for (let i = 0; i < 8; i++) t.is(f.takeOrExtend(64), i * 64);
  t.is(f.end, 512);
  f.release(128, 64); // neither
  t.deepEqual(rangesOf(f), [[128, 64]]);
  f.release(320, 64); // neither
  f.release(192, 64); // after the range before
  t.deepEqual(rangesOf(f), [[128, 128], [320, 64]]);
  f.release(64, 64); // before the range after
  t.deepEqual(rangesOf(f), [[64, 192], [320, 64]]);
  f.release(256, 64); // both: one range
  t.deepEqual(rangesOf(f), [[64, 320]]);
  f.release(448, 64); // the tail
  t.is(f.tailFree(), 64);
  t.is(f.freeBytes, 384);
  // Nothing of 400 bytes fits: the space extends from its free tail, not from its end.
  t.is(f.takeOrExtend(400), 448);
  t.is(f.end, 848);
  t.is(f.tailFree(), 0);
});

test('free list: grow adds [end, newEnd) and merges it with a free tail; a smaller newEnd does nothing', (t) => {
  const f = new FreeList(100, 200);
  t.is(f.take(60), 100);
  f.grow(300);
  t.deepEqual(rangesOf(f), [[160, 140]]);
  t.is(f.end, 300);
  f.grow(250);
  t.is(f.end, 300);
  t.deepEqual(rangesOf(f), [[160, 140]]);
  t.is(f.take(140), 160);
  f.grow(364);
  t.deepEqual(rangesOf(f), [[300, 64]]);
  t.is(f.tailFree(), 64);
});

for (const seed of [5, 6, 7, 8]) {
  test(`free list: fromUsed over unsorted, duplicate and overlapping used ranges frees exactly the gaps, then behaves like any free list (seed ${seed})`, (t) => {
    const r = new Rng(seed);
    const before = agreements;
    for (let round = 0; round < 60; round++) {
      const start = r.pick([0, 64, 4096]);
      const used: [number, number][] = [];
      for (let i = r.int(12); i > 0; i--) {
        const off = start + r.int(40) * 32;
        const len = 1 + r.int(200);
        used.push([off, len]);
        if (r.chance(0.15)) used.push([off, len]); // the same extent named twice
        if (r.chance(0.15)) used.push([off + r.int(len), 1 + r.int(100)]); // overlapping
      }
      const end = used.reduce((a, [off, len]) => Math.max(a, off + len), start);
      const m = new Occupancy(start, end);
      for (const [off, len] of used) m.mark(off, len, true);
      const f = FreeList.fromUsed(start, used);
      if (!agrees(t, f, m, `seed ${seed}, round ${round}: fromUsed(${start}, ${JSON.stringify(used)})`)) return;
      // The taken bytes as maximal runs: releasing one frees exactly its bytes.
      const runs: [number, number][] = [];
      let i = start;
      while (i < end) {
        if (m.isFree(i, 1)) {
          i++;
          continue;
        }
        const s = i;
        while (i < end && !m.isFree(i, 1)) i++;
        runs.push([s, i - s]);
      }
      if (!runOps(t, r, f, m, runs, 200, `seed ${seed}, round ${round}, after fromUsed`)) return;
    }
    t.true(agreements - before >= 60 * 2, `${agreements - before} states agreed with the model`);
  });
}

test('free list: fromUsed of nothing is an empty space at start', (t) => {
  const f = FreeList.fromUsed(4096, []);
  t.is(f.end, 4096);
  t.deepEqual(rangesOf(f), []);
  t.is(f.takeOrExtend(64), 4096);
  t.is(f.end, 4160);
});

test('free list: the arena file reopen pattern — an empty list with its end set, then gaps released in any order', (t) => {
  // persist/arena-writer.ts reopens a file this way: FreeList(DATA_START, DATA_START), end set to
  // the end of the furthest kept extent, and the gaps between kept extents released later.
  const r = new Rng(99);
  const before = agreements;
  for (let round = 0; round < 200; round++) {
    const start = 8192;
    const f = new FreeList(start, start);
    const kept: [number, number][] = [];
    const gaps: [number, number][] = [];
    let at = start;
    for (let i = 1 + r.int(10); i > 0; i--) {
      const gap = r.chance(0.5) ? 64 * (1 + r.int(5)) : 0;
      if (gap) gaps.push([at, gap]);
      at += gap;
      const len = 64 * (1 + r.int(5));
      kept.push([at, len]);
      at += len;
    }
    f.end = at;
    const m = new Occupancy(start, at);
    m.mark(start, at - start, true);
    const order = r.subset(gaps, gaps.length);
    for (const g of gaps) if (!order.includes(g)) order.push(g);
    for (const [off, len] of order) {
      f.release(off, len);
      m.mark(off, len, false);
      if (!agrees(t, f, m, `round ${round}, release(${off}, ${len})`)) return;
    }
    // Then the kept extents go too, in random order: one free range remains.
    for (const [off, len] of r.subset(kept, kept.length).concat(kept).filter((k, i, a) => a.indexOf(k) === i)) {
      f.release(off, len);
      m.mark(off, len, false);
      if (!agrees(t, f, m, `round ${round}, release of kept ${off}+${len}`)) return;
    }
    if (JSON.stringify(rangesOf(f)) !== JSON.stringify([[start, at - start]])) return void t.fail(`round ${round}: ${JSON.stringify(rangesOf(f))}`);
  }
  t.true(agreements - before >= 200, `${agreements - before} states agreed with the model`);
});
