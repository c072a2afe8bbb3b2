// The command line on untrusted data, as real child processes: a Parquet file another tool wrote
// may hold ids with terminal escape sequences (ESC, CSI, OSC), newlines or NUL — the CLI reads it
// directly (it never imports), so every human-readable line escapes control characters and
// --json stays valid JSON with no raw control character; `serve` answers a request target that is
// not a URL with 400, not 503.
import test from 'ava';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Live, run, type Result } from './support.js';
import { seedTable, writeStateParquet } from '../helpers/support.js';

const root = mkdtempSync(join(tmpdir(), 'acs-cli-untrusted-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

const ESC_ID = 'evil\u001b[2J\u001b]0;pwned\u0007';
const NL_ID = 'two\nlines';
const C1_ID = 'csi\u009b31m';
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

const file = writeStateParquet(seedTable({
  cluster_id: 'untrusted\u001b[31m', master_id: ESC_ID,
  nodes: [
    { id: ESC_ID, role: 'master', status: 'online', peers: [NL_ID], capabilities: ['cap\u0000x'], resources: { cpu_count: 2 } },
    { id: NL_ID, role: 'worker', status: 'online', peers: [], capabilities: [], resources: null },
    { id: C1_ID, role: 'worker', status: 'offline', peers: [], capabilities: [], resources: null },
  ],
  tasks: [{ id: 'task\u001b[1m', type: 'type\u001b[5m', status: 'running', created_at: 1_700_000_000_000, updated_at: 1_700_000_000_000, assigned_to: NL_ID, resources: null, input_cid: null, output_cid: null, input_cids: [], output_cids: [] }],
  content: [{ cid: `Qm${ESC_ID}`, size: 1, created_at: 1_700_000_000_000, providers: [ESC_ID], pinned: true, replication: 1 }],
}), root, 'untrusted');

/** No raw control character but the line breaks of the layout; the escapes are shown instead. */
function checkText(t: { false(v: boolean, m?: string): void; true(v: boolean, m?: string): void }, r: Result, shown: string[]): void {
  t.false(RAW_CONTROL.test(r.stdout), `stdout holds a raw control character: ${JSON.stringify(r.stdout)}`);
  t.false(RAW_CONTROL.test(r.stderr), `stderr holds a raw control character: ${JSON.stringify(r.stderr)}`);
  for (const s of shown) t.true(r.stdout.includes(s) || r.stderr.includes(s), `output should show ${JSON.stringify(s)}: ${JSON.stringify(r.stdout + r.stderr)}`);
}

test('nodes, tasks, content, status and get print escapes, never the raw control characters', async (t) => {
  const nodes = await run(['nodes', file]);
  t.is(nodes.code, 0, nodes.stderr);
  checkText(t, nodes, ['evil\\u001b[2J\\u001b]0;pwned\\u0007', 'two\\u000alines', 'csi\\u009b31m']);
  t.is(nodes.stdout.split('\n').filter(Boolean).length, 1 + 3 + 1, 'one line per node: a newline in an id does not split its row');
  const tasks = await run(['tasks', file]);
  checkText(t, tasks, ['task\\u001b[1m', 'type\\u001b[5m', 'two\\u000alines']);
  const content = await run(['content', file]);
  checkText(t, content, ['Qmevil\\u001b[2J']);
  const status = await run(['status', file]);
  t.is(status.code, 0, status.stderr);
  checkText(t, status, ['untrusted\\u001b[31m', 'master evil\\u001b[2J']);
  const get = await run(['get', 'node', file, ESC_ID]);
  t.is(get.code, 0, get.stderr);
  checkText(t, get, ['node evil\\u001b[2J', 'two\\u000alines', 'cap\\u0000x']);
  const missing = await run(['get', 'task', file, 'no\u001b[2Jsuch']);
  t.is(missing.code, 1);
  checkText(t, missing, ['NOT_FOUND', 'no\\u001b[2Jsuch']);
});

test('--json output is valid JSON holding the exact ids, with no raw control character', async (t) => {
  for (const args of [['nodes', file, '--json'], ['tasks', file, '--json'], ['get', 'node', file, C1_ID, '--json'], ['status', file, '--json']]) {
    const r = await run(args);
    t.is(r.code, 0, r.stderr);
    t.false(RAW_CONTROL.test(r.stdout), `${args.join(' ')}: ${JSON.stringify(r.stdout.slice(0, 300))}`);
    const v = JSON.parse(r.stdout);
    if (args[0] === 'nodes') t.deepEqual(v.items.map((n: { id: string }) => n.id), [ESC_ID, NL_ID, C1_ID]);
    if (args[0] === 'get') t.is(v.id, C1_ID);
    if (args[0] === 'status') t.is(v.cluster_id, 'untrusted\u001b[31m');
  }
});

/** One raw HTTP/1.1 request with the given request target; resolves with the status and body. */
function rawGet(port: number, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'GET', path: target });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('serve: a request target that is not a URL ("GET http://[") is 400 with a message, and the server keeps serving', async (t) => {
  const srv = new Live(['serve', file, '--port', '0', '--json']);
  t.teardown(() => void srv.kill());
  const { url } = await srv.json<{ url: string }>((v) => typeof v.url === 'string');
  const port = Number(new URL(url).port);
  const bad = await rawGet(port, 'http://[');
  t.is(bad.status, 400);
  t.regex(bad.body, /bad request target "http:\/\/\[": not a URL path/);
  const ok = await rawGet(port, '/api/summary');
  t.is(ok.status, 200);
  t.is(JSON.parse(ok.body).cluster_id, 'untrusted\u001b[31m');
  t.false(RAW_CONTROL.test(srv.stderr), srv.stderr);
  await srv.kill();
});
