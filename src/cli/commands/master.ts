/**
 * `cluster-state master --nats <url> --cluster <id>`: runs a cluster's master (or, with
 * --standby, a standby that takes over when the master dies) with liveness and the scheduler on,
 * and optionally a generator of toy tasks (--rate) for `cluster-state agent` processes to run.
 * One status line per second (one JSON object per line with --json). SIGINT/SIGTERM: close.
 */
import { ClusterState, isStateError, type StateError } from '../../index.js';
import { intOption, JSON_OPTION, numberOption, UsageError, type Command, type Context } from '../command.js';
import { jsonText, println } from '../format.js';
import { untilSignal } from '../signals.js';

export const master: Command = {
  name: 'master',
  summary: 'Run a cluster master (or a standby) with liveness and the scheduler, through NATS.',
  positionals: [],
  options: {
    nats: { type: 'string', value: '<url>', help: 'the NATS server (nats://host:port; JetStream on)' },
    cluster: { type: 'string', value: '<id>', help: 'the cluster id' },
    id: { type: 'string', value: '<node>', default: 'master-1', help: 'this master\'s node id' },
    dir: { type: 'string', value: '<path>', help: 'a state directory (durable; a standby makes what it follows durable there); default: in memory' },
    standby: { type: 'boolean', help: 'start as a standby: follow, and take over when the master\'s lease expires' },
    'lease-ms': { type: 'string', value: '<ms>', default: '10000', help: 'the master lease' },
    'heartbeat-timeout-ms': { type: 'string', value: '<ms>', default: '6000', help: 'liveness: a node silent this long goes offline' },
    rate: { type: 'string', value: '<tasks/s>', default: '0', help: 'add this many toy tasks per second (payload.ms 200) while leading' },
    ...JSON_OPTION,
  },
  description: 'A master with liveness (nodes silent for --heartbeat-timeout-ms go offline, their tasks are\n'
    + 'requeued) and the scheduler (pending tasks placed on online nodes that fit). With --standby it\n'
    + 'follows the master and takes over when the master dies (its lease expires). Agents:\n'
    + '`cluster-state agent --nats <url> --cluster <id> --id <node>` in other terminals or machines.',
  examples: ['cluster-state master --nats nats://127.0.0.1:4222 --cluster c1 --rate 5', 'cluster-state master --nats nats://127.0.0.1:4222 --cluster c1 --id master-2 --standby'],
  run: (ctx) => runMaster(ctx),
};

async function runMaster(ctx: Context): Promise<number> {
  const v = ctx.values;
  for (const k of ['nats', 'cluster'] as const) if (v[k] === undefined) throw new UsageError(`--${k} is required`);
  const out = ctx.io.out;
  const json = !!v.json;
  const say = (event: Record<string, unknown>, text: string) => println(out, json ? jsonText(event) : text);
  const leaseMs = intOption(ctx, 'lease-ms', 10_000, 300, 3_600_000);
  const timeoutMs = intOption(ctx, 'heartbeat-timeout-ms', 6000, 100, 3_600_000);
  const rate = numberOption(ctx, 'rate', 0, 0, 100_000);
  const id = String(v.id ?? 'master-1');
  const stop = untilSignal();
  const state = await ClusterState.open({
    clusterId: String(v.cluster), nodeId: id, nats: { servers: String(v.nats) },
    ...(v.dir === undefined ? {} : { statePath: String(v.dir) }),
    ...(v.standby ? { standby: true } : {}),
    replication: { leaseMs }, liveness: { heartbeatTimeoutMs: timeoutMs }, scheduler: true,
    onFatal: (e: StateError) => stop.reject(e),
  });
  say({ t: 'open', node: id, standby: state.isStandby, revision: state.revision }, `${id}: ${state.isStandby ? 'standby' : 'master'} of cluster ${String(v.cluster)} at revision ${state.revision}`);
  let leading = !state.isStandby;
  state.leadership().then((rev) => {
    if (!leading) say({ t: 'leader', node: id, revision: rev }, `${id}: took over as master at revision ${rev}`);
    leading = true;
  }, () => undefined);
  let n = 0;
  let carry = 0;
  const gen = rate > 0 ? setInterval(() => {
    if (!leading) return;
    carry += rate / 10;
    try {
      state.transaction(() => {
        for (; carry >= 1; carry--) state.addTask({ id: `${id}-task-${Date.now()}-${n++}`, type: 'process', payload: { ms: 200 }, resources: { cpu_cores: 1, memory_mb: 128 } });
      });
    } catch (e) {
      if (!isStateError(e)) throw e;
    }
  }, 100) : null;
  const tick = setInterval(() => {
    const s = state.snapshot();
    const count = (col: string) => {
      const out: Record<string, number> = {};
      for (const x of s.tasks.getChild(col)!.toArray() as string[]) out[x] = (out[x] ?? 0) + 1;
      return out;
    };
    const nodes: Record<string, number> = {};
    for (const x of s.nodes.getChild('status')!.toArray() as string[]) nodes[x] = (nodes[x] ?? 0) + 1;
    const tasks = count('status');
    const rep = state.replicationStats();
    say({ t: 'status', node: id, leading, revision: s.revision, replicated: rep?.replicatedRevision ?? null, nodes, tasks },
      `${id} ${leading ? 'master ' : 'standby'} rev ${s.revision}${rep ? ` (replicated ${rep.replicatedRevision})` : ''}  nodes ${JSON.stringify(nodes)}  tasks ${JSON.stringify(tasks)}`);
  }, 1000);
  let code = 0;
  try {
    const reason = await stop.promise;
    say({ t: 'stopping', reason }, `${id}: stopping (${reason})`);
  } catch (e) {
    say({ t: 'fatal', code: (e as StateError).code, message: (e as Error).message }, `${id}: ${(e as Error).message}`);
    code = 1;
  } finally {
    if (gen) clearInterval(gen);
    clearInterval(tick);
    stop.dispose();
    await state.close().catch(() => undefined);
  }
  return code;
}
