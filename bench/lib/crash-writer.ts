// Bench child: opens the state directory argv[2] as its writer with automatic checkpoints off,
// takes a checkpoint, then makes argv[3] single-mutation revisions (each flushed) on tasks
// 0..argv[4]-1, prints `DONE <revision> <checkpointRevision>` and waits to be killed (SIGKILL:
// no clean close, so the next open replays the journal tail).
import { ClusterState } from '../../src/index.js';
import { taskId } from '../../src/demo/synthetic.js';

const [dir, revs, tasks] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
const state = await ClusterState.open({ statePath: dir, parquet: false, checkpoint: { revisions: 1e9, bytes: 2 ** 31 - 1 } });
const cp = await state.checkpoint();
for (let i = 0; i < revs; i++) {
  state.updateTask(taskId((i * 7919) % tasks), { priority: (i % 9) + 1 });
  await state.flush();
}
process.stdout.write(`DONE ${state.revision} ${cp}\n`);
process.stdin.resume();
