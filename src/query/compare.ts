/** Ordering text by Unicode code point (the order of UTF-8 bytes), not by UTF-16 code unit. */

/** Compares strings by Unicode code points (the order of UTF-8 bytes, and of Python's `<`). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (U+D800..DFFF) stands for a code point above U+FFFF: above every BMP unit.
    const hx = x >= 0xd800 && x <= 0xdfff;
    const hy = y >= 0xd800 && y <= 0xdfff;
    if (hx !== hy) return hx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * True when no string among `values` holds a surrogate: between such strings JavaScript's own
 * `<` (UTF-16 code units) is code point order, and much faster than comparing by hand.
 */
export function withoutSurrogates(values: Iterable<unknown>): boolean {
  for (const v of values) if (typeof v === 'string' && SURROGATE.test(v)) return false;
  return true;
}

/** Code point order of two strings known to hold no surrogates (see withoutSurrogates). */
export function compareUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
