/**
 * The Node flags our worker threads start with. A Worker inherits `process.execArgv` by default,
 * and some flags only make sense for the main script: under `node --input-type=module -e '…'` a
 * worker that inherits them fails to start ("--input-type can only be used with string input").
 */

/** Flags followed by a value that belong to the main script (`-e code`, `--input-type module`). */
const WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '-pe', '--input-type']);
/** Flags without a value that belong to the main script or its runner. */
const ALONE = new Set(['-i', '--interactive', '-c', '--check', '-']);

/**
 * `argv` (default: process.execArgv) without the flags that describe the main script — eval and
 * print code, its input type, interactive/check mode, the test runner and watch mode — so that a
 * worker thread starts whatever way the main script was started. Every other flag is kept.
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (WITH_VALUE.has(a)) {
      i++; // and its value
      continue;
    }
    if (ALONE.has(a) || a.startsWith('--eval=') || a.startsWith('--print=') || a.startsWith('--input-type=')) continue;
    if (a === '--test' || a.startsWith('--test-') || a === '--watch' || a.startsWith('--watch-')) continue;
    out.push(a);
  }
  return out;
}
