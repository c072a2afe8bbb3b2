// Journal cuts (the journal's compaction) while followers read: a writer with small checkpoint thresholds and
// a small history under continuous load (checkpoints in the background every few dozen revisions,
// each cutting the journal once it has grown enough: a cut copies what it keeps), two followers in this process and one in a child process, each
// watching. Every follower keeps up and ends equal to the writer, row by row; every state a
// follower in this process loads is exactly the writer's at that revision; each watch is gap-free
// and replays to the final state; a follower reloads only when it really fell behind (the journal
// it found starts after the revision it held) — the child is stopped (SIGSTOP) for a while, so
// it must reload once and relist.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState } from '../../src/index.js';
import { followState, type Follower } from '../../src/follower/index.js';
import { JournalReader } from '../../src/statedir/journal-reader.js';
import { applyChangeSet, copyRows, rowDiff, rowsHash, rowsOf, type PlainChangeSet, type Rows } from '../fixtures/change-replay.js';
import { startFollower } from '../fixtures/follower-child.js';
import { Rng } from '../fixtures/rng.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A follower in this process, watching; relists when its watch fails with COMPACTED (after a reload). */
class Watching {
  readonly segments: { start: number; rows: Rows; got: PlainChangeSet[] }[] = [];
  readonly problems: string[] = [];
  reloads = 0;
  changes = 0;
  last = -1;
  done: Promise<void>;
  private readonly ac = new AbortController();
  constructor(readonly name: string, readonly f: Follower, journal: string, hashes: Map<number, string>) {
    this.last = f.revision;
    f.on('change', (rev) => {
      this.changes++;
      if (rev <= this.last) this.problems.push(`${name}: change to ${rev} after ${this.last}`);
      const want = hashes.get(rev);
      if (want === undefined) this.problems.push(`${name}: loaded revision ${rev}, which the writer never flushed`);
      else if (rowsHash(rowsOf(f.snapshot())) !== want) this.problems.push(`${name}: revision ${rev} loaded with other rows than the writer had`);
      this.last = rev;
    });
    f.on('reload', (rev) => {
      this.reloads++;
      // Legitimate only when the journal now starts after the revision it held (a cut passed it).
      const r = new JournalReader(journal, 'cut');
      const base = r.header.baseRevision;
      r.close();
      if (base <= this.last) this.problems.push(`${name}: reloaded at ${rev} although it held ${this.last} and the journal follows ${base}`);
    });
    f.on('error', (e) => this.problems.push(`${name}: ${e.code}: ${e.message}`));
    this.done = this.run();
  }
  private async run(): Promise<void> {
    while (!this.ac.signal.aborted) {
      const snap = this.f.snapshot();
      const seg = { start: snap.revision, rows: rowsOf(snap), got: [] as PlainChangeSet[] };
      this.segments.push(seg);
      try {
        for await (const cs of this.f.watch({ afterRevision: snap.revision, signal: this.ac.signal })) seg.got.push(JSON.parse(JSON.stringify(cs)) as PlainChangeSet);
      } catch (e) {
        if ((e as { code?: string }).code !== 'COMPACTED') this.problems.push(`${this.name}: watch: ${String(e)}`);
      }
    }
  }
  async stop(): Promise<void> {
    this.ac.abort();
    await this.done;
  }
}

test('journal cuts under continuous load: two followers in process and one in a child keep up, load exactly the writer\'s states, watch gap-free and end equal to the writer; reload only when really behind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acs-jcut-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = await ClusterState.open({
    statePath: dir, clusterId: 'cut', parquet: false, history: { revisions: 30 }, checkpoint: { revisions: 40, bytes: 64 << 10 },
  });
  const hashes = new Map<number, string>();
  const r = new Rng(77);
  const nodes = Array.from({ length: 12 }, (_, i) => `node-${i}`);
  s.transaction(() => {
    for (const id of nodes) s.registerNode({ id, role: 'worker' });
    for (let i = 0; i < 20; i++) s.addContent({ cid: `c${i}`, size: i * 100 });
  });
  await s.flush();
  hashes.set(s.revision, rowsHash(rowsOf(s.getTables())));
  const journal = join(dir, 'state_cut.journal');
  const a = new Watching('follower A', await followState(dir, { safetyPollMs: 100 }), journal, hashes);
  const b = new Watching('follower B', await followState(dir, { safetyPollMs: 100, trailingMs: 20 }), journal, hashes);
  const child = startFollower(dir, { relist: true });
  t.teardown(() => void child.proc.kill('SIGKILL'));
  const ready = await child.until((l) => l.t === 'ready') as { after: number };
  const childStart = rowsOf(s.getTables());
  t.is(ready.after, s.revision);

  // Continuous load: bursts of mutations, each burst flushed, the event loop turning.
  const live: string[] = [];
  let n = 0;
  const cutsSeen = new Set<number>();
  const flushed = new Map<number, Rows>();
  const t0 = performance.now();
  for (let burst = 0; burst < 400; burst++) {
    for (let k = 1 + r.int(8); k > 0; k--) {
      const x = r.float();
      if (x < 0.35 || live.length < 10) {
        const id = `task-${n++}`;
        s.addTask({ id, type: 'process', priority: r.int(100), payload: { pad: 'x'.repeat(r.int(400)) } });
        live.push(id);
      } else if (x < 0.55) s.removeTask(live.splice(r.int(live.length), 1)[0]!);
      else if (x < 0.8) s.updateTask(r.pick(live), { priority: r.int(100), result: { n } });
      else if (x < 0.9) s.heartbeat(r.pick(nodes), { cpu_load: r.int(100) });
      else {
        const cid = `c${r.int(20)}`;
        const node = r.pick(nodes);
        if (s.getContent(cid)!.providers.includes(node)) s.removeProvider(cid, node);
        else s.addProvider(cid, node);
      }
      hashes.set(s.revision, rowsHash(rowsOf(s.getTables())));
    }
    await s.flush();
    flushed.set(s.revision, rowsOf(s.getTables()));
    cutsSeen.add(s.history.oldestRevision);
    // The child follower is stopped for a while: it falls far behind the journal's history.
    if (burst === 150) child.proc.kill('SIGSTOP');
    if (burst === 230) child.proc.kill('SIGCONT');
    if (r.chance(0.5)) await turn();
  }
  const final = await s.flush();
  const loadMs = Math.round(performance.now() - t0);
  const files = s.files()!;

  await a.f.waitFor(final, 30_000);
  await b.f.waitFor(final, 30_000);
  await child.until((l) => l.t === 'cs' && l.cs.revision === final);
  while (a.segments.at(-1)!.got.at(-1)?.revision !== final && a.segments.at(-1)!.start !== final) await turn();
  while (b.segments.at(-1)!.got.at(-1)?.revision !== final && b.segments.at(-1)!.start !== final) await turn();
  await a.stop();
  await b.stop();
  t.is(await child.stop(), 0, child.stderr());

  const finalRows = rowsOf(s.getTables());
  t.deepEqual([...a.problems, ...b.problems].slice(0, 10), []);
  for (const w of [a, b]) {
    t.deepEqual(rowDiff(rowsOf(w.f.snapshot()), finalRows), [], `${w.name} ends equal to the writer`);
    w.segments.forEach((seg, i) => {
      const want = Array.from({ length: (seg.got.at(-1)?.revision ?? seg.start) - seg.start }, (_, k) => seg.start + 1 + k);
      t.deepEqual(seg.got.map((cs) => cs.revision), want, `${w.name} watch ${i}: gap-free`);
    });
    const lastSeg = w.segments.at(-1)!;
    const rows = copyRows(lastSeg.rows);
    t.deepEqual(lastSeg.got.flatMap((cs) => applyChangeSet(rows, cs)), []);
    t.deepEqual(rowDiff(rows, finalRows), [], `${w.name}: its snapshot + its watch's change sets = the final state`);
    t.is(w.segments.length, w.reloads + 1, `${w.name}: a new watch only after a reload`);
    await w.f.close();
  }
  // The child: gap-free per watch, relists only after a reload, replays to the final state.
  const segs: { start: number; got: PlainChangeSet[] }[] = [{ start: ready.after, got: [] }];
  const childProblems: string[] = [];
  let childReloads = 0;
  for (const l of child.lines) {
    if (l.t === 'cs') segs.at(-1)!.got.push(l.cs);
    else if (l.t === 'reload') {
      childReloads++;
      // Legitimate only if the journal was ever cut past the revision it held.
      if (Math.max(...cutsSeen) <= l.before) childProblems.push(`reload at ${l.revision} from ${l.before}, but the journal never started after ${l.before}`);
    } else if (l.t === 'relist') {
      if (hashes.get(l.revision) !== l.hash) childProblems.push(`relist at ${l.revision}: not the writer's rows`);
      segs.push({ start: l.revision, got: [] });
    } else if (l.t === 'error' || l.t === 'ferror') childProblems.push(`${l.t} ${l.code}: ${l.message}`);
  }
  t.deepEqual(childProblems, []);
  for (const seg of segs) {
    const want = Array.from({ length: (seg.got.at(-1)?.revision ?? seg.start) - seg.start }, (_, k) => seg.start + 1 + k);
    t.deepEqual(seg.got.map((cs) => cs.revision), want, 'child follower: each watch gap-free');
  }
  t.is(segs.length, childReloads + 1);
  t.true(childReloads >= 1, 'the child follower, stopped while the journal was cut past it, reloaded');
  t.is(segs.at(-1)!.got.at(-1)?.revision ?? segs.at(-1)!.start, final);
  const lastSeg = segs.at(-1)!;
  const start = segs.length === 1 ? childStart : flushed.get(lastSeg.start);
  t.truthy(start, `the child relisted at a flushed revision (${lastSeg.start})`);
  const rows = copyRows(start!);
  t.deepEqual(lastSeg.got.flatMap((cs) => applyChangeSet(rows, cs)), []);
  t.deepEqual(rowDiff(rows, finalRows), [], 'child follower: its (relisted) snapshot + its watch = the final state');

  t.log(JSON.stringify({
    final, loadMs, journalCuts: cutsSeen.size, checkpointRevision: files.checkpointRevision, journalBytes: files.journalBytes,
    reloads: { a: a.reloads, b: b.reloads, child: childReloads }, loads: { a: a.changes, b: b.changes },
  }));
  t.true(cutsSeen.size >= 5, `the journal was cut ${cutsSeen.size} times`);
  await s.close();
});
