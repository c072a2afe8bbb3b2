// A watch checker in the spirit of etcd's robustness validators, on a real writer with a state
// directory: a seeded random workload of mutations and transactions — valid and invalid, nested,
// rolled back midway, bulk transactions of hundreds of mutations — while several watchers consume
// at once: a fast one, a slow one (it awaits between items), one that keeps breaking and resuming
// from random earlier revisions (older ones come from the journal: the in-memory history is
// small and checkpoints cut the journal meanwhile), two filtered by table, a follower in this
// process and a follower in a child process. The test records the state after every committed
// revision (getTables(), row by row), and checks every delivery against it:
// - ordered, unique, gap-free from the watcher's start; filtered: exactly the revisions touching
//   its tables, each narrowed to them;
// - atomic and exact: the change set of revision r names every entity that differs between r − 1
//   and r, each once, upserts with the record at r, deletes of entities gone at r; its updatedAt
//   and masterId are r's; one operation or transaction = one revision, a failed one none (and
//   the state unchanged);
// - replaying the change sets on the state the watcher started from gives the final state, every
//   table row by row (getTables() and snapshot()).
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState, type ChangeSet, type WatchOptions } from '../../src/index.js';
import { followState } from '../../src/follower/index.js';
import { genSingle, genTx } from '../store/model/generator.js';
import { exec, execTx } from '../store/model/runner.js';
import { Model } from '../store/model/reference.js';
import { Rng } from '../fixtures/rng.js';
import {
  applyChangeSet, copyRows, emptyRows, KINDS, onlyTables, plainChangeSet, rowDiff, rowsHash, rowsOf, stable, type Kind, type PlainChangeSet, type Rows,
} from '../fixtures/change-replay.js';
import { startFollower } from '../fixtures/follower-child.js';

const made: string[] = [];
test.after.always(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'acs-wcheck-'));
  made.push(d);
  return d;
};
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What the state was right after a committed revision. */
interface At { rows: Rows; updatedAt: number; masterId: string | null }

/** A consumer's deliveries, and a way to wait until it has delivered a revision. */
class Consumer {
  readonly got: PlainChangeSet[] = [];
  last: number;
  private readonly waiting: { rev: number; resolve: () => void }[] = [];
  constructor(readonly name: string, readonly after: number, readonly tables: Kind[] | null = null) {
    this.last = after;
  }
  take(cs: ChangeSet | PlainChangeSet): void {
    this.got.push(plainChangeSet(cs));
    this.last = cs.revision;
    for (const w of this.waiting.splice(0)) (this.last >= w.rev ? w.resolve() : this.waiting.push(w));
  }
  reach(rev: number): Promise<void> {
    if (this.last >= rev) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ rev, resolve }));
  }
}

async function consume(c: Consumer, iter: AsyncIterable<ChangeSet>, slow: () => number = () => 0): Promise<void> {
  for await (const cs of iter) {
    c.take(cs);
    for (let i = slow(); i > 0; i--) await turn();
  }
}

test('watch checker: random mutations and transactions (failing ones too), concurrent watchers — fast, slow, resuming, filtered, followers in and out of process — ordered, unique, gap-free, atomic, exact; replay gives the final state row by row', async (t) => {
  const seed = 12;
  const r = new Rng(seed); // the workload's choices
  const rc = new Rng(seed + 1); // the consumers' (they run interleaved with the workload)
  const dir = tempDir();
  let now = 1_700_000_000_000;
  const state = await ClusterState.open({
    statePath: dir, clusterId: 'wcheck', parquet: false, clock: () => now,
    history: { revisions: 40 }, checkpoint: { revisions: 60 },
  });
  const model = new Model(null, now);
  const states = new Map<number, At>();
  const record = (): void => void states.set(state.revision, { rows: rowsOf(state.getTables()), updatedAt: state.updatedAt, masterId: state.masterId });
  record();
  // A first revision, durable, so that followers have a state to start from.
  state.registerNode({ id: 'seed-node', role: 'worker' });
  await state.flush();
  record();
  const r0 = state.revision;

  const ac = new AbortController();
  const signal = ac.signal;
  const running: Promise<void>[] = [];
  const watch = (o: WatchOptions) => state.watch({ ...o, signal });
  const fast = new Consumer('fast', r0);
  running.push(consume(fast, watch({ afterRevision: r0 })));
  const slow = new Consumer('slow', r0);
  running.push(consume(slow, watch({ afterRevision: r0 }), () => 1 + rc.int(4)));
  const tasksOnly = new Consumer('tasks', r0, ['tasks']);
  running.push(consume(tasksOnly, watch({ afterRevision: r0, tables: ['tasks'] })));
  const nodesContent = new Consumer('nodes+content', r0, ['nodes', 'content']);
  running.push(consume(nodesContent, watch({ afterRevision: r0, tables: ['content', 'nodes'] }), () => rc.int(2)));
  const follower = await followState(dir, { safetyPollMs: 100 });
  t.teardown(() => follower.close());
  const inProcess = new Consumer('follower (in process)', follower.revision);
  running.push(consume(inProcess, follower.watch({ afterRevision: follower.revision, signal })));
  const child = startFollower(dir);
  t.teardown(() => void child.proc.kill('SIGKILL'));
  const ready = await child.until((l) => l.t === 'ready') as { after: number };

  // The resumer: reads a few, breaks, and watches again from a random revision it had passed
  // (also below the in-memory history: the journal serves those); each session must be gap-free.
  // When the history moved past everything it saw, it relists (snapshot(), then watch after it).
  let workloadDone = false;
  const sessions: Consumer[] = [];
  const resumed = new Consumer('resumer (progress)', r0);
  const counts = { resumes: 0, resumesBelowRing: 0, compactedResume: 0, compactedRefused: 0, relists: 0 };
  const problems: string[] = [];
  const resumer = (async () => {
    let lastSeen = r0;
    while (!signal.aborted) {
      const { oldestRevision } = state.history;
      if (rc.chance(0.08) && oldestRevision > 0) {
        // Below the history: COMPACTED at once, naming the oldest revision.
        const below = oldestRevision - 1 - rc.int(Math.min(oldestRevision, 5));
        try {
          state.watch({ afterRevision: below });
          problems.push(`watch({ afterRevision: ${below} }) below the oldest revision ${oldestRevision} was accepted`);
        } catch (e) {
          const m = (e as Error).message;
          if ((e as { code?: string }).code !== 'COMPACTED' || !m.includes(`oldest revision that can still be watched is ${oldestRevision}`)) problems.push(`below the history: ${String(e)}`);
          counts.compactedRefused++;
        }
      }
      if (lastSeen < oldestRevision) {
        // The relist pattern.
        const snap = state.snapshot();
        const d = rowDiff(rowsOf(snap), states.get(snap.revision)?.rows ?? emptyRows(), 3);
        if (d.length) problems.push(`relist: snapshot ${snap.revision} is not the state at that revision: ${d.join('; ')}`);
        lastSeen = snap.revision;
        counts.relists++;
      }
      // Mostly a little way back; often anywhere in the history (then usually below the in-memory ring).
      const lo = rc.chance(0.5) ? oldestRevision : Math.max(oldestRevision, lastSeen - 30);
      const after = lo + rc.int(lastSeen - lo + 1);
      if (after < state.revision - 40) counts.resumesBelowRing++;
      counts.resumes++;
      const session = new Consumer(`resumer session ${sessions.length}`, after);
      sessions.push(session);
      // It reads past where it was, then a little further (it makes progress).
      let n = workloadDone ? Infinity : lastSeen - after + 1 + rc.int(30);
      try {
        for await (const cs of watch({ afterRevision: after })) {
          session.take(cs);
          resumed.take(cs);
          lastSeen = Math.max(lastSeen, cs.revision);
          if (--n <= 0 && !workloadDone) break;
          if (rc.chance(0.2)) await turn();
        }
      } catch (e) {
        // Legitimate only when the journal was cut past the revision it needed meanwhile.
        const needed = session.last + 1;
        if ((e as { code?: string }).code !== 'COMPACTED' || needed - 1 >= state.history.oldestRevision) problems.push(`${session.name} after ${after}: ${String(e)} (history ${JSON.stringify(state.history)})`);
        counts.compactedResume++;
      }
      await turn();
    }
  })();

  // The workload.
  const c = { ops: 0, committed: 0, failed: 0, txCommitted: 0, txRolledBack: 0, emptyTx: 0, bulk: 0, flushes: 0, checkpoints: 0 };
  let bulkId = 0;
  const bulkLive: string[] = [];
  for (let step = 0; step < 1500; step++) {
    now += 1000;
    const base = now;
    const before = state.revision;
    const beforeRows = states.get(before)!.rows;
    let ok = true;
    let kind: string;
    if (step % 150 === 75) {
      // A bulk transaction: hundreds of mutations, one revision — or thrown at its end, none.
      kind = 'bulk';
      const abort = r.chance(0.3);
      try {
        state.transaction((s) => {
          for (const id of bulkLive.splice(0)) s.removeTask(id);
          for (let i = 0; i < 250; i++) {
            const id = `bulk-${bulkId++}`;
            s.addTask({ id, type: 'process', priority: i % 7, payload: { i } });
            bulkLive.push(id);
          }
          for (let i = 0; i < 50; i++) s.updateTask(bulkLive[i * 5]!, { priority: 1000 + i });
          if (abort) throw new Error('bulk aborted at its end');
        });
      } catch {
        ok = false;
        bulkLive.length = 0;
        for (const [id] of states.get(before)!.rows.tasks) if (id.startsWith('bulk-')) bulkLive.push(id);
      }
      if (ok) c.bulk++;
    } else {
      const op = r.chance(0.15) ? genTx(r, model, base) : genSingle(r, model);
      kind = op.k;
      try {
        if (op.k === 'tx') execTx(state, op.subs, op.end, (x) => (now = x), []);
        else exec(state, op);
      } catch {
        ok = false;
      }
      try {
        model.run(op, base, []);
      } catch {
        // the reference model's own outcome: it only keeps the id pools in step
      }
    }
    c.ops++;
    const after = state.revision;
    if (after === before) {
      // No revision: a failed operation, or a transaction that changed nothing. Nothing changed.
      if (ok && kind !== 'tx') problems.push(`step ${step}: ${kind} succeeded without a revision`);
      const d = rowDiff(rowsOf(state.getTables()), beforeRows, 3);
      if (d.length) problems.push(`step ${step}: a ${kind} that committed nothing changed the state: ${d.join('; ')}`);
      if (ok) c.emptyTx++;
      else if (kind === 'tx' || kind === 'bulk') c.txRolledBack++;
      else c.failed++;
    } else {
      if (after !== before + 1) problems.push(`step ${step}: a ${kind} committed revisions ${before + 1}..${after}, not one`);
      if (!ok) problems.push(`step ${step}: a failed ${kind} committed revision ${after}`);
      record();
      c.committed++;
      if (kind === 'tx') c.txCommitted++;
    }
    const x = r.float();
    if (x < 0.05) {
      await state.flush();
      c.flushes++;
    } else if (x < 0.1) {
      void state.flush();
      c.flushes++;
    } else if (x < 0.107) {
      await state.checkpoint();
      c.checkpoints++;
    }
    if (r.chance(0.3)) await turn();
    if (problems.length > 20) break;
  }
  workloadDone = true;
  const final = await state.flush();
  t.deepEqual(problems.slice(0, 10), [], 'the workload');

  // Everyone catches up with the final revision (filtered: their last matching one).
  const lastTouching = (tables: Kind[]): number => {
    for (let rev = final; rev > r0; rev--) if (fast.got.find((cs) => cs.revision === rev)?.changes.some((ch) => tables.includes(ch.table))) return rev;
    return r0;
  };
  await fast.reach(final);
  await Promise.all([slow.reach(final), inProcess.reach(final), tasksOnly.reach(lastTouching(['tasks'])), nodesContent.reach(lastTouching(['nodes', 'content']))]);
  await child.until((l) => l.t === 'cs' && l.cs.revision === final);
  await resumed.reach(final);
  ac.abort();
  await Promise.all(running);
  await resumer;
  t.is(await child.stop(), 0, child.stderr());
  const childCs = new Consumer('follower (child process)', ready.after);
  for (const cs of child.changeSets()) childCs.take(cs);

  // Validators.
  const fastByRev = new Map(fast.got.map((cs) => [cs.revision, cs]));
  const check = (cons: Consumer): void => {
    const want: number[] = [];
    for (let rev = cons.after + 1; rev <= cons.last; rev++) {
      if (!cons.tables || fastByRev.get(rev)?.changes.some((ch) => cons.tables!.includes(ch.table))) want.push(rev);
    }
    const got = cons.got.map((cs) => cs.revision);
    if (stable(got) !== stable(want)) problems.push(`${cons.name} (after ${cons.after}): delivered ${got.slice(0, 30).join(',')}… is not ${want.slice(0, 30).join(',')}…`);
    for (const cs of cons.got) {
      problems.push(...checkChangeSet(cs, states, cons.tables).map((p) => `${cons.name}: ${p}`));
      if (cons.tables) {
        const narrowed = { ...fastByRev.get(cs.revision)!, changes: fastByRev.get(cs.revision)!.changes.filter((ch) => cons.tables!.includes(ch.table)) };
        if (stable(cs) !== stable(narrowed)) problems.push(`${cons.name}: revision ${cs.revision} is not the full change set narrowed to its tables`);
      }
    }
  };
  t.is(fast.last, final);
  t.is(fast.got.length, final - r0, 'one change set per committed revision');
  for (const cons of [fast, slow, tasksOnly, nodesContent, inProcess, childCs, ...sessions]) check(cons);
  t.deepEqual(problems.slice(0, 10), [], 'the deliveries');

  // Replaying the change sets on the state each watcher started from gives the final state.
  const finalRows = rowsOf(state.getTables());
  t.deepEqual(rowDiff(rowsOf(state.snapshot()), finalRows), [], 'snapshot() and getTables() agree');
  t.deepEqual(rowDiff(finalRows, states.get(final)!.rows), []);
  for (const cons of [fast, slow, inProcess, childCs, sessions.at(-1)!, tasksOnly, nodesContent]) {
    const start = states.get(cons.after);
    t.truthy(start, `${cons.name} started at a recorded revision ${cons.after}`);
    const rows = copyRows(start!.rows);
    const fit = cons.got.flatMap((cs) => applyChangeSet(rows, cs));
    t.deepEqual(fit, [], `${cons.name}: every change applies`);
    const want = cons.tables ? onlyTables(finalRows, cons.tables) : finalRows;
    t.deepEqual(rowDiff(cons.tables ? onlyTables(rows, cons.tables) : rows, want), [], `${cons.name}: replay gives the final state row by row`);
    if (!cons.tables) t.is(rowsHash(rows), rowsHash(finalRows));
  }
  const followerRows = rowsOf(follower.snapshot());
  t.deepEqual(rowDiff(followerRows, finalRows), [], 'the follower holds the final state');

  t.log(JSON.stringify({ final, ...c, ...counts, sessions: sessions.length, childFrom: ready.after, slowDelivered: slow.got.length }));
  // The run did exercise what it claims to.
  t.true(c.failed > 100 && c.txRolledBack > 10 && c.txCommitted > 50 && c.bulk > 3, JSON.stringify(c));
  t.true(counts.resumesBelowRing > 5 && counts.compactedRefused > 0, JSON.stringify(counts));
  t.true(fast.got.some((cs) => cs.changes.length >= 250), 'a bulk transaction is one change set');
  await state.close();
});

/** Checks one delivered change set against the states recorded at its revision and the one before. */
function checkChangeSet(cs: PlainChangeSet, states: Map<number, At>, tables: Kind[] | null): string[] {
  const at = states.get(cs.revision);
  const prev = states.get(cs.revision - 1);
  if (!at || !prev) return [`revision ${cs.revision} was never committed by the workload`];
  const out: string[] = [];
  if (cs.updatedAt !== at.updatedAt || cs.masterId !== at.masterId) out.push(`revision ${cs.revision}: updatedAt/masterId ${cs.updatedAt}/${cs.masterId}, the state had ${at.updatedAt}/${at.masterId}`);
  const named = new Set<string>();
  for (const ch of cs.changes) {
    const key = `${ch.table}/${ch.id}`;
    if (named.has(key)) out.push(`revision ${cs.revision}: ${key} twice`);
    named.add(key);
    if (tables && !tables.includes(ch.table)) out.push(`revision ${cs.revision}: ${key} is not of the watched tables`);
    if (ch.op === 'upsert') {
      if (at.rows[ch.table].get(ch.id) !== stable(ch.record)) out.push(`revision ${cs.revision}: upsert ${key} is not its record at that revision`);
    } else if (at.rows[ch.table].has(ch.id) || !prev.rows[ch.table].has(ch.id)) out.push(`revision ${cs.revision}: delete ${key} of an entity ${at.rows[ch.table].has(ch.id) ? 'still there' : 'that was not there'}`);
  }
  for (const kind of KINDS) {
    if (tables && !tables.includes(kind)) continue;
    for (const [id, v] of at.rows[kind]) if (prev.rows[kind].get(id) !== v && !named.has(`${kind}/${id}`)) out.push(`revision ${cs.revision}: ${kind}/${id} changed but is not in the change set`);
    for (const id of prev.rows[kind].keys()) if (!at.rows[kind].has(id) && !named.has(`${kind}/${id}`)) out.push(`revision ${cs.revision}: ${kind}/${id} was deleted but is not in the change set`);
  }
  return out;
}
