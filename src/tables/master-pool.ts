/**
 * Recycled heap buffers for the writer's batch messages. Re-encoding a batch makes a new message
 * of about the same size and drops the old one; at the medium scale a publish under load replaced
 * ~30 MB of messages, and the garbage collector spent more time freeing them than the encoding
 * took. Messages nobody else holds (never exported: see Batch.exported) come back here and the
 * next message of a similar size is written into one of them.
 */

/** Capacity is allocated in steps of this many bytes, so that similar sizes share buffers. */
const STEP = 64 * 1024;

/** A pool of spare ArrayBuffers, bounded by `maxBytes`. */
export class MasterPool {
  private readonly spare: ArrayBuffer[] = [];
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /**
   * A zero-offset view of `byteLength` bytes over a recycled buffer whose capacity fits (at most
   * twice the size asked), else over a new one. The bytes are not cleared: the caller writes all of them.
   */
  take(byteLength: number): Uint8Array {
    for (let i = this.spare.length - 1; i >= 0; i--) {
      const b = this.spare[i]!;
      if (b.byteLength >= byteLength && b.byteLength <= 2 * byteLength + STEP) {
        this.spare[i] = this.spare[this.spare.length - 1]!;
        this.spare.pop();
        this.bytes -= b.byteLength;
        return new Uint8Array(b, 0, byteLength);
      }
    }
    return new Uint8Array(new ArrayBuffer(Math.ceil(byteLength / STEP) * STEP), 0, byteLength);
  }

  /**
   * Gives back the buffer of a message nothing refers to any more (the caller guarantees it:
   * not exported, superseded). Buffers this pool did not make (other offsets) are left to the GC.
   */
  give(master: Uint8Array): void {
    const b = master.buffer;
    if (!(b instanceof ArrayBuffer) || master.byteOffset !== 0 || b.byteLength % STEP !== 0) return;
    if (this.bytes + b.byteLength > this.maxBytes) return;
    this.spare.push(b);
    this.bytes += b.byteLength;
  }
}
