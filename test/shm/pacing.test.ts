// Adaptive publishing (options.publishing): an idle writer publishes a commit in the next turn;
// a busy one folds the commits of many turns into one publish; { maxShare: 1 } publishes every
// turn; bad values are INVALID_ARGUMENT.
import test from 'ava';
import { ClusterState, StateError } from '../../src/index.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const idle = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A writer with enough rows that a publish costs something. */
function loaded(options: Record<string, unknown> = {}): ClusterState {
  const s = ClusterState.inMemory({ clusterId: 'pace', scrub: false, queryThreads: 1, ...options });
  s.transaction(() => {
    for (let i = 0; i < 20_000; i++) s.registerNode({ id: `n${i}`, role: 'worker', resources: { cpu: 4, memory: '8GiB' } });
  });
  return s;
}

test('an idle writer publishes a commit in the next turn (every time, after a pause longer than maxDelayMs)', async (t) => {
  const s = loaded();
  await s.published();
  for (let i = 0; i < 20; i++) {
    await idle(25); // longer than the default maxDelayMs (20): the writer is idle whatever the last publish cost
    s.heartbeat(`n${i}`);
    t.true(s.publishedRevision < s.revision, 'not yet: publishing happens after the turn');
    await nextTurn();
    t.is(s.publishedRevision, s.revision, `commit ${i} visible after one turn`);
  }
  await s.close();
});

test('under load, the commits of many turns are folded into one publish; every commit becomes visible', async (t) => {
  const s = loaded();
  await s.published();
  const before = s.memoryStats().publications;
  const turns = 2000;
  for (let i = 0; i < turns; i++) {
    s.heartbeat(`n${(i * 7919) % 20_000}`);
    await nextTurn();
  }
  const last = s.revision;
  t.is(await s.published(), last);
  const publications = s.memoryStats().publications - before;
  t.log(`${turns} turns with a commit each, ${publications} publications`);
  t.true(publications < turns / 2, `${publications} publications for ${turns} turns`);
  await s.close();
});

test('{ maxShare: 1 } publishes every turn that committed something', async (t) => {
  const s = loaded({ publishing: { maxShare: 1 } });
  await s.published();
  for (let i = 0; i < 200; i++) {
    s.heartbeat(`n${i}`);
    await nextTurn();
    t.is(s.publishedRevision, s.revision);
  }
  await s.close();
});

test('options.publishing: maxShare in (0, 1], maxDelayMs a whole number of ms, no other keys', (t) => {
  const bad: [unknown, RegExp][] = [
    [{ maxShare: 0 }, /options\.publishing\.maxShare/],
    [{ maxShare: 1.5 }, /options\.publishing\.maxShare/],
    [{ maxShare: Number.NaN }, /options\.publishing\.maxShare/],
    [{ maxShare: '0.5' }, /options\.publishing\.maxShare/],
    [{ maxDelayMs: -1 }, /options\.publishing\.maxDelayMs/],
    [{ maxDelayMs: 2.5 }, /options\.publishing\.maxDelayMs/],
    [{ delay: 1 }, /options\.publishing/],
    ['fast', /options\.publishing/],
  ];
  for (const [publishing, pattern] of bad) {
    const e = t.throws(() => ClusterState.inMemory({ clusterId: 'x', publishing } as never), { instanceOf: StateError }, JSON.stringify(publishing));
    t.is(e!.code, 'INVALID_ARGUMENT');
    t.regex(e!.message, pattern);
  }
});
