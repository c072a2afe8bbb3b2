// The model test's value tables: valid and invalid ids, counts, sizes, loads, priorities, JSON and
// metadata values, each valid one with what the writer makes of it; and the task lifecycle table.
import type { NodeRecord, TaskRecord } from '../../../src/index.js';

/** Marks a generated value the library must reject with INVALID_ARGUMENT. */
export const BAD = Symbol('BAD');
export type V<T> = T | typeof BAD;
/** A generated argument: what is passed (raw) and what the model makes of it (norm). */
export type G<T> = [raw: unknown, norm: V<T>];

export type Code = 'NOT_FOUND' | 'ALREADY_EXISTS' | 'INVALID_ARGUMENT' | 'INVALID_TRANSITION';
export type Role = NodeRecord['role'];
export type NStatus = NodeRecord['status'];
export type TStatus = TaskRecord['status'];
export type Json = TaskRecord['payload'];

export const INT32_MAX = 2 ** 31 - 1;
export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

export const NODE_POOL = ['m1', 'm2', 'w1', 'w2', 'w3', 'w4', 'l1', 'nö-ü'];
export const TASK_POOL = ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7', 't-ß', 'x'.repeat(512)];
export const CID_POOL = ['c0', 'c1', 'c2', 'c3', 'c4', 'bafy😀'];
export const CAPS = ['gpu', 'storage', 'compute', 'pin', 'ünïcode'];
export const TYPES = ['process', 'analyze', 'transfer', 'model_training', 'embedding', 'tränsform'];
export const BAD_IDS: unknown[] = ['', ' w1', 'w1 ', 'a\u0000b', 'x\ud800', 'z'.repeat(513), 42, null, 'q\u0085'];
export const NSTATUSES: NStatus[] = ['online', 'offline', 'degraded'];
export const TSTATUSES: TStatus[] = ['pending', 'assigned', 'running', 'completed', 'failed', 'cancelled'];

/** The task lifecycle (lifecycle.ts): legal status changes. */
export const LEGAL: Record<TStatus, readonly TStatus[]> = {
  pending: ['assigned', 'cancelled'],
  assigned: ['assigned', 'running', 'completed', 'failed', 'cancelled', 'pending'],
  running: ['running', 'completed', 'failed', 'cancelled', 'pending'],
  failed: ['pending'],
  completed: [],
  cancelled: [],
};

export const COUNTS_OK: [number, number][] = [[0, 0], [1, 1], [4, 4], [16, 16], [INT32_MAX, INT32_MAX]];
export const COUNTS_BAD: unknown[] = [-1, 2 ** 31, 1.5, '4', NaN, Infinity];
export const SIZES_OK: [unknown, number][] = [
  ['8GB', 8e9], ['16GiB', 16 * GiB], ['512MiB', 512 * MiB], [1024, 1024], ['1.5TB', 1.5e12], ['2.01kB', 2010],
  ['4 GB', 4e9], ['0', 0], [0, 0], ['1kib', 1024], ['100', 100], ['7b', 7], ['1.005kB', 1005], ['2TB', 2e12],
  ['500GB', 5e11], ['3PB', 3e15],
];
export const SIZES_BAD: unknown[] = ['8 G B', '-5GB', '1.5B', '8GBs', '', '1e3', '10PB', 2 ** 53, -1, 1.5, true, ' 8GB', '0x10'];
export const LOADS_OK = [0, 50, 33.3, 100, 99.99, 0.1];
export const LOADS_BAD: unknown[] = [101, -0.1, NaN, Infinity, '5'];
export const PRIORITIES_OK = [0, 5, -3, INT32_MAX, -(2 ** 31)];
export const PRIORITIES_BAD: unknown[] = [2 ** 31, -(2 ** 31) - 1, 1.5, '5', NaN];
export const REPLICATION_OK = [0, 1, 3];
export const REPLICATION_BAD: unknown[] = [-1, 2 ** 31, 1.5, '2'];

export class Widget {
  constructor(readonly n = 1) {}
}
export function namedFn() {
  return 1;
}
export function cyclic(): unknown {
  const o: Record<string, unknown> = { a: 1 };
  o.me = o;
  return o;
}
export const JSON_OK: (() => Json)[] = [
  () => ({ a: 1 }), () => ({ a: [1, 2, { b: null }] }), () => 'str', () => 42, () => true, () => null, () => [], () => ({}),
  () => ({ nested: { deep: 'x', n: 1.5 } }), () => [1, 'two', false], () => ({ 'ü': 'ünï', emoji: '😀' }),
];
export const JSON_BAD: (() => unknown)[] = [
  () => namedFn, () => 10n, () => NaN, () => Infinity, () => ({ u: undefined }), () => new Date(0), () => new Map(),
  () => cyclic(), () => Symbol('s'), () => [1, , 2], () => ({ w: new Widget() }),
];
export const META_OK: (() => Record<string, Json> | null)[] = [() => ({ location: 'us-east' }), () => ({ a: { b: [1, 2] } }), () => null, () => ({})];
export const META_BAD: (() => unknown)[] = [() => [1], () => 'x', () => ({ f: namedFn }), () => new Date(0), () => ({ n: NaN }), () => new Widget()];

export const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));
