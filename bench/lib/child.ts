/**
 * A child process of the benchmark that speaks in lines: it reports on stdout (`WORD args…`),
 * takes commands on stdin, and ends when its stdin ends. `next(word)` waits for its next line
 * starting with `word` that satisfies `pred` (earlier lines of that word are dropped; lines of
 * other words stay for their own `next`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export class Child {
  readonly proc: ChildProcess;
  private readonly queue: string[] = [];
  private wake: (() => void) | null = null;
  private exited = false;

  constructor(script: string | URL, args: string[]) {
    const path = typeof script === 'string' ? script : script.pathname;
    this.proc = spawn(process.execPath, [path, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.proc.stdout! }).on('line', (l) => {
      this.queue.push(l);
      this.wake?.();
    });
    this.proc.once('exit', () => {
      this.exited = true;
      this.wake?.();
    });
  }

  /** The fields of the next line starting with `word` (and satisfying `pred`), without the word. */
  async next(word: string, pred: (f: string[]) => boolean = () => true, timeoutMs = 60_000): Promise<string[]> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const i = this.queue.findIndex((l) => l.startsWith(`${word} `) && pred(l.split(' ').slice(1)));
      if (i >= 0) {
        const line = this.queue[i]!;
        const rest = this.queue.filter((l, k) => k > i || !l.startsWith(`${word} `));
        this.queue.length = 0;
        this.queue.push(...rest);
        return line.split(' ').slice(1);
      }
      if (this.exited) throw new Error(`bench child ${this.proc.spawnargs.slice(1, 3).join(' ')} exited before reporting ${word}`);
      if (performance.now() > end) throw new Error(`bench child ${this.proc.spawnargs.slice(1, 3).join(' ')} did not report ${word} within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 200).unref();
      });
      this.wake = null;
    }
  }

  /** Drops every line received so far. */
  drain(): void {
    this.queue.length = 0;
  }

  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  /** Ends stdin and waits for the child to exit. */
  async end(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.stdin!.end();
    await Promise.race([done, new Promise((r) => setTimeout(r, 10_000).unref())]);
    if (!this.exited) this.proc.kill('SIGKILL');
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.exited) return Promise.resolve();
    const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill(signal);
    return done;
  }
}

/** Serves `CPU <ms>` on stdin in a child: replies `CPU <percent of one core> <ms>` after that window. */
export function serveCpuWindows(onEnd: () => void, onLine?: (line: string) => void): void {
  const rl = createInterface({ input: process.stdin });
  rl.on('close', onEnd);
  rl.on('line', (line) => {
    const [word, arg] = line.split(' ');
    if (word === 'CPU') {
      const ms = Number(arg);
      const u0 = process.cpuUsage();
      const t0 = performance.now();
      setTimeout(() => {
        const u = process.cpuUsage(u0);
        const wall = performance.now() - t0;
        process.stdout.write(`CPU ${(((u.user + u.system) / 1000 / wall) * 100).toFixed(3)} ${wall.toFixed(1)}\n`);
      }, ms);
    } else onLine?.(line);
  });
}

export const wallClock = () => performance.timeOrigin + performance.now();
