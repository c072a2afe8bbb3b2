/**
 * The README's performance section, rendered from a results file. `npm run bench` rewrites the
 * section between `<!-- bench:start -->` and `<!-- bench:end -->`; a test checks that the README
 * still matches the committed results, so no figure in the README is hand-written.
 */
import { fmt, type Figure } from './report.js';

interface Results {
  date: string;
  mode: string;
  machine: { cpus: number; cpu?: string; memoryBytes: number; platform: string; node: string; versions: Record<string, string> };
  figures: Figure[];
  skipped: { what: string; why: string }[];
}

export const START = '<!-- bench:start -->';
export const END = '<!-- bench:end -->';

const SUITES: Record<string, string> = {
  writer: 'Writer: mutation throughput and Arrow tables',
  shared: 'Shared memory: mutation → worker thread',
  persist: 'State directory: durability, followers, Parquet',
  helpers: 'Helpers: columnar vs row objects',
  memory: 'Memory',
  lmdb: 'Against lmdb-js',
};

function cell(f: Figure): string {
  const v = f.value;
  const spreadText = v.runs.length > 1 ? ` <sub>(${fmt(v.min)}–${fmt(v.max)})</sub>` : '';
  return `${fmt(v.median)} ${f.unit}${spreadText}`;
}

export function renderResults(r: Results): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`Measured by \`npm run bench${r.mode === 'quick' ? ' -- --quick' : ''}\` on ${r.date.slice(0, 10)}: ${m.cpus} × ${m.cpu ?? 'CPU'}, ${Math.round(m.memoryBytes / 2 ** 30)} GiB, ${m.platform}, Node ${m.node}, apache-arrow ${m.versions['apache-arrow']}, parquet-wasm ${m.versions['parquet-wasm']}.`);
  out.push('Scales: S = 1k nodes / 10k tasks / 10k content, M = 10k / 100k / 100k, L = 100k / 1M / 1M. Values are medians (min–max over repeated runs where there were several); latencies are p50/p99 over the trials of one run. "vs" gives a baseline measured in the same run on the same data, and how many times better (or worse) we are.');
  out.push('');
  if (r.mode === 'full') out.push('![How latency and throughput scale from S to L](bench/results/scaling.svg)', '');
  const suites = [...new Set(r.figures.map((f) => f.suite))];
  for (const s of suites) {
    out.push(`### ${SUITES[s] ?? s}`);
    out.push('');
    out.push('| scale | figure | ours | target | baseline (same run) |');
    out.push('|---|---|---|---|---|');
    for (const f of r.figures.filter((x) => x.suite === s)) {
      const base = f.baseline ? `${f.baseline.name}: ${fmt(f.baseline.value.median)} ${f.unit} → **${f.advantage! >= 1 ? `${f.advantage! >= 100 ? f.advantage!.toFixed(0) : f.advantage!.toFixed(1)}× better` : `${(1 / f.advantage!).toFixed(1)}× worse`}**` : '';
      out.push(`| ${f.scale} | ${f.name} | ${cell(f)} | ${f.target ?? ''} | ${base} |`);
    }
    out.push('');
  }
  if (r.skipped.length) out.push(`Skipped: ${r.skipped.map((x) => `${x.what} (${x.why})`).join('; ')}.`, '');
  out.push(`Raw figures: [\`bench/results/latest-${r.mode}.json\`](bench/results/latest-${r.mode}.json).`);
  return out.join('\n');
}

/** `readme` with its bench section replaced by the rendering of `r`. */
export function withResults(readme: string, r: Results): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error('README has no bench section markers');
  return `${readme.slice(0, a + START.length)}\n${renderResults(r)}\n${readme.slice(b)}`;
}
