/**
 * The demo's state directory: a new one, an earlier demo state removed for a fresh start (only
 * the demo's own files, never while its writer runs), or kept with --keep. A directory holding
 * another cluster's state is never touched.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { locked, show } from '../errors.js';
import { inspectLock } from '../persist/lock.js';
import { LOCK_DIR, METADATA_FILE } from '../statedir/names.js';
import { CliFailure } from '../cli/command.js';
import { displayPath } from '../cli/format.js';

/** The demo's cluster id and default directory. */
export const DEMO_CLUSTER_ID = 'demo';
export const DEFAULT_DEMO_DIR = '.cluster-state';

/** Files of a demo state that a fresh start removes (temp and moved-aside files included). */
const DEMO_FILE = /^(state_demo\.((\d+\.)?arena|parquet|journal)|state_metadata\.json|writer\.json)(\..+)?$/;

/**
 * Makes `dir` ready for the demo. Refuses a directory holding another cluster's state; with
 * `fresh`, removes an earlier demo state (refusing while its writer runs).
 */
export async function prepareDir(dir: string, fresh: boolean): Promise<'new' | 'cleaned' | 'kept'> {
  if (!existsSync(dir)) return 'new';
  if (!statSync(dir).isDirectory()) throw new CliFailure(`--dir ${show(dir)} is not a directory`);
  const names = readdirSync(dir);
  let md: { cluster_id?: unknown } | null = null;
  if (names.includes(METADATA_FILE)) {
    try {
      md = JSON.parse(readFileSync(join(dir, METADATA_FILE), 'utf8')) as { cluster_id?: unknown };
    } catch {
      md = null;
    }
  }
  const foreignFile = names.find((n) => /^state_.+\.(arena|parquet|journal)$/.test(n) && !n.startsWith(`state_${DEMO_CLUSTER_ID}.`));
  if ((md && md.cluster_id !== DEMO_CLUSTER_ID) || foreignFile) {
    const what = md && md.cluster_id !== DEMO_CLUSTER_ID ? `the state of cluster ${JSON.stringify(md.cluster_id)}` : `another cluster's state (${foreignFile})`;
    throw new CliFailure(`${displayPath(dir)} holds ${what}, not a demo state; the demo never touches other states: choose another --dir`);
  }
  const ours = names.filter((n) => DEMO_FILE.test(n));
  if (!fresh || (ours.length === 0 && !names.includes(LOCK_DIR))) return ours.length ? 'kept' : 'new';
  const lock = inspectLock(dir);
  if (lock.locked && lock.liveness !== 'dead') {
    const who = lock.holder ? `pid ${lock.holder.pid} on ${lock.holder.host}` : 'another process';
    throw locked(`${displayPath(dir)} is in use by a running writer (${who}); stop it, or choose another --dir`);
  }
  for (const n of ours) rmSync(join(dir, n), { force: true });
  rmSync(join(dir, LOCK_DIR), { recursive: true, force: true });
  return 'cleaned';
}

