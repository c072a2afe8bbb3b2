// parseSize: the size strings and numbers it accepts (exact bytes) and the ones it refuses.
import test from 'ava';
import { parseSize, StateError } from '../../src/index.js';

const GOOD: [string | number, number][] = [
  ['512MiB', 512 * 2 ** 20],
  ['8GB', 8e9],
  ['1.5TB', 1.5e12],
  ['1024', 1024],
  [1024, 1024],
  [0, 0],
  ['0', 0],
  ['2.01kB', 2010], // float-multiplying parsers give 2009
  ['1.005kB', 1005], // ... and 1004
  ['4.35MB', 4_350_000],
  ['1.5 KiB', 1536],
  ['8gb', 8e9],
  ['8 GiB', 8 * 2 ** 30],
  ['3Gi', 3 * 2 ** 30],
  ['2K', 2000],
  ['1PiB', 2 ** 50],
  ['0.5KiB', 512],
  [String(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER],
];

for (const [input, bytes] of GOOD) {
  test(`parseSize(${JSON.stringify(input)}) is exactly ${bytes}`, (t) => {
    t.is(parseSize(input), bytes);
  });
}

const BAD: unknown[] = [
  '-5GB', '8 G B', '8GBs', '', ' 8GB', '8GB ', '1e3', '1,024', '1.5B', '0.1KiB', 'abc', 'GB', '8  GB', 'Infinity',
  '9007199254740993', '10PB', -1, 1.5, NaN, Infinity, null, undefined, {}, [], true, 10n,
];

for (const [i, input] of BAD.entries()) {
  const label = typeof input === 'bigint' ? `${input}n` : typeof input === 'number' ? String(input) : (JSON.stringify(input) ?? String(input));
  test(`parseSize rejects ${label} (#${i})`, (t) => {
    const e = t.throws(() => parseSize(input as never, 'memory'), { instanceOf: StateError });
    t.is(e?.code, 'INVALID_ARGUMENT');
    t.true(e!.message.includes('memory'), e!.message);
  });
}
