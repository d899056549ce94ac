import { describe, expect, it } from "vitest";
import { CircuitBreaker, Deadline, withDeadline } from "./deadline";

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => resolve("slept"), ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });

describe("withDeadline", () => {
  it("returns the value when in time", async () => {
    const r = await withDeadline(200, () => sleep(5));
    expect(r).toMatchObject({ ok: true, value: "slept" });
  });

  it("returns a timeout value and aborts the call when late", async () => {
    let aborted = false;
    const r = await withDeadline(20, (signal) => {
      signal.addEventListener("abort", () => (aborted = true));
      return sleep(1000, signal);
    });
    expect(r).toMatchObject({ ok: false, reason: "timeout" });
    expect(aborted).toBe(true);
  });

  it("returns an error value instead of throwing", async () => {
    const r = await withDeadline(200, async () => {
      throw new Error("redis down");
    });
    expect(r.ok).toBe(false);
    if (!r.ok && r.reason === "error") expect((r.error as Error).message).toBe("redis down");
  });

  it("a request deadline hands each stage only what is left", async () => {
    const deadline = new Deadline(50);
    await sleep(30);
    expect(deadline.remaining()).toBeLessThan(25);
    const r = await deadline.run(() => sleep(100));
    expect(r).toMatchObject({ ok: false, reason: "timeout" });
    expect(deadline.remaining()).toBeLessThan(2);
  });
});

describe("CircuitBreaker", () => {
  it("opens on a failure rate over the window, half-opens after the cooldown, closes on a successful trial", () => {
    let now = 0;
    const breaker = new CircuitBreaker("redis", { failureRate: 0.5, minimumCalls: 4, windowSize: 10, cooldownMs: 1000, now: () => now });
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe("closed"); // two calls are too few to judge
    breaker.success();
    breaker.failure();
    expect(breaker.state).toBe("open"); // 3 of 4 failed
    expect(breaker.allow()).toBe(false);
    now = 1000;
    expect(breaker.state).toBe("half-open");
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(false); // one trial at a time
    breaker.failure();
    expect(breaker.state).toBe("open");
    now = 2000;
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe("closed");
    expect(breaker.openings).toBe(1);
  });

  it("stays closed through scattered failures among many successes (momentary contention)", () => {
    const breaker = new CircuitBreaker("redis", { failureRate: 0.5, minimumCalls: 20, windowSize: 100, cooldownMs: 250 });
    for (let i = 0; i < 1000; i++) {
      // Bursts of 5 late answers every 20 calls: 25 % failures, never a majority.
      if (i % 20 < 5) breaker.failure();
      else breaker.success();
      expect(breaker.state).toBe("closed");
    }
  });

  it("opens within the minimum calls when the dependency fails every call, and forgets old outcomes", () => {
    const breaker = new CircuitBreaker("redis", { failureRate: 0.5, minimumCalls: 20, windowSize: 100, cooldownMs: 250 });
    for (let i = 0; i < 200; i++) breaker.success();
    for (let i = 0; i < 99; i++) breaker.failure();
    // The window holds 100 calls: 99 failures and one success.
    expect(breaker.state).toBe("open");
    const fresh = new CircuitBreaker("redis", { failureRate: 0.5, minimumCalls: 20, windowSize: 100, cooldownMs: 250 });
    for (let i = 0; i < 19; i++) fresh.failure();
    expect(fresh.state).toBe("closed");
    fresh.failure();
    expect(fresh.state).toBe("open");
  });

  it("closes at once when a probe reports the dependency back", () => {
    const breaker = new CircuitBreaker("redis", { failureRate: 1, minimumCalls: 3, windowSize: 3, cooldownMs: 60_000 });
    for (let i = 0; i < 3; i++) breaker.failure();
    expect(breaker.state).toBe("open");
    breaker.success();
    expect(breaker.state).toBe("closed");
    expect(breaker.allow()).toBe(true);
  });
});
