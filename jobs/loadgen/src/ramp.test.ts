import { describe, expect, it } from "vitest";
import { parseBudgets, sustainableRate } from "./budgets";
import { VirtualClock } from "./clock";
import { runRamp } from "./ramp";
import { serialServer } from "./serial-server.test-helper";

const budget = parseBudgets({ endpoints: { svc: { rate: 400, latency: { p99: 5 }, maxErrorRate: 0.01 } } }).endpoints.svc!;

describe("runRamp", () => {
  it("finds the knee of a 500 req/s service and stops once it saturates", async () => {
    // 2 ms per request, one at a time: fine up to 500 req/s, a growing queue beyond.
    const clock = new VirtualClock();
    const server = serialServer(clock, 2);
    const seen: number[] = [];
    const ramp = await clock.run(
      runRamp({
        endpoint: "svc",
        rates: [100, 200, 400, 800, 1600],
        stepDurationMs: 1000,
        pauseMs: 500,
        timeoutMs: 250,
        clock,
        send: () => server.handle(),
        onStep: (step) => seen.push(step.offeredRate),
      }),
    );
    expect(seen).toEqual([100, 200, 400, 800]);
    expect(ramp.steps.map((s) => s.latency.p99)).toEqual([2, 2, 2, expect.any(Number)]);
    const overloaded = ramp.steps[3]!;
    // At 800/s request i waits 2 + 0.75 i ms; from i = 331 on it passes the 250 ms timeout.
    expect(overloaded.counts.timeouts).toBe(800 - 331);
    expect(ramp.stoppedEarly).toMatch(/^stopped after 800\/s: 58\.6 % of requests timed out or were dropped/);
    expect(sustainableRate(ramp, budget)).toBe(400);
  });

  it("reports no sustainable rate when the first step already misses the budget", async () => {
    const clock = new VirtualClock();
    const server = serialServer(clock, 10);
    const ramp = await clock.run(runRamp({ endpoint: "svc", rates: [50, 100], stepDurationMs: 500, clock, send: () => server.handle() }));
    expect(ramp.steps).toHaveLength(2);
    expect(ramp.stoppedEarly).toBeNull();
    expect(sustainableRate(ramp, budget)).toBeNull();
  });

  it("wants increasing positive rates", async () => {
    const send = () => Promise.resolve({ status: 200 });
    await expect(runRamp({ rates: [], stepDurationMs: 10, send })).rejects.toThrow(/^rates: needs at least one rate/);
    await expect(runRamp({ rates: [100, 100], stepDurationMs: 10, send })).rejects.toThrow(/^rates\[1\]: must be above the previous rate 100/);
    await expect(runRamp({ rates: [100, -1], stepDurationMs: 10, send })).rejects.toThrow(/^rates\[1\]: must be a positive number/);
  });
});
