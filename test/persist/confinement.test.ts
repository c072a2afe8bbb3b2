// The writer and the read-only commands create, rename, move and write only regular files inside
// the state directory (issue 10, findings 3 and 7). Real files, symbolic links and devices.
import test from 'ava';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ClusterState, StateError } from '../../src/index.js';
import { run } from '../cli/support.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'acs-confine-'));

/** A directory written by another tool: a seed-layout Parquet file and metadata that is not ours. */
async function foreignDir(parquetPath: (outside: string) => string) {
  const root = tempDir();
  const dir = join(root, 'state');
  const outside = join(root, 'outside');
  mkdirSync(dir);
  mkdirSync(outside);
  const victim = join(outside, 'precious.parquet');
  writeFileSync(victim, 'not yours');
  writeFileSync(join(dir, 'state_metadata.json'), JSON.stringify({ cluster_id: 'c', version: 3, parquet_path: parquetPath(victim) }));
  return { root, dir, victim };
}

for (const [name, path] of [['absolute', (v: string) => v], ['relative ../', (v: string) => `../outside/${v.split('/').pop()}`]] as const) {
  test(`a parquet_path leaving the directory (${name}) is refused, and startFresh does not move the outside file`, async (t) => {
    const { root, dir, victim } = await foreignDir(path);
    const e = await t.throwsAsync(ClusterState.open({ statePath: dir, clusterId: 'c' }), { instanceOf: StateError });
    t.is(e!.code, 'CORRUPT');
    t.regex(e!.message, /not in the state directory/);
    const s = await ClusterState.open({ statePath: dir, clusterId: 'c', startFresh: true, parquet: false });
    t.is(s.revision, 0);
    await s.close();
    t.is(readFileSync(victim, 'utf8'), 'not yours', 'the outside file is untouched');
    t.deepEqual(readdirSync(join(root, 'outside')), ['precious.parquet'], 'and not renamed');
    rmSync(root, { recursive: true, force: true });
  });
}

test('symbolic links planted at the names a writer uses never make it write outside the directory', async (t) => {
  const root = tempDir();
  const dir = join(root, 'state');
  const outside = join(root, 'outside');
  mkdirSync(outside);
  const s = await ClusterState.open({ statePath: dir, clusterId: 'c', parquet: false });
  s.registerNode({ id: 'n', role: 'worker' });
  await s.flush();
  // Every name that once was predictable, and the next generation's name, point outside.
  const target = join(outside, 'target');
  writeFileSync(target, 'outside');
  for (const n of ['state_c.arena.compact.acs-tmp', `state_metadata.json.${process.pid}.x.acs-tmp`, 'state_c.2.arena', 'state_c.3.arena']) symlinkSync(target, join(dir, n));
  for (let i = 0; i < 200; i++) s.registerNode({ id: `m${i}`, role: 'worker', metadata: { pad: 'x'.repeat(2000) } });
  await s.flush().catch(() => undefined); // the writer stops when it finds its next generation taken, but never follows the link
  await s.close().catch(() => undefined);
  t.is(readFileSync(target, 'utf8'), 'outside', 'the link target was never written');
  t.deepEqual(readdirSync(outside), ['target']);
  rmSync(root, { recursive: true, force: true });
});

test('a dangling symbolic link at the arena file\'s name: the writer refuses it and creates nothing outside', async (t) => {
  const root = tempDir();
  const dir = join(root, 'state');
  mkdirSync(dir);
  const outsideFile = join(root, 'created-outside.arena');
  symlinkSync(outsideFile, join(dir, 'state_c.1.arena'));
  const e = await t.throwsAsync(ClusterState.open({ statePath: dir, clusterId: 'c', parquet: false }), { instanceOf: StateError });
  t.is(e!.code, 'CORRUPT');
  t.regex(e!.message, /symbolic link/);
  t.false(existsSync(outsideFile));
  t.true(lstatSync(join(dir, 'state_c.1.arena')).isSymbolicLink(), 'the link is left as it was');
  rmSync(root, { recursive: true, force: true });
});

test('export refuses any path into the state directory (directly, through a symbolic link) and never replaces a device', async (t) => {
  const root = tempDir();
  const dir = join(root, 'state');
  const s = await ClusterState.open({ statePath: dir, clusterId: 'x' });
  s.registerNode({ id: 'n', role: 'worker' });
  await s.close();
  const before = Object.fromEntries(readdirSync(dir).map((n) => [n, readFileSync(join(dir, n)).toString('base64')]));
  const arena = readdirSync(dir).find((n) => n.endsWith('.arena'))!;
  symlinkSync(dir, join(root, 'link-to-state'));
  for (const target of [join(dir, arena), join(root, 'link-to-state', 'state_metadata.json'), join(root, 'link-to-state', 'new.json'), join(dir, '..', 'state', 'x.json')]) {
    const r = await run(['export', dir, target]);
    t.is(r.code, 2, `${relative(root, target)}: ${r.stdout}`);
    t.regex(r.stderr, /inside the state directory/);
  }
  t.deepEqual(Object.fromEntries(readdirSync(dir).map((n) => [n, readFileSync(join(dir, n)).toString('base64')])), before, 'no state file changed');
  // A device is written as a stream, never replaced by a regular file.
  const r = await run(['export', dir, '/dev/null']);
  t.is(r.code, 0, r.stderr);
  t.true(statSync('/dev/null').isCharacterDevice());
  // A symbolic link to a file outside: its target is written, the link stays a link.
  const out = join(root, 'out.json');
  writeFileSync(out, '{}');
  symlinkSync(out, join(root, 'out-link.json'));
  t.is((await run(['export', dir, join(root, 'out-link.json')])).code, 0);
  t.true(lstatSync(join(root, 'out-link.json')).isSymbolicLink());
  t.is(JSON.parse(readFileSync(out, 'utf8')).cluster_id, 'x');
  rmSync(root, { recursive: true, force: true });
});
