// Every helper with a spread of arguments (present, absent and odd values), as data: the
// helper's name, its arguments after the state source, and the row-object expectation. Used by
// the property test (vs the row model) and the source-equality test (vs the writer's answer,
// and through the worker pool by name).
import * as H from '../../src/helpers/index.js';
import { rowModel, type Rows } from './row-model.js';
import { CAPABILITIES, ROLES, TYPES, type RandomState } from './support.js';

export interface Case {
  label: string;
  helper: keyof typeof H;
  args: unknown[];
  model: (r: Rows) => unknown;
}

/** Calls helper `c` on `source`. */
export function run(c: Case, source: unknown): unknown {
  return (H[c.helper] as (...a: unknown[]) => unknown)(source, ...c.args);
}

export function cases(rs: RandomState, seed: number): Case[] {
  let x = seed * 7919 + 1;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const sample = <T>(xs: readonly T[], n: number): T[] => Array.from({ length: Math.min(n, xs.length) }, () => pick(xs));
  const out: Case[] = [];
  const add = (helper: keyof typeof H, args: unknown[], model: (r: Rows) => unknown) =>
    out.push({ label: `${helper}(${args.map((a) => JSON.stringify(a)).join(', ')})`, helper, args, model });
  add('getClusterMetadata', [], rowModel.getClusterMetadata);
  add('getClusterStateAsDict', [], rowModel.getClusterStateAsDict);
  add('getAllNodes', [], rowModel.getAllNodes);
  add('getAllTasks', [], rowModel.getAllTasks);
  add('getAllContent', [], rowModel.getAllContent);
  add('findNodesWithGpu', [], rowModel.findNodesWithGpu);
  add('getTaskExecutionMetrics', [], rowModel.getTaskExecutionMetrics);
  add('findOrphanedContent', [], rowModel.findOrphanedContent);
  add('getContentAvailabilityMap', [], rowModel.getContentAvailabilityMap);
  add('getClusterStatusSummary', [], rowModel.getClusterStatusSummary);
  add('getNetworkTopology', [], rowModel.getNetworkTopology);
  for (const id of [...sample(rs.nodeIds, 12), 'ghost-1', 'nobody']) {
    add('getNodeById', [id], (r) => rowModel.getNodeById(r, id));
    add('getNodeResourceUtilization', [id], (r) => rowModel.getNodeResourceUtilization(r, id));
    add('findTasksByNode', [id], (r) => rowModel.findTasksByNode(r, id));
    add('findContentByProvider', [id], (r) => rowModel.findContentByProvider(r, id));
  }
  for (const role of [...ROLES, 'nope']) add('findNodesByRole', [role], (r) => rowModel.findNodesByRole(r, role));
  for (const cap of [...CAPABILITIES, 'none']) add('findNodesByCapability', [cap], (r) => rowModel.findNodesByCapability(r, cap));
  for (const st of ['pending', 'assigned', 'running', 'completed', 'failed', 'cancelled', 'processing']) add('findTasksByStatus', [st], (r) => rowModel.findTasksByStatus(r, st));
  for (const type of [...TYPES, 'unknown-type']) add('findTasksByType', [type], (r) => rowModel.findTasksByType(r, type));
  const now = rs.clock.now + 60_000;
  for (const id of [...sample(rs.taskIds, 25), 'no-such-task']) {
    add('getTaskById', [id], (r) => rowModel.getTaskById(r, id));
    add('findAvailableNodeForTask', [id], (r) => rowModel.findAvailableNodeForTask(r, id));
    add('estimateTimeToCompletion', [id, { now }], (r) => rowModel.estimateTimeToCompletion(r, id, { now }));
  }
  for (const cid of [...sample(rs.cids, 10), 'bafy-unknown-1']) add('findContentByCid', [cid], (r) => rowModel.findContentByCid(r, cid));
  const reqs = [{}, { cpu_cores: 2 }, { gpu_cores: 1 }, { memory_mb: 1024 }, { cpu_cores: 4, gpu_cores: 1, memory_mb: 512 }, { cpu_cores: 0 }, { memory_mb: 0 }, { gpu_cores: 2, memory_mb: 4096 }];
  for (const q of reqs) {
    add('findTasksByResourceRequirements', [q], (r) => rowModel.findTasksByResourceRequirements(r, q));
    add('findAvailableNodeForTask', [q], (r) => rowModel.findAvailableNodeForTask(r, q));
  }
  return out;
}
