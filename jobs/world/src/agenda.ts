/**
 * What the world will do next, in world time: a binary min-heap of actions by time, first in first
 * out among equal times, so two runs from one seed dispatch in the same order.
 */
export interface AgendaEntry<T> {
  /** World epoch milliseconds. */
  at: number;
  item: T;
}

interface Slot<T> extends AgendaEntry<T> {
  seq: number;
}

export class Agenda<T> {
  private readonly heap: Slot<T>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  add(at: number, item: T): void {
    if (!Number.isFinite(at)) throw new RangeError(`agenda time must be finite, got ${at}`);
    const heap = this.heap;
    heap.push({ at, item, seq: this.seq++ });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Slot<T>, heap[parent] as Slot<T>)) break;
      [heap[i], heap[parent]] = [heap[parent] as Slot<T>, heap[i] as Slot<T>];
      i = parent;
    }
  }

  peek(): AgendaEntry<T> | undefined {
    return this.heap[0];
  }

  pop(): AgendaEntry<T> | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l] as Slot<T>, heap[m] as Slot<T>)) m = l;
      if (r < heap.length && before(heap[r] as Slot<T>, heap[m] as Slot<T>)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m] as Slot<T>, heap[i] as Slot<T>];
      i = m;
    }
    return top;
  }
}

function before<T>(a: Slot<T>, b: Slot<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
