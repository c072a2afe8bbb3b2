/**
 * Shared-memory figures (issue: worker threads read the live state zero-copy): mutation → a
 * worker holds the new Tables, for fixed- and variable-width changes; publish cost; worker
 * snapshot cost; cold attach; a slow reader's effect; sustained mutation rates; shared-memory
 * size. Beside, in the same run: the whole state sent to the worker by postMessage (structured
 * clone), and the whole IPC rebuilt and re-parsed per publish.
 */
import { Worker } from 'node:worker_threads';
import type { ClusterState } from '../../src/index.js';
import { cid, nodeId, taskId } from '../../src/demo/synthetic.js';
import { ipcOf, rebuildColumnWise, recordsOf } from '../lib/baseline.js';
import type { Report } from '../lib/report.js';
import { nextTurn, summarize, wallNow } from '../lib/stats.js';

const WORKER = new URL('../lib/latency-worker.js', import.meta.url);

interface Ack { revision: number; t: number; snapshotMs?: number; decoded?: number; rows: number; attachMs?: number }

class Inbox {
  private queue: Ack[] = [];
  private wake: (() => void) | null = null;
  constructor(w: Worker) {
    w.on('message', (m: Ack) => {
      this.queue.push(m);
      this.wake?.();
    });
  }
  async until(pred: (m: Ack) => boolean, timeoutMs = 60_000): Promise<Ack> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.queue.findIndex(pred);
      if (i >= 0) {
        const m = this.queue[i]!;
        this.queue.splice(0, i + 1);
        return m;
      }
      if (Date.now() > deadline) throw new Error('bench worker did not answer');
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 1000).unref();
      });
      this.wake = null;
    }
  }
}

type Publishable = ClusterState & { publishNow(): void };

export interface SharedOptions {
  trials: number;
  baselineTrials: number;
  sustainMs: number;
  /** The synthetic scale the state was loaded with (ids 0..n-1 exist). */
  loaded: { nodes: number; tasks: number; content: number };
}

export async function sharedSuite(report: Report, state: ClusterState, scale: string, opts: SharedOptions): Promise<void> {
  const s = state as Publishable;
  await s.published();
  const control = new SharedArrayBuffer(4);
  const stop = new Int32Array(control);
  const w = new Worker(WORKER, { workerData: { handle: s.shared(), mode: 'shared', control } });
  s.trackWorker(w);
  const inbox = new Inbox(w);
  const hello = await inbox.until((m) => m.attachMs !== undefined);
  report.add({ suite: 'shared', scale, name: 'cold attach + first snapshot (worker)', unit: 'ms', better: 'lower', runs: [hello.attachMs!], target: scale === 'M' ? '≤ 20 ms' : undefined });

  const { nodes, tasks, content: contents } = opts.loaded;
  const online: string[] = [];
  for (let i = 0; i < nodes && online.length < 256; i++) {
    const n = s.getNode(nodeId(i))!;
    if (n.status === 'online' && n.role !== 'leecher') online.push(n.id);
  }
  let inserted = 0;
  const classes: [string, 'fixed' | 'variable', (i: number) => void][] = [
    ['node status', 'fixed', (i) => s.updateNodeStatus(online[i % online.length]!, i % 2 ? 'degraded' : 'online')],
    ['heartbeat (last_seen, cpu_load)', 'fixed', (i) => s.heartbeat(online[i % online.length]!, { cpu_load: i % 100 })],
    ['task priority', 'fixed', (i) => s.updateTask(taskId((i * 7919) % tasks), { priority: i % 10 })],
    ['content providers (list)', 'variable', (i) => {
      const c = cid((i * 104729) % contents);
      const n = online[(i * 31) % online.length]!;
      if (s.getContent(c)!.providers.includes(n)) s.removeProvider(c, n);
      else s.addProvider(c, n);
    }],
    ['task result (utf8, null→value)', 'variable', (i) => s.updateTask(taskId((i * 15485863) % tasks), { result: { run: i, note: 'résumé' } })],
    ['insert task', 'variable', () => s.addTask({ id: `lat-${scale}-${inserted++}`, type: 'process' })],
  ];

  const measure = async (name: string, kind: 'fixed' | 'variable', op: (i: number) => void, label = '') => {
    const lat: number[] = [];
    const pub: number[] = [];
    const snap: number[] = [];
    for (let i = 0; i < opts.trials; i++) {
      const t0 = wallNow();
      op(i);
      const a = performance.now();
      s.publishNow();
      pub.push(performance.now() - a);
      const rev = s.revision;
      const m = await inbox.until((x) => x.revision >= rev);
      lat.push(m.t - t0);
      if (i === opts.trials - 1 && m.revision === s.revision) {
        report.check(`${scale} ${name}: the worker's snapshot holds every row of the revision`, m.rows === s.counts.nodes + s.counts.tasks + s.counts.content, `${m.rows}`);
      }
      if (m.snapshotMs !== undefined) snap.push(m.snapshotMs);
    }
    const L = summarize(lat);
    const P = summarize(pub);
    const target = kind === 'fixed' ? ['≤ 0.5 ms', '≤ 2 ms', '≤ 0.2 ms'] : ['≤ 1.5 ms', '≤ 6 ms', '≤ 1 ms'];
    const m = scale === 'M';
    report.add({ suite: 'shared', scale, name: `${kind}: ${name}${label} → worker p50`, unit: 'ms', better: 'lower', runs: [L.p50], target: m ? target[0] : undefined });
    report.add({ suite: 'shared', scale, name: `${kind}: ${name}${label} → worker p99`, unit: 'ms', better: 'lower', runs: [L.p99], target: m ? target[1] : undefined });
    if (!label) {
      report.add({ suite: 'shared', scale, name: `${kind}: ${name} publish p50`, unit: 'ms', better: 'lower', runs: [P.p50], target: m ? target[2] : undefined });
      report.add({ suite: 'shared', scale, name: `${kind}: ${name} worker snapshot p50`, unit: 'ms', better: 'lower', runs: [summarize(snap).p50] });
    }
    return { L, P };
  };

  const fixed: number[] = [];
  const fixedPub: number[] = [];
  for (const [name, kind, op] of classes) {
    const { L, P } = await measure(name, kind, op);
    if (kind === 'fixed') {
      fixed.push(L.p50);
      fixedPub.push(P.p50);
    }
  }

  // A slow reader holding each snapshot for 20 ms must not delay anyone else.
  const slowCtl = new SharedArrayBuffer(4);
  const slow = new Worker(WORKER, { workerData: { handle: s.shared(), mode: 'slow', control: slowCtl, holdMs: 20 } });
  s.trackWorker(slow);
  await new Promise((r) => slow.once('message', r));
  await measure('node status', 'fixed', classes[0]![2], ' (20 ms slow reader)');
  Atomics.store(new Int32Array(slowCtl), 0, 1);
  await slow.terminate();

  // Sustained: K mutations per turn, every turn published (coalesced).
  for (const K of [1, 1000]) {
    const pubs: number[] = [];
    let n = 0;
    const end = performance.now() + opts.sustainMs;
    const t0 = performance.now();
    while (performance.now() < end) {
      for (let k = 0; k < K; k++, n++) classes[n % 5]![2](n);
      const a = performance.now();
      s.publishNow();
      pubs.push(performance.now() - a);
      await nextTurn();
    }
    const rate = n / ((performance.now() - t0) / 1000);
    report.add({ suite: 'shared', scale, name: `sustained, ${K} per turn`, unit: 'mut/s', better: 'higher', runs: [rate], target: K === 1000 && scale === 'M' ? '≥ 25,000' : undefined });
    report.add({ suite: 'shared', scale, name: `sustained, ${K} per turn: publish p99`, unit: 'ms', better: 'lower', runs: [summarize(pubs).p99] });
  }
  // Sustained with adaptive publishing (options.publishing, the default pacing): K mutations per
  // turn, no explicit publish — the writer paces its publishes; mutation → visible to worker
  // threads (published) measured for every mutation, as the figure that matters under load. Two
  // workloads: the mix of the five classes above (fixed and variable width, random rows), and a
  // heartbeat storm (every non-leecher node in turn reports its load: fixed-width changes only).
  await s.published();
  const reporting: string[] = [];
  for (let i = 0; i < nodes; i++) if (s.getNode(nodeId(i))!.role !== 'leecher') reporting.push(nodeId(i));
  const workloads: [label: string, op: (n: number) => void][] = [
    ['', (n) => classes[n % 5]![2](n)],
    [' (heartbeat storm)', (n) => s.heartbeat(reporting[n % reporting.length]!, { cpu_load: n % 100 })],
  ];
  for (const [label, op] of workloads) for (const K of [1, 1000]) {
    const visible: number[] = [];
    const waiting: { rev: number; t: number }[] = [];
    let head = 0;
    let n = 0;
    const p0 = s.memoryStats().publications;
    const end = performance.now() + opts.sustainMs;
    const t0 = performance.now();
    while (performance.now() < end) {
      for (let k = 0; k < K; k++, n++) op(n);
      waiting.push({ rev: s.revision, t: performance.now() });
      await nextTurn();
      const now = performance.now();
      const pub = s.publishedRevision;
      while (head < waiting.length && waiting[head]!.rev <= pub) visible.push(now - waiting[head++]!.t);
    }
    const rate = n / ((performance.now() - t0) / 1000);
    await s.published();
    const now = performance.now();
    while (head < waiting.length) visible.push(now - waiting[head++]!.t);
    const v = summarize(visible);
    const goal = scale === 'M' ? (K === 1 ? '≥ 40,000' : '≥ 60,000') : scale === 'L' ? (K === 1 ? '≥ 20,000' : '≥ 30,000') : undefined;
    const name = `sustained, ${K} per turn, adaptive publishing${label}`;
    report.add({ suite: 'shared', scale, name, unit: 'mut/s', better: 'higher', runs: [rate], target: goal });
    report.add({ suite: 'shared', scale, name: `${name}: mutation → visible p50`, unit: 'ms', better: 'lower', runs: [v.p50] });
    report.add({ suite: 'shared', scale, name: `${name}: mutation → visible p99`, unit: 'ms', better: 'lower', runs: [v.p99], target: K === 1 ? (scale === 'M' ? '≤ 20 ms' : scale === 'L' ? '≤ 50 ms' : undefined) : undefined });
    report.add({ suite: 'shared', scale, name: `${name}: turns per publish`, unit: '×', better: 'higher', runs: [waiting.length / Math.max(1, s.memoryStats().publications - p0)] });
  }
  await s.published();
  const mem = s.memoryStats();
  report.add({ suite: 'shared', scale, name: 'shared memory / live encoded state', unit: '×', better: 'lower', runs: [mem.sharedBytes / mem.liveBytes], target: '≤ 1.1 steady, ≤ 2.5 peak' });
  report.add({ suite: 'shared', scale, name: 'shared memory', unit: 'MB', better: 'lower', runs: [mem.sharedBytes / 1e6] });

  Atomics.store(stop, 0, 1);
  await w.terminate();

  // Baselines, same data, same machine, same run.
  if (opts.baselineTrials > 0) {
    const recs = recordsOf(s);
    const clone = new Worker(WORKER, { workerData: { mode: 'clone' } });
    const cloneIn = new Inbox(clone);
    const cl: number[] = [];
    for (let i = 0; i < opts.baselineTrials; i++) {
      const t0 = wallNow();
      (recs.nodes[i % recs.nodes.length] as { status: string }).status = i % 2 ? 'degraded' : 'online';
      clone.postMessage({ revision: i, state: recs });
      const ack = await cloneIn.until((m) => m.revision === i);
      cl.push(ack.t - t0);
      report.check(`${scale} postMessage baseline: the worker received every row`, ack.rows === s.counts.nodes + s.counts.tasks + s.counts.content, `${ack.rows}`);
    }
    await clone.terminate();
    const full = new Worker(WORKER, { workerData: { mode: 'full-ipc' } });
    const fullIn = new Inbox(full);
    const fl: number[] = [];
    const rebuild: number[] = [];
    for (let i = 0; i < opts.baselineTrials; i++) {
      const t0 = wallNow();
      (recs.nodes[i % recs.nodes.length] as { status: string }).status = i % 2 ? 'degraded' : 'online';
      const a = performance.now();
      const parts = ipcOf(rebuildColumnWise(recs));
      const total = parts.reduce((x, p) => x + Math.ceil(p.byteLength / 8) * 8, 0);
      const sab = new SharedArrayBuffer(total);
      let off = 0;
      for (const p of parts) {
        new Uint8Array(sab, off, p.byteLength).set(p);
        off += Math.ceil(p.byteLength / 8) * 8;
      }
      rebuild.push(performance.now() - a);
      full.postMessage({ revision: i, sab, lengths: parts.map((p) => p.byteLength) });
      const ack = await fullIn.until((m) => m.revision === i);
      fl.push(ack.t - t0);
      report.check(`${scale} full-IPC baseline: the worker parsed every row`, ack.rows === s.counts.nodes + s.counts.tasks + s.counts.content, `${ack.rows}`);
    }
    await full.terminate();
    const oursFixed = [summarize(fixed).p50];
    report.add({ suite: 'shared', scale, name: 'fixed-width change → worker (vs postMessage clone)', unit: 'ms', better: 'lower', runs: oursFixed, baseline: { name: 'postMessage clone', runs: cl } });
    report.add({ suite: 'shared', scale, name: 'fixed-width change → worker (vs full IPC rebuild)', unit: 'ms', better: 'lower', runs: oursFixed, baseline: { name: 'full IPC rebuild', runs: fl } });
    report.add({ suite: 'shared', scale, name: 'publish cost (vs full rebuild + IPC + copy)', unit: 'ms', better: 'lower', runs: [summarize(fixedPub).p50], baseline: { name: 'full rebuild', runs: rebuild } });
  } else {
    report.skip(`shared baselines at ${scale}`, 'quick mode');
  }
}
