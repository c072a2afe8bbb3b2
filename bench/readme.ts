/**
 * Regenerates docs/performance.md (its generated part) and the README's headline figures from
 * bench/results/latest-<mode>.json: `node dist/bench/readme.js [full|quick]`.
 */
import { readFileSync } from 'node:fs';
import { writeResultDocs } from './lib/render.js';

const mode = process.argv[2] ?? 'full';
const root = new URL('../../', import.meta.url);
const results = JSON.parse(readFileSync(new URL(`bench/results/latest-${mode}.json`, root), 'utf8'));
const written = writeResultDocs(root, results);
process.stdout.write(`${written.join(' and ')} updated from latest-${mode}.json\n`);
