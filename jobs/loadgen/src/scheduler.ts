import type { Clock } from "./clock";

/** Calls `fn` once, `ms` from now: the clock's own timer, or a more precise one. */
export type Wake = (ms: number, fn: () => void) => void;

export interface ScheduleRun {
  /** Send times in ms from `start`, ascending. */
  offsets: Float64Array;
  /** The schedule's zero on `clock`. */
  start: number;
  clock: Clock;
  wake: Wake;
  /** Sends request `index`; called in index order, never before it is due. */
  fire: (index: number) => void;
}

/**
 * Fires every request of the schedule at its time and resolves after the last one. Each wake-up
 * sends what is due by then (a late wake-up sends the backlog at once, never skipping a request,
 * never sending one early), re-reading the clock before giving up on the next, so a request that
 * fell due while the backlog went out does not wait for another wake-up.
 */
export function runSchedule({ offsets, start, clock, wake, fire }: ScheduleRun): Promise<void> {
  return new Promise<void>((resolve) => {
    let next = 0;
    const tick = (): void => {
      let elapsed = clock.now() - start;
      while (next < offsets.length) {
        if ((offsets[next] as number) > elapsed) {
          elapsed = clock.now() - start;
          if ((offsets[next] as number) > elapsed) break;
        }
        fire(next++);
      }
      if (next >= offsets.length) resolve();
      else wake((offsets[next] as number) - elapsed, tick);
    };
    tick();
  });
}
