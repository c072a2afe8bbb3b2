/**
 * The benchmark report: every figure with its unit, its min/median/max over runs, and where a
 * baseline was measured in the same run, the ratio ours/baseline. Printed as a table and written
 * as JSON (bench/results/<date>.json and bench/results/latest.json).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { spread, type Spread } from './stats.js';
import { scalingSvg } from './svg.js';

export interface Figure {
  suite: string;
  scale: string;
  name: string;
  unit: string;
  /** Lower is better (latency, bytes) or higher is better (throughput). */
  better: 'lower' | 'higher';
  value: Spread;
  baseline?: { name: string; value: Spread };
  /** How many times better ours is than the baseline (>1 = ours better). */
  advantage?: number;
  /** Further peers measured the same way in the same run, each with how many times better ours is. */
  peers?: { name: string; value: Spread; advantage: number }[];
  target?: string;
  note?: string;
}

const version = (p: string) => {
  // Read the installed package.json directly: some packages' `exports` do not expose it.
  try {
    return (JSON.parse(readFileSync(new URL(`../../../node_modules/${p}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
};

export class Report {
  readonly figures: Figure[] = [];
  readonly skipped: { what: string; why: string }[] = [];
  readonly checks: { what: string; ok: boolean; detail?: string }[] = [];

  add(f: Omit<Figure, 'value' | 'baseline' | 'advantage' | 'peers'> & { runs: number[]; baseline?: { name: string; runs: number[] }; peers?: { name: string; runs: number[] }[] }): Figure {
    const value = spread(f.runs);
    const fig: Figure = { ...f, value } as Figure;
    delete (fig as { runs?: unknown }).runs;
    const ratio = (b: Spread) => (f.better === 'lower' ? b.median / value.median : value.median / b.median);
    if (f.baseline) {
      const b = spread(f.baseline.runs);
      fig.baseline = { name: f.baseline.name, value: b };
      fig.advantage = ratio(b);
    }
    if (f.peers?.length) fig.peers = f.peers.map((p) => ({ name: p.name, value: spread(p.runs), advantage: ratio(spread(p.runs)) }));
    else delete fig.peers;
    this.figures.push(fig);
    const base = [...(fig.baseline ? [{ ...fig.baseline, advantage: fig.advantage! }] : []), ...(fig.peers ?? [])]
      .map((b) => `  vs ${b.name} ${fmt(b.value.median)} → ${fmtRatio(b.advantage)}`).join(';');
    process.stdout.write(`  ${f.scale.padEnd(3)} ${f.name.padEnd(58)} ${fmt(value.median).padStart(10)} ${f.unit.padEnd(6)}${base}\n`);
    return fig;
  }

  skip(what: string, why: string): void {
    this.skipped.push({ what, why });
    process.stdout.write(`  skipped: ${what} (${why})\n`);
  }

  check(what: string, ok: boolean, detail?: string): void {
    this.checks.push({ what, ok, detail });
    if (!ok) throw new Error(`benchmark answer check failed: ${what}${detail ? `: ${detail}` : ''}`);
  }

  machine() {
    return {
      cpus: cpus().length, cpu: cpus()[0]?.model, memoryBytes: totalmem(), platform: `${platform()} ${release()}`, node: process.version,
      versions: { 'apache-arrow': version('apache-arrow'), 'parquet-wasm': version('parquet-wasm'), piscina: version('piscina'), lmdb: version('lmdb'), 'better-sqlite3': version('better-sqlite3') },
    };
  }

  /**
   * Writes the JSON results (bench/results/<date>-<mode>.json) and returns the file written. A
   * complete run (`latest`) also replaces bench/results/latest-<mode>.json, which the docs are
   * generated from; a partial one (some suites or scales) leaves it alone.
   */
  finish(mode: string, latest = true): string {
    const out = { date: new Date().toISOString(), mode, machine: this.machine(), figures: this.figures, skipped: this.skipped, checks: this.checks };
    const dir = new URL('../../../bench/results/', import.meta.url);
    mkdirSync(dir, { recursive: true });
    const name = `${out.date.replace(/[:.]/g, '-')}-${mode}.json`;
    const file = new URL(name, dir);
    writeFileSync(file, JSON.stringify(out, null, 1));
    if (!latest) return file.pathname;
    const latestFile = new URL(`latest-${mode}.json`, dir);
    writeFileSync(new URL(`latest-${mode}.json.tmp`, dir), JSON.stringify(out, null, 1));
    renameSync(new URL(`latest-${mode}.json.tmp`, dir), latestFile);
    const svg = scalingSvg(this.figures);
    if (svg && mode === 'full') writeFileSync(new URL('scaling.svg', dir), svg);
    return file.pathname;
  }
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  if (a >= 100) return x.toFixed(0);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

export function fmtRatio(r: number): string {
  return r >= 1 ? `${r >= 100 ? r.toFixed(0) : r.toFixed(1)}× better` : `${(1 / r).toFixed(1)}× worse`;
}
