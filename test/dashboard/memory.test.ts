// The dashboard at M (10,000 nodes, 100,000 tasks, 100,000 content items) under a minute of the
// demo's churn: the page's JS heap and DOM stay bounded, it only ever asks for one visible page
// of rows, and it keeps following the writer (how long a mutation takes to show is reported).
//
// The bound: what the page keeps is capped by construction — the chart's ≤ 600 samples × 7
// columns (~35 KB), ≤ 50 feed rows, one table page (≤ 100 rows), a few dozen text nodes — so
// after a forced GC its heap must come back to where it was. A leak of 10 KB per update (one
// feed row's worth) over a minute's ~200 updates would be 2 MB; the bound is 2 MiB of growth
// (the measurement's own noise after GC is ~0.2 MB here).
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState } from '../../src/index.js';
import { loadSynthetic, SCALES } from '../../src/demo/synthetic.js';
import { churn, EventReader, launchBrowser, openDashboard, serve, testText } from './support.js';

const CHURN_MS = 60_000;
const MAX_GROWTH = 2 * 2 ** 20;

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

test('at M under a minute of churn: bounded page heap and DOM, only visible pages fetched, updates keep coming', async (t) => {
  t.timeout(240_000);
  const root = mkdtempSync(join(tmpdir(), 'acs-dash-m-'));
  const state = await ClusterState.open({ statePath: join(root, 'state'), clusterId: 'browser-m', nodeId: 'node-000000' });
  const browser = await launchBrowser();
  t.teardown(async () => {
    await browser.close();
    await state.close();
    rmSync(root, { recursive: true, force: true });
  });
  const p0 = performance.now();
  await loadSynthetic(state, SCALES.M);
  const rev0 = await state.flush();
  t.log(`M prepared in ${((performance.now() - p0) / 1000).toFixed(1)} s`);
  const { srv, url } = await serve([join(root, 'state')]);
  t.teardown(() => void srv.kill());
  const { page, errors } = await openDashboard(browser, url);
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const measure = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const { metrics } = await cdp.send('Performance.getMetrics');
    const m = Object.fromEntries(metrics.map((x: { name: string; value: number }) => [x.name, x.value]));
    // The document's own nodes (CDP's Nodes metric also counts detached nodes Blink has not swept yet).
    const nodes = await page.evaluate(() => {
      const d = (globalThis as any).document;
      const w = d.createTreeWalker(d, 0xffffffff);
      let n = 0;
      while (w.nextNode()) n++;
      return n;
    });
    return { heap: m.JSHeapUsedSize!, nodes, listeners: m.JSEventListeners! };
  };
  await page.waitForFunction((r) => Number((globalThis as any).document.querySelector('[data-testid="revision"]')?.textContent) >= r, rev0, { timeout: 60_000 });
  t.is(await testText(page, 'tasks-total'), '100000');

  const es = new EventReader(`${url}/events`);
  t.teardown(() => es.close());
  const c = churn(state, 100);
  t.teardown(() => c.stop());
  // Warm up (JIT, the table's first pages, the chart's canvas), then the baseline.
  await page.waitForFunction((r) => Number((globalThis as any).document.querySelector('[data-testid="revision"]')?.textContent) > r + 1000, rev0, { timeout: 60_000 });
  const cpu0 = cpuSeconds(srv.child.pid!);
  const updates0 = es.events.length;
  const start = await measure();
  const revStart = Number(await testText(page, 'revision'));
  const samples = [start];
  const t0 = Date.now();
  // How long a mutation takes to reach the page halfway through (nodes-total: the simulator never
  // adds or removes nodes, so only this changes it). Measured and reported, not bounded here: the
  // demo's simulator makes every mutation its own revision (~6,000 a second at M), and on a
  // 2-core machine the writer, the server and the browser share the cores; the 2 s bound is
  // asserted at S (browser.test.ts). docs/dashboard.md gives the figures.
  let latency = -1;
  while (Date.now() - t0 < CHURN_MS) {
    // The minute of churn is the measurement's duration (not a synchronisation): a sample every 10 s.
    await new Promise<void>((resolve) => setTimeout(resolve, 10_000));
    samples.push(await measure());
    if (latency < 0 && Date.now() - t0 > CHURN_MS / 2) {
      const before = Number(await testText(page, 'nodes-total'));
      const m0 = performance.now();
      state.registerNode({ id: 'probe-m', role: 'worker' });
      await page.waitForFunction((n) => (globalThis as any).document.querySelector('[data-testid="nodes-total"]')?.textContent === String(n), before + 1, { timeout: 20_000, polling: 'raf' });
      latency = performance.now() - m0;
    }
  }
  const end = await measure();
  const cpu = cpuSeconds(srv.child.pid!) - cpu0;
  const updates = es.events.length - updates0;
  const revEnd = Number(await testText(page, 'revision'));
  c.stop();
  const mb = (x: number) => (x / 2 ** 20).toFixed(2);
  t.log(`page heap after GC (MB): ${samples.map((s) => mb(s.heap)).join(' → ')} → ${mb(end.heap)}; DOM nodes ${start.nodes} → ${end.nodes}; listeners ${start.listeners} → ${end.listeners}`);
  t.log(`${c.sim.stats.mutations} mutations, revisions ${revStart} → ${revEnd} on the page, ${updates} updates; server CPU ${cpu.toFixed(1)} s (${((cpu / updates) * 1000).toFixed(0)} ms per update); mutation → page under churn ${latency.toFixed(0)} ms`);
  t.true(end.heap - start.heap < MAX_GROWTH, `heap grew ${mb(end.heap - start.heap)} MB`);
  t.true(end.nodes <= start.nodes * 1.2 + 200, `DOM nodes ${start.nodes} → ${end.nodes}`);
  t.true(end.listeners <= start.listeners + 20, `listeners ${start.listeners} → ${end.listeners}`);
  t.true(revEnd > revStart + 1000, 'the page kept following the writer');
  t.true(updates > 10, `${updates} updates in a minute`);
  t.true(latency >= 0, 'the mutation reached the page');
  // The page never lists the state: every API request it made asks for one page (≤ 100 rows).
  const api = requests.filter((u) => u.includes('/api/'));
  t.true(api.length > 0);
  for (const u of api) {
    const limit = new URL(u).searchParams.get('limit');
    t.true(limit !== null && Number(limit) <= 100, u);
  }
  t.deepEqual(errors, []);
});
