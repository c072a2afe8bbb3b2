/**
 * A deterministic synthetic cluster for demos, tests and benchmarks: seeded, with realistic
 * shapes (a few masters, mostly workers, some leechers; mixed statuses; resource distributions;
 * 1–4 providers per CID; tasks in every lifecycle stage, linked to content by CID).
 */
import type { ClusterState } from '../store/cluster-state.js';
import type { TaskStatus } from '../schema/entities.js';

export interface SyntheticScale {
  nodes: number;
  tasks: number;
  content: number;
}

/** The benchmark scales of the project. */
export const SCALES: Record<'S' | 'M' | 'L', SyntheticScale> = {
  S: { nodes: 1_000, tasks: 10_000, content: 10_000 },
  M: { nodes: 10_000, tasks: 100_000, content: 100_000 },
  L: { nodes: 100_000, tasks: 1_000_000, content: 1_000_000 },
};

/** A small fast PRNG (mulberry32): the same seed gives the same cluster everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const TASK_TYPES = ['process', 'analyze', 'transfer', 'model_training', 'embedding_generation', 'pin', 'replicate', 'index'];
const CAPABILITIES = ['gpu', 'model_training', 'embedding_generation', 'pinning', 'storage', 'transcode'];
const GiB = 2 ** 30;

/** Stable synthetic ids (peer-id-like and CID-like lengths). */
export const nodeId = (i: number) => `node-${String(i).padStart(6, '0')}-12D3KooW${(i * 2654435761 >>> 0).toString(36).padStart(7, 'x')}`;
export const taskId = (i: number) => `task-${String(i).padStart(8, '0')}`;
export const cid = (i: number) => `bafybeig${(i * 2246822519 >>> 0).toString(32).padStart(8, 'q')}${String(i).padStart(10, '0')}xyzabcdefghijklmnopqrstu`;

/** Status a task has in the synthetic cluster (by index and seed). */
function taskStatus(r: number): TaskStatus {
  if (r < 0.2) return 'pending';
  if (r < 0.3) return 'assigned';
  if (r < 0.45) return 'running';
  if (r < 0.85) return 'completed';
  if (r < 0.95) return 'failed';
  return 'cancelled';
}

/**
 * Loads a synthetic cluster into `state` in transactions of `chunk` operations, calling
 * `onProgress(done, total)` between chunks (and awaiting a turn so the process stays responsive).
 */
export async function loadSynthetic(
  state: ClusterState,
  scale: SyntheticScale,
  opts: { seed?: number; chunk?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<void> {
  const rnd = prng(opts.seed ?? 42);
  const chunk = opts.chunk ?? 5000;
  const total = scale.nodes + scale.tasks + scale.content;
  let done = 0;
  const masters = Math.max(1, Math.round(scale.nodes * 0.01));
  const online: string[] = [];
  const run = async (n: number, fn: (i: number) => void) => {
    for (let start = 0; start < n; start += chunk) {
      const end = Math.min(n, start + chunk);
      state.transaction(() => {
        for (let i = start; i < end; i++) fn(i);
      });
      done += end - start;
      opts.onProgress?.(done, total);
      await new Promise((r) => setImmediate(r));
    }
  };
  await run(scale.nodes, (i) => {
    const role = i < masters ? 'master' : rnd() < 0.9 ? 'worker' : 'leecher';
    const r = rnd();
    const status = i === 0 ? 'online' : r < 0.85 ? 'online' : r < 0.95 ? 'offline' : 'degraded';
    const cpu = [2, 4, 8, 16, 32, 64][Math.floor(rnd() * 6)]!;
    const mem = [8, 16, 32, 64, 128, 256][Math.floor(rnd() * 6)]! * GiB;
    const gpu = rnd() < 0.3 ? 1 + Math.floor(rnd() * 8) : 0;
    const peers = new Set<string>();
    const np = 2 + Math.floor(rnd() * 4);
    for (let k = 0; k < np && scale.nodes > 1; k++) {
      const j = Math.floor(rnd() * scale.nodes);
      if (j !== i) peers.add(nodeId(j));
    }
    const caps = CAPABILITIES.filter(() => rnd() < 0.35);
    const id = nodeId(i);
    state.registerNode({
      id, role, status, peers: [...peers], capabilities: caps, address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      resources: {
        cpu_count: cpu, cpu_load: Math.round(rnd() * 1000) / 10, gpu_count: gpu, gpu_available: gpu > 0 && rnd() < 0.7,
        memory_total: mem, memory_available: Math.floor(mem * rnd()), disk_total: 2000 * GiB, disk_available: Math.floor(2000 * GiB * rnd()),
      },
      metadata: { zone: `zone-${i % 8}` },
    });
    if (status === 'online' && role !== 'leecher') online.push(id);
  });
  await run(scale.content, (i) => {
    const providers = new Set<string>();
    const np = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < np && online.length; k++) providers.add(online[Math.floor(rnd() * online.length)]!);
    state.addContent({ cid: cid(i), size: Math.floor(2 ** (10 + rnd() * 24)), providers: [...providers], pinned: rnd() < 0.6, replication: 1 + Math.floor(rnd() * 4) });
  });
  await run(scale.tasks, (i) => {
    const id = taskId(i);
    const status = online.length ? taskStatus(rnd()) : 'pending';
    const inputs = scale.content ? [cid(Math.floor(rnd() * scale.content))] : [];
    state.addTask({
      id,
      type: TASK_TYPES[Math.floor(rnd() * TASK_TYPES.length)]!,
      priority: Math.floor(rnd() * 10),
      resources: { cpu_cores: 1 + Math.floor(rnd() * 4), gpu_cores: rnd() < 0.1 ? 1 : 0, memory_mb: 256 * (1 + Math.floor(rnd() * 16)) },
      input_cids: inputs,
      payload: { shard: i % 64 },
    });
    if (status === 'pending') return;
    state.assignTask(id, online[Math.floor(rnd() * online.length)]!);
    if (status === 'assigned') return;
    if (status === 'cancelled') {
      state.updateTask(id, { status: 'cancelled' });
      return;
    }
    state.updateTask(id, { status: 'running' });
    if (status === 'completed') {
      const out = scale.content ? cid(Math.floor(rnd() * scale.content)) : null;
      state.updateTask(id, { status: 'completed', result: { ok: true }, output_cid: out, output_cids: out ? [out] : [] });
    } else if (status === 'failed') {
      state.updateTask(id, { status: 'failed', error: 'exit code 1' });
    }
  });
}
