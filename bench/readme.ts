/** Regenerates the README's performance section from bench/results/latest-<mode>.json. */
import { readFileSync, writeFileSync } from 'node:fs';
import { withResults } from './lib/render.js';

const mode = process.argv[2] ?? 'full';
const root = new URL('../../', import.meta.url);
const results = JSON.parse(readFileSync(new URL(`bench/results/latest-${mode}.json`, root), 'utf8'));
const readmePath = new URL('README.md', root);
writeFileSync(readmePath, withResults(readFileSync(readmePath, 'utf8'), results));
process.stdout.write(`README performance section updated from latest-${mode}.json\n`);
