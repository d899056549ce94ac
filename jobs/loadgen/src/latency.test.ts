import { describe, expect, it } from "vitest";
import { LatencyRecorder } from "./latency";

describe("LatencyRecorder", () => {
  it("reports percentiles of milliseconds to 0.1 % and exact extremes", () => {
    const r = new LatencyRecorder();
    for (let i = 1; i <= 1000; i++) r.record(i / 100); // 0.01 .. 10 ms
    const s = r.summary();
    expect(s.count).toBe(1000);
    expect(s.min).toBe(0.01);
    expect(s.max).toBe(10);
    expect(s.p50).toBeCloseTo(5, 2);
    expect(s.p99).toBeCloseTo(9.9, 2);
    expect(s.p999).toBeCloseTo(9.99, 2);
    expect(s.mean).toBeCloseTo(5.005, 2);
  });

  it("keeps sub-microsecond and huge values in range and ignores non-numbers", () => {
    const r = new LatencyRecorder();
    r.record(0.0001);
    r.record(-3);
    r.record(Number.NaN);
    r.record(10_000_000);
    const s = r.summary();
    expect(s.count).toBe(3);
    expect(s.min).toBe(0);
    expect(s.max).toBe(10_000_000);
    expect(s.p50).toBe(0);
  });

  it("summarises an empty histogram as NaN rather than zero latency", () => {
    const s = new LatencyRecorder().summary();
    expect(s.count).toBe(0);
    expect(s.p99).toBeNaN();
  });
});
