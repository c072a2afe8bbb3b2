/** Small statistics for the benchmark: percentiles of samples, and min/median/max over runs. */

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

export function summarize(samples: number[]): Summary {
  const a = samples.slice().sort((x, y) => x - y);
  const q = (p: number) => a[Math.min(a.length - 1, Math.floor(p * a.length))] ?? NaN;
  return { n: a.length, p50: q(0.5), p99: q(0.99), min: a[0] ?? NaN, max: a[a.length - 1] ?? NaN, mean: a.reduce((s, x) => s + x, 0) / (a.length || 1) };
}

/** min / median / max of a figure measured over repeated runs. */
export interface Spread {
  min: number;
  median: number;
  max: number;
  runs: number[];
}

export function spread(runs: number[]): Spread {
  const a = runs.slice().sort((x, y) => x - y);
  return { min: a[0]!, median: a[Math.floor(a.length / 2)]!, max: a[a.length - 1]!, runs };
}

/** Wall-clock now in ms with sub-ms precision, comparable across threads of one process. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export const nextTurn = () => new Promise<void>((r) => setImmediate(r));
