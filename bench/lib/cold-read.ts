// Bench child: a cold `readStateSnapshot(dir)` in a fresh process. Prints `COLD <revision> <ms>
// <importMs>` (the read alone, and loading the package's modules before it) and exits.
const t0 = performance.now();
const { readStateSnapshot } = await import('../../src/index.js');
const t1 = performance.now();
const snap = readStateSnapshot(process.argv[2]!);
const ms = performance.now() - t1;
void snap?.tasks.numRows;
process.stdout.write(`COLD ${snap?.revision ?? -1} ${ms.toFixed(3)} ${(t1 - t0).toFixed(3)}\n`);
