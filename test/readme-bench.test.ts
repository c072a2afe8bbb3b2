// No figure in docs/performance.md or in the README's headline table is hand-written: both are
// exactly the rendering of the committed benchmark results (bench/lib/render.ts).
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { END, HEADLINE, HEADLINE_END, HEADLINE_START, PERFORMANCE_DOC, renderHeadline, renderResults, section, START, type Results } from '../bench/lib/render.js';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

function results(): Results {
  const file = ['full', 'quick'].map((m) => new URL(`bench/results/latest-${m}.json`, root)).find((u) => existsSync(u));
  if (!file) throw new Error('no results file is committed');
  return JSON.parse(readFileSync(file, 'utf8')) as Results;
}

test('docs/performance.md is exactly the rendering of the committed benchmark results', (t) => {
  const r = results();
  t.true(r.figures.length > 20);
  t.is(section(read(PERFORMANCE_DOC), START, END), renderResults(r).trim(), 'regenerate with `node dist/bench/readme.js`');
});

test('the README\'s headline figures are exactly the rendering of the committed benchmark results', (t) => {
  const r = results();
  t.is(section(read('README.md'), HEADLINE_START, HEADLINE_END), renderHeadline(r).trim(), 'regenerate with `node dist/bench/readme.js`');
  // Every headline row names a figure the results hold at the reference scale M.
  for (const h of HEADLINE) t.truthy(r.figures.find((f) => f.suite === h.suite && f.name === h.name && f.scale === 'M'), `${h.suite}: ${h.name}`);
});

test('the links of the generated parts lead to files of the repository', (t) => {
  const r = results();
  const page = new URL(PERFORMANCE_DOC, root);
  for (const [, target] of renderResults(r).matchAll(/\]\(([^)]+)\)/g)) t.true(existsSync(new URL(target!, page)), target);
  for (const [, target] of renderHeadline(r).matchAll(/\]\(([^)]+)\)/g)) t.true(existsSync(new URL(target!, root)), target);
});
