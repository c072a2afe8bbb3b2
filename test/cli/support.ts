// Running the `cluster-state` command as a real child process, and waiting for its output.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** dist/src/cli/main.js, seen from dist/test/cli/. */
export const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * At most this many one-shot commands run at once: the tests of a file all start together, and
 * a hundred node processes starting at once on a small machine would starve each other.
 */
const MAX_RUNNING = Math.max(2, Math.min(4, availableParallelism()));
let running = 0;
const queue: (() => void)[] = [];

async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_RUNNING) await new Promise<void>((r) => queue.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    queue.shift()?.();
  }
}

/** Runs `cluster-state ...args` to completion (killed after timeoutMs). */
export function run(args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<Result> {
  return slot(() => runNow(args, opts));
}

function runNow(args: string[], opts: { timeoutMs?: number; cwd?: string }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainJs, ...args], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A long-running child (watch, serve, demo) whose stdout lines can be awaited. */
export class Live {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];

  private stderrWaiters: { text: string; resolve: () => void }[] = [];

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [mainJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      for (const w of this.stderrWaiters.filter((x) => this.stderr.includes(x.text))) w.resolve();
      this.stderrWaiters = this.stderrWaiters.filter((x) => !this.stderr.includes(x.text));
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const w of [...this.waiters]) {
        if (w.test(line)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    });
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
  }

  /** The first stdout line (already printed or to come) that passes `test`; rejects after timeoutMs or on exit. */
  line(test: (line: string) => boolean, timeoutMs = 20_000, what = 'a matching line'): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const fail = (why: string) => reject(new Error(`${why} waiting for ${what}; stdout so far:\n${this.lines.slice(-20).join('\n')}\nstderr:\n${this.stderr}`));
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      const w = {
        test,
        resolve: (l: string) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      this.waiters.push(w);
      void this.exited.then(({ code, signal }) => {
        if (this.waiters.includes(w)) {
          clearTimeout(timer);
          fail(`the process exited (${signal ?? code})`);
        }
      });
    });
  }

  /** The first JSON line whose parsed value passes `test`. */
  async json<T = Record<string, unknown>>(test: (v: T) => boolean, timeoutMs = 20_000, what = 'a matching JSON line'): Promise<T> {
    const parse = (l: string): T | undefined => {
      try {
        return JSON.parse(l) as T;
      } catch {
        return undefined;
      }
    };
    const line = await this.line((l) => {
      const v = parse(l);
      return v !== undefined && test(v);
    }, timeoutMs, what);
    return parse(line)!;
  }

  /** Resolves once stderr contains `text`; rejects after timeoutMs. */
  stderrIncludes(text: string, timeoutMs = 20_000): Promise<void> {
    if (this.stderr.includes(text)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${JSON.stringify(text)} on stderr; got: ${this.stderr}`)), timeoutMs);
      this.stderrWaiters.push({ text, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill(signal);
    return this.exited;
  }
}

/** Every file under `dir` with its size, mtime and SHA-256 (directories listed too). */
export function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = statSync(p);
      if (st.isDirectory()) {
        out[`${r}/`] = `dir ${st.mtimeMs}`;
        walk(p, r);
      } else {
        out[r] = `${st.size} ${st.mtimeMs} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
      }
    }
  };
  walk(dir, '');
  return out;
}

/** Parses Prometheus text exposition: HELP/TYPE per metric and every sample. Throws on a malformed line. */
export function parsePrometheus(text: string): {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: { name: string; labels: Record<string, string>; value: number }[];
} {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      help.set(m[1]!, m[2]!);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      type.set(m[1]!, m[2]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let lm: RegExpExecArray | null;
      let consumed = 0;
      while ((lm = re.exec(m[3])) !== null) {
        labels[lm[1]!] = lm[2]!;
        consumed = re.lastIndex;
      }
      if (consumed !== m[3].length) throw new Error(`malformed labels in ${JSON.stringify(line)}`);
    }
    const value = Number(m[4]);
    samples.push({ name: m[1]!, labels, value });
  }
  return { help, type, samples };
}
