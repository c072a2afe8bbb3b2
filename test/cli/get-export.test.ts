// get (one node, task or content item) and export (the state as JSON to a file or stdout, never
// into the state directory).
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliFixtures, oneLine, parsed, run } from './support.js';

const f = new CliFixtures();
const { root, fx } = f;
test.before(() => f.build({ fx: true }));
test.after.always(() => f.remove());

test('get node|task|content: text, --json, NOT_FOUND', async (t) => {
  const [node, task, content, missing, badKind] = await Promise.all([
    run(['get', 'node', fx, 'w1', '--json']),
    run(['get', 'task', fx, 't-done']),
    run(['get', 'content', fx, 'c1', '--json']),
    run(['get', 'task', fx, 'no-such-task']),
    run(['get', 'gizmo', fx, 'x']),
  ]);
  t.is(node.code, 0);
  const n = parsed(node);
  t.is(n.id, 'w1');
  t.deepEqual(n.capabilities, ['gpu', 'pinning']);
  t.is(task.code, 0);
  t.regex(task.stdout, /^task t-done/);
  t.regex(task.stdout, /^ {2}status +completed$/m);
  t.regex(task.stdout, /^ {2}assigned_to +w2$/m);
  t.regex(task.stdout, /^ {2}result +\{"ok":true\}$/m);
  t.regex(task.stdout, /^ {2}completed_at +\d{4}-\d\d-\d\dT/m);
  const c = parsed(content);
  t.deepEqual(c.providers, ['w1', 'w2']);
  t.is(c.replication, 3);
  t.is(missing.code, 1);
  t.is(missing.stdout, '');
  oneLine(t, missing);
  t.regex(missing.stderr, /^cluster-state get: NOT_FOUND: no task with id "no-such-task"/);
  t.is(badKind.code, 2);
  oneLine(t, badKind);
});

test('export: to a file, to stdout, --json report; never into the state directory', async (t) => {
  const out = join(root, 'export-out.json');
  const [file, stdout, report, inside] = await Promise.all([
    run(['export', fx, out]),
    run(['export', fx, '-']),
    run(['export', fx, join(root, 'export-2.json'), '--json']),
    run(['export', fx, join(fx, 'x.json')]),
  ]);
  t.is(file.code, 0, file.stderr);
  t.regex(file.stdout, /^wrote .*export-out\.json: revision \d+ of cluster fixture, 5 nodes, 4 tasks, 3 content items/);
  const doc = JSON.parse(readFileSync(out, 'utf8'));
  t.is(doc.cluster_id, 'fixture');
  t.deepEqual(doc.nodes.map((x: { id: string }) => x.id), ['m1', 'w1', 'w2', 'w3', 'l1']);
  t.regex(doc.tasks[2].completed_at, /^\d{4}-\d\d-\d\dT.*Z$/);
  t.deepEqual(parsed(stdout), doc);
  const r = parsed(report);
  t.like(r, { cluster_id: 'fixture', revision: f.fxRevision, nodes: 5, tasks: 4, content: 3 });
  t.true(r.bytes > 0);
  t.is(inside.code, 2);
  oneLine(t, inside);
  t.false(existsSync(join(fx, 'x.json')));
});
