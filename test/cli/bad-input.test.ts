// Bad input to the command: every case exits 1 (failure) or 2 (usage) with one line on stderr, no
// stack trace and nothing on stdout; --debug adds the stack trace.
import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CliFixtures, noStack, oneLine, run } from './support.js';

const f = new CliFixtures();
const { root, fx, empty, corrupt, badParquet } = f;
test.before(() => f.build({ fx: true, empty: true, corrupt: true, badParquet: true }));
test.after.always(() => f.remove());

const BAD: [string, string[], number, RegExp][] = [
  ['missing directory', ['status', join(root, 'nope')], 1, /^cluster-state status: NOT_FOUND: .*nope".* does not exist$/],
  ['directory without a state', ['nodes', empty], 1, /^cluster-state nodes: NOT_FOUND: no cluster state in /],
  ['corrupt arena file', ['status', corrupt], 1, /^cluster-state status: CORRUPT: .*state_broken\.\d+\.arena.*checksum/],
  ['corrupt arena file (metrics)', ['metrics', corrupt], 1, /CORRUPT/],
  ['corrupt arena file (watch)', ['watch', corrupt], 1, /CORRUPT/],
  ['corrupt arena file (serve)', ['serve', corrupt, '--port', '0'], 1, /CORRUPT/],
  ['not a Parquet file', ['status', badParquet], 1, /^cluster-state status: CORRUPT: .*not a readable Parquet file/],
  ['unknown subcommand', ['frobnicate', fx], 2, /^cluster-state: unknown command "frobnicate" \(see 'cluster-state --help'\)$/],
  ['unknown flag', ['status', fx, '--frob'], 2, /^cluster-state status: unknown option --frob \(see 'cluster-state status --help'\)$/],
  ['unknown short flag', ['nodes', fx, '-x'], 2, /unknown option -x/],
  ['flag before the subcommand', ['--frob'], 2, /unknown option --frob/],
  ['missing <dir>', ['status'], 2, /^cluster-state status: missing <dir>/],
  ['extra argument', ['status', fx, 'extra'], 2, /unexpected argument "extra"/],
  ['flag without its value', ['nodes', fx, '--limit'], 2, /--limit needs a value/],
  ['boolean flag with a value', ['status', fx, '--json=yes'], 2, /--json does not take a value/],
  ['bad --limit', ['tasks', fx, '--limit', 'ten'], 2, /--limit must be a whole number >= 0, got "ten"/],
  ['negative --limit', ['tasks', fx, '--limit=-1'], 2, /--limit must be a whole number/],
  ['bad --role', ['nodes', fx, '--role', 'boss'], 2, /--role must be one of master, worker, leecher, got "boss"/],
  ['bad task --status', ['tasks', fx, '--status', 'done'], 2, /--status must be one of pending, assigned/],
  ['bad get kind', ['get', 'gadget', fx, 'x'], 2, /<kind> must be node, task or content/],
  ['bad id', ['get', 'node', fx, 'no-such-node'], 1, /^cluster-state get: NOT_FOUND: no node with id "no-such-node"/],
  ['empty id', ['get', 'node', fx, ''], 2, /<id> must not be empty/],
  ['bad port', ['serve', fx, '--port', '70000'], 2, /--port must be a whole number from 0 to 65535/],
  ['watch a file', ['watch', badParquet], 2, /watch follows a state directory/],
  ['export into the state directory', ['export', fx, join(fx, 'out.json')], 2, /inside the state directory/],
  ['export to a missing directory', ['export', fx, join(root, 'no', 'dir', 'out.json')], 1, /^cluster-state export: IO: /],
  ['demo: bad --nodes', ['demo', '--nodes', '0', '--dir', join(root, 'never')], 2, /--nodes must be a whole number from 1/],
  ['demo: bad --duration', ['demo', '--duration', 'soon', '--dir', join(root, 'never')], 2, /--duration must be a number/],
  ['demo: --keep with --fresh', ['demo', '--keep', '--fresh', '--dir', join(root, 'never')], 2, /contradict/],
  ['help for an unknown command', ['help', 'frob'], 2, /unknown command "frob"/],
];

for (const [name, args, code, message] of BAD) {
  test(`bad input: ${name} → exit ${code}, one line on stderr, no stack`, async (t) => {
    const r = await run(args);
    t.is(r.code, code, r.stderr);
    oneLine(t, r);
    t.regex(r.stderr.trim(), message);
    t.true(noStack(r));
    t.is(r.stdout, '');
  });
}

test('bad input: --debug adds the stack trace', async (t) => {
  const r = await run(['status', corrupt, '--debug']);
  t.is(r.code, 1);
  t.regex(r.stderr, /^cluster-state status: CORRUPT: /);
  t.regex(r.stderr, /^\s+at /m);
  t.false(existsSync(join(root, 'never')), 'demo usage errors created nothing');
});
