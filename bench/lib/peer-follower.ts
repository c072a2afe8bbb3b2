// Bench child: what following looks like for the peers, in its own process. `sqlite <file>`:
// polls `PRAGMA data_version` every 1 ms and, when it changed, reads the `meta` row and the task
// it names. `lmdb <dir>`: every 1 ms renews its read transaction and reads `meta`, and the task it
// names when its revision is newer. Prints `READY 0 0`, then `REV <revision> <wallMs>` once it
// holds the changed task (parsed); serves `CPU <ms>` on stdin; exits when stdin ends.
import { createRequire } from 'node:module';
import { serveCpuWindows, wallClock } from './child.js';

const [kind, path] = [process.argv[2]!, process.argv[3]!];
let last = -1;
let timer: NodeJS.Timeout;
let close: () => void;

if (kind === 'sqlite') {
  const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string, o?: object) => SqliteDb;
  const db = new Database(path, { readonly: true });
  const version = db.prepare('PRAGMA data_version').pluck();
  const meta = db.prepare('SELECT rev, task FROM meta WHERE k = 0');
  const task = db.prepare('SELECT data FROM tasks WHERE id = ?').pluck();
  let seen = version.get() as number;
  last = ((meta.get() as { rev: number } | undefined)?.rev) ?? -1;
  timer = setInterval(() => {
    const v = version.get() as number;
    if (v === seen) return;
    seen = v;
    const m = meta.get() as { rev: number; task: string } | undefined;
    if (!m || m.rev <= last) return;
    last = m.rev;
    void (JSON.parse(task.get(m.task) as string) as { priority: number }).priority;
    process.stdout.write(`REV ${m.rev} ${wallClock().toFixed(3)}\n`);
  }, 1);
  close = () => db.close();
} else {
  const lmdb = (await import('lmdb' as string)) as { open(o: object): LmdbRoot };
  const root = lmdb.open({ path, compression: false });
  const tasks = root.openDB({ name: 'tasks' });
  const meta = root.openDB({ name: 'meta' });
  last = (meta.get('rev') as { rev: number } | undefined)?.rev ?? -1;
  timer = setInterval(() => {
    root.resetReadTxn();
    const m = meta.get('rev') as { rev: number; task: string } | undefined;
    if (!m || m.rev <= last) return;
    last = m.rev;
    void (tasks.get(m.task) as { priority: number }).priority;
    process.stdout.write(`REV ${m.rev} ${wallClock().toFixed(3)}\n`);
  }, 1);
  close = () => void root.close();
}
process.stdout.write(`READY ${last} 0\n`);
serveCpuWindows(() => {
  clearInterval(timer);
  close();
  process.exit(0);
});

interface SqliteDb {
  prepare(sql: string): { get(...a: unknown[]): unknown; pluck(): { get(...a: unknown[]): unknown } };
  close(): void;
}
interface LmdbDb {
  get(k: string): unknown;
}
interface LmdbRoot extends LmdbDb {
  openDB(o: { name: string }): LmdbDb;
  resetReadTxn(): void;
  close(): Promise<void>;
}
