/**
 * Text output: aligned tables, sizes, durations, times, and JSON lines.
 *
 * Nothing read from a state reaches the terminal raw: ids, types, addresses or messages holding
 * control characters (ESC sequences, newlines, NUL) are printed as `\u001b`-style escapes —
 * `printable()` for values, and `println`/`printJson` escape whatever control characters remain
 * (println keeps the newlines and tabs of its own layout; JSON text escapes DEL and the C1 range,
 * which JSON.stringify leaves raw, so the output stays valid JSON with the same values).
 */
import { escapeControls } from '../errors.js';
import type { Io } from './command.js';

/** `text` with every control character (newlines included) escaped: for a value inside a line. */
export function printable(text: string): string {
  return escapeControls(text);
}

/** Control characters other than newline and tab. */
const LAYOUT_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Writes `text` followed by a newline; control characters other than its newlines and tabs are escaped. */
export function println(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(`${text.replace(LAYOUT_UNSAFE, (c) => escapeControls(c))}\n`);
}

/**
 * JSON text safe for a terminal: JSON.stringify escapes C0 controls inside strings but leaves DEL
 * and C1 controls (U+0080–U+009F, e.g. the 8-bit CSI) raw; those become `\u` escapes (same value).
 */
export function jsonText(value: unknown, compact = true): string {
  const text = compact ? JSON.stringify(value) : JSON.stringify(value, null, 2);
  return text.replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Writes `value` as JSON (pretty unless `compact`). */
export function printJson(io: Io, value: unknown, compact = false): void {
  io.out.write(`${jsonText(value, compact)}\n`);
}

export interface Column<T> {
  title: string;
  get: (row: T) => string;
  /** Right-align (numbers). */
  right?: boolean;
}

/** An aligned text table (two spaces between columns; the last column is not padded). */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => printable(c.get(r))));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (i === vals.length - 1 && !columns[i]!.right ? v : columns[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.title)), ...cells.map(line)].join('\n');
}

/** 1234567 → "1,234,567". */
export function int(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  return Math.round(n).toLocaleString('en-US');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Bytes in binary units: "1.5 GiB". */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${UNITS[u]}`;
}

/** Milliseconds as "850 ms", "1.2 s", "3m05s", "2h10m", "4d3h". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const a = Math.abs(ms);
  if (a < 1000) return `${a < 10 ? a.toFixed(1) : Math.round(a)} ms`;
  if (a < 60_000) return `${(a / 1000).toFixed(1)} s`;
  const s = Math.round(a / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** Epoch ms as ISO-8601 UTC without milliseconds, or "-". */
export function isoTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** "12s ago" for an epoch-ms instant. */
export function ago(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  const d = now - ms;
  return d < 0 ? `in ${duration(-d)}` : `${duration(d)} ago`;
}

/** Fixed decimals without trailing noise: 12.3456 → "12.35". */
export function dec(n: number | null | undefined, places = 2): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  return Number(n.toFixed(places)).toString();
}

/** Cuts `text` to `width` display columns (ASCII-safe; our output is ASCII plus a few symbols). */
export function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** A path for display: relative ("./x") when inside the working directory, else as given. */
export function displayPath(abs: string, cwd = process.cwd()): string {
  if (abs === cwd) return '.';
  if (abs.startsWith(`${cwd}/`)) return `./${abs.slice(cwd.length + 1)}`;
  return abs;
}
