// Bench child: a cold reader process — open the store and give a first answer (tasks counted by
// status). Prints `COLD <ms> <answer JSON>`: the time from after the modules are loaded to the
// answer. `ours <dir>` reads a state directory (readStateSnapshot), `sqlite <file>` and
// `lmdb <dir>` open the peers read-only.
import { createRequire } from 'node:module';
import { readStateSnapshot } from '../../src/index.js';
import { lmdbCountByStatus, oursCountByStatus, SQL, sqliteCounts } from './peer-queries.js';

const [kind, path] = process.argv.slice(2) as ['ours' | 'sqlite' | 'lmdb', string];
const require = createRequire(import.meta.url);
const lib = kind === 'sqlite' ? require('better-sqlite3') : kind === 'lmdb' ? require('lmdb') : null;
const t0 = performance.now();
let answer: Record<string, number>;
if (kind === 'ours') {
  answer = oursCountByStatus(readStateSnapshot(path)!.tasks);
} else if (kind === 'sqlite') {
  const db = new (lib as new (f: string, o: object) => { prepare(s: string): { all(): unknown[] } })(path, { readonly: true });
  answer = sqliteCounts(db.prepare(SQL.countByStatus).all() as { status: string; n: number }[]);
} else {
  const env = (lib as { open(o: object): { openDB(o: object): never } }).open({ path, readOnly: true, compression: false });
  answer = lmdbCountByStatus(env.openDB({ name: 'tasks' }));
}
process.stdout.write(`COLD ${(performance.now() - t0).toFixed(3)} ${JSON.stringify(answer)}\n`);
process.exit(0);
