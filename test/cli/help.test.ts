// The command's help and usage: --help for the command and every subcommand, usage on stderr with
// exit 2 when nothing is asked, --version.
import test from 'ava';
import { run } from './support.js';

test('--help for the command and every subcommand; exit 0', async (t) => {
  const main = await run(['--help']);
  t.is(main.code, 0);
  for (const c of ['demo', 'status', 'nodes', 'tasks', 'content', 'get', 'export', 'watch', 'metrics', 'serve']) t.regex(main.stdout, new RegExp(`^  ${c}\\b`, 'm'));
  t.notRegex(main.stdout, /_follow/); // hidden
  const subs = ['demo', 'status', 'nodes', 'tasks', 'content', 'get', 'export', 'watch', 'metrics', 'serve'];
  const results = await Promise.all(subs.map((c) => run([c, '--help'])));
  results.forEach((r, i) => {
    t.is(r.code, 0, subs[i]);
    t.regex(r.stdout, new RegExp(`^Usage: cluster-state ${subs[i]}`), subs[i]);
    t.regex(r.stdout, /Exit codes: 0 ok, 1 failure/);
    t.is(r.stderr, '');
  });
  const viaHelp = await run(['help', 'nodes']);
  t.is(viaHelp.code, 0);
  t.is(viaHelp.stdout, results[2]!.stdout);
  // Help wins over anything else on the line, even bad flags.
  t.is((await run(['status', '--frob', '-h'])).code, 0);
});

test('no arguments: usage on stderr, exit 2; --version', async (t) => {
  const r = await run([]);
  t.is(r.code, 2);
  t.regex(r.stderr, /^cluster-state: look into/);
  t.is(r.stdout, '');
  const v = await run(['--version']);
  t.is(v.code, 0);
  t.regex(v.stdout, /^\d+\.\d+\.\d+/);
});
