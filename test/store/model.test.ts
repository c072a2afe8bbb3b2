// Randomized model test of the writer: a plain-object model of the documented semantics runs the
// same random operations as ClusterState, valid and invalid, single and in transactions (nested,
// caught, aborted). After every step both must agree on the outcome (success or the StateError
// code), on the revision, master_id, updated_at and every record; every 100 steps and at the end
// the Arrow tables and the single-row state must decode to exactly the model's records, in
// insertion order. The model lives in model/: values.ts, generator.ts, reference.ts, runner.ts.
import test from 'ava';
import { inspect } from 'node:util';
import { checkCoverage, runModel } from './model/runner.js';

const STEPS = 4000;
for (const [seed, nodeId] of [[1, undefined], [20240601, 'm2'], [777, 'w1']] as const) {
  test(`model: ${STEPS} random operations, seed ${seed}${nodeId ? `, writer node ${nodeId}` : ''}`, (t) => {
    const stats = runModel(t, seed, STEPS, nodeId);
    if (!stats) return;
    t.log(inspect({ outcomes: stats.outcomes, txCommitted: stats.txCommitted, txRolledBack: stats.txRolledBack, requeues: stats.requeues, masters: [...stats.masters] }, { breakLength: 200 }));
    checkCoverage(t, stats, STEPS);
  });
}
