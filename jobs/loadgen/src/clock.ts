/**
 * Time as the scheduler sees it: milliseconds from an arbitrary origin, and one-shot timers. The
 * system clock drives real runs; the virtual clock makes the scheduler's tests exact and instant.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` once after `ms`; the returned function cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    const handle = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(handle);
  },
};

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimer(ms, resolve);
  });
}

interface PendingTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * Discrete-event time for tests: `run(work)` fires timers in time order, letting every promise
 * continuation settle between two timers, until `work` settles. Nothing waits on the wall clock,
 * so a "200 ms stall" costs microseconds and its effect is the same on every run.
 */
export class VirtualClock implements Clock {
  private time = 0;
  private seq = 0;
  private readonly timers: PendingTimer[] = [];

  now(): number {
    return this.time;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer: PendingTimer = { at: this.time + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    // Sorted by (at, seq): binary search for the insertion point keeps equal times in FIFO order.
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.timers[mid] as PendingTimer;
      if (t.at < timer.at || (t.at === timer.at && t.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, timer);
    return () => {
      timer.cancelled = true;
    };
  }

  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    work.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (settled) return work;
      const next = this.timers.shift();
      if (!next) throw new Error("VirtualClock.run: the work is still pending but no timer is left to fire");
      if (next.cancelled) continue;
      this.time = Math.max(this.time, next.at);
      next.fn();
    }
  }
}
