/**
 * The demo's follower in a separate process: the command's hidden `_follow` subcommand (a lighter
 * `watch --json`), its revisions read from its stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The follower process: this program's hidden `_follow` subcommand, its revisions read from its stdout. */
export class FollowerProcess {
  revision = -1;
  lagMs: number | null = null;
  note = 'starting';
  private readonly child: ChildProcess;
  private exited: Promise<void>;
  private waiters: { revision: number; resolve: () => void }[] = [];
  private exitedFlag = false;

  constructor(dir: string) {
    const mainJs = fileURLToPath(new URL('../cli/main.js', import.meta.url));
    this.child = spawn(process.execPath, [mainJs, '_follow', dir, '--exit-with-parent'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: Ctrl-C in the terminal stops the demo, which then stops it
    });
    this.note = `pid ${this.child.pid}, following`;
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      try {
        const m = JSON.parse(text) as { revision: number; updated_at: number; observed_at: number };
        this.revision = m.revision;
        this.lagMs = Math.max(0, m.observed_at - m.updated_at);
        for (const w of this.waiters.filter((x) => x.revision <= this.revision)) w.resolve();
        this.waiters = this.waiters.filter((x) => x.revision > this.revision);
      } catch {
        // not a revision line
      }
    });
    createInterface({ input: this.child.stderr! }).on('line', (text) => {
      if (text.trim()) this.note = `pid ${this.child.pid}: ${text.trim()}`;
    });
    this.exited = new Promise((res) => {
      this.child.once('exit', (code, signal) => {
        this.exitedFlag = true;
        if (!this.stopping) this.note = `exited early (${signal ?? `code ${code}`}): ${this.note}`;
        for (const w of this.waiters) w.resolve();
        this.waiters = [];
        res();
      });
    });
  }

  private stopping = false;

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves once the follower has printed `revision` (or exited, or after timeoutMs). */
  reach(revision: number, timeoutMs: number): Promise<boolean> {
    if (this.revision >= revision) return Promise.resolve(true);
    if (this.exitedFlag) return Promise.resolve(false);
    return new Promise((res) => {
      const timer = setTimeout(() => res(this.revision >= revision), timeoutMs);
      this.waiters.push({ revision, resolve: () => { clearTimeout(timer); res(this.revision >= revision); } });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.exitedFlag) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

