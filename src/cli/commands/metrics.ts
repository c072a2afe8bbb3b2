/**
 * `cluster-state metrics <dir>`: Prometheus text exposition, prom-client gauges on a registry of
 * its own; `serve` (serve.ts) serves the same at /metrics beside the dashboard. The figures
 * computed from a revision are cached with it. With `--nats <url> --cluster <id>` it reads one
 * snapshot of a cluster through NATS.
 */
import { Gauge, Registry } from 'prom-client';
import {
  getClusterStatusSummary, getContentAvailabilityMap, NODE_ROLES, NODE_STATUSES, TASK_STATUSES,
  type ClusterStatusSummary, type Snapshot,
} from '../../index.js';
import { JSON_OPTION, SOURCE_OPTIONS, type Command } from '../command.js';
import { countPairs, countTrue } from '../counts.js';
import { printJson } from '../format.js';
import { metadataOf, readSource, stateFiles, type StateLocation } from '../state.js';

const GiB = 2 ** 30;
export const SOURCE_ARG = { name: 'dir', help: 'a state directory (or a state_*.parquet file); or --nats <url> --cluster <id> instead', source: true };

/** What a revision says, computed once per snapshot. */
interface Facts {
  summary: ClusterStatusSummary;
  nodes: Map<string, Map<string, number>>;
  /** By status, then type. */
  tasks: Map<string, Map<string, number>>;
  pinned: number;
  shortfall: number;
  underReplicated: number;
}

const factsCache = new WeakMap<Snapshot, Facts>();

function factsOf(snap: Snapshot): Facts {
  let f = factsCache.get(snap);
  if (f) return f;
  const availability = getContentAvailabilityMap(snap);
  let shortfall = 0;
  let under = 0;
  for (const cid in availability) {
    const s = availability[cid]!.shortfall;
    if (s !== null && s > 0) {
      shortfall += s;
      under++;
    }
  }
  f = {
    summary: getClusterStatusSummary(snap),
    nodes: countPairs(snap.nodes, 'role', 'status'),
    tasks: countPairs(snap.tasks, 'status', 'type'),
    pinned: countTrue(snap.content, 'pinned'),
    shortfall,
    underReplicated: under,
  };
  factsCache.set(snap, f);
  return f;
}

/** A registry holding the gauges of the state `snap` read from `loc`, at time `now`. */
export function metricsRegistry(snap: Snapshot, loc: StateLocation, now = Date.now()): Registry {
  const f = factsOf(snap);
  const reg = new Registry();
  reg.setDefaultLabels({ cluster_id: snap.clusterId });
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name: `cluster_state_${name}`, help, labelNames, registers: [reg] });

  // A Parquet file alone does not know its revision (-1): no gauge rather than a false one.
  if (snap.revision >= 0) gauge('revision', 'Revision of the state read (the durable revision for a state directory).').set(snap.revision);
  gauge('updated_timestamp_seconds', 'When the revision read was committed (Unix time).').set(snap.updatedAt / 1000);
  gauge('age_seconds', 'Seconds since the revision read was committed.').set(Math.max(0, (now - snap.updatedAt) / 1000));

  const nodes = gauge('nodes', 'Nodes by role and status.', ['role', 'status']);
  const roles = new Set<string>([...NODE_ROLES, ...f.nodes.keys()]);
  for (const role of roles) {
    const statuses = new Set<string>([...NODE_STATUSES, ...(f.nodes.get(role)?.keys() ?? [])]);
    for (const status of statuses) nodes.set({ role, status }, f.nodes.get(role)?.get(status) ?? 0);
  }
  const s = f.summary;
  gauge('cpu_cores', 'CPU cores over all nodes that report them.').set(s.resources.cpu_cores);
  const gpus = gauge('gpus', 'GPUs over all nodes (state="available": on nodes whose GPUs are available).', ['state']);
  gpus.set({ state: 'total' }, s.resources.gpu_cores.total);
  gpus.set({ state: 'available' }, s.resources.gpu_cores.available);
  const mem = gauge('memory_bytes', 'Memory over all nodes (state="total" or "available"; rounded to 0.01 GiB).', ['state']);
  mem.set({ state: 'total' }, Math.round(s.resources.memory_gb.total * GiB));
  mem.set({ state: 'available' }, Math.round(s.resources.memory_gb.available * GiB));

  const tasks = gauge('tasks', 'Tasks by status and type.', ['status', 'type']);
  const types = new Set<string>();
  for (const m of f.tasks.values()) for (const t of m.keys()) types.add(t);
  const statuses = new Set<string>([...TASK_STATUSES, ...f.tasks.keys()]);
  for (const type of [...types].sort()) {
    for (const status of statuses) tasks.set({ status, type }, f.tasks.get(status)?.get(type) ?? 0);
  }

  gauge('content_items', 'Content items.').set(s.content.total);
  gauge('content_bytes', 'Total size of all content items.').set(s.content.total_size_gb * GiB);
  gauge('content_pinned', 'Pinned content items.').set(f.pinned);
  gauge('replication_shortfall', 'Replicas missing: sum over content of max(0, replication - online providers).').set(f.shortfall);
  gauge('content_under_replicated', 'Content items with fewer online providers than their replication.').set(f.underReplicated);

  const files = stateFiles(loc);
  const fileBytes = gauge('file_bytes', 'Size of each state file.', ['file']);
  const fileAge = gauge('file_age_seconds', 'Seconds since each state file was last modified.', ['file']);
  for (const file of files) {
    fileBytes.set({ file: file.name }, file.bytes);
    fileAge.set({ file: file.name }, Math.max(0, (now - file.mtimeMs) / 1000));
  }
  if (loc.kind === 'dir') {
    const md = metadataOf(loc.dir);
    if (md && typeof md.parquet_revision === 'number') gauge('parquet_revision', 'Revision the Parquet file holds (from state_metadata.json).').set(md.parquet_revision);
  }
  return reg;
}

export const metrics: Command = {
  name: 'metrics',
  summary: 'Print Prometheus metrics of the state (text exposition format).',
  positionals: [SOURCE_ARG],
  options: { ...JSON_OPTION, ...SOURCE_OPTIONS },
  description: 'Gauges (all labelled cluster_id): cluster_state_revision, _updated_timestamp_seconds, _age_seconds,\n'
    + '_nodes{role,status}, _cpu_cores, _gpus{state}, _memory_bytes{state}, _tasks{status,type},\n'
    + '_content_items, _content_bytes, _content_pinned, _replication_shortfall, _content_under_replicated,\n'
    + '_file_bytes{file}, _file_age_seconds{file}, _parquet_revision (the file gauges not with --nats).\n'
    + 'With --json: prom-client\'s JSON form of the same metrics.',
  examples: [
    'cluster-state metrics ./.cluster-state',
    'cluster-state metrics ./.cluster-state | grep ^cluster_state_tasks',
    'cluster-state metrics --nats nats://127.0.0.1:4222 --cluster c1',
  ],
  async run(ctx) {
    const { snap, loc } = await readSource(ctx);
    const reg = metricsRegistry(snap, loc);
    if (ctx.values.json) printJson(ctx.io, await reg.getMetricsAsJSON());
    else ctx.io.out.write(await reg.metrics());
    return 0;
  },
};
