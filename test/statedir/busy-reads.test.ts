// One-shot reads of a directory a busy writer in another process is changing (issue 10, finding
// 4): every read is a consistent durable revision, never CORRUPT, never null, never older than
// one returned before; the metrics endpoint always has the revision (never a silent fall back
// to the lagging Parquet mirror).
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getClusterStatusSummary, readStateSnapshot } from '../../src/index.js';
import { Replica } from '../../src/statedir/replica.js';
import type { Snapshot } from '../../src/snapshot.js';
import { aggregatesOf, recordedOf } from '../fixtures/invariants.js';
import { kill9, startWriter } from '../fixtures/writer-child.js';
import { Live } from '../cli/support.js';

/** Null when the snapshot holds exactly what its writer recorded for its revision (see consistency-writer.ts). */
function torn(snap: Snapshot): string | null {
  const want = recordedOf(snap);
  if (want.rev === -1 && snap.nodes.numRows + snap.tasks.numRows + snap.content.numRows === 0) return null;
  if (want.rev !== snap.revision) return `revision ${snap.revision} holds the record of ${want.rev}`;
  const got = aggregatesOf(snap) as unknown as Record<string, number>;
  for (const [k, v] of Object.entries(got)) if ((want as unknown as Record<string, number>)[k] !== v) return `revision ${snap.revision}: ${k}`;
  return null;
}

test('one-shot reads under a busy writer: consistent, durable, never null, never back in time; /metrics always has the revision', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acs-busy-'));
  const w = startWriter(dir, 41, 'loop');
  await w.until(() => w.acks.length >= 3);
  const srv = new Live(['serve', dir, '--port', '0', '--json']);
  const problems: string[] = [];
  let reads = 0;
  let last = -1;
  let scrapes = 0;
  try {
    const info = await srv.json<{ metrics: string }>((v) => typeof v.metrics === 'string');
    // At least 6 s and 60 reads (a cold read replays the journal since the checkpoint: on a busy
    // machine that takes a while), at most 60 s.
    const until = Date.now() + 6000;
    const limit = Date.now() + 60_000;
    while ((Date.now() < until || reads < 60) && Date.now() < limit) {
      // The cached one-shot reader (helpers, CLI in-process), and a cold reader each time.
      const cold = () => {
        const r = new Replica(dir, 'file');
        try {
          r.refresh();
          return r.present ? r.snapshot() : null;
        } finally {
          r.close();
        }
      };
      for (const read of [() => readStateSnapshot(dir), cold]) {
        try {
          const snap = read();
          reads++;
          if (!snap) problems.push('null');
          else {
            const bad = torn(snap);
            if (bad) problems.push(bad);
            if (snap.revision < last) problems.push(`went back from ${last} to ${snap.revision}`);
            last = Math.max(last, snap.revision);
          }
        } catch (e) {
          problems.push(String((e as Error).message));
        }
      }
      try {
        getClusterStatusSummary(dir);
      } catch (e) {
        problems.push(`summary: ${(e as Error).message}`);
      }
      if (reads % 20 === 0) {
        const text = await (await fetch(info.metrics)).text();
        scrapes++;
        if (!/^cluster_state_revision\{/m.test(text)) problems.push('a scrape without cluster_state_revision');
      }
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    await srv.kill('SIGTERM');
    await kill9(w);
  }
  t.log(`${reads} reads, ${scrapes} scrapes, writer at ${Math.max(...w.acks)}`);
  t.true(reads >= 60);
  t.deepEqual(problems.slice(0, 10), []);
  rmSync(dir, { recursive: true, force: true });
});
