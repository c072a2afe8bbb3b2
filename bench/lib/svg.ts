/**
 * An SVG chart of how the key figures scale from S to L (log-scale y), written beside the
 * results as bench/results/scaling.svg and linked from the README. Hand-drawn: a few lines of
 * SVG need no charting dependency.
 */
import type { Figure } from './report.js';

const SCALES = ['S', 'M', 'L'];
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

interface Series {
  label: string;
  unit: string;
  points: (number | null)[];
}

function series(figures: Figure[], name: string, label: string): Series {
  return {
    label,
    unit: figures.find((f) => f.name === name)?.unit ?? '',
    points: SCALES.map((s) => figures.find((f) => f.name === name && f.scale === s)?.value.median ?? null),
  };
}

function panel(title: string, all: Series[], x0: number, width: number, height: number): string {
  const data = all.filter((s) => s.points.some((p) => p !== null && p > 0));
  const values = data.flatMap((s) => s.points.filter((p): p is number => p !== null && p > 0));
  if (!values.length) return '';
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.ceil(Math.log10(Math.max(...values)));
  const top = 40;
  const bottom = height - 60;
  const left = x0 + 60;
  const right = x0 + width - 20;
  const y = (v: number) => bottom - ((Math.log10(v) - lo) / Math.max(1, hi - lo)) * (bottom - top);
  const x = (i: number) => left + (i / (SCALES.length - 1)) * (right - left);
  const out: string[] = [`<text x="${x0 + width / 2}" y="22" text-anchor="middle" font-weight="bold">${title}</text>`];
  for (let e = lo; e <= hi; e++) {
    out.push(`<line x1="${left}" x2="${right}" y1="${y(10 ** e)}" y2="${y(10 ** e)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${y(10 ** e) + 4}" text-anchor="end" font-size="11">${10 ** e >= 1000 ? `${10 ** (e - 3)}k` : 10 ** e}</text>`);
  }
  SCALES.forEach((s, i) => out.push(`<text x="${x(i)}" y="${bottom + 18}" text-anchor="middle" font-size="12">${s}</text>`));
  data.forEach((s, k) => {
    const pts = s.points.map((p, i) => (p !== null && p > 0 ? `${x(i)},${y(p)}` : null)).filter(Boolean);
    out.push(`<polyline fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="2" points="${pts.join(' ')}"/>`);
    s.points.forEach((p, i) => p !== null && p > 0 && out.push(`<circle cx="${x(i)}" cy="${y(p)}" r="3" fill="${COLORS[k % COLORS.length]}"/>`));
    out.push(`<text x="${left}" y="${bottom + 36 + k * 14}" font-size="11" fill="${COLORS[k % COLORS.length]}">■ ${s.label} (${s.unit})</text>`);
  });
  return out.join('\n');
}

/** The chart, or null when the results hold no multi-scale figures. */
export function scalingSvg(figures: Figure[]): string | null {
  const latency = [
    series(figures, 'fixed: node status → worker p50', 'fixed-width change → worker p50'),
    series(figures, 'variable: content providers (list) → worker p50', 'list change → worker p50'),
    series(figures, 'variable: insert task → worker p50', 'insert → worker p50'),
    series(figures, 'fixed: node status publish p50', 'publish, fixed-width p50'),
  ];
  const throughput = [
    series(figures, 'sustained, 1000 per turn', 'sustained mutations (1000/turn)'),
    series(figures, 'addTask (txn of 100)', 'addTask in transactions'),
    series(figures, 'updateTask (priority)', 'updateTask'),
  ];
  const lines = 6;
  const height = 300 + lines * 14;
  const a = panel('Latency (ms, log scale)', latency, 0, 460, height);
  const b = panel('Throughput (ops/s, log scale)', throughput, 460, 460, height);
  if (!a && !b) return null;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="920" height="${height}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
${a}
${b}
</svg>
`;
}
