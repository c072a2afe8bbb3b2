/**
 * Merges a partial run into the committed results: `node dist/bench/merge.js <run.json> [full|quick]`
 * replaces, in bench/results/latest-<mode>.json, every figure (and skip) of the suites and scales
 * that <run.json> measured with that run's, records the merge under `merged` (date, suites,
 * scales: docs/performance.md says which figures came from which run), and regenerates the docs.
 * For adding a suite's figures without re-running every suite at every scale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { writeResultDocs, type Results } from './lib/render.js';

const [file, mode = 'full'] = process.argv.slice(2);
if (!file) throw new Error('usage: node dist/bench/merge.js <bench/results/<date>-<mode>.json> [full|quick]');
const root = new URL('../../', import.meta.url);
const latestUrl = new URL(`bench/results/latest-${mode}.json`, root);
const latest = JSON.parse(readFileSync(latestUrl, 'utf8')) as Results;
const run = JSON.parse(readFileSync(file, 'utf8')) as Results;
const suites = [...new Set(run.figures.map((f) => f.suite))];
const scales = [...new Set(run.figures.map((f) => f.scale))];
const covered = (f: { suite: string; scale: string }) => suites.includes(f.suite) && scales.includes(f.scale);
const mentions = (what: string) => suites.some((s) => what.includes(s)) && scales.some((s) => what.includes(` at ${s}`));
latest.figures = [...latest.figures.filter((f) => !covered(f)), ...run.figures];
latest.skipped = [...latest.skipped.filter((x) => !mentions(x.what)), ...run.skipped];
latest.merged = [...(latest.merged ?? []).filter((x) => !(x.suites.every((s) => suites.includes(s)) && x.scales.every((s) => scales.includes(s)))), { date: run.date, suites, scales, machine: run.machine }];
writeFileSync(latestUrl, `${JSON.stringify(latest, null, 1)}`);
const written = writeResultDocs(root, latest);
process.stdout.write(`merged ${run.figures.length} figures (${suites.join(', ')} at ${scales.join(', ')}) into latest-${mode}.json; ${written.join(' and ')} regenerated\n`);
