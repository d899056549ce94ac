import { describe, expect, it } from "vitest";
import { PsiNullCache, PsiNullDistribution } from "./null-distribution";

const deciles = Float64Array.from([...new Array(10).fill(2000), 0]);

describe("PsiNullDistribution.pValue", () => {
  it("is (1 + replicates at or above the observation) / (replicates + 1)", () => {
    const d = new PsiNullDistribution(100, Float64Array.from([0.01, 0.02, 0.03, 0.04]));
    expect(d.pValue(0.025)).toBeCloseTo(3 / 5, 15);
    expect(d.pValue(0.03)).toBeCloseTo(3 / 5, 15);
    expect(d.pValue(1)).toBeCloseTo(1 / 5, 15);
    expect(d.pValue(0)).toBe(1);
    expect(d.quantile(0.5)).toBe(0.02);
  });
});

describe("PsiNullCache", () => {
  it("buckets window sizes downwards on a geometric grid", () => {
    const cache = new PsiNullCache();
    expect(cache.bucketOf(10)).toBe(10);
    expect(cache.bucketOf(1024)).toBe(1024);
    expect(cache.bucketOf(1100)).toBe(1024);
    expect(cache.bucketOf(1117)).toBe(1116); // 2^(81/8)
    for (const n of [17, 99, 100, 4999, 5000, 123_457]) {
      const b = cache.bucketOf(n);
      expect(b).toBeLessThanOrEqual(n);
      expect(b).toBeGreaterThan(n / 2 ** (1 / 8) - 1);
    }
    expect(() => cache.bucketOf(0)).toThrow(/windowSize/);
  });

  it("computes each (reference counts, bucket) once and shares it between equal histograms", () => {
    const cache = new PsiNullCache({ replicates: 199 });
    const first = cache.get(deciles, 1000);
    expect(cache.get(deciles, 1010)).toBe(first);
    expect(cache.get(Float64Array.from(deciles), 1000)).toBe(first);
    expect(cache.size).toBe(1);
    cache.get(deciles, 2000);
    expect(cache.size).toBe(2);
  });

  it("is deterministic for a seed and differs across seeds", () => {
    const a = new PsiNullCache({ replicates: 199, seed: 5 }).get(deciles, 300).sorted;
    const b = new PsiNullCache({ replicates: 199, seed: 5 }).get(deciles, 300).sorted;
    const c = new PsiNullCache({ replicates: 199, seed: 6 }).get(deciles, 300).sorted;
    expect([...a]).toEqual([...b]);
    expect([...a]).not.toEqual([...c]);
  });

  it("has the chi-square scale: mean PSI close to (bins - 1) * (1/n + 1/N)", () => {
    const cache = new PsiNullCache({ replicates: 2000 });
    for (const n of [128, 1024, 8192]) {
      const d = cache.get(deciles, n);
      const mean = d.sorted.reduce((a, b) => a + b, 0) / d.replicates;
      const expected = 9 * (1 / n + 1 / 20_000);
      expect(mean / expected).toBeGreaterThan(0.93);
      expect(mean / expected).toBeLessThan(1.12);
    }
  });

  it("shows why PSI >= 0.1 alone misfires on 100 events: chance exceeds it about 40% of the time", () => {
    const d = new PsiNullCache({ replicates: 2000 }).get(deciles, 100);
    const exceed = d.sorted.filter((v) => v >= 0.1).length / d.replicates;
    expect(exceed).toBeGreaterThan(0.3);
    expect(d.quantile(0.95)).toBeGreaterThan(0.15);
  });

  it("validates its options", () => {
    expect(() => new PsiNullCache({ replicates: 5 })).toThrow(/replicates/);
    expect(() => new PsiNullCache({ epsilon: 0 })).toThrow(/epsilon/);
  });
});
