/**
 * Exact size parsing: '512MiB', '8GB', '1.5TB', '1024', 1024.
 *
 * SI units are powers of 1000 (kB, MB, GB, TB, PB; also K, M, G, T, P), IEC units powers of 1024
 * (KiB, MiB, GiB, TiB, PiB; also Ki, Mi, Gi, Ti, Pi), case-insensitive, one optional space. The
 * arithmetic is done on the decimal digits with BigInt, so '2.01kB' is 2010 bytes exactly. (The
 * common npm parsers multiply floats and floor: bytes-iec gives 2009 for '2.01kB', 1004 for
 * '1.005kB'; that is why this one is our own.) A result that is not a whole number of bytes, is
 * negative, or exceeds Number.MAX_SAFE_INTEGER is rejected.
 */
import { invalid } from '../errors.js';

const UNITS: Record<string, bigint> = {
  '': 1n, b: 1n,
  k: 1000n, kb: 1000n, m: 1000n ** 2n, mb: 1000n ** 2n, g: 1000n ** 3n, gb: 1000n ** 3n,
  t: 1000n ** 4n, tb: 1000n ** 4n, p: 1000n ** 5n, pb: 1000n ** 5n,
  ki: 1024n, kib: 1024n, mi: 1024n ** 2n, mib: 1024n ** 2n, gi: 1024n ** 3n, gib: 1024n ** 3n,
  ti: 1024n ** 4n, tib: 1024n ** 4n, pi: 1024n ** 5n, pib: 1024n ** 5n,
};

const SIZE_RE = /^(\d+)(?:\.(\d+))? ?([a-zA-Z]{0,3})$/;
const MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** Parses a size to a whole number of bytes, or throws `INVALID_ARGUMENT` naming `what` and the value. */
export function parseSize(value: unknown, what = 'size'): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw invalid(what, value, 'a whole number of bytes >= 0 (or a size such as "8GB")');
    return value;
  }
  if (typeof value !== 'string') throw invalid(what, value, 'a number of bytes or a size string such as "512MiB"');
  const m = SIZE_RE.exec(value);
  const unit = m ? UNITS[m[3]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw invalid(what, value, 'a size such as "512MiB", "8GB", "1.5TB" or "1024"');
  const frac = m[2] ?? '';
  const scale = 10n ** BigInt(frac.length);
  const scaled = (BigInt(m[1]!) * scale + BigInt(frac || '0')) * unit;
  if (scaled % scale !== 0n) throw invalid(what, value, 'a whole number of bytes');
  const bytes = scaled / scale;
  if (bytes > MAX) throw invalid(what, value, `at most ${Number.MAX_SAFE_INTEGER} bytes`);
  return Number(bytes);
}

/** Bytes to whole MiB, rounding up so a requirement is never understated. */
export function bytesToMiB(bytes: number): number {
  return Math.ceil(bytes / 1048576);
}
