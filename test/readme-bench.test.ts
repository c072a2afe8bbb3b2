import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { END, renderResults, START } from '../bench/lib/render.js';

const root = new URL('../../', import.meta.url);

test('the README performance section is exactly the rendering of the committed benchmark results', (t) => {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const section = readme.slice(readme.indexOf(START) + START.length, readme.indexOf(END)).trim();
  const file = ['full', 'quick'].map((m) => new URL(`bench/results/latest-${m}.json`, root)).find((u) => existsSync(u));
  t.truthy(file, 'a results file is committed');
  const results = JSON.parse(readFileSync(file!, 'utf8'));
  t.is(section, renderResults(results).trim(), 'regenerate with `node dist/bench/readme.js`');
  t.true(results.figures.length > 20);
});
