/**
 * `npm run bench` — the benchmark harness. Loads each scale once (seeded synthetic cluster),
 * runs the suites on it, prints a table and writes bench/results/*.json.
 *   npm run bench              full: S, M and L, repeated runs, every baseline
 *   npm run bench -- --quick   under a minute: S and a reduced M (a CI smoke test)
 *   --scales S,M  --suites writer,shared,helpers,persist,journal,queries,replication,cluster
 *   --journal-recovery-only   the journal suite measures recovery and cold reads only
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ClusterState } from '../src/index.js';
import { loadSynthetic, SCALES, type SyntheticScale } from '../src/demo/synthetic.js';
import { Report } from './lib/report.js';
import { writerSuite } from './suites/writer.js';
import { sharedSuite } from './suites/shared.js';
import { helpersSuite } from './suites/helpers.js';
import { persistSuite } from './suites/persist.js';
import { journalSuite } from './suites/journal.js';
import { queriesSuite } from './suites/queries.js';
import { replicationSuite } from './suites/replication.js';
import { clusterSuite } from './suites/cluster.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const arg = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const scales = (arg('--scales') ?? (quick ? 'S,M' : 'S,M,L')).split(',') as ('S' | 'M' | 'L')[];
const ALL_SUITES = ['writer', 'shared', 'helpers', 'persist', 'journal', 'queries', 'replication', 'cluster'];
const suites = new Set((arg('--suites') ?? ALL_SUITES.join(',')).split(','));
/** Only a run of every suite at every scale of its mode replaces bench/results/latest-<mode>.json and the docs. */
const complete = ALL_SUITES.every((s) => suites.has(s)) && (quick ? ['S', 'M'] : ['S', 'M', 'L']).every((s) => scales.includes(s as 'S'));
const report = new Report();

/** A full garbage collection now (V8's gc(), exposed at run time): heap figures without garbage not collected yet. */
function fullGc(): void {
  v8.setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

async function load(name: string, scale: SyntheticScale): Promise<ClusterState> {
  const state = ClusterState.inMemory({ clusterId: `bench-${name}` });
  const t0 = performance.now();
  let last = 0;
  await loadSynthetic(state, scale, {
    seed: 7,
    chunk: 10_000,
    onProgress: (done, total) => {
      const pct = Math.floor((done / total) * 100);
      if (pct >= last + 10 || done === total) {
        last = pct;
        process.stdout.write(`\r  loading ${name}: ${pct}% (${done.toLocaleString()} / ${total.toLocaleString()})`);
      }
    },
  });
  await state.published();
  process.stdout.write(`\r  loaded ${name} (${scale.nodes.toLocaleString()} nodes, ${scale.tasks.toLocaleString()} tasks, ${scale.content.toLocaleString()} content) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return state;
}

/** The suites on an in-memory writer loaded with the scale (and its memory figures). */
async function inMemorySuites(name: 'S' | 'M' | 'L', scale: SyntheticScale): Promise<void> {
  const state = await load(name, scale);
  const mem = process.memoryUsage();
  const shm = state.memoryStats();
  report.add({ suite: 'memory', scale: name, name: 'writer RSS after load', unit: 'MB', better: 'lower', runs: [mem.rss / 1e6] });
  report.add({ suite: 'memory', scale: name, name: 'writer JS heap after load', unit: 'MB', better: 'lower', runs: [mem.heapUsed / 1e6] });
  fullGc();
  report.add({ suite: 'memory', scale: name, name: 'writer JS heap after load and a full GC', unit: 'MB', better: 'lower', runs: [process.memoryUsage().heapUsed / 1e6], target: name === 'L' ? '≤ 400 MB' : undefined });
  report.add({ suite: 'memory', scale: name, name: 'shared memory after load', unit: 'MB', better: 'lower', runs: [shm.sharedBytes / 1e6] });
  report.add({ suite: 'memory', scale: name, name: 'shared memory / live encoded state, after load', unit: '×', better: 'lower', runs: [shm.sharedBytes / shm.liveBytes], target: '≤ 1.1' });
  if (suites.has('queries')) await queriesSuite(report, state, name, scale, { runs: quick ? 1 : 5, lookups: quick ? 20_000 : 200_000 });
  if (suites.has('writer')) await writerSuite(report, state, name, { runs: quick ? 1 : 3, ops: quick ? 2000 : 10_000, placements: quick ? 500 : name === 'L' ? 1000 : 5000, loaded: scale });
  if (suites.has('shared')) {
    await sharedSuite(report, state, name, {
      trials: quick ? 60 : name === 'L' ? 150 : 300,
      baselineTrials: quick ? 0 : name === 'L' ? 2 : 3,
      sustainMs: quick ? 500 : 3000,
      loaded: scale,
    });
  }
  if (suites.has('helpers') && name === 'L') report.skip('helpers at L', 'the row-object baseline needs 2.1M JS records and several minutes per helper; measured at S and M');
  else if (suites.has('helpers')) await helpersSuite(report, state, name, { runs: quick ? 1 : 3, budgetMs: quick ? 40 : 300, loaded: scale });
  await state.close();
}

async function main(): Promise<void> {
  process.stdout.write(`arrow-cluster-state bench (${quick ? 'quick' : 'full'}), scales ${scales.join(', ')}\n`);
  for (const name of scales) {
    const scale = quick && name === 'M' ? { nodes: 10_000, tasks: 100_000, content: 100_000 } : SCALES[name];
    if (['writer', 'shared', 'helpers', 'queries'].some((s) => suites.has(s))) await inMemorySuites(name, scale);
    if (suites.has('persist')) await persistSuite(report, name, scale, { trials: quick ? 30 : 100, churnMs: quick ? 1000 : 5000 });
    if (suites.has('journal')) {
      await journalSuite(report, name, scale, {
        trials: quick ? 100 : name === 'L' ? 300 : 1000,
        followTrials: quick ? 50 : 200,
        throughputMs: quick ? 500 : 2000,
        throughputRuns: quick ? 1 : 3,
        cpuWindowMs: quick ? 1000 : 3000,
        tailRevisions: 1000,
        recoveryOnly: args.includes('--journal-recovery-only'),
      });
    }
    if (suites.has('replication') && name === 'L') report.skip('replication at L', 'loading L and importing it into the suite\'s writers takes several minutes before the first figure; measured at S and M');
    else if (suites.has('replication')) {
      await replicationSuite(report, name, scale, {
        trials: quick ? 100 : name === 'L' ? 200 : 300,
        burst: quick ? 5000 : name === 'S' ? 5000 : 20_000,
        bursts: quick ? 1 : 3,
        byteMutations: quick ? 100 : 200,
        durable: !quick,
      });
    }
    if (suites.has('cluster') && name === 'L') report.skip('cluster at L', 'loading L and importing it into the suite\'s masters takes several minutes before the first figure; measured at S and M');
    else if (suites.has('cluster')) {
      await clusterSuite(report, name, scale, {
        calls: quick ? 200 : 500,
        agents: name === 'S' ? 1000 : 10_000,
        sustainMs: quick ? 5000 : name === 'S' ? 10_000 : 20_000,
        connections: name === 'S' ? 1 : 4,
        tasks: quick ? 50 : 200,
        runners: 20,
        failovers: quick ? 1 : 3,
        leaseMs: 2000,
      });
    }
  }
  const file = report.finish(quick ? 'quick' : 'full', complete);
  process.stdout.write(`\nresults: ${file}${complete ? '' : ' (a partial run: latest-*.json and the docs are left as they were)'}\n`);
  if (!quick && complete) {
    // A complete full run regenerates docs/performance.md and the README's headline figures.
    const { readFileSync } = await import('node:fs');
    const { writeResultDocs } = await import('./lib/render.js');
    const written = writeResultDocs(new URL('../../', import.meta.url), JSON.parse(readFileSync(file, 'utf8')));
    process.stdout.write(`${written.join(' and ')} regenerated\n`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
