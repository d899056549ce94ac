/**
 * Sliding windows over encoded events. An event is stored as one cell index per feature (Uint16);
 * insert and evict add and subtract 1 in per-feature cell counters, so the cost per event is
 * O(features) whatever the window's length, and no raw value is kept.
 */
import { invalidInput } from "./errors";

export interface BinnedWindow {
  /** Events currently in the window. */
  readonly size: number;
  /** Per feature, the window's count in each cell. */
  readonly counts: readonly Int32Array[];
  /** Adds an event (its cells, one per feature); returns false if it was dropped as too late. */
  insert(time: number, cells: ArrayLike<number>): boolean;
  clear(): void;
}

function checkCells(cellsPerFeature: readonly number[]): void {
  cellsPerFeature.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 1 || c > 65_535) throw invalidInput(`cellsPerFeature[${i}]`, `must be an integer in [1, 65535], got ${c}`);
  });
}

function increment(counts: Int32Array, cell: number): void {
  counts[cell] = (counts[cell] as number) + 1;
}

function decrement(counts: Int32Array, cell: number): void {
  counts[cell] = (counts[cell] as number) - 1;
}

/** The last `capacity` events by arrival. */
export class CountWindow implements BinnedWindow {
  readonly counts: Int32Array[];
  private readonly features: number;
  private readonly slots: Uint16Array;
  private head = 0;
  private length = 0;

  constructor(
    cellsPerFeature: readonly number[],
    readonly capacity: number,
  ) {
    checkCells(cellsPerFeature);
    if (!Number.isInteger(capacity) || capacity < 1) throw invalidInput("window.size", `must be a positive integer, got ${capacity}`);
    this.features = cellsPerFeature.length;
    this.counts = cellsPerFeature.map((c) => new Int32Array(c));
    this.slots = new Uint16Array(capacity * this.features);
  }

  get size(): number {
    return this.length;
  }

  insert(_time: number, cells: ArrayLike<number>): boolean {
    const f = this.features;
    let slot: number;
    if (this.length === this.capacity) {
      slot = this.head;
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
      const base = slot * f;
      for (let i = 0; i < f; i++) decrement(this.counts[i] as Int32Array, this.slots[base + i] as number);
    } else {
      slot = this.head + this.length;
      if (slot >= this.capacity) slot -= this.capacity;
      this.length++;
    }
    const base = slot * f;
    for (let i = 0; i < f; i++) {
      const c = cells[i] as number;
      this.slots[base + i] = c;
      increment(this.counts[i] as Int32Array, c);
    }
    return true;
  }

  clear(): void {
    for (const c of this.counts) c.fill(0);
    this.head = 0;
    this.length = 0;
  }
}

/**
 * The events whose time lies in (watermark - horizon, watermark], where the watermark is the latest
 * event time seen. Events may arrive out of order: a min-heap on event time evicts exactly the
 * expired ones, and an event already older than the horizon is dropped (and counted) on arrival.
 */
export class TimeWindow implements BinnedWindow {
  readonly counts: Int32Array[];
  private readonly features: number;
  private times = new Float64Array(1024);
  private slots: Uint16Array;
  /** Slot ids ordered as a binary min-heap on times[slot]. */
  private heap = new Int32Array(1024);
  private free: number[] = [];
  private used = 0;
  private length = 0;
  private latest = -Infinity;
  private dropped = 0;

  constructor(
    cellsPerFeature: readonly number[],
    /** Horizon in the same unit as event times. */
    readonly horizon: number,
  ) {
    checkCells(cellsPerFeature);
    if (!(horizon > 0) || !Number.isFinite(horizon)) throw invalidInput("window.seconds", `must be a positive number, got ${horizon}`);
    this.features = cellsPerFeature.length;
    this.counts = cellsPerFeature.map((c) => new Int32Array(c));
    this.slots = new Uint16Array(1024 * this.features);
  }

  get size(): number {
    return this.length;
  }

  get watermark(): number {
    return this.latest;
  }

  /** Events dropped because they were older than the horizon when they arrived. */
  get lateEvents(): number {
    return this.dropped;
  }

  insert(time: number, cells: ArrayLike<number>): boolean {
    if (time > this.latest) this.latest = time;
    const cutoff = this.latest - this.horizon;
    if (time <= cutoff) {
      this.dropped++;
      return false;
    }
    const slot = this.allocate();
    this.times[slot] = time;
    const f = this.features;
    const base = slot * f;
    for (let i = 0; i < f; i++) {
      const c = cells[i] as number;
      this.slots[base + i] = c;
      increment(this.counts[i] as Int32Array, c);
    }
    this.push(slot);
    this.evictUpTo(cutoff);
    return true;
  }

  /** Moves the watermark forward without an event (e.g. on a clock tick) and evicts. */
  advanceTo(time: number): void {
    if (time > this.latest) this.latest = time;
    this.evictUpTo(this.latest - this.horizon);
  }

  clear(): void {
    for (const c of this.counts) c.fill(0);
    this.free = [];
    this.used = 0;
    this.length = 0;
    this.latest = -Infinity;
  }

  private evictUpTo(cutoff: number): void {
    const f = this.features;
    while (this.length > 0 && (this.times[this.heap[0] as number] as number) <= cutoff) {
      const slot = this.pop();
      const base = slot * f;
      for (let i = 0; i < f; i++) decrement(this.counts[i] as Int32Array, this.slots[base + i] as number);
      this.free.push(slot);
    }
  }

  private allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.used === this.times.length) this.grow();
    return this.used++;
  }

  private grow(): void {
    const capacity = this.times.length * 2;
    const times = new Float64Array(capacity);
    times.set(this.times);
    this.times = times;
    const slots = new Uint16Array(capacity * this.features);
    slots.set(this.slots);
    this.slots = slots;
    const heap = new Int32Array(capacity);
    heap.set(this.heap);
    this.heap = heap;
  }

  private push(slot: number): void {
    const heap = this.heap;
    const times = this.times;
    const t = times[slot] as number;
    let i = this.length++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as number;
      if ((times[p] as number) <= t) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = slot;
  }

  private pop(): number {
    const heap = this.heap;
    const times = this.times;
    const top = heap[0] as number;
    const last = heap[--this.length] as number;
    if (this.length === 0) return top;
    const t = times[last] as number;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= this.length) break;
      const right = left + 1;
      let child = left;
      if (right < this.length && (times[heap[right] as number] as number) < (times[heap[left] as number] as number)) child = right;
      if ((times[heap[child] as number] as number) >= t) break;
      heap[i] = heap[child] as number;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
