/**
 * Placement: the node a task should run on (findAvailableNodeForTask) and its score. Node facts
 * are read once per (immutable) nodes table, active tasks per node are counted per record batch
 * and carried across revisions by comparing changed batches, so a placement after one mutation
 * costs the changed batch, not the table.
 */
import { invalid } from '../errors.js';
import type { NodeRecord, TaskResourcesInput } from '../schema/records.js';
import type { Snapshot } from '../snapshot.js';
import {  requirements, text } from './args.js';
import type { Data, Table } from 'apache-arrow';
import { hashBytes } from '../arrow/decode/key-index.js';
import type { StrChunk } from '../arrow/decode/str-chunk.js';
import {  tableView } from '../arrow/decode/table-view.js';
import { withSnapshot, type StateSource } from './source.js';
import { REQ_FIELDS } from './tasks.js';

const MiB = 1048576;

/** Requirements assumed when a task does not state them (the Python original's defaults). */
export const DEFAULT_REQUIREMENTS = { cpu_cores: 1, gpu_cores: 0, memory_mb: 256 } as const;
/** cpu_load assumed for a node that has not reported one: the midpoint, neither idle nor busy. */
export const UNKNOWN_CPU_LOAD = 50;

/**
 * Placement score of an eligible node (higher is better):
 *
 *   base  = 0.4 × (1 − cpu_load / 100) + 0.6 × memory_available / memory_total
 *   score = base / (1 + active_tasks / max(cpu_count, 1))
 *
 * `cpu_load` is clamped to 0..100 and taken as 50 when unknown; the memory term is clamped to
 * 0..1 and is 0 when memory_total is unknown or not > 0 (so a zero total never wins);
 * `active_tasks` is the node's tasks in status assigned or running, so each placement lowers
 * the node's score and equal nodes take turns.
 */
export function placementScore(cpuLoad: number, memoryAvailable: number, memoryTotal: number, cpuCount: number, activeTasks: number): number {
  return scoreOf(placementBase(cpuLoad, memoryAvailable, memoryTotal), cpuCount, activeTasks);
}

/** `base` of placementScore: the score of the node with no active task (an upper bound of its score). */
function placementBase(cpuLoad: number, memoryAvailable: number, memoryTotal: number): number {
  const load = Number.isFinite(cpuLoad) ? Math.min(100, Math.max(0, cpuLoad)) : UNKNOWN_CPU_LOAD;
  const mem = Number.isFinite(memoryTotal) && memoryTotal > 0 && Number.isFinite(memoryAvailable) ? Math.min(1, Math.max(0, memoryAvailable / memoryTotal)) : 0;
  return 0.4 * (1 - load / 100) + 0.6 * mem;
}

/** placementScore from its base: never more than `base`, lower with every active task. */
function scoreOf(base: number, cpuCount: number, activeTasks: number): number {
  return base / (1 + activeTasks / Math.max(Number.isFinite(cpuCount) ? cpuCount : 1, 1));
}

/**
 * What placement needs of the online workers of a nodes table, in order of their placement base
 * (best first; ties in table order): derived from the immutable table once, so placing many
 * tasks on one nodes table scans typed arrays and stops at the first node no later one can beat.
 */
interface NodeFacts {
  /** Global rows, by base descending (ties: table order). The other arrays follow this order. */
  row: Int32Array;
  base: Float64Array;
  cpu: Float64Array;
  memAvail: Float64Array;
  gpuCount: Float64Array;
  /** 1 when gpu_available is true. */
  gpuAvail: Uint8Array;
  id: (string | null)[];
}

const factsCache = new WeakMap<Table, NodeFacts>();

function nodeFacts(nodes: Table): NodeFacts {
  let f = factsCache.get(nodes);
  if (f) return f;
  const nv = tableView(nodes);
  const role = nv.str('role').matcher('worker');
  const status = nv.str('status').matcher('online');
  const ids = nv.str('id');
  const cpuCount = nv.num('resources.cpu_count');
  const memAvail = nv.num('resources.memory_available');
  const memTotal = nv.num('resources.memory_total');
  const load = nv.num('resources.cpu_load');
  const gpuCount = nv.num('resources.gpu_count');
  const gpuAvail = nv.num('resources.gpu_available');
  const rows: number[] = [];
  const bases: number[] = [];
  for (let b = 0; b < nv.lengths.length; b++) {
    for (let i = 0; i < nv.lengths[b]!; i++) {
      if (!role.test(b, i) || !status.test(b, i)) continue;
      const g = nv.starts[b]! + i;
      rows.push(g);
      bases.push(placementBase(load.chunks[b]!.get(i), memAvail.chunks[b]!.get(i), memTotal.chunks[b]!.get(i)));
    }
  }
  const order = rows.map((_, k) => k).sort((x, y) => bases[y]! - bases[x]! || rows[x]! - rows[y]!);
  const n = order.length;
  f = { row: new Int32Array(n), base: new Float64Array(n), cpu: new Float64Array(n), memAvail: new Float64Array(n), gpuCount: new Float64Array(n), gpuAvail: new Uint8Array(n), id: new Array<string | null>(n) };
  for (let k = 0; k < n; k++) {
    const g = rows[order[k]!]!;
    f.row[k] = g;
    f.base[k] = bases[order[k]!]!;
    f.cpu[k] = cpuCount.at(g);
    f.memAvail[k] = memAvail.at(g);
    f.gpuCount[k] = gpuCount.at(g);
    f.gpuAvail[k] = gpuAvail.at(g) === 1 ? 1 : 0;
    f.id[k] = ids.at(g);
  }
  factsCache.set(nodes, f);
  return f;
}

/**
 * Active (assigned or running) tasks per node id in one record batch; batches are immutable.
 * Computed when a batch is first counted whole (a batch derived from its predecessor by
 * activeByDiff has none until it is needed).
 */
const activeOfBatch = new WeakMap<Data, Map<string, number>>();

/** The tasks table active counts were last computed for, its batches and the counts (by node id). */
let activeLast: { tasks: Table; batches: readonly Data[]; byNode: Map<string, number> } | null = null;

function activeInBatch(tasks: Table, b: number): Map<string, number> {
  const d = tasks.data[b]!;
  let m = activeOfBatch.get(d);
  if (m) return m;
  m = new Map();
  const tv = tableView(tasks);
  const status = tv.str('status').classifier(['assigned', 'running']);
  const to = tv.str('assigned_to').chunks[b]!;
  const n = tv.lengths[b]!;
  if (to.offsets === null || to.codes) {
    for (let i = 0; i < n; i++) {
      if (status.at(b, i) < 0) continue;
      const node = to.get(i);
      if (node !== null) m.set(node, (m.get(node) ?? 0) + 1);
    }
  } else {
    // Counted on the raw UTF-8 bytes (an open-addressing table of row and hash): one string is
    // decoded per distinct node, not per task.
    const o = to.offsets;
    const bytes = to.bytes!;
    let cap = 16;
    while (cap < n * 2) cap *= 2;
    const mask = cap - 1;
    const slot = new Int32Array(cap * 2); // row + 1 (0 = empty), hash
    const count = new Int32Array(cap);
    const same = (r: number, s: number, e: number) => {
      const rs = o[r]!;
      if (o[r + 1]! - rs !== e - s) return false;
      for (let k = 0; k < e - s; k++) if (bytes[rs + k] !== bytes[s + k]) return false;
      return true;
    };
    // Dictionary-coded status (the writer's and worker snapshots): a table of active codes.
    const st = tv.str('status').chunks[b]!;
    let activeCode: Uint8Array | null = null;
    if (st.codes && st.valid.none) {
      activeCode = new Uint8Array(st.dict!.values.length);
      for (const v of ['assigned', 'running']) {
        const c = st.codeOf(v);
        if (c >= 0) activeCode[c] = 1;
      }
    }
    const codes = st.codes;
    const allValid = to.valid.none;
    for (let i = 0; i < n; i++) {
      if (activeCode !== null ? activeCode[codes![i]!] !== 1 : status.at(b, i) < 0) continue;
      if (!allValid && !to.valid.ok(i)) continue;
      const s = o[i]!;
      const e = o[i + 1]!;
      const h = hashBytes(bytes, s, e);
      let p = h & mask;
      for (;;) {
        const at = slot[2 * p]!;
        if (at === 0) {
          slot[2 * p] = i + 1;
          slot[2 * p + 1] = h;
          count[p] = 1;
          break;
        }
        if (slot[2 * p + 1] === h && same(at - 1, s, e)) {
          count[p]!++;
          break;
        }
        p = (p + 1) & mask;
      }
    }
    for (let p = 0; p < cap; p++) if (slot[2 * p] !== 0) m.set(to.get(slot[2 * p]! - 1)!, count[p]!);
  }
  activeOfBatch.set(d, m);
  return m;
}

/**
 * Active (assigned or running) tasks per node id in the snapshot's tasks table. Counted per
 * record batch (cached with the batch, which is immutable) and summed incrementally from the last
 * tasks table asked about: a snapshot that differs from it by one re-encoded batch costs that
 * batch, not the table — what makes placing tasks one by one on the writer cheap.
 */
function activeTasksByNode(s: Snapshot): Map<string, number> {
  const tasks = s.tasks;
  if (activeLast?.tasks === tasks) return activeLast.byNode;
  const next = tasks.data;
  const last = activeLast ?? { tasks, batches: [], byNode: new Map<string, number>() };
  const before = new Set<Data>(last.batches);
  const after = new Set<Data>(next);
  const bump = (node: string, n: number) => {
    const v = (last.byNode.get(node) ?? 0) + n;
    if (v === 0) last.byNode.delete(node);
    else last.byNode.set(node, v);
  };
  const add = (m: Map<string, number>, sign: number) => {
    for (const [node, n] of m) bump(node, sign * n);
  };
  const diffed = new Set<Data>();
  for (let b = 0; b < next.length; b++) {
    if (before.has(next[b]!)) continue;
    // A batch re-encoded in place (same position, same rows: e.g. one task assigned) is compared
    // row by row with the one it replaced, and only the rows whose activity changed are counted.
    const old = last.batches[b];
    if (old !== undefined && !after.has(old) && activeByDiff(last.tasks, b, tasks, b, bump)) {
      diffed.add(old);
      continue;
    }
    add(activeInBatch(tasks, b), +1);
  }
  // Batches of the previous table are in its (cached) per-batch counts: subtract the gone ones.
  last.batches.forEach((d, b) => {
    if (!after.has(d) && !diffed.has(d)) add(activeOfBatch.get(d) ?? activeInBatch(last.tasks, b), -1);
  });
  activeLast = { tasks, batches: next.slice(), byNode: last.byNode };
  return last.byNode;
}

/** 1 for the dictionary codes of `assigned` and `running` in a dictionary-coded status chunk. */
function activeCodes(c: StrChunk): Uint8Array {
  const t = new Uint8Array(c.dict!.values.length);
  for (const v of ['assigned', 'running']) {
    const code = c.codeOf(v);
    if (code >= 0) t[code] = 1;
  }
  return t;
}

/**
 * How the active counts change from batch `pb` of `prev` to batch `nb` of `next` (the batch
 * that replaced it), found by comparing the two and reported to `bump`; false (nothing done)
 * when they cannot be compared that way (other row counts, plain-text or null statuses).
 */
function activeByDiff(prev: Table, pb: number, next: Table, nb: number, bump: (node: string, n: number) => void): boolean {
  const pv = tableView(prev);
  const nv = tableView(next);
  const n = nv.lengths[nb]!;
  if (pv.lengths[pb] !== n) return false;
  const ps = pv.str('status').chunks[pb]!;
  const ns = nv.str('status').chunks[nb]!;
  const pt = pv.str('assigned_to').chunks[pb]!;
  const nt = nv.str('assigned_to').chunks[nb]!;
  if (!ps.codes || !ns.codes || !ps.valid.none || !ns.valid.none || pt.codes || nt.codes) return false;
  const pa = activeCodes(ps);
  const na = activeCodes(ns);
  const change = (node: string | null, d: number) => {
    if (node !== null) bump(node, d);
  };
  const pc = ps.codes;
  const nc = ns.codes;
  // Rows whose node changed (found with a few native comparisons), plus rows whose activity did.
  const rows = changedText(pt, nt, n);
  for (let i = 0; i < n; i++) if ((pa[pc[i]!] === 1) !== (na[nc[i]!] === 1)) rows.push(i);
  rows.sort((x, y) => x - y);
  let last = -1;
  for (const i of rows) {
    if (i === last) continue;
    last = i;
    if (pa[pc[i]!] === 1) change(pt.get(i), -1);
    if (na[nc[i]!] === 1) change(nt.get(i), +1);
  }
  return true;
}

/**
 * Rows (of `n`) where two versions of a string column hold different values (null included).
 * Rows keep their values' lengths except where a value changed, so the bytes of each stretch of
 * rows between length changes are compared with one native comparison, and only a stretch that
 * differs is bisected: a batch that differs in a few rows costs a few comparisons, not a byte
 * loop over every row.
 */
function changedText(a: StrChunk, b: StrChunk, n: number): number[] {
  const out: number[] = [];
  if (a.offsets === null || b.offsets === null) {
    for (let i = 0; i < n; i++) if (a.get(i) !== b.get(i)) out.push(i);
    return out;
  }
  const ao = a.offsets;
  const bo = b.offsets;
  const ab = a.bytes!;
  const bb = b.bytes!;
  const byBytes: number[] = [];
  const check = (lo: number, hi: number): void => {
    if (lo >= hi || Buffer.compare(ab.subarray(ao[lo]!, ao[hi]!), bb.subarray(bo[lo]!, bo[hi]!)) === 0) return;
    if (hi - lo === 1) {
      byBytes.push(lo);
      return;
    }
    const mid = (lo + hi) >> 1;
    check(lo, mid);
    check(mid, hi);
  };
  let start = 0;
  for (let i = 0; i < n; i++) {
    if (bo[i + 1]! - bo[i]! !== ao[i + 1]! - ao[i]!) {
      check(start, i);
      byBytes.push(i);
      start = i + 1;
    }
  }
  check(start, n);
  // Validity decides: a row null in both is unchanged whatever its bytes; a null on one side only is a change.
  const av = a.valid;
  const bv = b.valid;
  for (const i of byBytes) if (av.ok(i) || bv.ok(i)) out.push(i);
  if (!av.none || !bv.none) for (let i = 0; i < n; i++) if (av.ok(i) !== bv.ok(i)) out.push(i);
  return out;
}

/**
 * The best node for a task, or null when none fits. `task` is a task id or requirements
 * (`{ cpu: 2, memory: '4GB' }`, `{ cpu_cores, gpu_cores, memory_mb }`).
 *
 * For a task id: null when the task does not exist or is not `pending` (only a pending task is
 * placed); its unstated requirements default to 1 CPU core, 0 GPUs and 256 MiB (likewise for
 * requirements given directly).
 *
 * Eligible nodes: role `worker`, status `online`, cpu_count known and >= the CPU cores needed,
 * memory_available known and >= the memory needed, and when GPUs are needed gpu_count known and
 * >= them with gpu_available true. Unknown (null) fields make a node ineligible for the need
 * they describe, never crash. Among eligible nodes the highest placementScore wins; ties go to
 * the node that comes first in table order.
 */
export function findAvailableNodeForTask(source: StateSource, task: string | TaskResourcesInput): NodeRecord | null {
  let given: ReturnType<typeof requirements> | null = null;
  let taskId: string | null = null;
  if (typeof task === 'string') taskId = text(task, 'task');
  else if (task !== null && typeof task === 'object') given = requirements(task, 'requirements'); // reads it once (an array or an unreadable object is INVALID_ARGUMENT)
  else throw invalid('task', task, 'a task id or a requirements object such as { cpu: 2, memory: "4GB" }');
  return withSnapshot(source, (s) => {
    let cpu: number;
    let gpu: number;
    let mem: number;
    if (taskId !== null) {
      const tv = tableView(s.tasks);
      const g = tv.str('id').first(taskId);
      if (g < 0 || tv.str('status').at(g) !== 'pending') return null;
      const need = (k: (typeof REQ_FIELDS)[number]) => {
        const x = tv.num(`resources.${k}`).at(g);
        return Number.isFinite(x) ? x : DEFAULT_REQUIREMENTS[k];
      };
      cpu = need('cpu_cores');
      gpu = need('gpu_cores');
      mem = need('memory_mb');
    } else {
      cpu = given!.cpu_cores ?? DEFAULT_REQUIREMENTS.cpu_cores;
      gpu = given!.gpu_cores ?? DEFAULT_REQUIREMENTS.gpu_cores;
      mem = given!.memory_mb ?? DEFAULT_REQUIREMENTS.memory_mb;
    }
    const memBytes = mem * MiB;
    // Online workers best-base first: a node's score never exceeds its base, so the scan stops
    // at the first node whose base is below the best score found (same answer as scoring all).
    const f = nodeFacts(s.nodes);
    let active: Map<string, number> | null = null;
    let best = -1;
    let bestScore = -Infinity;
    for (let k = 0; k < f.row.length; k++) {
      const base = f.base[k]!;
      if (base < bestScore) break;
      if (!(f.cpu[k]! >= cpu) || !(f.memAvail[k]! >= memBytes)) continue; // NaN (unknown) fails
      if (gpu > 0 && (!(f.gpuCount[k]! >= gpu) || f.gpuAvail[k] !== 1)) continue;
      active ??= activeTasksByNode(s);
      const id = f.id[k]!;
      const score = scoreOf(base, f.cpu[k]!, id === null ? 0 : active.get(id) ?? 0);
      const g = f.row[k]!;
      if (score > bestScore || (score === bestScore && g < best)) {
        bestScore = score;
        best = g;
      }
    }
    if (best < 0) return null;
    const nv = tableView(s.nodes);
    return nv.record('nodes', best) as unknown as NodeRecord;
  });
}

