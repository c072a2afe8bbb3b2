/**
 * Real `nats-server` processes for tests and benchmarks: each on a free loopback port (`-p -1`,
 * the port read back from `--ports_file_dir`), with JetStream on a store in a temporary directory,
 * stopped by PID. `npm test`'s setup step (scripts/ensure-nats.mjs) installs the server when it
 * is missing; here a missing server is an error naming the install command, never a skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const INSTALL = 'apt-get install -y nats-server (Debian package nats-server; npm test runs scripts/ensure-nats.mjs to do it)';

/** The server binary; throws naming the install command when there is none. */
export function natsServerBinary(): string {
  for (const p of ['/usr/bin/nats-server', '/usr/local/bin/nats-server', '/usr/sbin/nats-server']) if (existsSync(p)) return p;
  const r = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
  if (r.status === 0) return 'nats-server';
  throw new Error(`nats-server is not installed: ${INSTALL}`);
}

export interface NatsServerOptions {
  /** JetStream store directory (default: a new temporary one, removed by stop()). */
  storeDir?: string;
  /** Port (default: a free one chosen by the server). */
  port?: number;
  /** Cluster settings for a multi-server test. */
  cluster?: { name: string; serverName: string; port: number; routes: string[] };
}

/** One running server. */
export class NatsServer {
  private proc: ChildProcess | null = null;
  url = '';
  port = 0;
  readonly storeDir: string;
  private readonly ownStore: boolean;
  private readonly portsDir: string;

  private constructor(private readonly opts: NatsServerOptions) {
    this.ownStore = !opts.storeDir;
    this.storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'acs-nats-'));
    this.portsDir = mkdtempSync(join(tmpdir(), 'acs-nats-ports-'));
  }

  /** Starts a server and resolves once it accepts connections. */
  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const s = new NatsServer(opts);
    await s.run(opts.port ?? -1);
    return s;
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  private async run(port: number): Promise<void> {
    mkdirSync(this.storeDir, { recursive: true });
    for (const f of readdirSync(this.portsDir)) rmSync(join(this.portsDir, f), { force: true });
    const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', this.storeDir, '--ports_file_dir', this.portsDir];
    const c = this.opts.cluster;
    if (c) args.push('-n', c.serverName, '--cluster_name', c.name, '--cluster', `nats://127.0.0.1:${c.port}`, '--routes', c.routes.join(','));
    const proc = spawn(natsServerBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    // A test process that dies (a timeout, a crash) must not leave its server running: a watchdog
    // kills the server once this process is gone.
    const watchdog = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${proc.pid} 2>/dev/null; do sleep 1; done; kill -9 ${proc.pid} 2>/dev/null`], { stdio: 'ignore', detached: true });
    watchdog.unref();
    let log = '';
    proc.stderr!.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });
    this.proc = proc;
    const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`nats-server exited (${code}) at start: ${log}`))));
    exited.catch(() => undefined); // observed below while starting; a later exit (stop, kill) is expected
    const deadline = Date.now() + 15_000;
    // The ports file appears once the server listens.
    for (;;) {
      const file = readdirSync(this.portsDir).find((f) => f.endsWith('.ports'));
      let ports: { nats: string[] } | null = null;
      try {
        ports = file ? (JSON.parse(readFileSync(join(this.portsDir, file), 'utf8')) as { nats: string[] }) : null;
      } catch {
        ports = null; // being written: read it again
      }
      if (ports?.nats?.[0]) {
        this.url = ports.nats[0];
        this.port = Number(new URL(this.url).port);
        break;
      }
      if (Date.now() > deadline) throw new Error(`nats-server did not start within 15 s: ${log}`);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10))]);
    }
    await Promise.race([exited, waitForPort(this.port, deadline)]);
  }

  /** SIGKILL (no clean shutdown), then start again on the same port and store. */
  async restart(): Promise<void> {
    await this.kill();
    await this.run(this.port);
  }

  /** SIGKILL, waiting for the exit. */
  async kill(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  }

  /** SIGTERM (SIGKILL after 5 s), then removes the temporary directories. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p && p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    }
    rmSync(this.portsDir, { recursive: true, force: true });
    if (this.ownStore) rmSync(this.storeDir, { recursive: true, force: true });
  }
}

function waitForPort(port: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`nats-server port ${port} did not open`));
        else setTimeout(tryOnce, 10);
      });
    };
    tryOnce();
  });
}
