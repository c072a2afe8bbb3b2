/**
 * Checkpoints: the arena file (arena-writer.ts) as the state the journal follows. A checkpoint
 * commits a published revision's batches copy-on-write (only those not in the file yet), marks
 * it, and — when the file has grown past twice its live data — compacts it into a new
 * generation (claimed exclusively, like a takeover: the fence) and removes the old file.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { locked, show } from '../errors.js';
import type { CommitContent } from '../store/durability.js';
import { arenaFileName } from '../statedir/names.js';
import { fsyncDir, removeQuietly } from './atomic.js';
import { ArenaFileWriter, GenerationTaken } from './arena-writer.js';
import type { HeldLock } from './lock.js';

/** Compact when the file exceeds this multiple of the live data (and COMPACT_MIN_BYTES). */
const COMPACT_RATIO = 2;
const COMPACT_MIN_BYTES = 8 << 20;

/** The arena file of one writer: checkpoints and compaction. */
export class Checkpoints {
  private writer: ArenaFileWriter;
  /** The generation being claimed by a compaction (this writer's own claim, not another writer's). */
  private compacting: number | null = null;
  /** The revision of the newest checkpoint. */
  revision: number;
  compactions = 0;

  constructor(private readonly dir: string, private readonly clusterId: string, writer: ArenaFileWriter, revision: number, private readonly lock: HeldLock, private readonly graceMs: number) {
    this.writer = writer;
    this.revision = revision;
  }

  get path(): string {
    return this.writer.path;
  }

  get generation(): number {
    return this.writer.generation;
  }

  get fileBytes(): number {
    return this.writer.fileBytes;
  }

  get liveBytes(): number {
    return this.writer.liveBytes();
  }

  /** The generation whose existence means another writer took over (the one after this writer's own, or after the one it is claiming). */
  fenceGeneration(): number {
    return (this.compacting ?? this.writer.generation) + 1;
  }

  /**
   * Commits `c` as a checkpoint (durable and marked when it resolves), then compacts if due.
   * `guard` runs before each meta slot and throws when this writer must stop.
   */
  async checkpoint(c: CommitContent, guard: () => void, flags = 0): Promise<void> {
    await this.writer.commit(c, flags, guard);
    guard();
    await this.writer.writeMark(c.revision);
    this.revision = c.revision;
    if (this.writer.fileBytes > COMPACT_MIN_BYTES && this.writer.fileBytes > COMPACT_RATIO * this.writer.liveBytes()) await this.compact(c, guard);
  }

  async close(): Promise<void> {
    await this.writer.close();
  }

  /** Writes the live extents into a new generation, switches to it, and removes the old file. */
  private async compact(c: CommitContent, guard: () => void): Promise<void> {
    const g = this.writer.generation + 1;
    let next: ArenaFileWriter;
    this.compacting = g;
    try {
      next = await ArenaFileWriter.claim(join(this.dir, arenaFileName(this.clusterId, g)), g, this.graceMs, () => fsyncDir(this.dir));
    } catch (e) {
      this.compacting = null;
      if (e instanceof GenerationTaken) guard(); // another writer claimed it: the guard stops this one
      throw e;
    }
    const ownGuard = () => {
      this.lock.check();
      if (existsSync(join(this.dir, arenaFileName(this.clusterId, g + 1)))) throw locked(`another writer took over ${show(this.dir)}; this writer has stopped writing`);
    };
    try {
      await next.commit(c, 0, ownGuard);
      await next.writeMark(c.revision);
    } catch (e) {
      this.compacting = null;
      await next.close().catch(() => undefined);
      removeQuietly(next.path);
      throw e;
    }
    const old = this.writer;
    this.writer = next; // from now on the fence is generation g + 1
    this.compacting = null;
    this.compactions++;
    await old.close();
    removeQuietly(old.path);
  }
}
