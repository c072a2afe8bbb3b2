/**
 * The tasks-by-status chart's data: a fixed-size ring of samples, one per sampling interval, each
 * the task counts per status at that moment. Memory is bounded by the ring's capacity whatever
 * the state does; the page receives the whole ring once and then one sample per update.
 */
import { invalid } from '../errors.js';
import { TASK_STATUSES } from '../schema/entities.js';

/** Task counts per status at one moment. */
export interface TaskSample {
  /** Epoch ms when the sample was taken. */
  t: number;
  /** The revision the counts were read from. */
  revision: number;
  /** Counts in TASK_STATUSES order: pending, assigned, running, completed, failed, cancelled. */
  counts: number[];
}

/** The samples as columns (uPlot's data layout): `t` in epoch seconds, then one array per status. */
export interface HistoryColumns {
  statuses: readonly string[];
  t: number[];
  counts: number[][];
}

/**
 * A ring buffer of TaskSamples. Guarantees: at most `capacity` samples are held (the oldest is
 * overwritten), samples come out oldest first, and two samples taken within one `intervalMs`
 * bucket replace each other (the later wins), so the ring spans at least capacity × intervalMs.
 */
export class TaskHistory {
  private readonly ring: (TaskSample | undefined)[];
  private next = 0;
  private size = 0;

  constructor(readonly capacity = 600, readonly intervalMs = 1000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw invalid('history capacity', capacity, 'a whole number >= 1');
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw invalid('history intervalMs', intervalMs, 'a number > 0');
    this.ring = new Array(capacity);
  }

  /** Records `counts` at time `t`; returns the sample as stored. */
  add(t: number, revision: number, counts: number[]): TaskSample {
    const sample: TaskSample = { t, revision, counts: counts.slice(0, TASK_STATUSES.length) };
    const last = this.size > 0 ? this.ring[(this.next - 1 + this.capacity) % this.capacity]! : null;
    if (last && Math.floor(last.t / this.intervalMs) === Math.floor(t / this.intervalMs)) {
      this.ring[(this.next - 1 + this.capacity) % this.capacity] = sample;
      return sample;
    }
    this.ring[this.next] = sample;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
    return sample;
  }

  /** The newest sample, or null. */
  latest(): TaskSample | null {
    return this.size > 0 ? this.ring[(this.next - 1 + this.capacity) % this.capacity]! : null;
  }

  /** Every sample held, oldest first. */
  samples(): TaskSample[] {
    const out: TaskSample[] = [];
    const start = (this.next - this.size + this.capacity) % this.capacity;
    for (let k = 0; k < this.size; k++) out.push(this.ring[(start + k) % this.capacity]!);
    return out;
  }

  /** Every sample as columns, oldest first (times in epoch seconds, as uPlot's time axis wants). */
  columns(): HistoryColumns {
    const s = this.samples();
    return {
      statuses: TASK_STATUSES,
      t: s.map((x) => x.t / 1000),
      counts: TASK_STATUSES.map((_, k) => s.map((x) => x.counts[k] ?? 0)),
    };
  }
}
