// The lists' query flags (--where, --sort, --limit, --cursor, --count) and `cluster-state query`
// on a state directory written by a real writer; bad filters are usage errors quoting them.
import test from 'ava';
import { CliFixtures, ids, noStack, oneLine, parsed, run } from './support.js';

const f = new CliFixtures();
const { fx } = f;
test.before(() => f.build({ fx: true }));
test.after.always(() => f.remove());

test('--where filters on nested fields, lists, lengths, field comparisons and sets; --sort orders', async (t) => {
  const [cpu, caps, under, sets, sorted, combined, count, bigger] = await Promise.all([
    run(['nodes', fx, '--where', 'resources.cpu_count>=4', '--where', 'status=online', '--json']),
    run(['nodes', fx, '--where', 'capabilities~gpu', '--json']),
    run(['content', fx, '--where', 'length(providers)<@replication', '--json']),
    run(['tasks', fx, '--where', 'status=running,failed', '--sort', 'id', '--json']),
    run(['nodes', fx, '--sort', '-resources.memory_available', '--limit', '3', '--json']),
    run(['tasks', fx, '--status', 'failed', '--where', 'type=analyze', '--json']),
    run(['content', fx, '--where', 'size>1KiB', '--count']),
    run(['content', fx, '--where', 'size>=1MiB', '--sort', '-size']),
  ]);
  t.deepEqual(ids(cpu), ['m1', 'w1', 'w2']);
  t.deepEqual(ids(caps), ['w1']);
  t.deepEqual(ids(under, 'cid'), ['c1', 'c3']);
  t.deepEqual(ids(sets), ['t-failed', 't-running']);
  t.deepEqual(ids(sorted), ['m1', 'w1', 'w2']); // 8 GiB free each: ties by id
  t.deepEqual(ids(combined), ['t-failed']);
  t.is(count.code, 0, count.stderr);
  t.is(count.stdout, '2\n');
  t.regex(bigger.stdout, /^c1 +1\.00 MiB +yes +2\/3 /m);
  t.regex(bigger.stdout, /^1 content items \(revision \d+\)$/m);
});

test('--limit and --cursor page through in order, each record once', async (t) => {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 5; page++) {
    const r = await run(['tasks', fx, '--limit', '3', '--sort', '-type', '--json', ...(cursor ? ['--cursor', cursor] : [])]);
    t.is(r.code, 0, r.stderr);
    const p = parsed(r);
    seen.push(...(p.items as { id: string }[]).map((x) => x.id));
    cursor = p.cursor;
    if (cursor === null) break;
  }
  t.deepEqual(seen, ['t-done', 't-pending', 't-running', 't-failed']); // type descending (process ×2, model_training, analyze), ties by id
});

test('cluster-state query runs any query and prints JSON', async (t) => {
  const r = await run(['query', fx, '{"from":"tasks","groupBy":"type","aggregates":["count","sum(resources.cpu_cores)"],"orderBy":"-count"}', '--compact']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.split('\n').filter(Boolean).length, 1);
  const out = JSON.parse(r.stdout);
  t.is(out.total, 4);
  t.deepEqual(out.groups, [
    { type: 'process', count: 2, 'sum(resources.cpu_cores)': 0 },
    { type: 'analyze', count: 1, 'sum(resources.cpu_cores)': 0 },
    { type: 'model_training', count: 1, 'sum(resources.cpu_cores)': 2 },
  ]);
});

const BAD: [string[], RegExp][] = [
  [['nodes', fx, '--where', 'cpu>=4'], /--where "cpu>=4": nodes have no field "cpu" \(fields: id, role/],
  [['nodes', fx, '--where', 'status'], /--where "status": expected FIELD OP VALUE/],
  [['nodes', fx, '--where', 'resources.cpu_count>=four'], /resources\.cpu_count is a number: give a number, a size such as 4GiB or null, got "four"/],
  [['content', fx, '--where', 'pinned=yes'], /pinned is a boolean: give true or false, got "yes"/],
  [['nodes', fx, '--where', 'id<@resources.cpu_count'], /where\.id\.lt must be a field comparable with id/],
  [['nodes', fx, '--sort', 'peers'], /orderBy\[0\] must be a text, number or boolean field \(peers is a list\)/],
  [['nodes', fx, '--limit', '2', '--cursor', 'garbage'], /cursor must be the cursor string of a previous page/],
  [['query', fx, '{"from":'], /<json> must be a query in JSON/],
  [['query', fx, '{"from":"nodes","limit":-5}'], /query\.limit must be a whole number ≥ 0.*got -5/],
];

for (const [args, message] of BAD) {
  test(`a bad query on the command line is a usage error: ${args.slice(2).join(' ')}`, async (t) => {
    const r = await run(args);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, message);
    t.true(noStack(r));
    oneLine(t, r);
  });
}
