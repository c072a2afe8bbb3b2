// Bench: a follower in its own process. Prints `READY <revision> <coldLoadMs>` once loaded, then
// `REV <revision> <wallMs>` each time it holds a new revision's tables.
import { followState } from '../../src/follower/index.js';

const dir = process.argv[2]!;
const t0 = performance.now();
const f = await followState(dir);
const now = () => performance.timeOrigin + performance.now();
process.stdout.write(`READY ${f.revision} ${(performance.now() - t0).toFixed(3)}\n`);
f.on('change', (rev) => {
  const s = f.snapshot();
  void s.tasks.numRows;
  process.stdout.write(`REV ${rev} ${now().toFixed(3)}\n`);
});
f.on('error', () => undefined);
process.stdin.on('end', () => void f.close().then(() => process.exit(0)));
process.stdin.resume();
