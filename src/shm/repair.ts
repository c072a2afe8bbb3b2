/**
 * The writer's side of the shared-memory scrub (shm/scrub.ts): which extents are live and what
 * each must hold (the writer's heap copies), the repair of damaged ones — copied afresh under new
 * versions, then the same revision published again (a new publication, not a new revision) —
 * and the background timer (unref'd, holding the writer only weakly).
 */
import { invalid } from '../errors.js';
import { ENTITY_KINDS, type EntityKind } from '../schema/entities.js';
import {
  DEFAULT_SCRUB_BYTES_PER_TICK, DEFAULT_SCRUB_INTERVAL_MS, Scrubber, type ScrubOptions, type ScrubResult, type ScrubTarget,
} from './scrub.js';
import { checkObject } from '../validate/values.js';
import type { Model } from '../tables/model.js';
import type { Publishing } from './publishing.js';

/** Scrubs the writer's shared memory in the background and on demand. */
export class Repair {
  readonly scrubber: Scrubber;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly m: Model, private readonly pub: Publishing, private readonly settings: Required<ScrubOptions> | null) {
    this.scrubber = new Scrubber({
      sab: pub.arena.sab,
      targets: () => this.targets(),
      liveKeys: () => new Set(this.targets().map((t) => t.key)),
      damagedHeaderSlot: () => pub.publisher.damagedHeaderSlot(),
      repair: (damaged, header) => this.repair(damaged, header),
    });
  }

  /** A full pass now (see ClusterState.scrubNow). */
  all(): ScrubResult {
    return this.scrubber.all();
  }

  /**
   * Starts the background scrub (at the first publish: a refused open never starts it). The timer
   * is unref'd and holds this object only weakly: a writer dropped without close() stops it.
   */
  start(): void {
    const settings = this.settings;
    if (!settings || this.timer || this.stopped) return;
    const ref = new WeakRef(this);
    const timer = setInterval(() => {
      const self = ref.deref();
      if (!self || self.stopped) {
        clearInterval(timer);
        return;
      }
      try {
        self.scrubber.step(settings.bytesPerTick);
      } catch {
        // a repair that could not publish (shared memory full) is retried on the next tick
      }
    }, settings.intervalMs);
    timer.unref();
    this.timer = timer;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The live extents of shared memory and what each must hold. */
  private targets(): ScrubTarget[] {
    const out: ScrubTarget[] = [];
    for (const p of this.pub.prefixes.all()) {
      out.push({ what: `${p.kind} prefix`, kind: 'prefix', key: `${p.kind}:${p.dir.version}`, offset: p.extent.offset, length: p.bytes.byteLength, expected: p.bytes });
    }
    for (const k of ENTITY_KINDS) {
      this.m.tables[k].batchData().forEach((b, i) => {
        if (b.master && b.extent) out.push({ what: `${k} batch ${i}`, kind: 'batch', key: `${k}:${b.version}`, offset: b.extent.offset, length: b.master.byteLength, expected: b.master });
      });
    }
    const d = this.pub.publisher.publishedDirectory();
    if (d) out.push({ what: 'directory', kind: 'directory', key: `dir:${this.pub.publisher.publications}`, offset: d.extent.offset, length: d.length, expected: d.crc });
    return out;
  }

  /**
   * Damaged batches and prefixes move to fresh extents (same bytes, new versions), damaged header
   * constants are rewritten, and the directory is published again — at the same revision when
   * nothing is pending, else as the normal publish of the pending revision.
   */
  private repair(damaged: readonly ScrubTarget[], headerSlot: string | null): void {
    if (this.stopped) return;
    if (headerSlot) this.pub.publisher.writeConstants();
    for (const t of damaged) {
      const [kind, version] = t.key.split(':') as [EntityKind, string];
      if (t.kind === 'batch') this.m.tables[kind].relocate(Number(version), this.pub.arena, (e) => this.pub.retire(e));
      else if (t.kind === 'prefix') this.pub.prefixes.relocate(kind);
    }
    if (this.m.undo) return; // (never: the scrub runs between turns) the next publish carries the repair
    this.pub.republish();
  }
}

/** Validates the `scrub` option: null when off, else the settings with defaults. */
export function checkScrubOptions(v: unknown): Required<ScrubOptions> | null {
  if (v === false) return null;
  if (v === undefined) return { bytesPerTick: DEFAULT_SCRUB_BYTES_PER_TICK, intervalMs: DEFAULT_SCRUB_INTERVAL_MS };
  const o = checkObject(v, 'options.scrub');
  for (const k of Object.keys(o)) if (k !== 'bytesPerTick' && k !== 'intervalMs') throw invalid(`options.scrub.${k}`, o[k], 'absent (options.scrub takes bytesPerTick and intervalMs)');
  const bytes = o.bytesPerTick ?? DEFAULT_SCRUB_BYTES_PER_TICK;
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes <= 0) throw invalid('options.scrub.bytesPerTick', bytes, 'a positive integer number of bytes');
  const ms = o.intervalMs ?? DEFAULT_SCRUB_INTERVAL_MS;
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > 2 ** 31 - 1) throw invalid('options.scrub.intervalMs', ms, 'an integer number of milliseconds from 1 to 2147483647');
  return { bytesPerTick: bytes, intervalMs: ms };
}
