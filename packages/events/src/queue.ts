import type { SizedRecord } from "./record";

export interface RecordQueueLimits {
  maxEvents: number;
  maxBytes: number;
}

/**
 * FIFO of records bounded by count and bytes. `push` is O(1) and refuses instead of growing past a
 * bound; the head is consumed in batches (peek, then drop once acknowledged or spilled).
 */
export class RecordQueue {
  private items: (SizedRecord | undefined)[] = [];
  private head = 0;
  private byteCount = 0;

  constructor(private readonly limits: RecordQueueLimits) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** False when the record would break a bound; the queue is then unchanged. */
  push(record: SizedRecord): boolean {
    if (this.length >= this.limits.maxEvents || this.byteCount + record.bytes > this.limits.maxBytes) return false;
    this.items.push(record);
    this.byteCount += record.bytes;
    return true;
  }

  /** How many head records form a batch of at most `maxEvents` and `maxBytes` (at least one if any). */
  batchLength(maxEvents: number, maxBytes: number): number {
    const end = Math.min(this.items.length, this.head + maxEvents);
    let bytes = 0;
    let i = this.head;
    for (; i < end; i++) {
      const size = (this.items[i] as SizedRecord).bytes;
      if (i > this.head && bytes + size > maxBytes) break;
      bytes += size;
    }
    return i - this.head;
  }

  /** The first `n` records, oldest first, without removing them. */
  peek(n: number): SizedRecord[] {
    return this.items.slice(this.head, this.head + Math.min(n, this.length)) as SizedRecord[];
  }

  /** Removes the first `n` records. */
  drop(n: number): void {
    const count = Math.min(n, this.length);
    for (let i = this.head; i < this.head + count; i++) {
      this.byteCount -= (this.items[i] as SizedRecord).bytes;
      this.items[i] = undefined;
    }
    this.head += count;
    // Compact once the consumed prefix dominates, keeping push amortised O(1).
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
