import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { MultinomialSampler, sampleBinomial, sampleGamma } from "./sampling";

function moments(draw: () => number, count: number): { mean: number; variance: number } {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < count; i++) {
    const x = draw();
    s += x;
    s2 += x * x;
  }
  const mean = s / count;
  return { mean, variance: s2 / count - mean * mean };
}

describe("sampleBinomial", () => {
  it.each([
    [20, 0.3],
    [64, 0.5],
    [1000, 0.1],
    [5000, 0.9],
    [200_000, 0.0003],
  ])("has mean np and variance np(1-p) for n=%i, p=%f", (n, p) => {
    const rng = new Rng(42);
    const draws = 40_000;
    const { mean, variance } = moments(() => sampleBinomial(rng, n, p), draws);
    const sd = Math.sqrt(n * p * (1 - p));
    // Five standard errors of the mean; the variance within 5%.
    expect(Math.abs(mean - n * p)).toBeLessThan((5 * sd) / Math.sqrt(draws));
    expect(variance / (n * p * (1 - p))).toBeGreaterThan(0.95);
    expect(variance / (n * p * (1 - p))).toBeLessThan(1.05);
  });

  it("matches the exact pmf on a small case", () => {
    const rng = new Rng(9);
    const counts = new Array<number>(4).fill(0);
    const draws = 80_000;
    for (let i = 0; i < draws; i++) {
      const k = sampleBinomial(rng, 3, 0.4);
      counts[k] = (counts[k] as number) + 1;
    }
    const pmf = [0.216, 0.432, 0.288, 0.064];
    pmf.forEach((p, k) => expect(Math.abs((counts[k] as number) / draws - p)).toBeLessThan(0.006));
  });

  it("stays within [0, n] and handles degenerate arguments", () => {
    const rng = new Rng(1);
    expect(sampleBinomial(rng, 0, 0.5)).toBe(0);
    expect(sampleBinomial(rng, 100, 0)).toBe(0);
    expect(sampleBinomial(rng, 100, 1)).toBe(100);
    for (let i = 0; i < 1000; i++) {
      const k = sampleBinomial(rng, 150, 0.99);
      expect(k).toBeGreaterThanOrEqual(0);
      expect(k).toBeLessThanOrEqual(150);
    }
    expect(() => sampleBinomial(rng, 2.5, 0.5)).toThrow(RangeError);
    expect(() => sampleBinomial(rng, 5, 1.5)).toThrow(RangeError);
  });
});

describe("sampleGamma", () => {
  it("has mean and variance equal to the shape", () => {
    const rng = new Rng(5);
    for (const shape of [1, 2.5, 40]) {
      const { mean, variance } = moments(() => sampleGamma(rng, shape), 40_000);
      expect(mean / shape).toBeCloseTo(1, 1);
      expect(variance / shape).toBeGreaterThan(0.94);
      expect(variance / shape).toBeLessThan(1.06);
    }
  });
});

describe("MultinomialSampler", () => {
  it("draws n trials with the right means and never into zero-weight bins", () => {
    const sampler = new MultinomialSampler([0, 5, 3, 0, 2, 0]);
    const rng = new Rng(8);
    const out = new Float64Array(6);
    const sums = new Float64Array(6);
    const draws = 5000;
    for (let i = 0; i < draws; i++) {
      sampler.sample(rng, 1000, out);
      expect(out.reduce((a, b) => a + b, 0)).toBe(1000);
      for (let j = 0; j < 6; j++) sums[j] = (sums[j] as number) + (out[j] as number);
    }
    expect([sums[0], sums[3], sums[5]]).toEqual([0, 0, 0]);
    expect((sums[1] as number) / draws).toBeCloseTo(500, -0.5);
    expect((sums[2] as number) / draws).toBeCloseTo(300, -0.5);
    expect((sums[4] as number) / draws).toBeCloseTo(200, -0.5);
  });

  it("rejects weights that are negative or sum to zero", () => {
    expect(() => new MultinomialSampler([0, 0])).toThrow(/sum to zero/);
    expect(() => new MultinomialSampler([1, -1])).toThrow(/weight 1/);
  });
});
