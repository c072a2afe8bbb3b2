// Shared by the replication tests: temporary directories, line-reading children, and comparing a
// follower's rows with the master's.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import type { Table } from 'apache-arrow';
import { LEECHER_FIELDS } from '../../src/replicate/leecher-view.js';
import { rowDiff, rowsOf, type Rows } from '../fixtures/change-replay.js';

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** The rows a child printed, back as Rows. */
export function rowsFrom(printed: Record<string, [string, string][]>): Rows {
  return { nodes: new Map(printed.nodes), tasks: new Map(printed.tasks), content: new Map(printed.content) };
}

/** What is wrong with a leecher's rows against the master's tables: its projection, exactly. */
export function leecherProblems(leecher: Rows, master: { nodes: Table; tasks: Table; content: Table }): string[] {
  const want = rowsOf(master);
  const problems: string[] = [];
  if (leecher.tasks.size) problems.push(`the leecher holds ${leecher.tasks.size} tasks`);
  for (const kind of ['nodes', 'content'] as const) {
    if (leecher[kind].size !== want[kind].size) problems.push(`${kind}: ${leecher[kind].size} rows, the master has ${want[kind].size}`);
    for (const [id, json] of want[kind]) {
      const got = leecher[kind].get(id);
      if (!got) {
        problems.push(`${kind} ${id} missing`);
        continue;
      }
      const g = JSON.parse(got) as Record<string, unknown>;
      const w = JSON.parse(json) as Record<string, unknown>;
      for (const f of LEECHER_FIELDS[kind]) if (JSON.stringify(g[f]) !== JSON.stringify(w[f])) problems.push(`${kind} ${id}.${f}: ${JSON.stringify(g[f])} != ${JSON.stringify(w[f])}`);
      for (const [f, v] of Object.entries(g)) {
        if (LEECHER_FIELDS[kind].includes(f)) continue;
        const empty = v === null || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.values(v as object).every((x) => x === null));
        if (!empty) problems.push(`${kind} ${id}.${f} = ${JSON.stringify(v)}: outside the leecher projection`);
      }
    }
  }
  return problems.slice(0, 10);
}

export { rowDiff, rowsOf };

/** A child printing NDJSON lines, driven by stdin lines. */
export interface LineChild<L extends { t: string }> {
  proc: ChildProcess;
  lines: L[];
  until(pred: (l: L) => boolean): Promise<L>;
  send(line: string): void;
  stop(): Promise<number | null>;
  stderr(): string;
}

export function startLineChild<L extends { t: string }>(script: string, args: string[]): LineChild<L> {
  const proc = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: L[] = [];
  const waiting: { pred: (l: L) => boolean; resolve: (l: L) => void }[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += String(d)));
  createInterface({ input: proc.stdout! }).on('line', (text) => {
    const line = JSON.parse(text) as L;
    lines.push(line);
    for (const w of waiting.splice(0)) (w.pred(line) ? w.resolve(line) : waiting.push(w));
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    proc, lines,
    stderr: () => stderr,
    send: (line) => proc.stdin!.write(`${line}\n`),
    until: (pred) => {
      const hit = lines.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        waiting.push({ pred, resolve });
        void exited.then((code) => reject(new Error(`child ${script} exited (${code}) before the expected line; last lines ${JSON.stringify(lines.slice(-3))}; stderr: ${stderr.slice(-2000)}`)));
      });
    },
    stop: async () => {
      proc.stdin!.end();
      const t = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** A loopback TCP port free now (for cluster routes, which must be known before the servers start; or a port nobody listens on). */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
