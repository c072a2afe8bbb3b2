// Property test: on seeded random states, every helper's columnar answer equals the plain
// row-object implementation of row-model.ts (the written-out specification).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import * as H from '../../src/helpers/index.js';
import { cases, run } from './cases.js';
import { rowModel, rowsOf } from './row-model.js';
import { randomState, tempDir } from './support.js';

const SEEDS: [number, { nodes: number; tasks: number; content: number }][] = [
  [1, { nodes: 40, tasks: 150, content: 80 }],
  [2, { nodes: 12, tasks: 30, content: 10 }],
  [3, { nodes: 80, tasks: 600, content: 300 }],
  [4, { nodes: 3, tasks: 0, content: 0 }],
  [5, { nodes: 150, tasks: 9000, content: 5000 }], // several record batches; types first seen in later batches
  [6, { nodes: 1, tasks: 5, content: 2 }],
];

for (const [seed, size] of SEEDS) {
  test(`seed ${seed} (${size.nodes}/${size.tasks}/${size.content}): every helper equals the row-object implementation`, async (t) => {
    const rs = randomState(seed, size);
    try {
      const rows = rowsOf(rs.state);
      const all = cases(rs, seed);
      t.true(all.length > 50);
      // The writer (dictionary-coded, many batches) and the single-row table (plain utf8, one batch).
      for (const [label, source] of [['writer', rs.state], ['state table', rs.state.getState()]] as const) {
        for (const c of all) t.deepEqual(run(c, source), c.model(rows), `${label}: ${c.label}`);
      }
      const out = join(tempDir(t), 'export.json');
      t.true(H.exportStateToJson(rs.state, out));
      t.deepEqual(JSON.parse(readFileSync(out, 'utf8')), rowModel.exportedJson(rows), 'exportStateToJson');
    } finally {
      await rs.state.close();
    }
  });
}
