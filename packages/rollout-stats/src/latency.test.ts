import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { LatencyStat } from "./latency";

function lognormalLatencies(seed: number, n: number): number[] {
  const rng = new Rng(seed);
  // Median 8 ms, heavy right tail (sigma 0.8): p99 near 50 ms, like a service with a slow path.
  return Array.from({ length: n }, () => 8 * Math.exp(rng.normal(0, 0.8)));
}

function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] as number;
}

function maxRelativeError(stat: LatencyStat, sorted: readonly number[], qs: readonly number[]): number {
  let worst = 0;
  for (const q of qs) worst = Math.max(worst, Math.abs(stat.quantile(q) - exactQuantile(sorted, q)) / exactQuantile(sorted, q));
  return worst;
}

const QS = [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999, ...Array.from({ length: 97 }, (_, i) => (i + 1.5) / 100)];

describe("LatencyStat", () => {
  const values = lognormalLatencies(11, 100_000);
  const sorted = [...values].sort((a, b) => a - b);

  it("keeps every quantile within its stated relative error of the exact nearest-rank quantile", () => {
    for (const e of [0.01, 0.05]) {
      const stat = new LatencyStat({ relativeError: e });
      for (const v of values) stat.observe(v);
      const worst = maxRelativeError(stat, sorted, QS);
      expect(worst, `relativeError ${e}`).toBeLessThanOrEqual(e * (1 + 1e-9));
      // The bound is not vacuous: the sketch is not secretly exact, it uses its error budget.
      expect(worst, `relativeError ${e}`).toBeGreaterThan(e / 3);
    }
  });

  it("summarises p50/p95/p99 within 1 % and the mean, min and max exactly", () => {
    const stat = new LatencyStat();
    for (const v of values) stat.observe(v);
    const s = stat.summary();
    expect(s.count).toBe(100_000);
    for (const [got, q] of [[s.p50, 0.5], [s.p95, 0.95], [s.p99, 0.99]] as const) expect(Math.abs(got / exactQuantile(sorted, q) - 1)).toBeLessThanOrEqual(0.01);
    expect(s.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 9);
    expect(s.min).toBe(sorted[0]);
    expect(s.max).toBe(sorted[sorted.length - 1]);
  });

  it("uses memory fixed by the range, not the traffic", () => {
    const stat = new LatencyStat();
    expect(stat.buckets).toBe(1037);
    for (const v of values) stat.observe(v);
    expect(stat.buckets).toBe(1037);
    expect(stat.toJSON().buckets.length).toBeLessThan(700);
  });

  it("clamps values outside [minValue, maxValue] and counts the overflow", () => {
    const stat = new LatencyStat({ minValue: 1, maxValue: 100 });
    for (let i = 0; i < 98; i++) stat.observe(10);
    stat.observe(0.01);
    stat.observe(5000);
    expect(stat.overflow).toBe(1);
    // Above maxValue: reported as maxValue (within the error), not as the 5,000 it was.
    expect(Math.abs(stat.quantile(1) / 100 - 1)).toBeLessThanOrEqual(0.01);
    // Below minValue: absolute error under minValue, no relative promise.
    expect(Math.abs(stat.quantile(0) - 0.01)).toBeLessThan(1);
    expect(Math.abs(stat.quantile(0.5) / 10 - 1)).toBeLessThanOrEqual(0.01);
  });

  it("merges and round-trips through JSON to the same quantiles", () => {
    const a = new LatencyStat();
    const b = new LatencyStat();
    const all = new LatencyStat();
    values.slice(0, 20_000).forEach((v, i) => {
      (i % 3 ? a : b).observe(v);
      all.observe(v);
    });
    a.merge(b);
    for (const q of [0.5, 0.95, 0.99]) expect(a.quantile(q)).toBe(all.quantile(q));
    const back = LatencyStat.from(JSON.parse(JSON.stringify(a)));
    for (const q of [0.5, 0.95, 0.99]) expect(back.quantile(q)).toBe(a.quantile(q));
    expect(back.count).toBe(20_000);
    expect(() => a.merge(new LatencyStat({ relativeError: 0.02 }))).toThrow(/same relativeError/);
  });

  it("answers NaN when empty and rejects bad input", () => {
    expect(new LatencyStat().quantile(0.99)).toBeNaN();
    expect(() => new LatencyStat().observe(-1)).toThrow(/>= 0/);
    expect(() => new LatencyStat().quantile(1.5)).toThrow(/quantile/);
    expect(() => new LatencyStat({ relativeError: 0 })).toThrow(/relativeError/);
    expect(() => new LatencyStat({ minValue: 10, maxValue: 5 })).toThrow(/maxValue/);
    expect(() => LatencyStat.from({ ...new LatencyStat().toJSON(), count: 3 })).toThrow(/count says 3/);
  });
});
