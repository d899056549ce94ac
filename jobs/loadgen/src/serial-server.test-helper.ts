import { sleep, type VirtualClock } from "./clock";
import type { Answer } from "./open-loop";

/**
 * A single-threaded fake service on a virtual clock: requests queue and are served one at a time,
 * `serviceMs` each; the request that arrives `stallAt`-th (0-based) takes `stallMs` longer, like a
 * GC pause, and everything behind it waits.
 */
export function serialServer(clock: VirtualClock, serviceMs: number, stall?: { at: number; ms: number }) {
  let freeAt = 0;
  let received = 0;
  return {
    get received() {
      return received;
    },
    handle(answer: Answer = { status: 200 }): Promise<Answer> {
      const begin = Math.max(clock.now(), freeAt);
      const extra = stall && received === stall.at ? stall.ms : 0;
      received++;
      freeAt = begin + serviceMs + extra;
      return sleep(clock, freeAt - clock.now()).then(() => answer);
    },
  };
}
