// Shared by the cluster tests that run the command line's parts as real processes
// (`cluster-state master`, `agent`, `demo --nats`), each printing one JSON object per line.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mainJs } from '../cli/support.js';

export type Line = Record<string, unknown>;

export interface Proc {
  p: ChildProcess;
  lines: Line[];
  stderr(): string;
  /** The first line (already printed or to come) matching `pred`; rejects when the process exits first or after `timeoutMs`. */
  until(pred: (l: Line) => boolean, timeoutMs?: number): Promise<Line>;
  exited: Promise<number | null>;
}

/** Runs `cluster-state <args> --json`. */
export function run(args: string[]): Proc {
  const p = spawn(process.execPath, [mainJs, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Line[] = [];
  const waiting: { pred: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr += String(d)));
  createInterface({ input: p.stdout! }).on('line', (text) => {
    const l = JSON.parse(text) as Line;
    lines.push(l);
    for (const w of waiting.splice(0)) (w.pred(l) ? w.resolve(l) : waiting.push(w));
  });
  const exited = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  return {
    p, lines, exited,
    stderr: () => stderr,
    until: (pred, timeoutMs = 30_000) => {
      const hit = lines.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such line within ${timeoutMs} ms; last ${JSON.stringify(lines.slice(-3))}; stderr ${stderr.slice(-1000)}`)), timeoutMs);
        waiting.push({ pred, resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        } });
        void exited.then(() => reject(new Error(`exited before the line; stderr ${stderr.slice(-1000)}`)));
      });
    },
  };
}

/** Stops every process (SIGTERM) and waits for them to exit. */
export async function stopAll(procs: Proc[]): Promise<void> {
  for (const x of procs) x.p.kill('SIGTERM');
  await Promise.all(procs.map((x) => x.exited));
}
