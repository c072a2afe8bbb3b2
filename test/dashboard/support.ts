// Shared by the dashboard tests: `cluster-state serve` as a real child process, headless Chromium
// (Debian's `chromium`, installed by scripts/ensure-chromium.mjs) driven by playwright-core, the
// demo's simulator as a writer that mutates, and waiting for conditions with a deadline.
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ClusterState } from '../../src/index.js';
import { Simulator } from '../../src/demo/simulator.js';
import { Live } from '../cli/support.js';

/** The browser the tests drive (CHROMIUM_PATH overrides Debian's path). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless Chromium; `--enable-precise-memory-info` makes performance.memory exact. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--enable-precise-memory-info'] });
}

/** `cluster-state serve <args> --port 0 --json`, once it listens. */
export async function serve(args: string[]): Promise<{ srv: Live; url: string; info: Record<string, string> }> {
  const srv = new Live(['serve', ...args, '--port', '0', '--json']);
  const info = await srv.json<Record<string, string>>((v) => typeof v.url === 'string', 60_000, 'the startup line');
  return { srv, url: info.url!, info };
}

/** A page of the dashboard at `url`, with every console error and uncaught exception collected. */
export async function openDashboard(browser: Browser, url: string, viewport = { width: 1400, height: 1000 }): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // The event stream is aborted when the page closes; anything else failing is an error.
    if (!r.url().endsWith('/events')) errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  await page.goto(url);
  return { page, errors };
}

/** The text of the element with data-testid `id`. */
export async function testText(page: Page, id: string): Promise<string> {
  return (await page.getByTestId(id).first().textContent()) ?? '';
}

/** Waits until the element with data-testid `id` shows `text` (the page's updates are pushed, not polled). */
export async function waitForText(page: Page, id: string, text: string, timeoutMs = 20_000): Promise<void> {
  await page.waitForFunction(([i, t]) => (globalThis as any).document.querySelector(`[data-testid="${i}"]`)?.textContent === t, [id, text] as const, { timeout: timeoutMs, polling: 'raf' });
}

/** Polls `fn` until it returns a value other than undefined; rejects with `what` after timeoutMs. */
export async function until<T>(fn: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The demo's simulated cluster on `state`, ticking every 50 ms as `cluster-state demo` does, until stopped. */
export function churn(state: ClusterState, rate = 100, seed = 3): { sim: Simulator; stop(): void } {
  const sim = new Simulator(state, { rate, seed });
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    sim.tick(now, Math.min(now - last, 500));
    last = now;
  }, 50);
  return { sim, stop: () => clearInterval(timer) };
}

/** The rows of the nodes table as the page shows them: id, role, status, CPU and capabilities. */
export function nodeRows(page: Page): Promise<{ id: string; role: string; status: string; cpu: string; caps: string }[]> {
  return page.$$eval('[data-testid="node-row"]', (trs) => trs.map((tr) => {
    const td = [...tr.querySelectorAll('td')].map((c) => c.textContent ?? '');
    return { id: td[0]!, role: td[1]!, status: td[2]!, cpu: td[3]!, caps: td[7]! };
  }));
}

/** Reads one server-sent event stream: every event as `{ event, id, data }`, until aborted. */
export class EventReader {
  readonly events: { event: string; id: string | null; data: any }[] = [];
  private readonly abort = new AbortController();
  readonly done: Promise<void>;

  constructor(url: string) {
    this.done = (async () => {
      const res = await fetch(url, { signal: this.abort.signal });
      if (!res.ok || !res.body) throw new Error(`GET ${url}: ${res.status}`);
      const decoder = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(chunk, { stream: true });
          let at: number;
          while ((at = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, at);
            buf = buf.slice(at + 2);
            let event = 'message';
            let id: string | null = null;
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('id: ')) id = line.slice(4);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (data) this.events.push({ event, id, data: JSON.parse(data) });
          }
        }
      } catch (e) {
        if ((e as Error).name !== 'AbortError') throw e;
      }
    })();
  }

  /** Resolves with the first event (already read or to come) passing `test`. */
  next(test: (e: { event: string; id: string | null; data: any }) => boolean, what: string, timeoutMs = 20_000) {
    return until(() => this.events.find(test), what, timeoutMs);
  }

  close(): void {
    this.abort.abort();
  }
}
