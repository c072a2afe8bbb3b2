// The README's writer example runs as shown (in a real child process, against the built
// package, on a temporary state directory), and the values its comments promise are the values
// it gets; the error message the README quotes is the one the writer gives.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ClusterState, StateError } from '../src/index.js';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

/** The first ```ts block after `heading`. */
function block(heading: string): string {
  const at = readme.indexOf(heading);
  if (at < 0) throw new Error(`no ${JSON.stringify(heading)} in the README`);
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!m) throw new Error(`no ts block after ${JSON.stringify(heading)}`);
  return m[1]!;
}

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
  const { source, checks } = runnable(block('## The writer: `ClusterState`'), join(dir, 'state'));
  t.true(checks >= 3, `checks made from the comments: ${checks}`);
  const file = join(dir, 'example.mjs');
  writeFileSync(file, source);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 0, `${r.stderr}\n--- the example as run:\n${source}`);
});

test('the error message the README quotes is the writer\'s', async (t) => {
  const quoted = /`(INVALID_ARGUMENT: node\.resources\.memory_total must be [^`]+)`/.exec(readme)?.[1];
  t.truthy(quoted);
  const s = ClusterState.inMemory({ clusterId: 'readme' });
  const err = t.throws(() => s.registerNode({ id: 'n', role: 'worker', resources: { memory_total: '8 G B' } }), { instanceOf: StateError });
  t.is(err!.message, quoted!);
  await s.close();
});

test('the follower example says what followState does with a directory that does not exist (NOT_FOUND)', (t) => {
  const example = block('## Followers: sibling processes');
  t.regex(example, /followState\('\.\/\.cluster-state'\);\s*\/\/ .*NOT_FOUND/);
});
