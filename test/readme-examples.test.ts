// The README's writer example runs as shown (in a real child process, against the built
// package, on a temporary state directory), and the values its comments promise are the values
// it gets; docs/writer.md shows the same example; the error message the docs quote is the one the
// writer gives; and every link of the README and of docs/ leads to a file (and heading) of the
// repository.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ClusterState, StateError } from '../src/index.js';

const root = new URL('../../', import.meta.url);
const read = (path: string | URL) => readFileSync(new URL(path, root), 'utf8');
const readme = read('README.md');
const docs = readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);

/** The first ```ts block after `heading` in `text`. */
function block(text: string, heading: string, file = 'README.md'): string {
  const at = text.indexOf(heading);
  if (at < 0) throw new Error(`no ${JSON.stringify(heading)} in ${file}`);
  const m = /```ts\n([\s\S]*?)```/.exec(text.slice(at));
  if (!m) throw new Error(`no ts block after ${JSON.stringify(heading)} in ${file}`);
  return m[1]!;
}

const WRITER = '### The writer';

/**
 * The example as a module: the package import pointed at the build, the state directory at
 * `dir`, and each `expr; // <value> ...` comment turned into a check — a number is compared with
 * the expression, `{ key: 'text', key: 1, ... }` with those fields of the result.
 */
function runnable(code: string, dir: string): { source: string; checks: number } {
  const index = pathToFileURL(new URL('dist/src/index.js', root).pathname).href;
  let checks = 0;
  const lines = code.split('\n').map((line) => {
    let l = line.replace(/from 'arrow-cluster-state'/, `from ${JSON.stringify(index)}`).replace(/'\.\/\.cluster-state'/g, JSON.stringify(dir));
    const m = /^(state\.[\w.]+(?:\([^)]*\))?);\s*\/\/\s*(.*)$/.exec(l);
    if (m) {
      const [, expr, comment] = m as unknown as [string, string, string];
      const num = /^(\d+)\b/.exec(comment);
      if (num) {
        checks++;
        l = `{ const v = ${expr}; if (v !== ${num[1]}) throw new Error(${JSON.stringify(`${expr} is `)} + JSON.stringify(v) + ${JSON.stringify(`, the README says ${num[1]}`)}); }`;
      } else if (comment.startsWith('{')) {
        const fields = [...comment.matchAll(/(\w+): ('[^']*'|\d+)/g)].map(([, k, v]) => [k!, v!.startsWith("'") ? v!.slice(1, -1) : Number(v)] as const);
        checks += fields.length;
        l = `{ const v = ${expr}; for (const [k, want] of ${JSON.stringify(fields)}) if (v[k] !== want) throw new Error(${JSON.stringify(`${expr}.`)} + k + ' is ' + JSON.stringify(v[k]) + ', the README says ' + JSON.stringify(want)); `
          + `for (const k of ${JSON.stringify([...comment.matchAll(/(?:^\{|,)\s*(\w+)(?=\s*[,}])/g)].map((x) => x[1]))}) if (!(k in v)) throw new Error('no ' + k); }`;
      }
    }
    return l;
  });
  return { source: lines.join('\n'), checks };
}

test('the writer example of the README runs as shown, and its commented values hold (revision 7)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acs-readme-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { source, checks } = runnable(block(readme, WRITER), join(dir, 'state'));
  t.true(checks >= 3, `checks made from the comments: ${checks}`);
  const file = join(dir, 'example.mjs');
  writeFileSync(file, source);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 0, `${r.stderr}\n--- the example as run:\n${source}`);
});

test('docs/writer.md shows the same writer example as the README (so it is tested too)', (t) => {
  t.is(block(read('docs/writer.md'), '## Opening a writer', 'docs/writer.md'), block(readme, WRITER));
});

test('the error message the README and docs/writer.md quote is the writer\'s', async (t) => {
  const s = ClusterState.inMemory({ clusterId: 'readme' });
  const err = t.throws(() => s.registerNode({ id: 'n', role: 'worker', resources: { memory_total: '8 G B' } }), { instanceOf: StateError });
  for (const file of ['README.md', 'docs/writer.md']) {
    const quoted = /`(INVALID_ARGUMENT: node\.resources\.memory_total must be [^`]+)`/.exec(read(file))?.[1];
    t.truthy(quoted, file);
    t.is(err!.message, quoted!, file);
  }
  await s.close();
});

test('the follower examples say what followState does with a directory that does not exist (NOT_FOUND)', (t) => {
  for (const [text, heading, file] of [[readme, '### A follower', 'README.md'], [read('docs/followers.md'), '## `followState`', 'docs/followers.md']] as const) {
    t.regex(block(text, heading, file), /followState\('\.\/\.cluster-state'\);\s*\/\/ .*NOT_FOUND/, file);
  }
});

test('the README stays the front door: the quick-start commands, at most about 300 lines, a link to every docs page', (t) => {
  t.true(readme.includes('npm install && npm start'));
  t.true(readme.includes('npm test'));
  const lines = readme.split('\n').length;
  t.true(lines <= 320, `README.md has ${lines} lines`);
  for (const page of docs) t.true(readme.includes(`](${page})`), `the README links ${page}`);
});

/** Markdown without its fenced code blocks (headings and links inside them are not real). */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's anchors of the headings of a Markdown text. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, heading] of prose(text).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = heading!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

test('every link of the README and of docs/ leads to a file of the repository, and every anchor to a heading', (t) => {
  const rootPath = fileURLToPath(root);
  let links = 0;
  for (const file of ['README.md', ...docs]) {
    const base = new URL(file, root);
    const text = read(file);
    for (const [, target] of prose(text).replace(/`[^`\n]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!)) continue; // http(s), mailto: not ours to check
      links++;
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const url = path ? new URL(path, base) : base;
      const abs = fileURLToPath(url);
      t.true(abs.startsWith(rootPath), `${file}: ${target} leaves the repository`);
      t.true(existsSync(url), `${file}: ${target} does not exist`);
      if (anchor !== undefined && existsSync(url) && statSync(url).isFile()) {
        t.true(anchors(readFileSync(url, 'utf8')).has(anchor), `${file}: no heading for #${anchor} in ${path || file}`);
      }
    }
  }
  t.true(links > 50, `links checked: ${links}`);
});

test('the README and docs/ name nothing outside the repository (no path climbing out of it, no absolute path of a machine)', (t) => {
  // README.md lies at the root: any "../" leaves the repository; docs/ lie one level down.
  const climbs = (file: string) => (file === 'README.md' ? /(^|[^.])\.\.\//m : /\.\.\/\.\.\//);
  const absolute = /(^|[\s(`'"])\/(home|root|tmp|mnt|opt|srv|Users|work)\/[\w.-]/m;
  for (const file of ['README.md', ...docs]) {
    const text = read(file);
    t.false(climbs(file).test(text), `${file} names a path outside the repository: ${climbs(file).exec(text)?.[0]}`);
    t.false(absolute.test(text), `${file} names an absolute path: ${absolute.exec(text)?.[0]}`);
  }
});
