// The dashboard in a real browser (headless Chromium driven by playwright-core) against a writer
// that mutates (the demo's simulator) at scale S, through a real `cluster-state serve` child
// process: the totals equal the state, a mutation appears within 2 s, filters, sorting, paging
// and the role × status links work, and the page logs no console error.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ClusterState, findOrphanedContent, getContentAvailabilityMap, queryState } from '../../src/index.js';
import { loadSynthetic, SCALES } from '../../src/demo/synthetic.js';
import type { Live } from '../cli/support.js';
import { churn, launchBrowser, nodeRows, openDashboard, serve, testText, until, waitForText } from './support.js';

const root = mkdtempSync(join(tmpdir(), 'acs-dash-browser-'));
const dir = join(root, 'state');
let state: ClusterState;
let browser: Browser;
let srv: Live;
let url: string;
let page: Page;
let errors: string[];

test.before(async () => {
  state = await ClusterState.open({ statePath: dir, clusterId: 'browser-s', nodeId: 'node-000000' });
  await loadSynthetic(state, SCALES.S);
  await state.flush();
  [browser, { srv, url }] = await Promise.all([launchBrowser(), serve([dir])]);
  ({ page, errors } = await openDashboard(browser, url));
});

test.after.always(async () => {
  await browser?.close();
  await srv?.kill();
  await state?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Waits until the page shows revision `rev` (it shows durable revisions, pushed by the server). */
const atRevision = (rev: number) => waitForText(page, 'revision', String(rev));

const count = (q: Parameters<typeof queryState>[1]) => queryState(state, { ...q, limit: 0 }).total;

test.serial('the totals equal the state, as plain decimal text', async (t) => {
  const rev = await state.flush();
  await atRevision(rev);
  t.is(await testText(page, 'cluster-id'), 'browser-s');
  const c = state.counts;
  t.is(await testText(page, 'nodes-total'), String(c.nodes));
  t.is(await testText(page, 'tasks-total'), String(c.tasks));
  t.is(await testText(page, 'content-total'), String(c.content));
  for (const id of ['revision', 'nodes-total', 'tasks-total', 'content-total']) t.regex(await testText(page, id), /^\d+$/, id);
  t.is(await testText(page, 'queue-pending'), String(count({ from: 'tasks', where: { status: 'pending' } })));
  for (const g of queryState(state, { from: 'nodes', groupBy: ['role', 'status'] }).groups!) {
    t.is(await testText(page, `matrix-${g.role}-${g.status}`), String(g.count), `${g.role} × ${g.status}`);
  }
  // Content health is recomputed on a slower cadence: wait for it to reach this revision.
  await page.waitForFunction((r) => (globalThis as any).document.getElementById('health-asof')?.textContent?.startsWith(`as of revision ${r} `), rev, { timeout: 20_000 });
  const avail = Object.values(getContentAvailabilityMap(state));
  t.is(await testText(page, 'under-replicated'), String(avail.filter((a) => (a.shortfall ?? 0) > 0).length));
  t.is(await testText(page, 'orphaned'), String(findOrphanedContent(state).length));
  // The chart is drawn (uPlot's canvas), the table shows its first page.
  t.true(await page.locator('[data-testid="tasks-chart"] canvas').count() > 0);
  t.is((await nodeRows(page)).length, 50);
  t.deepEqual(errors, []);
});

test.serial('a mutation appears on the page within 2 s', async (t) => {
  const before = state.counts.nodes;
  const latencies: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    state.registerNode({ id: `probe-${i}`, role: 'worker', resources: { cpu: 2, memory: '2GiB' } });
    const rev = state.revision;
    // No flush() here: the writer makes each revision durable on its own, the follower sees it,
    // the server pushes the update: the whole path is timed.
    await page.waitForFunction(([r, n]) => {
      const d = (globalThis as any).document;
      return d.querySelector('[data-testid="revision"]')?.textContent === String(r) && d.querySelector('[data-testid="nodes-total"]')?.textContent === String(n);
    }, [rev, before + i + 1] as const, { timeout: 10_000, polling: 'raf' });
    latencies.push(performance.now() - t0);
  }
  t.log(`mutation → page: ${latencies.map((x) => x.toFixed(0)).join(', ')} ms`);
  for (const ms of latencies) t.true(ms < 2000, `${ms.toFixed(0)} ms`);
  // The change set is in the feed, and the node can be found with the id filter.
  t.true(await page.locator('[data-testid="feed-item"]', { hasText: 'probe-4' }).count() > 0);
  await page.getByTestId('filter-prefix').fill('probe-');
  await waitForText(page, 'nodes-matching', '5');
  t.deepEqual((await nodeRows(page)).map((r) => r.id), ['probe-0', 'probe-1', 'probe-2', 'probe-3', 'probe-4']);
  await page.getByTestId('filter-prefix').fill('');
  await waitForText(page, 'nodes-matching', String(state.counts.nodes));
  t.deepEqual(errors, []);
});

test.serial('filters: role, status and capability narrow the table to what the state holds', async (t) => {
  await page.getByTestId('filter-role').selectOption('leecher');
  await waitForText(page, 'nodes-matching', String(count({ from: 'nodes', where: { role: 'leecher' } })));
  let rows = await nodeRows(page);
  t.true(rows.length > 0);
  t.true(rows.every((r) => r.role === 'leecher'));
  await page.getByTestId('filter-status').selectOption('offline');
  await waitForText(page, 'nodes-matching', String(count({ from: 'nodes', where: { role: 'leecher', status: 'offline' } })));
  rows = await nodeRows(page);
  t.true(rows.length > 0);
  t.true(rows.every((r) => r.role === 'leecher' && r.status === 'offline'));
  await page.getByTestId('filter-role').selectOption('');
  await page.getByTestId('filter-status').selectOption('');
  await page.getByTestId('filter-capability').fill('gpu');
  const gpu = count({ from: 'nodes', where: { capabilities: 'gpu' } });
  t.true(gpu > 50, 'more than a page of gpu nodes');
  await waitForText(page, 'nodes-matching', String(gpu));
  rows = await nodeRows(page);
  t.is(rows.length, 50);
  t.true(rows.every((r) => r.caps.split(', ').includes('gpu')));
  await page.getByTestId('filter-capability').fill('');
  await waitForText(page, 'nodes-matching', String(state.counts.nodes));
  // A role × status count lists those nodes.
  await page.getByTestId('matrix-worker-degraded').click();
  await waitForText(page, 'nodes-matching', String(count({ from: 'nodes', where: { role: 'worker', status: 'degraded' } })));
  t.true((await nodeRows(page)).every((r) => r.role === 'worker' && r.status === 'degraded'));
  t.is(await page.getByTestId('filter-role').inputValue(), 'worker');
  await page.getByTestId('filter-role').selectOption('');
  await page.getByTestId('filter-status').selectOption('');
  await waitForText(page, 'nodes-matching', String(state.counts.nodes));
  t.deepEqual(errors, []);
});

test.serial('sorting by a column and paging show the query\'s rows in its order', async (t) => {
  const ids = async () => (await nodeRows(page)).map((r) => r.id);
  const want = (orderBy: string, cursor?: string) => queryState(state, { from: 'nodes', orderBy, limit: 50, ...(cursor ? { cursor } : {}) });
  const waitIds = (expected: unknown[]) => until(async () => {
    const got = await ids();
    return JSON.stringify(got) === JSON.stringify(expected) ? got : undefined;
  }, `rows ${String(expected[0])}…`);
  const cpu = page.locator('th[data-sort="resources.cpu_count"]');
  await cpu.click();
  const asc = want('resources.cpu_count');
  await waitIds(asc.rows!.map((r) => r.id));
  t.is(await cpu.getAttribute('aria-sort'), 'ascending');
  const cpus = (await nodeRows(page)).map((r) => Number(r.cpu.replace(/,/g, '')));
  t.deepEqual(cpus, [...cpus].sort((a, b) => a - b));
  await cpu.click();
  const desc = want('-resources.cpu_count');
  await waitIds(desc.rows!.map((r) => r.id));
  t.is(await cpu.getAttribute('aria-sort'), 'descending');
  // Next page: the query's second page; previous: the first again.
  await page.getByTestId('page-next').click();
  await waitIds(want('-resources.cpu_count', desc.cursor!).rows!.map((r) => r.id));
  t.regex(await page.locator('#page-info').textContent() ?? '', /^rows 51–100 of /);
  await page.getByTestId('page-prev').click();
  await waitIds(desc.rows!.map((r) => r.id));
  // Back to the default order.
  await page.locator('th[data-sort="id"]').click();
  await waitIds(want('id').rows!.map((r) => r.id));
  t.deepEqual(errors, []);
});

test.serial('under churn the page follows the writer: after it stops, every total equals the state', async (t) => {
  const c = churn(state, 200);
  const start = state.revision;
  // The page keeps moving while the writer mutates...
  await page.waitForFunction((r) => Number((globalThis as any).document.querySelector('[data-testid="revision"]')?.textContent) > r + 100, start, { timeout: 20_000 });
  c.stop();
  const rev = await state.flush();
  t.true(c.sim.stats.mutations > 100);
  // ... and settles on the final revision with the final totals.
  await atRevision(rev);
  const n = state.counts;
  t.is(await testText(page, 'nodes-total'), String(n.nodes));
  t.is(await testText(page, 'tasks-total'), String(n.tasks));
  t.is(await testText(page, 'content-total'), String(n.content));
  t.is(await testText(page, 'queue-pending'), String(count({ from: 'tasks', where: { status: 'pending' } })));
  t.true(await page.locator('[data-testid="feed-item"]').count() <= 50, 'the feed is capped');
  t.true(await page.locator('[data-testid="feed-item"]').count() > 0);
  t.deepEqual(errors, []);
});
