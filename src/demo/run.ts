/**
 * The live demo (`cluster-state demo`, what `npm start` runs): a writer on a state directory, a
 * synthetic cluster loaded with a progress bar, then a living cluster (simulator.ts) with the
 * writer placing tasks, worker threads answering the view's queries and a follower in a separate
 * process, shown live (view.ts) until --duration or Ctrl-C; then flush, close, and where the files
 * are and how to read them from other tools.
 */
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import {
  ClusterState, NODE_ROLES, NODE_STATUSES, TASK_STATUSES, type ClusterStatusSummary,
} from '../index.js';
import type { Context } from '../cli/command.js';
import { countPairs } from '../cli/counts.js';
import { bytes, displayPath, duration, int, jsonText, println } from '../cli/format.js';
import { untilSignal } from '../cli/signals.js';
import { stateFiles } from '../cli/state.js';
import { FollowerProcess } from './follower-process.js';
import { demoDashboard } from './dashboard.js';
import type { Dashboard } from '../dashboard/server.js';
import { DEFAULT_DEMO_DIR, DEMO_CLUSTER_ID, prepareDir } from './prepare.js';
import { Simulator, type SimStats } from './simulator.js';
import { loadSynthetic, nodeId as syntheticNodeId } from './synthetic.js';
import { frame, json as sampleJson, line, percentile, type Sample } from './view.js';

/** What the demo runs with (parsed from the command line by cli/commands/demo.ts). */
export interface DemoOptions {
  dir: string;
  scale: { nodes: number; tasks: number; content: number };
  durationMs: number | null;
  rate: number;
  seed: number;
  fresh: boolean;
  json: boolean;
  /** The dashboard's port (0: any free one); null: 9464, or any free one when that is taken. */
  dashboardPort: number | null;
}

const ZERO_STATS = (): SimStats => ({
  mutations: 0, heartbeats: 0, created: 0, placed: 0, started: 0, completed: 0, failed: 0, retried: 0, cancelled: 0,
  offline: 0, recovered: 0, pinned: 0, replicated: 0, removed: 0, unplaced: 0, conflicts: 0,
});

class LoadAborted extends Error {}

export async function runDemo(o: DemoOptions, io: Context['io']): Promise<number> {
  const ctx = { io };
  const out = ctx.io.out;
  const tty = !o.json && !!out.isTTY;
  const say = (text: string) => {
    if (!o.json) println(out, text);
  };
  const emit = (obj: Record<string, unknown>) => {
    if (o.json) out.write(`${jsonText(obj)}\n`);
  };

  // Ctrl-C / SIGTERM ends the demo cleanly; a second one leaves at once.
  const stop = untilSignal();
  let stopReason: string | null = null;
  let fatal: unknown = null;
  void stop.promise.then((r) => (stopReason = r), (e) => {
    stopReason = 'error';
    fatal = e;
  });
  let signals = 0;
  const restoreCursor = () => {
    if (tty) out.write('\x1b[?25h');
  };
  const onSignal = () => {
    if (++signals >= 2) {
      restoreCursor();
      ctx.io.err.write('cluster-state demo: stopped at once (second signal); the state is as last flushed\n');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.once('exit', restoreCursor);

  let state: ClusterState | null = null;
  let follower: FollowerProcess | null = null;
  let dash: Dashboard | null = null;
  try {
    const prepared = await prepareDir(o.dir, o.fresh);
    state = await ClusterState.open({
      statePath: o.dir,
      clusterId: DEMO_CLUSTER_ID,
      nodeId: syntheticNodeId(0),
      onFatal: (e) => stop.reject(e),
    });
    const writer = state;
    const shown = displayPath(o.dir);
    const had = writer.counts;
    const loadStart = performance.now();
    if (had.nodes + had.tasks + had.content === 0) {
      const total = o.scale.nodes + o.scale.tasks + o.scale.content;
      say(`${prepared === 'cleaned' ? 'starting clean' : 'creating'} ${shown}: loading a synthetic cluster of ${int(o.scale.nodes)} nodes, ${int(o.scale.tasks)} tasks, ${int(o.scale.content)} content items`);
      const bar = tty
        ? new cliProgress.SingleBar({
          stream: out,
          format: '  [{bar}] {percentage}% | {value}/{total} records | {duration_formatted}',
          barsize: 30,
          hideCursor: true,
          clearOnComplete: false,
          formatValue: (v: number, _opts: unknown, type: string) => (type === 'value' || type === 'total' ? int(v) : String(v)),
        }, cliProgress.Presets.shades_classic)
        : null;
      bar?.start(total, 0);
      let nextLine = 0.1;
      let loaded = 0;
      try {
        await loadSynthetic(writer, o.scale, {
          seed: o.seed,
          chunk: Math.max(200, Math.min(5000, Math.round(total / 50))),
          onProgress: (done, all) => {
            loaded = done;
            if (stopReason !== null) throw new LoadAborted();
            bar?.update(done);
            if (!tty && !o.json && all > 0 && (done / all >= nextLine || done === all)) {
              say(`  loaded ${int(done)}/${int(all)} records (${Math.floor((done / all) * 100)}%)`);
              while (nextLine <= done / all) nextLine += 0.1;
            }
          },
        });
      } catch (e) {
        if (!(e instanceof LoadAborted)) throw e;
      } finally {
        bar?.stop();
      }
      if (stopReason !== null) say(`loading interrupted after ${int(loaded)} of ${int(total)} records (a consistent, partial cluster)`);
      const rev = await writer.flush();
      if (stopReason === null) say(`loaded in ${duration(performance.now() - loadStart)}; revision ${int(rev)} is durable`);
    } else {
      say(`continuing the demo state in ${shown} at revision ${int(writer.revision)}: ${int(had.nodes)} nodes, ${int(had.tasks)} tasks, ${int(had.content)} content items`);
    }
    emit({ event: 'loaded', dir: o.dir, revision: writer.revision, nodes: writer.counts.nodes, tasks: writer.counts.tasks, content: writer.counts.content, load_ms: Math.round(performance.now() - loadStart) });

    let mutationsTotal = 0;
    let runMs = 0;
    if (stopReason === null) {
      follower = new FollowerProcess(o.dir);
      dash = await demoDashboard(writer, shown, o.dashboardPort, (msg) => ctx.io.err.write(`cluster-state demo: dashboard: ${msg}\n`));
      emit({ event: 'dashboard', url: `${dash.url}/` });
      say(`simulating: writer pid ${process.pid}, query pool on worker threads, follower process pid ${follower.pid}${o.durationMs ? `, for ${duration(o.durationMs)}` : ''}; Ctrl-C stops`);
      say(`dashboard: ${dash.url}/  (live, read-only; open it in a browser while the demo runs)`);
      if (tty) say('');
      // Start the query pool and let the follower process attach before the clock of --duration
      // starts: a worker thread or a process loading the library takes a while on a busy machine,
      // and the run is about the living cluster (a follower that never attaches is reported later).
      await Promise.all([writer.query('revision'), follower.reach(writer.revision, 10_000)]);
      const result = await simulate(writer, follower, o, ctx, stop, tty);
      mutationsTotal = result.mutations;
      runMs = result.ms;
    }

    if (fatal) throw fatal; // e.g. the writer lost its lock while loading
    // Stop: everything made durable and exported, the lock released, the follower caught up.
    const finalRevision = writer.revision;
    say(`\nstopping (${describeReason(stopReason)}): flushing, exporting Parquet, closing the writer ...`);
    const c0 = performance.now();
    await dash?.close();
    dash = null;
    await writer.close();
    const closeMs = performance.now() - c0;
    const caughtUp = follower ? await follower.reach(finalRevision, 10_000) : false;
    const followerRevision = follower?.revision ?? -1;
    await follower?.stop();
    follower = null;
    report(ctx, o, { reason: stopReason, finalRevision, closeMs, mutations: mutationsTotal, runMs, followerRevision, caughtUp, simulated: runMs > 0 });
    return 0;
  } catch (e) {
    restoreCursor();
    await dash?.close().catch(() => undefined);
    await follower?.stop().catch(() => undefined);
    if (state && !state.isClosed) await state.close().catch(() => undefined);
    throw e;
  } finally {
    stop.dispose();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function describeReason(r: string | null): string {
  if (r === 'duration') return 'duration reached';
  if (r === 'SIGINT') return 'Ctrl-C';
  if (r === 'SIGTERM') return 'SIGTERM';
  return r ?? 'done';
}

/** Runs the simulation and the view until the stop condition; resolves with what was done. */
async function simulate(
  state: ClusterState, follower: FollowerProcess, o: DemoOptions, ctx: { io: Context['io'] },
  stop: ReturnType<typeof untilSignal>, tty: boolean,
): Promise<{ mutations: number; ms: number }> {
  const out = ctx.io.out;
  const sim = new Simulator(state, { rate: o.rate, seed: o.seed + 1 });
  const started = performance.now();
  let last = Date.now();
  const ticker = setInterval(() => {
    const now = Date.now();
    try {
      sim.tick(now, Math.min(now - last, 500));
    } catch (e) {
      stop.reject(e);
    }
    last = now;
  }, 50);
  const timer = o.durationMs ? setTimeout(() => stop.resolve('duration'), o.durationMs) : null;

  let done = false;
  let prevStats = ZERO_STATS();
  let prevRevision = state.revision;
  let prevAt = performance.now();
  let drawn = 0;
  const takeSample = async (): Promise<Sample> => {
    const q0 = performance.now();
    const workerRevision = (await state.query('revision')) as number;
    const summary = (await state.query('getClusterStatusSummary')) as ClusterStatusSummary;
    sim.addLatency((performance.now() - q0) / 2);
    const f0 = performance.now();
    await state.flush();
    const flushMs = performance.now() - f0;
    const now = performance.now();
    const dt = Math.max(0.001, (now - prevAt) / 1000);
    const stats = { ...sim.stats };
    const per = (k: keyof SimStats) => (stats[k] - prevStats[k]) / dt;
    const revision = state.revision;
    const latencies = sim.takeLatencies();
    const placements = sim.takePlacementTimes();
    const pairs = countPairs(state.getTables().nodes, 'role', 'status');
    const nodes: Record<string, Record<string, number>> = {};
    for (const role of NODE_ROLES) {
      nodes[role] = {};
      for (const st of NODE_STATUSES) nodes[role]![st] = pairs.get(role)?.get(st) ?? 0;
    }
    const files = state.files();
    const tasks: Record<string, number> = {};
    for (const st of TASK_STATUSES) tasks[st] = summary.tasks.by_status[st as keyof typeof summary.tasks.by_status] ?? 0;
    const sample: Sample = {
      elapsedMs: now - started,
      durationMs: o.durationMs,
      dir: displayPath(o.dir),
      revision: {
        writer: revision, worker: workerRevision, follower: follower.revision, durable: files?.durableRevision ?? -1, parquet: files?.parquetRevision ?? -1,
      },
      rates: {
        mutations: per('mutations'), revisions: (revision - prevRevision) / dt, heartbeats: per('heartbeats'), created: per('created'),
        placed: per('placed'), started: per('started'), completed: per('completed'), failed: per('failed'), replicated: per('replicated'), offline: per('offline'),
      },
      nodes,
      nodesTotal: summary.nodes.total,
      nodesOnline: summary.nodes.active,
      tasks,
      tasksTotal: summary.tasks.total,
      content: { total: summary.content.total, bytes: summary.content.total_size_gb * 2 ** 30 },
      latency: { queryP50: percentile(latencies, 50), queryP99: percentile(latencies, 99), queries: latencies.length / dt, placeP50: percentile(placements, 50), flushMs, followerLagMs: follower.lagMs },
      memory: { sharedBytes: state.memoryStats().sharedBytes, rssBytes: process.memoryUsage.rss() },
      follower: follower.note,
    };
    prevStats = stats;
    prevRevision = revision;
    prevAt = now;
    return sample;
  };

  if (tty) {
    out.write('\x1b[?25lmeasuring the first second ...\n');
    drawn = 1;
  }
  const sampler = (async () => {
    let next = performance.now() + 1000;
    while (!done) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(0, next - performance.now()));
        void stop.promise.finally(() => {
          clearTimeout(t);
          r();
        }).catch(() => undefined);
      });
      if (done) break;
      // About once a second; after a slow sample (a busy machine) wait a little rather than catch up.
      next = Math.max(next + 1000, performance.now() + 500);
      let s: Sample;
      try {
        s = await takeSample();
      } catch (e) {
        if (done) break;
        throw e;
      }
      // A sample that was in flight when the run ended is still shown: it measured a real second
      // (on a busy machine the first one can take longer than a short --duration).
      if (o.json) out.write(`${jsonText(sampleJson(s))}\n`);
      else if (tty) {
        const lines = frame(s, Math.max(40, (out.columns ?? 100) - 1));
        out.write(`\x1b[${drawn}A\r\x1b[J${lines.join('\n')}\n`);
        drawn = lines.length;
      } else println(out, line(s));
    }
  })().catch((e) => stop.reject(e));

  try {
    await stop.promise;
  } finally {
    done = true;
    clearInterval(ticker);
    if (timer) clearTimeout(timer);
    await sim.stop();
    await sampler;
    if (tty && drawn) out.write('\x1b[?25h');
  }
  return { mutations: sim.stats.mutations, ms: performance.now() - started };
}

interface Outcome {
  reason: string | null;
  finalRevision: number;
  closeMs: number;
  mutations: number;
  runMs: number;
  followerRevision: number;
  caughtUp: boolean;
  /** False when stopped before the simulation started (during loading). */
  simulated: boolean;
}

function report(ctx: { io: Context['io'] }, o: DemoOptions, r: Outcome): void {
  const files = stateFiles({ path: o.dir, kind: 'dir', dir: o.dir });
  const parquet = files.find((f) => f.role === 'parquet');
  const shown = displayPath(o.dir);
  const parquetShown = parquet ? displayPath(parquet.path) : join(shown, `state_${DEMO_CLUSTER_ID}.parquet`);
  if (o.json) {
    ctx.io.out.write(`${jsonText({
      event: 'done', reason: r.reason, dir: o.dir, revision: r.finalRevision, mutations: r.mutations, run_s: Math.round(r.runMs) / 1000,
      close_ms: Math.round(r.closeMs), follower_revision: r.followerRevision, follower_caught_up: r.caughtUp,
      files: files.map((f) => ({ name: f.name, path: f.path, bytes: f.bytes })), parquet: parquet?.path ?? null,
    })}\n`);
    return;
  }
  const out = ctx.io.out;
  if (r.simulated) {
    const rate = ` (${int(r.mutations / (r.runMs / 1000))}/s)`;
    println(out, `closed in ${duration(r.closeMs)}. ${int(r.mutations)} mutations in ${duration(r.runMs)}${rate}; revision ${int(r.finalRevision)} is durable and in the Parquet file;`
      + ` the follower process ${r.caughtUp ? 'reached it' : `stopped at revision ${int(r.followerRevision)}`}.`);
  } else {
    println(out, `closed in ${duration(r.closeMs)}; revision ${int(r.finalRevision)} is durable and in the Parquet file.`);
  }
  println(out);
  println(out, `state directory ${shown}`);
  const what: Record<string, string> = {
    parquet: 'the state in the seed\'s single-row layout: any Parquet reader',
    arena: 'checkpoints: the state as of a recent revision, read by followers and by this command',
    journal: 'the change sets since (what makes a flush durable; followers tail it)',
    metadata: 'how other processes find the state (revision, paths, schema)',
  };
  const w = Math.max(...files.map((f) => f.name.length));
  for (const f of files) println(out, `  ${f.name.padEnd(w)}  ${bytes(f.bytes).padStart(9)}  ${what[f.role]}`);
  println(out);
  println(out, 'look into it');
  println(out, `  npx cluster-state status ${shown}`);
  println(out, `  npx cluster-state tasks ${shown} --status running --limit 10`);
  println(out, `  npx cluster-state watch ${shown}        (while a demo or your own writer runs)`);
  println(out, `  npx cluster-state serve ${shown}        (Prometheus metrics at http://127.0.0.1:9464/metrics)`);
  println(out, `  duckdb -c "SELECT cluster_id, len(nodes) FROM '${parquetShown}'"`);
  println(out, `  python -c "import pyarrow.parquet as pq; print(pq.read_table('${parquetShown}'))"`);
  println(out);
  const dirFlag = o.dir === resolve(DEFAULT_DEMO_DIR) ? '' : ` --dir ${shown}`;
  println(out, `run it again: npx cluster-state demo${dirFlag} (starts clean; npm start does the same for ./${DEFAULT_DEMO_DIR}), or add --keep to continue this state`);
}
