/**
 * The query pool: piscina worker threads that each attach to the shared state once (the handle
 * travels in workerData) and run queries over zero-copy snapshots. When a worker exits (crash,
 * termination, idle recycling) its reader slot is cleared so its pin cannot hold memory.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { closed, withCode } from '../errors.js';
import type { QueryReply } from './pool-worker.js';
import type { SharedHandle } from '../shm/reader.js';
import { workerExecArgv } from './exec-argv.js';

/** Query pool settings. */
export interface PoolOptions {
  /** Worker threads (default: one per core beyond the writer's, at least 1). */
  threads?: number;
}

/** Runs named queries on piscina worker threads over zero-copy snapshots; results are plain values. */
export class QueryPool {
  private readonly pool: Piscina;
  private closedFlag = false;

  constructor(handle: SharedHandle, onWorkerExit: (threadId: number) => void, opts: PoolOptions = {}) {
    const threads = opts.threads ?? Math.max(1, availableParallelism() - 1);
    this.pool = new Piscina({
      filename: new URL('./pool-worker.js', import.meta.url).href,
      workerData: { handle },
      minThreads: 1,
      maxThreads: threads,
      idleTimeout: 30_000,
      execArgv: workerExecArgv(), // not the main script's -e/--input-type (workers fail to start with them)
    });
    this.pool.on('workerDestroy', (w: { id: number }) => onWorkerExit(w.id));
    // Errors of the pool itself (not of a task) must not crash the writer's process.
    this.pool.on('error', () => undefined);
  }

  /** Runs query `name` with `args` in a worker; resolves with its plain-value result. */
  async run(name: string, args: unknown[]): Promise<unknown> {
    if (this.closedFlag) throw closed('query pool');
    const reply = (await this.pool.run({ name, args })) as QueryReply;
    if (!reply.ok) throw withCode(reply.code, reply.message);
    return reply.value;
  }

  get threads(): number {
    return this.pool.threads.length;
  }

  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    await this.pool.destroy();
  }
}

