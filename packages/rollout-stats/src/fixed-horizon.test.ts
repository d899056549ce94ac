import { sampleBinomial } from "@mlsd/drift";
import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { mdeForSampleSize, sampleSizeForMde, sampleSizeForMeanMde, twoProportionPower, twoProportionZTest } from "./fixed-horizon";

describe("twoProportionZTest", () => {
  it("reproduces a hand computation: 200/1000 vs 250/1000", () => {
    // Pooled p = 450/2000 = 0.225; SE0 = sqrt(0.225 * 0.775 * (2/1000)) = 0.0186749;
    // z = 0.05 / 0.0186749 = 2.67740; two-sided p = erfc(z / sqrt 2) = 0.0074196 (python3 math.erfc).
    // Unpooled SE1 = sqrt(0.2 * 0.8 / 1000 + 0.25 * 0.75 / 1000) = 0.0186414; CI = 0.05 -+ 1.959964 * SE1.
    const r = twoProportionZTest({ control: { successes: 200, trials: 1000 }, treatment: { successes: 250, trials: 1000 } });
    expect(r.estimate).toBeCloseTo(0.05, 12);
    expect(r.z).toBeCloseTo(2.677397763008329, 9);
    expect(r.pValue).toBeCloseTo(0.007419649261025693, 9);
    expect(r.ci[0]).toBeCloseTo(0.013463621687539847, 9);
    expect(r.ci[1]).toBeCloseTo(0.08653637831246014, 9);
    expect(r.significant).toBe(true);
  });

  it("halves the p-value one-sided and flips with the alternative", () => {
    const input = { control: { successes: 200, trials: 1000 }, treatment: { successes: 250, trials: 1000 } };
    expect(twoProportionZTest({ ...input, alternative: "greater" }).pValue).toBeCloseTo(0.007419649261025693 / 2, 9);
    expect(twoProportionZTest({ ...input, alternative: "less" }).pValue).toBeCloseTo(1 - 0.007419649261025693 / 2, 9);
    expect(twoProportionZTest({ ...input, alternative: "greater" }).ci[1]).toBe(Infinity);
  });

  it("answers p = 1 when both arms are all failures, and rejects impossible counts", () => {
    expect(twoProportionZTest({ control: { successes: 0, trials: 100 }, treatment: { successes: 0, trials: 100 } }).pValue).toBe(1);
    expect(() => twoProportionZTest({ control: { successes: 5, trials: 4 }, treatment: { successes: 0, trials: 1 } })).toThrow(/control.successes/);
    expect(() => twoProportionZTest({ control: { successes: 0, trials: 0 }, treatment: { successes: 0, trials: 1 } })).toThrow(/control.trials/);
  });
});

describe("sampleSizeForMde", () => {
  it("derives 14,751 per arm for 10 % -> 11 % at alpha 0.05 and power 0.8", () => {
    // p1 = 0.10, p2 = 0.11, pbar = 0.105; z(.975) = 1.959964, z(.8) = 0.841621.
    // 1.959964 * sqrt(2 * 0.105 * 0.895) = 0.849704; 0.841621 * sqrt(0.09 + 0.0979) = 0.364821.
    // n = (0.849704 + 0.364821)^2 / 0.01^2 = 1.475072 / 1e-4 = 14,750.7 -> 14,751.
    const r = sampleSizeForMde({ baseline: 0.1, mde: 0.1, mdeKind: "relative" });
    expect(r.control).toBe(14_751);
    expect(r.treatment).toBe(14_751);
    expect(r.total).toBe(29_502);
    expect(r.target).toBeCloseTo(0.11, 12);
    expect(r.absoluteMde).toBeCloseTo(0.01, 12);
    expect(sampleSizeForMde({ baseline: 0.1, mde: 0.01, mdeKind: "absolute" }).control).toBe(14_751);
  });

  it("is the n at which the z-test's power reaches the target, by the power formula and by simulation", () => {
    const n = sampleSizeForMde({ baseline: 0.1, mde: 0.1, mdeKind: "relative" }).control;
    expect(twoProportionPower({ baseline: 0.1, target: 0.11, control: n })).toBeGreaterThanOrEqual(0.8);
    expect(twoProportionPower({ baseline: 0.1, target: 0.11, control: n - 1 })).toBeLessThan(0.8);
    // 2,000 simulated experiments of 14,751 per arm: rejection rate within 3 sd of 0.8.
    const rng = new Rng(7);
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      const control = { successes: sampleBinomial(rng, n, 0.1), trials: n };
      const treatment = { successes: sampleBinomial(rng, n, 0.11), trials: n };
      if (twoProportionZTest({ control, treatment }).significant) rejected++;
    }
    expect(Math.abs(rejected / 2000 - 0.8)).toBeLessThan(3 * Math.sqrt((0.8 * 0.2) / 2000));
  });

  it("handles decreases, one-sided tests and unequal arms (a canary)", () => {
    const down = sampleSizeForMde({ baseline: 0.1, mde: -0.1, mdeKind: "relative" });
    expect(down.target).toBeCloseTo(0.09, 12);
    expect(down.control).toBeLessThan(14_751);
    expect(sampleSizeForMde({ baseline: 0.1, mde: 0.1, mdeKind: "relative", alternative: "one-sided" }).control).toBeLessThan(14_751);
    // 5 % canary: treatment = control * 5/95; the total is far above a balanced test's.
    const canary = sampleSizeForMde({ baseline: 0.1, mde: 0.1, mdeKind: "relative", ratio: 5 / 95 });
    expect(canary.treatment).toBe(Math.ceil(canary.control * (5 / 95) - 1e-9));
    expect(canary.total).toBeGreaterThan(4 * 29_502);
    expect(twoProportionPower({ baseline: 0.1, target: 0.11, control: canary.control, ratio: 5 / 95 })).toBeCloseTo(0.8, 3);
  });

  it("rejects a target rate outside (0, 1) and other bad input, naming the field", () => {
    expect(() => sampleSizeForMde({ baseline: 0.6, mde: 1, mdeKind: "relative" })).toThrow(/outside \(0, 1\)/);
    expect(() => sampleSizeForMde({ baseline: 0, mde: 0.1, mdeKind: "relative" })).toThrow(/baseline/);
    expect(() => sampleSizeForMde({ baseline: 0.1, mde: 0, mdeKind: "relative" })).toThrow(/mde/);
    expect(() => sampleSizeForMde({ baseline: 0.1, mde: 0.1, mdeKind: "relative", power: 1 })).toThrow(/power/);
  });
});

describe("planning a sequential test", () => {
  it("replaces z(0.975) = 1.96 by the mSPRT boundary at the horizon, 3.035: about 1.9 times the fixed sample", () => {
    const fixed = sampleSizeForMeanMde({ sd: 1, mde: 0.1 });
    const sequential = sampleSizeForMeanMde({ sd: 1, mde: 0.1, test: "sequential" });
    // 2 (3.035122 + 0.841621)^2 / 0.01 = 3,005.9 -> 3,006.
    expect(sequential.control).toBe(3006);
    expect(sequential.control / fixed.control).toBeCloseTo(((3.035122 + 0.841621) / (1.959964 + 0.841621)) ** 2, 2);
    const p = sampleSizeForMde({ baseline: 0.1, mde: 0.1, mdeKind: "relative", test: "sequential" });
    expect(p.criticalZ).toBeCloseTo(3.035122, 5);
    expect(p.control).toBe(28_246);
    expect(twoProportionPower({ baseline: 0.1, target: 0.11, control: p.control, test: "sequential" })).toBeCloseTo(0.8, 3);
    expect(() => sampleSizeForMde({ baseline: 0.1, mde: 0.1, mdeKind: "relative", test: "sequential", alternative: "one-sided" })).toThrow(/two-sided/);
  });
});

describe("mdeForSampleSize", () => {
  it("inverts sampleSizeForMde", () => {
    const m = mdeForSampleSize({ baseline: 0.1, control: 14_751 });
    expect(m.relativeMde).toBeLessThanOrEqual(0.1);
    expect(m.relativeMde).toBeGreaterThan(0.0999);
    expect(sampleSizeForMde({ baseline: 0.1, mde: m.absoluteMde, mdeKind: "absolute" }).control).toBeLessThanOrEqual(14_751);
    // A quarter of the sample detects about twice the effect (n ~ 1 / mde^2).
    expect(mdeForSampleSize({ baseline: 0.1, control: 14_751 / 4 }).relativeMde).toBeCloseTo(0.2, 1);
  });
});

describe("sampleSizeForMeanMde", () => {
  it("gives 2 (z_a + z_b)^2 sd^2 / mde^2, close to Lehr's 16 / d^2 rule of thumb", () => {
    // (1.959964 + 0.841621)^2 = 7.848911; * 2 / 0.1^2 = 1,569.8 -> 1,570. Lehr: 16 / 0.01 = 1,600.
    const r = sampleSizeForMeanMde({ sd: 1, mde: 0.1 });
    expect(r.control).toBe(1570);
    expect(Math.abs(r.control / 1600 - 1)).toBeLessThan(0.02);
    expect(sampleSizeForMeanMde({ sd: 14, mde: 0.3 }).control).toBe(Math.ceil((7.848911 * 2 * 196) / 0.09 - 1e-3));
    expect(() => sampleSizeForMeanMde({ sd: 0, mde: 1 })).toThrow(/sd/);
  });
});
