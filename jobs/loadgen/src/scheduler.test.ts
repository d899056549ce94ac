import { describe, expect, it } from "vitest";
import { VirtualClock } from "./clock";
import { runOpenLoop } from "./open-loop";
import { runSchedule, type Wake } from "./scheduler";

/** A wake-up that comes `late(n)` ms after it was asked for, the n-th time: a timer under load. */
function lateWake(clock: VirtualClock, late: (n: number) => number): Wake {
  let n = 0;
  return (ms, fn) => void clock.setTimer(ms + late(n++), fn);
}

describe("runSchedule", () => {
  it("fires every request once, in order, never before it is due", async () => {
    const clock = new VirtualClock();
    const offsets = Float64Array.from([0, 0.25, 0.5, 3, 3, 7.75, 10]);
    const fired: [number, number][] = [];
    await clock.run(runSchedule({ offsets, start: 0, clock, wake: lateWake(clock, (n) => [0.3, 0, 2.1, 0.05][n % 4] as number), fire: (i) => fired.push([i, clock.now()]) }));
    expect(fired.map(([i]) => i)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const [i, at] of fired) expect(at).toBeGreaterThanOrEqual(offsets[i] as number);
  });

  it("after a late wake-up sends what is due by then, and nothing that is not", async () => {
    // 1,000/s; the wake-up for request 3 comes 3.5 ms late.
    const clock = new VirtualClock();
    const offsets = Float64Array.from({ length: 10 }, (_, i) => i);
    const rounds: number[][] = [];
    let current: number[] = [];
    let lastAt = -1;
    const fire = (i: number) => {
      if (clock.now() !== lastAt) {
        if (current.length > 0) rounds.push(current);
        current = [];
        lastAt = clock.now();
      }
      current.push(i);
    };
    await clock.run(runSchedule({ offsets, start: 0, clock, wake: lateWake(clock, (n) => (n === 2 ? 3.5 : 0)), fire }));
    rounds.push(current);
    // Requests 3..6 fell due by 6.5 ms and went out together; 7 waited for its own time.
    expect(rounds).toEqual([[0], [1], [2], [3, 4, 5, 6], [7], [8], [9]]);
  });

  it("waits for the next request only as long as it has to", async () => {
    const clock = new VirtualClock();
    const asked: number[] = [];
    const wake: Wake = (ms, fn) => {
      asked.push(ms);
      clock.setTimer(ms, fn);
    };
    await clock.run(runSchedule({ offsets: Float64Array.from([0, 2, 2.5, 10]), start: 0, clock, wake, fire: () => {} }));
    expect(asked).toEqual([2, 0.5, 7.5]);
  });
});

describe("send lag", () => {
  it("is recorded per request as the actual send minus the scheduled send", async () => {
    // Every wake-up comes 0.25 ms late: each request but the first (sent at once) lags 0.25 ms.
    class LateClock extends VirtualClock {
      override setTimer(ms: number, fn: () => void) {
        return super.setTimer(ms + 0.25, fn);
      }
    }
    const clock = new LateClock();
    const sent: number[] = [];
    const result = await clock.run(
      runOpenLoop({
        rate: 1000,
        durationMs: 100,
        clock,
        timeoutMs: 10_000,
        send: ({ scheduledAt }) => {
          sent.push(clock.now() - scheduledAt);
          return Promise.resolve({ status: 200 });
        },
      }),
    );
    expect(sent).toHaveLength(100);
    expect(sent[0]).toBe(0);
    expect(new Set(sent.slice(1))).toEqual(new Set([0.25]));
    expect(result.sendLag).toMatchObject({ count: 100, min: 0, max: 0.25, p50: 0.25 });
    // Latency from the schedule carries the lag; latency from the actual send does not.
    expect(result.latency.max - result.latencyFromSend.max).toBeCloseTo(0.25, 9);
    expect(result.sender).toBe("event loop");
  });
});
