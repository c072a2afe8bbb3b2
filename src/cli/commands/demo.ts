/**
 * `cluster-state demo` (what `npm start` runs): the command line of the live demo; the demo
 * itself is src/demo/run.ts.
 */
import { resolve } from 'node:path';
import { DEFAULT_DEMO_DIR } from '../../demo/prepare.js';
import { runDemo, type DemoOptions } from '../../demo/run.js';
import { runClusterDemo, type ClusterDemoOptions } from '../../demo/cluster.js';
import { intOption, JSON_OPTION, numberOption, UsageError, type Command, type Context } from '../command.js';

export const demo: Command = {
  name: 'demo',
  summary: 'Run a simulated living cluster with a live view (npm start).',
  positionals: [],
  options: {
    dir: { type: 'string', value: '<path>', default: `./${DEFAULT_DEMO_DIR}`, help: 'the state directory to write' },
    nodes: { type: 'string', value: '<n>', default: '1000', help: 'nodes of the synthetic cluster' },
    tasks: { type: 'string', value: '<n>', default: '10000', help: 'tasks of the synthetic cluster' },
    content: { type: 'string', value: '<n>', default: '10000', help: 'content items of the synthetic cluster' },
    duration: { type: 'string', value: '<seconds>', default: 'until Ctrl-C', help: 'stop after this long (after loading)' },
    rate: { type: 'string', value: '<n>', default: '100', help: 'new tasks per second in the simulation' },
    seed: { type: 'string', value: '<n>', default: '42', help: 'seed of the synthetic cluster and the simulation' },
    keep: { type: 'boolean', help: 'continue the demo state already in --dir instead of starting clean' },
    fresh: { type: 'boolean', help: 'start clean (the default): remove an earlier demo state in --dir first' },
    nats: { type: 'string', value: '<url>', help: 'run a whole cluster through this NATS JetStream server instead: master, standby, agents, a remote follower (cluster "demo")' },
    agents: { type: 'string', value: '<n>', default: '5', help: 'with --nats: agent processes' },
    failover: { type: 'boolean', help: 'with --nats: kill the master -9 halfway (at half --duration, else after 20 s)' },
    'lease-ms': { type: 'string', value: '<ms>', default: '3000', help: 'with --nats: the master lease (the failover takes about this long)' },
    port: { type: 'string', value: '<port>', default: '9464 (any free port when taken)', help: 'the live dashboard\'s port on 127.0.0.1 (0 = any free port)' },
    ...JSON_OPTION,
  },
  description: 'Opens --dir as the writer (taking its lock), loads a synthetic cluster, then simulates it:\n'
    + 'heartbeats, nodes going offline and back, tasks created, placed on nodes by the writer\n'
    + '(findAvailableNodeForTask, read-your-writes), run, completed (output pinned as new content)\n'
    + 'or failed and retried, content replicated. The view\'s queries run on the worker-thread pool;\n'
    + 'a follower runs in a separate process.\n'
    + 'The live dashboard (docs/dashboard.md) is served while it runs: http://127.0.0.1:9464/ (--port).\n'
    + 'The view refreshes every second (one line per second when stdout is not a terminal; one JSON\n'
    + 'object per line with --json). Ctrl-C (or SIGTERM) stops it cleanly: flush, close, exit 0.\n'
    + '\n'
    + 'By default an earlier demo state in --dir is removed first (only the demo\'s own files), so\n'
    + 'every run starts from the same synthetic cluster; --keep continues it. A directory holding\n'
    + 'another cluster\'s state is never touched (exit 1), nor one whose writer is running (LOCKED).\n'
    + '\n'
    + 'With --nats <url> (a NATS server started with -js) it runs a whole cluster on this machine instead,\n'
    + 'each part its own process talking only through the server: a master (`cluster-state master`:\n'
    + 'liveness, the scheduler, toy tasks at --rate, default 10/s), a standby on its own directory,\n'
    + '--agents agent processes running the tasks, and a remote follower that the view reads. With\n'
    + '--failover the master is killed -9 halfway: watch the standby take over and the old master\n'
    + 'rejoin as a standby. It starts fresh: the cluster "demo" is removed from the server first (never\n'
    + 'while a master of it runs), and its directories in <dir>/cluster/. From any machine:\n'
    + '`cluster-state watch --nats <url> --cluster demo` follows it.',
  examples: ['cluster-state demo', 'cluster-state demo --nats nats://127.0.0.1:4222 --failover --duration 40', 'cluster-state demo --duration 10 --nodes 200 --tasks 2000 --content 2000', 'cluster-state demo --duration 5 | cat', 'cluster-state demo --keep --dir /tmp/demo-state'],
  run: (ctx) => (ctx.values.nats === undefined ? runDemo(demoOptions(ctx), ctx.io) : runClusterDemo(clusterDemoOptions(ctx), ctx.io)),
};

/** The options of the whole-cluster demo (--nats); the synthetic cluster's do not apply. */
function clusterDemoOptions(ctx: Context): ClusterDemoOptions {
  for (const k of ['nodes', 'tasks', 'content', 'keep', 'seed'] as const) {
    if (ctx.values[k] !== undefined) throw new UsageError(`--${k} is for the simulated cluster; with --nats the demo runs real agents (--agents) and always starts fresh`);
  }
  const dirArg = ctx.values.dir === undefined ? DEFAULT_DEMO_DIR : String(ctx.values.dir);
  if (dirArg.length === 0) throw new UsageError('--dir must not be empty');
  const seconds = ctx.values.duration === undefined ? 0 : numberOption(ctx, 'duration', 0, 0, 365 * 86400);
  const leaseMs = intOption(ctx, 'lease-ms', 3000, 300, 600_000);
  return {
    dir: resolve(dirArg),
    nats: natsUrl(String(ctx.values.nats)),
    agents: intOption(ctx, 'agents', 5, 0, 200),
    rate: ctx.values.rate === undefined ? 10 : numberOption(ctx, 'rate', 10, 0, 10_000),
    durationMs: seconds > 0 ? seconds * 1000 : null,
    failover: !!ctx.values.failover,
    json: !!ctx.values.json,
    leaseMs,
    heartbeatTimeoutMs: Math.max(3000, leaseMs + 1000),
    dashboardPort: dashboardPort(ctx),
  };
}

function demoOptions(ctx: Context): DemoOptions {
  if (ctx.values.keep && ctx.values.fresh) throw new UsageError('--keep and --fresh contradict each other');
  for (const k of ['agents', 'failover', 'lease-ms'] as const) if (ctx.values[k] !== undefined) throw new UsageError(`--${k} needs --nats <url> (the whole-cluster demo)`);
  const dirArg = ctx.values.dir === undefined ? DEFAULT_DEMO_DIR : String(ctx.values.dir);
  if (dirArg.length === 0) throw new UsageError('--dir must not be empty');
  const seconds = ctx.values.duration === undefined ? 0 : numberOption(ctx, 'duration', 0, 0, 365 * 86400);
  return {
    dir: resolve(dirArg),
    scale: {
      nodes: intOption(ctx, 'nodes', 1000, 1, 1_000_000),
      tasks: intOption(ctx, 'tasks', 10_000, 0, 10_000_000),
      content: intOption(ctx, 'content', 10_000, 0, 10_000_000),
    },
    durationMs: seconds > 0 ? seconds * 1000 : null,
    rate: numberOption(ctx, 'rate', 100, 0, 1_000_000),
    seed: intOption(ctx, 'seed', 42, 0, 2 ** 32 - 1),
    fresh: !ctx.values.keep,
    json: !!ctx.values.json,
    dashboardPort: dashboardPort(ctx),
  };
}

/** `--port`: the dashboard's port, or null (9464, else any free one). */
function dashboardPort(ctx: Context): number | null {
  return ctx.values.port === undefined ? null : intOption(ctx, 'port', 0, 0, 65535);
}

/** A NATS server URL (`nats://host:port`, or `host:port`). */
function natsUrl(v: string): string {
  if (!/^(nats|tls):\/\/\S+$|^[^\s/:]+(:\d+)?$/.test(v)) throw new UsageError(`--nats ${JSON.stringify(v)} is not a NATS server URL (nats://host:port)`);
  return v;
}

