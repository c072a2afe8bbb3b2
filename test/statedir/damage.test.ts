// Damaged files are CORRUPT for the writer and for every reader alike — never an older, empty or
// lagging state, never a changed file (issue 10, findings 2, 5 and 6).
import test from 'ava';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState, readStateSnapshot, StateError, getClusterStatusSummary } from '../../src/index.js';
import { followState } from '../../src/follower/index.js';
import { ArenaReader } from '../../src/statedir/arena-reader.js';
import { claimedHeader, DATA_START, SLOT_OFFSETS } from '../../src/statedir/meta-slot.js';
import { JOURNAL_DATA_START } from '../../src/statedir/journal-format.js';
import { kill9, startWriter } from '../fixtures/writer-child.js';
import { run } from '../cli/support.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'acs-damage-'));
const arenas = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.arena')).sort();
const files = (dir: string) => Object.fromEntries(readdirSync(dir).filter((n) => n !== 'writer.json').map((n) => [n, createHash('sha256').update(readFileSync(join(dir, n))).digest('hex')]));

/** A closed directory at revision 55 (with a Parquet mirror). */
async function at55(clusterId = 'dmg'): Promise<string> {
  const dir = tempDir();
  const s = await ClusterState.open({ statePath: dir, clusterId });
  for (let i = 0; s.revision < 55; i++) s.registerNode({ id: `n${i}`, role: 'worker' });
  await s.close();
  return dir;
}

/** Every reader and the writer say CORRUPT, and no file changes. */
async function corruptEverywhere(t: import('ava').ExecutionContext, dir: string, pattern: RegExp, clusterId = 'dmg') {
  const before = files(dir);
  const w = await t.throwsAsync(ClusterState.open({ statePath: dir, clusterId }), { instanceOf: StateError });
  t.is(w!.code, 'CORRUPT', w!.message);
  t.regex(w!.message, pattern);
  t.is(t.throws(() => readStateSnapshot(dir), { instanceOf: StateError })!.code, 'CORRUPT');
  t.is(t.throws(() => getClusterStatusSummary(dir), { instanceOf: StateError })!.code, 'CORRUPT');
  const f = await t.throwsAsync(followState(dir), { instanceOf: StateError });
  t.is(f!.code, 'CORRUPT');
  const cli = await run(['status', dir]);
  t.is(cli.code, 1, cli.stdout);
  t.regex(cli.stderr, /CORRUPT/);
  t.deepEqual(files(dir), before, 'nothing was changed');
}

test('zeroed meta slots (the first 8 KiB) are CORRUPT, not a silently empty state; a reachable Parquet file is not imported instead', async (t) => {
  const dir = await at55();
  const arena = join(dir, arenas(dir)[0]!);
  const bytes = readFileSync(arena);
  bytes.fill(0, 0, DATA_START);
  writeFileSync(arena, bytes);
  await corruptEverywhere(t, dir, /zeroed|revision 55/);
  // Without the metadata too, the zeroed header alone is damage.
  rmSync(join(dir, 'state_metadata.json'));
  await corruptEverywhere(t, dir, /zeroed/);
  // startFresh moves the damaged files aside and starts empty.
  const s = await ClusterState.open({ statePath: dir, clusterId: 'dmg', startFresh: true, parquet: false });
  t.is(s.revision, 0);
  await s.close();
  t.true(readdirSync(dir).some((n) => /\.arena\.corrupt-/.test(n)));
  rmSync(dir, { recursive: true, force: true });
});

test('in a copied directory whose metadata names the original\'s files by absolute path, the copy reads its own files, never the original\'s', async (t) => {
  const original = await at55();
  const copy = tempDir();
  cpSync(original, copy, { recursive: true });
  const arena = join(copy, arenas(copy)[0]!);
  const bytes = readFileSync(arena);
  bytes.fill(0, 0, DATA_START);
  writeFileSync(arena, bytes);
  const originalFiles = files(original);
  await corruptEverywhere(t, copy, /zeroed|revision 55/);
  t.deepEqual(files(original), originalFiles);
  rmSync(original, { recursive: true, force: true });
  rmSync(copy, { recursive: true, force: true });
});

test('a flipped byte in the newer meta slot: the journal bridges the older checkpoint to what was acknowledged; without the journal\'s records it is CORRUPT for the writer, one-shot readers, the CLI and a fresh follower, and a follower that holds a state says so', async (t) => {
  const dir = tempDir();
  const s = await ClusterState.open({ statePath: dir, clusterId: 'dmg', parquet: false });
  s.registerNode({ id: 'a', role: 'worker' });
  await s.flush();
  await s.checkpoint();
  s.registerNode({ id: 'b', role: 'worker' });
  const rev = await s.flush();
  await s.checkpoint();
  const f = await followState(dir, { safetyPollMs: 100 });
  await f.waitFor(rev);
  // A crash right now (the arena holds two checkpoints, the journal every revision), then the newer slot is hit.
  const arena = join(dir, arenas(dir)[0]!);
  const journal = join(dir, 'state_dmg.journal');
  const crashed = readFileSync(arena);
  const crashedJournal = readFileSync(journal);
  await s.close();
  const r = new ArenaReader(dir, { policy: 'writer' });
  const newest = r.open()!;
  r.close();
  t.is(newest.slot.revision, rev);
  crashed[SLOT_OFFSETS[newest.slot.slot] + 9] ^= 0x01;
  writeFileSync(arena, crashed);
  writeFileSync(journal, crashedJournal);
  t.is(readStateSnapshot(dir)!.revision, rev, 'the older checkpoint and the journal');
  t.is(JSON.parse((await run(['status', dir, '--json'])).stdout).revision, rev);
  // The journal's records lost (its header and durable mark kept): what was acknowledged is missing.
  const error = new Promise<StateError>((resolve) => f.once('error', resolve));
  writeFileSync(journal, crashedJournal.subarray(0, JOURNAL_DATA_START));
  await corruptEverywhere(t, dir, /acknowledged/);
  t.is((await error).code, 'CORRUPT', 'the follower reports the damage');
  t.is(f.revision, rev, 'and keeps its last good state');
  await f.close();
  // Both slots damaged: still CORRUPT (never the Parquet file's revision, never −1).
  crashed[SLOT_OFFSETS[0] + 9] ^= 0x02;
  crashed[SLOT_OFFSETS[1] + 9] ^= 0x02;
  writeFileSync(arena, crashed);
  await corruptEverywhere(t, dir, /meta slot|acknowledged/);
  rmSync(dir, { recursive: true, force: true });
});

test('an arena_path naming a missing file does not make readers ignore the arena file; a metadata file naming a missing generation is CORRUPT', async (t) => {
  const dir = await at55();
  const md = JSON.parse(readFileSync(join(dir, 'state_metadata.json'), 'utf8'));
  writeFileSync(join(dir, 'state_metadata.json'), JSON.stringify({ ...md, arena_path: '/nonexistent/x.arena' }));
  t.is(readStateSnapshot(dir)!.revision, 55);
  const cli = await run(['status', dir, '--json']);
  t.is(cli.code, 0, cli.stderr);
  t.is(JSON.parse(cli.stdout).revision, 55);
  writeFileSync(join(dir, 'state_metadata.json'), JSON.stringify({ ...md, arena_generation: md.arena_generation + 1 }));
  await corruptEverywhere(t, dir, /missing/);
  rmSync(dir, { recursive: true, force: true });
});

test('the states a crash during a takeover or compaction leaves are read right: an unfinished newer generation is ignored, a finished one wins over the old file', async (t) => {
  const dir = tempDir();
  const w = startWriter(dir, 21, 'loop');
  await w.until(() => w.acks.length >= 3);
  await kill9(w);
  const [gen1] = arenas(dir);
  const gen1Bytes = readFileSync(join(dir, gen1!));
  // A new writer takes over: generation 2, and generation 1 is removed.
  const s = await ClusterState.open({ statePath: dir, clusterId: 'crash', parquet: false });
  const recovered = s.revision;
  s.registerNode({ id: 'after-takeover', role: 'worker' });
  const rev = await s.flush();
  await s.close();
  t.deepEqual(arenas(dir), ['state_crash.2.arena']);
  // As if it crashed before removing generation 1: generation 2 still wins.
  writeFileSync(join(dir, gen1!), gen1Bytes);
  t.is(readStateSnapshot(dir)!.revision, rev);
  // As if a third writer crashed right after claiming generation 3: ignored by readers.
  writeFileSync(join(dir, 'state_crash.3.arena'), claimedHeader(3));
  t.is(readStateSnapshot(dir)!.revision, rev);
  const cli = await run(['status', dir, '--json']);
  t.is(JSON.parse(cli.stdout).revision, rev);
  const again = await ClusterState.open({ statePath: dir, clusterId: 'crash', parquet: false });
  t.is(again.revision, rev);
  t.truthy(again.getNode('after-takeover'));
  t.true(recovered < rev);
  await again.close();
  t.deepEqual(arenas(dir), ['state_crash.4.arena'], 'the writer claimed past the unfinished claim and removed the older files');
  rmSync(dir, { recursive: true, force: true });
});

test('what a flush acknowledged is what readers see: kill -9 at random moments, then a one-shot read has at least the last acknowledged revision', async (t) => {
  const dir = tempDir();
  let behind = 0;
  for (let i = 0; i < 25; i++) {
    const w = startWriter(dir, 300 + i, 'loop');
    await w.until(() => w.acks.length >= 2 + (i % 4));
    await new Promise((r) => setTimeout(r, (i * 5) % 11)); // a varying moment, not synchronisation
    await kill9(w);
    const acked = Math.max(...w.acks);
    const snap = readStateSnapshot(dir)!;
    if (snap.revision < acked) behind++;
    const cli = JSON.parse((await run(['status', dir, '--json'])).stdout);
    if (cli.revision < acked) behind++;
  }
  t.is(behind, 0, 'no read was behind an acknowledged revision');
  rmSync(dir, { recursive: true, force: true });
});
