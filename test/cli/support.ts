// Shared by the CLI tests: running the `cluster-state` command as a real child process and waiting
// for its output, the state directories the commands read (written by a real writer), and checks
// of what a command printed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ClusterState } from '../../src/index.js';
import { loadSynthetic } from '../../src/demo/synthetic.js';

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

// ───────────────────────────── state directories ─────────────────────────────

export const GiB = 2 ** 30;

/** A small hand-made cluster with known ids and statuses. */
export function populate(s: ClusterState): void {
  s.registerNode({ id: 'm1', role: 'master', resources: { cpu: 4, memory: '8GiB' }, address: '10.0.0.1' });
  s.registerNode({
    id: 'w1', role: 'worker', capabilities: ['gpu', 'pinning'], metadata: { zone: 'a' },
    resources: { cpu_count: 8, cpu_load: 25, gpu_count: 1, gpu_available: true, memory_total: '16GiB', memory_available: '8GiB' },
  });
  s.registerNode({ id: 'w2', role: 'worker', resources: { cpu: 4, memory: '8GiB' } });
  s.registerNode({ id: 'w3', role: 'worker', resources: { cpu: 2, memory: '4GiB' } });
  s.registerNode({ id: 'l1', role: 'leecher' });
  s.updateNodeStatus('w3', 'offline');
  s.addTask({ id: 't-pending', type: 'process', payload: { n: 1 } });
  s.addTask({ id: 't-running', type: 'model_training', resources: { cpu_cores: 2, memory_mb: 1024 } });
  s.assignTask('t-running', 'w1');
  s.updateTask('t-running', { status: 'running' });
  s.addTask({ id: 't-done', type: 'process' });
  s.assignTask('t-done', 'w2');
  s.updateTask('t-done', { status: 'completed', result: { ok: true } });
  s.addTask({ id: 't-failed', type: 'analyze' });
  s.assignTask('t-failed', 'w1');
  s.updateTask('t-failed', { status: 'running' });
  s.updateTask('t-failed', { status: 'failed', error: 'boom' });
  s.addContent({ cid: 'c1', size: 1048576, providers: ['w1', 'w2'], pinned: true, replication: 3 });
  s.addContent({ cid: 'c2', size: 2048, providers: ['w1'], replication: 1 });
  s.addContent({ cid: 'c3', size: 10, providers: [], replication: 2 });
}

/** Opens a writer on `dir`, fills it, flushes and closes it; returns the flushed revision. */
export async function writeState(dir: string, clusterId: string, fill: (s: ClusterState) => void | Promise<void>): Promise<number> {
  const s = await ClusterState.open({ statePath: dir, clusterId });
  await fill(s);
  await s.flush();
  const rev = s.revision;
  await s.close();
  return rev;
}

/**
 * The state directories one CLI test file reads, under one temporary root: `fx` (populate's
 * cluster "fixture"), `syn` (a synthetic cluster of 80 nodes, 120 tasks, 60 content items),
 * `empty` (no state), `corrupt` (an arena file damaged after its meta slots: every revision fails
 * its checksum) and `badParquet` (a file that is not Parquet). The paths are known at once (for
 * tables of cases); `build` writes the ones asked for, in `test.before`.
 */
export class CliFixtures {
  readonly root = mkdtempSync(join(tmpdir(), 'cluster-state-cli-'));
  readonly fx = join(this.root, 'fx');
  readonly syn = join(this.root, 'syn');
  readonly empty = join(this.root, 'empty');
  readonly corrupt = join(this.root, 'corrupt');
  readonly badParquet = join(this.root, 'bad.parquet');
  /** The revision `fx` was flushed at (after build). */
  fxRevision = -1;

  async build(which: { fx?: boolean; syn?: boolean; empty?: boolean; corrupt?: boolean; badParquet?: boolean }): Promise<void> {
    if (which.fx) this.fxRevision = await writeState(this.fx, 'fixture', populate);
    if (which.syn) await writeState(this.syn, 'syn', (s) => loadSynthetic(s, { nodes: 80, tasks: 120, content: 60 }));
    if (which.empty) mkdirSync(this.empty);
    if (which.corrupt) {
      await writeState(this.corrupt, 'broken', populate);
      const fd = openSync(join(this.corrupt, readdirSync(this.corrupt).find((n) => /^state_broken\.\d+\.arena$/.test(n))!), 'r+');
      const size = fstatSync(fd).size;
      writeSync(fd, Buffer.alloc(size - 8192, 0xff), 0, size - 8192, 8192);
      closeSync(fd);
    }
    if (which.badParquet) writeFileSync(this.badParquet, 'PAR1 this is not a parquet file PAR1');
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

// ───────────────────────────── checks of the output ─────────────────────────────

/** Asserts that stderr is exactly one line. */
export const oneLine = (t: { is: (a: unknown, b: unknown, m?: string) => void }, r: Result) => {
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  t.is(lines.length, 1, `stderr must be one line, got: ${r.stderr}`);
};

/** True when stderr holds no stack trace. */
export const noStack = (r: Result) => !/^\s+at /m.test(r.stderr);

/** The JSON a successful command printed (fails the test with its stderr when it did not succeed). */
export function parsed(r: Result): any {
  if (r.code !== 0) throw new Error(`exit ${r.signal ?? r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The ids (or `key`s) of the items of a list command's --json output. */
export const ids = (r: Result, key = 'id') => (parsed(r).items as Record<string, unknown>[]).map((x) => x[key]);
