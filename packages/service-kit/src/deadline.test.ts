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
  it("opens after the threshold, half-opens after the cooldown, closes on success", () => {
    let now = 0;
    const breaker = new CircuitBreaker("redis", { failureThreshold: 3, cooldownMs: 1000, now: () => now });
    breaker.failure();
    breaker.failure();
    expect(breaker.allow()).toBe(true);
    breaker.failure();
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBe(false);
    now = 1000;
    expect(breaker.state).toBe("half-open");
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(false);
    breaker.failure();
    expect(breaker.state).toBe("open");
    now = 2000;
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe("closed");
  });
});
