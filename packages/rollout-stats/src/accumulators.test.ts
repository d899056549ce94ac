import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { checkMoments, MeanStat, ProportionStat, RatioStat } from "./accumulators";

describe("ProportionStat", () => {
  it("counts observations and batches alike", () => {
    const a = new ProportionStat();
    for (const x of [true, false, false, true, false]) a.observe(x);
    a.addCounts(3, 5);
    expect(a.successes).toBe(5);
    expect(a.trials).toBe(10);
    expect(a.count).toBe(10);
    expect(a.rate).toBe(0.5);
    expect(a.mean).toBe(0.5);
  });

  it("uses the Agresti-Caffo variance, so an arm with no successes is not certain", () => {
    // 0 of 98: p~ = 1/100, variance 0.0099 (the plain estimate would be 0).
    expect(new ProportionStat(0, 98).variance).toBeCloseTo(0.0099, 15);
    // 450 of 998: p~ = 451/1000.
    expect(new ProportionStat(450, 998).variance).toBeCloseTo(0.451 * 0.549, 15);
    expect(new ProportionStat().rate).toBe(0);
  });

  it("merges and round-trips through JSON", () => {
    const a = new ProportionStat(3, 10);
    a.merge(new ProportionStat(7, 30));
    expect(a.toJSON()).toEqual({ successes: 10, trials: 40 });
    expect(ProportionStat.from(JSON.parse(JSON.stringify(a))).rate).toBe(0.25);
  });

  it("rejects impossible counts, naming the field", () => {
    expect(() => new ProportionStat(5, 4)).toThrow(/exceed/);
    expect(() => new ProportionStat(-1, 4)).toThrow(/successes/);
    expect(() => new ProportionStat(1, 2.5)).toThrow(/trials/);
  });
});

describe("MeanStat", () => {
  const twoPass = (xs: number[]) => {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
    return { mean, variance };
  };

  it("matches the two-pass mean and sample variance", () => {
    const rng = new Rng(3);
    const xs = Array.from({ length: 5000 }, () => rng.exponential(0.2));
    const s = new MeanStat();
    for (const x of xs) s.observe(x);
    const ref = twoPass(xs);
    expect(s.count).toBe(5000);
    expect(s.mean).toBeCloseTo(ref.mean, 12);
    expect(s.variance / ref.variance - 1).toBeLessThan(1e-12);
  });

  it("stays accurate when the mean dwarfs the spread, where sum-of-squares cancels", () => {
    const rng = new Rng(4);
    const xs = Array.from({ length: 10_000 }, () => 1e9 + rng.normal(0, 1));
    const s = new MeanStat();
    let sum = 0;
    let sumSq = 0;
    for (const x of xs) {
      s.observe(x);
      sum += x;
      sumSq += x * x;
    }
    const ref = twoPass(xs);
    expect(Math.abs(s.variance / ref.variance - 1)).toBeLessThan(1e-6);
    // The textbook one-pass formula is off by orders of magnitude here (this is why Welford).
    const naive = (sumSq - (sum * sum) / xs.length) / (xs.length - 1);
    expect(Math.abs(naive / ref.variance - 1)).toBeGreaterThan(0.1);
  });

  it("merges to the same moments as one stream, and round-trips through JSON", () => {
    const rng = new Rng(5);
    const all = new MeanStat();
    const a = new MeanStat();
    const b = new MeanStat();
    for (let i = 0; i < 3000; i++) {
      const x = rng.normal(10, 3);
      all.observe(x);
      (i < 1000 ? a : b).observe(x);
    }
    a.merge(b);
    expect(a.count).toBe(3000);
    expect(a.mean).toBeCloseTo(all.mean, 12);
    expect(a.variance).toBeCloseTo(all.variance, 10);
    const back = MeanStat.from(JSON.parse(JSON.stringify(a)));
    expect(back.variance).toBe(a.variance);
    a.merge(new MeanStat());
    expect(a.count).toBe(3000);
  });

  it("has variance 0 below two observations and rejects non-finite values", () => {
    const s = new MeanStat();
    s.observe(4);
    expect(s.variance).toBe(0);
    expect(() => s.observe(NaN)).toThrow(/finite/);
    expect(() => s.observe(Infinity)).toThrow(/finite/);
    expect(() => MeanStat.from({ count: 2, mean: 1, m2: -1 })).toThrow(/m2/);
  });
});

describe("RatioStat", () => {
  it("reproduces a hand-computed delta-method variance", () => {
    // Users (clicks, impressions) = (1, 2), (0, 3), (3, 5): R = 4 / 10 = 0.4. Linearised values
    // (x - R y) / mean(y) = 0.06, -0.36, 0.30 have mean 0 and sample variance 0.2232 / 2 = 0.1116.
    const s = new RatioStat();
    s.observe(1, 2);
    s.observe(0, 3);
    s.observe(3, 5);
    expect(s.count).toBe(3);
    expect(s.mean).toBeCloseTo(0.4, 15);
    expect(s.variance).toBeCloseTo(0.1116, 12);
    expect(s.numerator).toBe(4);
    expect(s.denominator).toBe(10);
  });

  it("equals the sample variance of the linearised per-user values on random users", () => {
    const rng = new Rng(6);
    const pairs = Array.from({ length: 2000 }, () => {
      const y = 1 + rng.poisson(6);
      let x = 0;
      const rate = rng.next() < 0.2 ? 0.4 : 0.03;
      for (let i = 0; i < y; i++) if (rng.bernoulli(rate)) x++;
      return [x, y] as const;
    });
    const s = new RatioStat();
    for (const [x, y] of pairs) s.observe(x, y);
    const my = s.denominator / pairs.length;
    const lin = pairs.map(([x, y]) => (x - s.mean * y) / my);
    const meanLin = lin.reduce((a, b) => a + b, 0) / lin.length;
    const varLin = lin.reduce((a, b) => a + (b - meanLin) ** 2, 0) / (lin.length - 1);
    expect(Math.abs(meanLin)).toBeLessThan(1e-12);
    expect(s.variance / varLin).toBeCloseTo(1, 10);
    // Heavy clickers make a user's impressions alike: the per-impression view understates the variance.
    const perImpression = new ProportionStat(s.numerator, s.denominator);
    expect(s.variance / pairs.length).toBeGreaterThan(2 * (perImpression.variance / s.denominator));
  });

  it("with one impression per user is the plain binomial variance", () => {
    const s = new RatioStat();
    for (let i = 0; i < 1000; i++) s.observe(i % 10 === 0 ? 1 : 0, 1);
    expect(s.mean).toBeCloseTo(0.1, 15);
    expect(s.variance).toBeCloseTo((0.09 * 1000) / 999, 12);
  });

  it("updates a returning user by remove then observe, merges, and round-trips through JSON", () => {
    const a = new RatioStat();
    a.observe(1, 4);
    a.observe(0, 2);
    a.remove(1, 4);
    a.observe(2, 7);
    const fresh = new RatioStat();
    fresh.observe(0, 2);
    fresh.observe(2, 7);
    expect(a.toJSON()).toEqual(fresh.toJSON());
    const b = RatioStat.from(JSON.parse(JSON.stringify(a)));
    b.merge(fresh);
    expect(b.count).toBe(4);
    expect(b.mean).toBeCloseTo(4 / 18, 15);
    expect(() => new RatioStat().remove(1, 1)).toThrow(/empty/);
    expect(() => a.observe(1, -1)).toThrow(/denominator/);
  });
});

describe("checkMoments", () => {
  it("accepts a plain object and names the bad field", () => {
    expect(() => checkMoments("control", { count: 10, mean: 0.1, variance: 0.09 })).not.toThrow();
    expect(() => checkMoments("control", { count: 10, mean: NaN, variance: 0.09 })).toThrow(/control.mean/);
    expect(() => checkMoments("treatment", { count: 1.5, mean: 0, variance: 0 })).toThrow(/treatment.count/);
    expect(() => checkMoments("treatment", { count: 3, mean: 0, variance: -1 })).toThrow(/treatment.variance/);
  });
});
