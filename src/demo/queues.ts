/** The simulator's small queues: a min-heap of timed events and a FIFO of ids. */

/** What a timed event does. */
export type EventKind = 'start' | 'finish' | 'retry' | 'recover' | 'place';

/** A timed event of the simulation. */
export interface Due {
  at: number;
  kind: EventKind;
  id: string;
}

/** A binary min-heap of due events by time. */
export class DueHeap {
  private readonly items: Due[] = [];
  get size(): number {
    return this.items.length;
  }
  push(d: Due): void {
    const a = this.items;
    a.push(d);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= d.at) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = d;
  }
  peek(): Due | undefined {
    return this.items[0];
  }
  pop(): Due | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && a[r]!.at < a[l]!.at ? r : l;
      if (a[c]!.at >= last.at) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

/** A FIFO queue of strings with O(1) shift (array plus head index, compacted now and then). */
export class Queue {
  private items: string[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(x: string): void {
    this.items.push(x);
  }
  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head++];
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
}

/** Counters of what the simulator did (monotonic; the view takes differences). */
