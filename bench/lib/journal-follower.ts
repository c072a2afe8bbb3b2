// Bench child: a follower of a state directory in its own process. Prints `READY <revision>
// <coldLoadMs>` once loaded, then `REV <revision> <wallMs>` each time it holds a new revision's
// Tables and `WATCH <revision> <wallMs>` each time its watch() yields a change set. Serves
// `CPU <ms>` (its own CPU use over that window) on stdin; exits when stdin ends.
import { followState } from '../../src/follower/index.js';
import { serveCpuWindows, wallClock } from './child.js';

const dir = process.argv[2]!;
const t0 = performance.now();
const f = await followState(dir);
process.stdout.write(`READY ${f.revision} ${(performance.now() - t0).toFixed(3)}\n`);
f.on('change', (rev) => {
  const s = f.snapshot();
  void s.tasks.numRows;
  process.stdout.write(`REV ${rev} ${wallClock().toFixed(3)}\n`);
});
f.on('error', (e) => process.stderr.write(`follower error: ${e.message}\n`));
const ac = new AbortController();
void (async () => {
  try {
    for await (const cs of f.watch({ signal: ac.signal })) process.stdout.write(`WATCH ${cs.revision} ${wallClock().toFixed(3)}\n`);
  } catch (e) {
    if (!ac.signal.aborted) process.stdout.write(`WATCHEND ${(e as Error).message.replace(/\n/g, ' ')}\n`);
  }
})();
serveCpuWindows(() => {
  ac.abort();
  void f.close().then(() => process.exit(0));
});
