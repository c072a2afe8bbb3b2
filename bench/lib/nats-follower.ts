// Bench child: a remote follower of a cluster through NATS JetStream, in its own process.
// Arguments: <server url> <clusterId> <full|leecher>. Prints `READY <revision> <coldLoadMs>
// <snapshotBytes>` once followState resolves (coldLoadMs: followState alone, in this process),
// then `REV <revision> <wallMs>` each time it holds a new revision's Tables (snapshot() is called
// on every 'change', so the tables are really built). Serves `STATS` (`STATS <messages> <bytes>
// <loads> <snapshotBytes> <revision>`) and `CPU <ms>` on stdin; exits when stdin ends.
import { followState } from '../../src/follower/index.js';
import { serveCpuWindows, wallClock } from './child.js';

const [url, clusterId, projection] = process.argv.slice(2) as [string, string, 'full' | 'leecher'];
const t0 = performance.now();
const f = await followState({ nats: { servers: url }, clusterId, projection });
const coldMs = performance.now() - t0;
process.stdout.write(`READY ${f.revision} ${coldMs.toFixed(3)} ${f.stats().snapshotBytes}\n`);
f.on('change', (rev) => {
  const s = f.snapshot();
  void s.tasks.numRows;
  void s.nodes.numRows;
  process.stdout.write(`REV ${rev} ${wallClock().toFixed(3)}\n`);
});
f.on('error', (e) => process.stderr.write(`nats follower error: ${e.message}\n`));
serveCpuWindows(
  () => void f.close().then(() => process.exit(0)),
  (line) => {
    if (line === 'STATS') {
      const s = f.stats();
      process.stdout.write(`STATS ${s.messages} ${s.bytes} ${s.loads} ${s.snapshotBytes} ${f.revision}\n`);
    }
  },
);
