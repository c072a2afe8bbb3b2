/**
 * `cluster-state agent --nats <url> --cluster <id> --id <node>`: a node agent that executes toy
 * tasks (for demos and tests): it joins as the node, heartbeats, and for every task assigned to
 * it reports `running`, waits the task's `payload.ms` (default 20 ms; `payload.fail: true` makes
 * it fail), then reports `completed` with `{ by, ms }` as the result. One JSON line per event
 * with --json. SIGINT/SIGTERM: it stops (without leaving; --leave-on-exit leaves).
 */
import { joinCluster } from '../../agent/index.js';
import type { NodeRole } from '../../schema/entities.js';
import { intOption, JSON_OPTION, UsageError, type Command, type Context } from '../command.js';
import { jsonText, println } from '../format.js';
import { untilSignal } from '../signals.js';

export const agent: Command = {
  name: 'agent',
  summary: 'Run a node agent that takes toy tasks from the master (through NATS).',
  positionals: [],
  options: {
    nats: { type: 'string', value: '<url>', help: 'the NATS server of the cluster (nats://host:port)' },
    cluster: { type: 'string', value: '<id>', help: 'the cluster id' },
    id: { type: 'string', value: '<node>', help: 'this node\'s id' },
    role: { type: 'string', value: '<role>', default: 'worker', help: 'worker, master or leecher' },
    cpus: { type: 'string', value: '<n>', help: 'the CPU count to report (default: measured)' },
    memory: { type: 'string', value: '<size>', help: 'the memory to report, e.g. 8GiB (default: measured)' },
    'heartbeat-ms': { type: 'string', value: '<ms>', default: '2000', help: 'heartbeat period' },
    'leave-on-exit': { type: 'boolean', help: 'leave the cluster when stopped (its tasks go back to pending)' },
    ...JSON_OPTION,
  },
  description: 'Joins the cluster as --id (registered with the master, status online), heartbeats with its\n'
    + 'resource report, and runs the tasks the master assigns to it: running, then after payload.ms\n'
    + '(default 20) completed with { by, ms } — or failed when payload.fail is true.',
  examples: ['cluster-state agent --nats nats://127.0.0.1:4222 --cluster demo --id worker-7', 'cluster-state agent --nats nats://127.0.0.1:4222 --cluster c1 --id w1 --cpus 4 --memory 8GiB --json'],
  run: (ctx) => runAgent(ctx),
};

async function runAgent(ctx: Context): Promise<number> {
  const v = ctx.values;
  for (const k of ['nats', 'cluster', 'id'] as const) if (v[k] === undefined) throw new UsageError(`--${k} is required`);
  const role = String(v.role ?? 'worker');
  if (!['worker', 'master', 'leecher'].includes(role)) throw new UsageError(`--role ${JSON.stringify(role)} is not one of worker, master, leecher`);
  const out = ctx.io.out;
  const say = (event: Record<string, unknown>, text: string) => println(out, v.json ? jsonText(event) : text);
  const cpus = v.cpus === undefined ? undefined : intOption(ctx, 'cpus', 1, 1, 1 << 20);
  const resources = { ...(cpus === undefined ? {} : { cpu_count: cpus }), ...(v.memory === undefined ? {} : { memory_total: String(v.memory), memory_available: String(v.memory) }) };
  const stop = untilSignal();
  const a = await joinCluster({
    nats: { servers: String(v.nats) }, clusterId: String(v.cluster),
    node: { id: String(v.id), role: role as NodeRole, ...(Object.keys(resources).length ? { resources } : {}) },
    heartbeatMs: intOption(ctx, 'heartbeat-ms', 2000, 0, 3_600_000),
  });
  a.on('error', (e) => say({ t: 'error', code: e.code, message: e.message }, `heartbeat failed: ${e.message}`));
  say({ t: 'joined', node: a.nodeId }, `joined cluster ${String(v.cluster)} as ${a.nodeId}`);
  const work = (async () => {
    for await (const task of a.tasks()) {
      const payload = (task.payload ?? {}) as { ms?: number; fail?: boolean };
      const ms = typeof payload.ms === 'number' ? payload.ms : 20;
      const started = await a.updateTask(task.id, { status: 'running' }).catch((e: Error) => e);
      if (started instanceof Error) {
        say({ t: 'refused', task: task.id, message: started.message }, `${task.id}: ${started.message}`);
        continue;
      }
      say({ t: 'running', task: task.id, revision: started }, `${task.id} running (revision ${started})`);
      await new Promise((r) => setTimeout(r, ms));
      const done = await a.updateTask(task.id, payload.fail ? { status: 'failed', error: 'payload.fail was set' } : { status: 'completed', result: { by: a.nodeId, ms } }).catch((e: Error) => e);
      if (done instanceof Error) say({ t: 'refused', task: task.id, message: done.message }, `${task.id}: ${done.message}`);
      else say({ t: payload.fail ? 'failed' : 'completed', task: task.id, revision: done }, `${task.id} ${payload.fail ? 'failed' : 'completed'} (revision ${done})`);
    }
  })();
  const reason = await Promise.race([stop.promise, work.then(() => 'tasks ended')]);
  if (v['leave-on-exit']) await a.leave().catch(() => undefined);
  else await a.close();
  say({ t: 'stopped', reason }, `stopped (${reason})`);
  stop.dispose?.();
  return 0;
}
