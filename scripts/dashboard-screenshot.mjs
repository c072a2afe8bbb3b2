#!/usr/bin/env node
// Takes docs/dashboard.png: the dashboard of a synthetic cluster at scale S (1,000 nodes, 10,000
// tasks, 10,000 content items) after some seconds of the demo's simulated churn, in headless
// Chromium (Debian package `chromium`; CHROMIUM_PATH overrides). Run `npm run build` first.
//   node scripts/dashboard-screenshot.mjs [out.png] [seconds]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ClusterState } from '../dist/src/index.js';
import { loadSynthetic, SCALES } from '../dist/src/demo/synthetic.js';
import { Simulator } from '../dist/src/demo/simulator.js';
import { startDashboard } from '../dist/src/dashboard/server.js';

const out = process.argv[2] ?? new URL('../docs/dashboard.png', import.meta.url).pathname;
const seconds = Number(process.argv[3] ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'acs-shot-'));
const state = await ClusterState.open({ statePath: dir, clusterId: 'demo-s', nodeId: 'node-000000' });
let dash;
let browser;
let ticker;
try {
  await loadSynthetic(state, SCALES.S);
  await state.flush();
  dash = await startDashboard({ source: state });
  const sim = new Simulator(state, { rate: 100, seed: 7 });
  let last = Date.now();
  ticker = setInterval(() => {
    const now = Date.now();
    sim.tick(now, Math.min(now - last, 500));
    last = now;
  }, 50);
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' });
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(dash.url);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  clearInterval(ticker);
  await browser?.close();
  await dash?.close();
  await state.close();
  rmSync(dir, { recursive: true, force: true });
}
