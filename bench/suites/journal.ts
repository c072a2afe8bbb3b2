/**
 * The figures of the journal (issue 12) at the loaded scale, each beside SQLite and lmdb-js
 * (peers.ts) where they have the same thing, measured in the same run on the same records:
 *
 * 1. flush of one mutation (mutate, then `await flush()`), p50/p99;
 * 2. durable mutations/s with group commit: concurrent callers each making transactions of 100
 *    mutations then flushing, and single-mutation transactions each flushed by its caller;
 * 3. mutation → a follower in another process holds it in its Tables, and → that follower's
 *    `watch()` yields it (peers: the other process polls every 1 ms and reads the changed row);
 * 4. CPU of that follower process while the writer makes 1,000 mutations/s, and idle;
 * 5. mutation → the writer's own `watch()` yields it;
 * 6. journal bytes per mutation (single mutations and transactions of 100; SQLite: WAL bytes);
 * 7. recovery: `open` after a SIGKILL with a checkpoint and a journal tail of N revisions, `open`
 *    after a clean close, and a cold `readStateSnapshot` in a fresh process (both cases).
 *
 * Latencies interleave ours and the peers in rounds, so that a noisy neighbour on the machine
 * hurts all alike. Follower processes run one at a time (each polls or watches on its own core).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState } from '../../src/index.js';
import { loadSynthetic, taskId, type SyntheticScale } from '../../src/demo/synthetic.js';
import { Child } from '../lib/child.js';
import type { Report } from '../lib/report.js';
import { summarize, wallNow } from '../lib/stats.js';
import { openPeers, type Peer } from './peers.js';

const lib = (name: string) => new URL(`../lib/${name}.js`, import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface JournalOptions {
  /** Trials of each latency (split over rounds). */
  trials: number;
  /** Trials of mutation → follower process (each side). */
  followTrials: number;
  /** Length of one throughput run (ms); `throughputRuns` runs of each. */
  throughputMs: number;
  throughputRuns: number;
  /** The CPU window of the follower processes (ms). */
  cpuWindowMs: number;
  /** Revisions in the journal tail that recovery replays. */
  tailRevisions: number;
  /** Skip everything but recovery (used at L when the rest is not wanted). */
  recoveryOnly?: boolean;
}

export async function journalSuite(report: Report, scale: string, loaded: SyntheticScale, opts: JournalOptions): Promise<void> {
  const m = scale === 'M';
  const dir = mkdtempSync(join(tmpdir(), `acs-journal-${scale}-`));
  const t0 = performance.now();
  const state = await ClusterState.open({ statePath: dir, clusterId: 'bench', parquet: false });
  await loadSynthetic(state, loaded, { seed: 7, chunk: 10_000 });
  await state.checkpoint();
  process.stdout.write(`  ${scale.padEnd(3)} (journal: state directory loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  const n = loaded.tasks;
  let seq = 0;
  /** The next task to change and the priority to give it (a different task each time, as the peers do). */
  const next = () => {
    const i = (seq++ * 7919) % n;
    return { i, id: taskId(i), priority: seq % 10 };
  };
  const ours = {
    mutate: () => {
      const x = next();
      state.updateTask(x.id, { priority: x.priority });
    },
    transaction: (count: number) => {
      const x = next();
      const p = x.priority;
      state.transaction(() => {
        for (let k = 0; k < count; k++) state.updateTask(taskId((x.i + k * 7919) % n), { priority: p });
      });
    },
  };

  if (!opts.recoveryOnly) {
    const peers = await openPeers(report, scale, state, loaded);
    try {
      await flushLatency(report, scale, state, ours, peers, next, opts, m);
      await groupCommit(report, scale, state, ours, peers, next, opts, m);
      await writerWatch(report, scale, state, ours, opts);
      await bytesPerMutation(report, scale, state, ours, peers, next);
      await followers(report, scale, dir, state, ours, peers, next, opts, m);
    } finally {
      for (const p of peers) await p.close();
    }
  }
  await state.close();
  await recovery(report, scale, dir, loaded, state.counts, opts);
  rmSync(dir, { recursive: true, force: true });
}

type Ours = { mutate(): void; transaction(count: number): void };
type Next = () => { i: number; id: string; priority: number };

/** Runs `fns` in `rounds` rounds, each running every fn `per` times, back to back; returns each fn's samples (ms). */
async function interleaved(rounds: number, per: number, fns: (() => Promise<void>)[]): Promise<number[][]> {
  const out = fns.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let f = 0; f < fns.length; f++) {
      for (let k = 0; k < per; k++) {
        const a = performance.now();
        await fns[f]!();
        out[f]!.push(performance.now() - a);
      }
    }
  }
  return out;
}

/** 1. One mutation, then durable. */
async function flushLatency(report: Report, scale: string, state: ClusterState, ours: Ours, peers: Peer[], next: Next, opts: JournalOptions, m: boolean): Promise<void> {
  const fns = [
    async () => {
      ours.mutate();
      await state.flush();
    },
    ...peers.map((p) => async () => {
      const x = next();
      await p.mutateDurable(x.i, x.priority);
    }),
  ];
  await interleaved(1, 20, fns); // warm-up
  const rounds = 10;
  const samples = await interleaved(rounds, Math.max(1, Math.round(opts.trials / rounds)), fns);
  const S = samples.map(summarize);
  for (const [q, target] of [['p50', '≤ 1 ms'], ['p99', '≤ 10 ms']] as const) {
    report.add({
      suite: 'journal', scale, name: `one mutation then durable (flush) ${q}`, unit: 'ms', better: 'lower', runs: [S[0]![q]],
      peers: peers.map((p, k) => ({ name: p.name, runs: [S[k + 1]![q]] })), target: m ? target : undefined,
    });
  }
}

/** Durable mutations/s of `callers` concurrent loops over `step` (each step makes `per` mutations durable) for `ms`. */
async function rate(ms: number, callers: number, per: number, step: () => Promise<void>): Promise<number> {
  let done = 0;
  const a = performance.now();
  const end = a + ms;
  await Promise.all(Array.from({ length: callers }, async () => {
    while (performance.now() < end) {
      await step();
      done += per;
    }
  }));
  return (done / (performance.now() - a)) * 1000;
}

/** 2. Durable mutations/s with group commit. */
async function groupCommit(report: Report, scale: string, state: ClusterState, ours: Ours, peers: Peer[], next: Next, opts: JournalOptions, m: boolean): Promise<void> {
  const cases = [
    {
      name: 'durable mutations/s, transactions of 100, 8 concurrent callers', callers: 8, per: 100, target: '≥ 50,000/s',
      ours: async () => {
        ours.transaction(100);
        await state.flush();
      },
      peer: (p: Peer) => async () => {
        const x = next();
        await p.transactionDurable(x.i, 100, x.priority);
      },
    },
    {
      name: 'durable mutations/s, one per transaction, 64 concurrent callers', callers: 64, per: 1, target: undefined,
      ours: async () => {
        ours.mutate();
        await state.flush();
      },
      peer: (p: Peer) => async () => {
        const x = next();
        await p.mutateDurable(x.i, x.priority);
      },
    },
  ];
  for (const c of cases) {
    const runs: number[][] = [[], ...peers.map(() => [])];
    for (let r = 0; r < opts.throughputRuns; r++) {
      runs[0]!.push(await rate(opts.throughputMs, c.callers, c.per, c.ours));
      for (let k = 0; k < peers.length; k++) runs[k + 1]!.push(await rate(opts.throughputMs, c.callers, c.per, c.peer(peers[k]!)));
    }
    report.add({
      suite: 'journal', scale, name: c.name, unit: 'ops/s', better: 'higher', runs: runs[0]!,
      peers: peers.map((p, k) => ({ name: p.name, runs: runs[k + 1]! })), target: m ? c.target : undefined,
    });
  }
}

/** 5. Mutation → the writer's own watch() yields it. */
async function writerWatch(report: Report, scale: string, state: ClusterState, ours: Ours, opts: JournalOptions): Promise<void> {
  const it = state.watch();
  const lat: number[] = [];
  for (let k = 0; k < opts.trials + 20; k++) {
    const a = performance.now();
    ours.mutate();
    const r = await it.next();
    if (k >= 20) lat.push(performance.now() - a);
    report.check('the writer\'s watch() yields the mutation\'s revision', !r.done && r.value.revision === state.revision, JSON.stringify([r.done, state.revision]));
  }
  await it.return?.();
  await state.flush();
  const L = summarize(lat);
  report.add({ suite: 'journal', scale, name: 'mutation → writer watch() yields it p50', unit: 'ms', better: 'lower', runs: [L.p50] });
  report.add({ suite: 'journal', scale, name: 'mutation → writer watch() yields it p99', unit: 'ms', better: 'lower', runs: [L.p99] });
}

/** 6. Journal bytes per mutation (SQLite: WAL bytes). */
async function bytesPerMutation(report: Report, scale: string, state: ClusterState, ours: Ours, peers: Peer[], next: Next): Promise<void> {
  const sqlite = peers.find((p) => p.logBytes);
  for (const c of [{ label: 'single mutations, each flushed', count: 1, steps: 200 }, { label: 'transactions of 100, each flushed', count: 100, steps: 20 }]) {
    await state.checkpoint(); // the journal is cut here; no checkpoint may come in between (checked)
    const before = state.files()!;
    for (let s = 0; s < c.steps; s++) {
      if (c.count === 1) ours.mutate();
      else ours.transaction(c.count);
      await state.flush();
    }
    const after = state.files()!;
    if (after.checkpointRevision !== before.checkpointRevision || after.journal !== before.journal) {
      report.skip(`journal bytes per mutation (${c.label}) at ${scale}`, 'a checkpoint cut the journal during the measurement');
      continue;
    }
    const mutations = c.count * c.steps;
    const peerBytes = sqlite
      ? await sqlite.logBytes!(async () => {
        for (let s = 0; s < c.steps; s++) {
          const x = next();
          if (c.count === 1) await sqlite.mutateDurable(x.i, x.priority);
          else await sqlite.transactionDurable(x.i, c.count, x.priority);
        }
      })
      : null;
    report.add({
      suite: 'journal', scale, name: `journal bytes per mutation, ${c.label}`, unit: 'B', better: 'lower', runs: [(after.journalBytes - before.journalBytes) / mutations],
      peers: peerBytes === null ? undefined : [{ name: 'SQLite WAL', runs: [peerBytes / mutations] }],
    });
  }
}

/** A writer making `perSecond` mutations/s with `mutate` (paced by a 1 ms timer) until stopped; returns the rate achieved. */
function paced(perSecond: number, mutate: () => unknown): () => Promise<number> {
  const a = performance.now();
  let done = 0;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    const due = Math.floor(((performance.now() - a) / 1000) * perSecond);
    const work: unknown[] = [];
    while (done < due) {
      work.push(mutate());
      done++;
    }
    void Promise.all(work).finally(() => (busy = false));
  }, 1);
  return async () => {
    clearInterval(timer);
    while (busy) await sleep(1);
    return (done / (performance.now() - a)) * 1000;
  };
}

/** 3 and 4. Mutation → another process holds it (and its watch() yields it), and that process's CPU. */
async function followers(report: Report, scale: string, dir: string, state: ClusterState, ours: Ours, peers: Peer[], next: Next, opts: JournalOptions, m: boolean): Promise<void> {
  interface Side { tables: number[]; watch: number[]; idle: number; busy: number; achieved: number }
  const sides: Side[] = [];
  const cpu = async (child: Child) => {
    child.drain();
    child.send(`CPU ${opts.cpuWindowMs}`);
    return Number((await child.next('CPU', () => true, opts.cpuWindowMs + 30_000))[0]);
  };
  const under = async (child: Child, mutate: () => unknown) => {
    const stop = paced(1000, mutate);
    await sleep(200); // let the follower settle into the load first
    const busy = await cpu(child);
    const achieved = await stop();
    return { busy, achieved };
  };

  // Ours: a follower process (journal-follower.ts) with a watch() consumer.
  {
    const child = new Child(lib('journal-follower'), [dir]);
    await child.next('READY');
    const tables: number[] = [];
    const watch: number[] = [];
    for (let k = 0; k < opts.followTrials + 10; k++) {
      const a = wallNow();
      ours.mutate();
      const rev = state.revision;
      const t = Number((await child.next('REV', (f) => Number(f[0]) >= rev))[1]);
      const w = Number((await child.next('WATCH', (f) => Number(f[0]) >= rev))[1]);
      if (k >= 10) {
        tables.push(t - a);
        watch.push(w - a);
      }
      await sleep(2);
    }
    await state.flush();
    await sleep(1500); // past the follower's trailing checks
    const idle = await cpu(child);
    const { busy, achieved } = await under(child, () => ours.mutate());
    await state.flush();
    await child.end();
    sides.push({ tables, watch, idle, busy, achieved });
  }
  // The peers: peer-follower.ts polling every 1 ms.
  let rev = 0;
  for (const p of peers) {
    const child = new Child(lib('peer-follower'), p.follow);
    await child.next('READY');
    const tables: number[] = [];
    for (let k = 0; k < opts.followTrials + 10; k++) {
      const x = next();
      const a = wallNow();
      const r = ++rev;
      await p.mutateVisible(r, x.i, x.priority);
      const t = Number((await child.next('REV', (f) => Number(f[0]) >= r))[1]);
      if (k >= 10) tables.push(t - a);
      await sleep(2);
    }
    const idle = await cpu(child);
    const { busy, achieved } = await under(child, () => {
      const x = next();
      return p.mutateVisible(++rev, x.i, x.priority);
    });
    await child.end();
    sides.push({ tables, watch: [], idle, busy, achieved });
  }
  const S = sides.map((s) => summarize(s.tables));
  const W = summarize(sides[0]!.watch);
  const targets = { p50: '≤ 2 ms', p99: '≤ 20 ms' };
  for (const q of ['p50', 'p99'] as const) {
    report.add({
      suite: 'journal', scale, name: `mutation → follower process holds it in its Tables ${q}`, unit: 'ms', better: 'lower', runs: [S[0]![q]],
      peers: peers.map((p, k) => ({ name: `${p.name}, reader polling every 1 ms`, runs: [S[k + 1]![q]] })), target: m ? targets[q] : undefined,
    });
  }
  for (const q of ['p50', 'p99'] as const) {
    report.add({ suite: 'journal', scale, name: `mutation → follower process's watch() yields it ${q}`, unit: 'ms', better: 'lower', runs: [W[q]] });
  }
  report.add({
    suite: 'journal', scale, name: 'follower process CPU, writer at 1,000 mutations/s', unit: '% core', better: 'lower', runs: [sides[0]!.busy],
    peers: peers.map((p, k) => ({ name: `${p.name} reader`, runs: [sides[k + 1]!.busy] })), target: m ? '≤ 10 %' : undefined,
  });
  report.add({
    suite: 'journal', scale, name: 'writer rate achieved during that window', unit: 'ops/s', better: 'higher', runs: [sides[0]!.achieved],
    peers: peers.map((p, k) => ({ name: p.name, runs: [sides[k + 1]!.achieved] })), target: '1,000/s',
  });
  report.add({
    suite: 'journal', scale, name: 'follower process CPU, idle writer', unit: '% core', better: 'lower', runs: [sides[0]!.idle],
    peers: peers.map((p, k) => ({ name: `${p.name} reader`, runs: [sides[k + 1]!.idle] })), target: m ? '≈ 0' : undefined,
  });
}

/** 7. Recovery after a crash (checkpoint + journal tail) and after a clean close; cold one-shot reads in a fresh process. */
async function recovery(report: Report, scale: string, dir: string, loaded: SyntheticScale, counts: Record<string, number>, opts: JournalOptions): Promise<void> {
  const tail = opts.tailRevisions;
  const writer = new Child(lib('crash-writer'), [dir, String(tail), String(loaded.tasks)]);
  const done = await writer.next('DONE', () => true, 600_000);
  await writer.kill('SIGKILL');
  const revision = Number(done[0]);
  const cold = async (what: string) => {
    const child = new Child(lib('cold-read'), [dir]);
    const [rev, ms] = (await child.next('COLD', () => true, 600_000)).map(Number);
    await child.end();
    report.check(`a cold readStateSnapshot ${what} returns the last durable revision`, rev === revision, `${rev} vs ${revision}`);
    return ms!;
  };
  report.add({ suite: 'journal', scale, name: `cold readStateSnapshot (fresh process), checkpoint + ${tail.toLocaleString('en')}-revision journal tail`, unit: 'ms', better: 'lower', runs: [await cold('after a crash')] });
  let a = performance.now();
  let s = await ClusterState.open({ statePath: dir, parquet: false });
  const crashMs = performance.now() - a;
  report.check('recovery after a crash replays the journal to the last durable revision', s.revision === revision && JSON.stringify(s.counts) === JSON.stringify(counts), JSON.stringify([s.revision, revision, s.counts, counts]));
  await s.close();
  a = performance.now();
  s = await ClusterState.open({ statePath: dir, parquet: false });
  const cleanMs = performance.now() - a;
  report.check('reopening after a clean close restores the last revision', s.revision === revision, `${s.revision} vs ${revision}`);
  await s.close();
  report.add({ suite: 'journal', scale, name: `recovery: open after SIGKILL, checkpoint + ${tail.toLocaleString('en')}-revision journal tail`, unit: 'ms', better: 'lower', runs: [crashMs] });
  report.add({ suite: 'journal', scale, name: 'recovery: open after a clean close', unit: 'ms', better: 'lower', runs: [cleanMs] });
  report.add({ suite: 'journal', scale, name: 'cold readStateSnapshot (fresh process), after a clean close', unit: 'ms', better: 'lower', runs: [await cold('after a clean close')] });
}
