import { describe, expect, it } from "vitest";
import { binomialUpper, clusteredPilotVariance, median, simulateClustered, simulateMeans, simulateProportions, skewedCost } from "../test/simulate";
import { MeanStat, ProportionStat } from "./accumulators";
import { sampleSizeForMde } from "./fixed-horizon";
import { normalDensity } from "./normal";
import {
  contrastVariance,
  horizonTau2Factor,
  mixtureHalfWidth,
  mixtureLogLikelihoodRatio,
  sequentialTest,
  sequentialZBoundary,
  tau2ForHorizon,
  type SequentialResult,
} from "./sequential";

const ALPHA = 0.05;
// One-sided 95 % upper end of the false positive count of 1,000 experiments at rate alpha, as a rate.
const FPR_LIMIT = binomialUpper(1000, ALPHA);

describe("the mixture likelihood ratio", () => {
  it("equals the integral of the likelihood ratio over theta ~ N(0, tau^2) (Simpson's rule)", () => {
    for (const [d, v, tau2] of [
      [0.01, 4e-5, 1e-4],
      [-0.3, 0.05, 0.02],
      [2, 1, 0.5],
    ] as const) {
      const sd = Math.sqrt(tau2);
      const steps = 20_000;
      const lo = -12 * sd;
      const h = (24 * sd) / steps;
      const f = (theta: number) => (Math.exp((-(d - theta) * (d - theta) + d * d) / (2 * v)) * normalDensity(theta / sd)) / sd;
      let sum = f(lo) + f(lo + steps * h);
      for (let i = 1; i < steps; i++) sum += (i % 2 ? 4 : 2) * f(lo + i * h);
      expect(Math.log((sum * h) / 3)).toBeCloseTo(mixtureLogLikelihoodRatio(d, v, tau2), 8);
    }
  });

  it("crosses 1/alpha exactly where the confidence interval's edge reaches 0", () => {
    const v = 2.5e-5;
    const tau2 = 1e-4;
    const h = mixtureHalfWidth(v, tau2, ALPHA);
    expect(mixtureLogLikelihoodRatio(h, v, tau2)).toBeCloseTo(Math.log(1 / ALPHA), 10);
    expect(Math.exp(-mixtureLogLikelihoodRatio(h * 0.999, v, tau2))).toBeGreaterThan(ALPHA);
    expect(Math.exp(-mixtureLogLikelihoodRatio(h * 1.001, v, tau2))).toBeLessThan(ALPHA);
  });

  it("tunes tau^2 to the horizon: x = 2 ln(1/alpha) + ln(1 + x) minimises the boundary there", () => {
    const x = horizonTau2Factor(ALPHA);
    expect(x).toBeCloseTo(2 * Math.log(20) + Math.log(1 + x), 10);
    expect(x).toBeCloseTo(8.21, 2);
    // z-boundary at the horizon (V = 1): about 3.04, against 1.96 for one fixed-horizon look.
    const best = sequentialZBoundary(1, x, ALPHA);
    expect(best).toBeCloseTo(3.035, 2);
    expect(sequentialZBoundary(1, 0.7 * x, ALPHA)).toBeGreaterThan(best);
    expect(sequentialZBoundary(1, 1.4 * x, ALPHA)).toBeGreaterThan(best);
    // 10 % baseline, 20,000 per arm: V* = 2 * 0.09 / 20,000.
    expect(tau2ForHorizon({ perUnitVariance: 0.09, controlCount: 20_000, treatmentCount: 20_000 })).toBeCloseTo((x * 0.18) / 20_000, 15);
    expect(() => tau2ForHorizon({ perUnitVariance: 0, controlCount: 1, treatmentCount: 1 })).toThrow(/perUnitVariance/);
  });
});

describe("contrastVariance", () => {
  it("is Welch's variance when the arms differ in spread, and the combined one when a small arm looks too certain", () => {
    const wide = { count: 1000, mean: 0, variance: 4 };
    const narrow = { count: 1000, mean: 0, variance: 1 };
    expect(contrastVariance(narrow, wide)).toBeCloseTo(5 / 1000, 12);
    // A 50-unit canary with 1 click in 50 against a control at 10 %: Welch trusts the canary's tiny variance.
    const control = new ProportionStat(950, 9500);
    const canary = new ProportionStat(1, 50);
    const welch = canary.variance / 50 + control.variance / 9500;
    expect(contrastVariance(control, canary)).toBeGreaterThan(1.4 * welch);
  });
});

describe("sequentialTest, one look at a time", () => {
  const tau2 = tau2ForHorizon({ perUnitVariance: 0.09, controlCount: 20_000, treatmentCount: 20_000 });

  it("does not look below minCount", () => {
    const r = sequentialTest({ control: new ProportionStat(5, 50), treatment: new ProportionStat(40, 50), tau2 });
    expect(r.looks).toBe(0);
    expect(r.pValue).toBe(1);
    expect(r.ci).toBeNull();
    expect(r.decided).toBeNull();
    expect(r.estimate).toBeCloseTo(0.7, 12);
  });

  it("decides a clear effect with the verdict the direction implies", () => {
    const control = new ProportionStat(1000, 10_000);
    const treatment = new ProportionStat(1200, 10_000);
    const up = sequentialTest({ control, treatment, tau2 });
    expect(up.decided).toBe("treatment-better");
    // By hand: p~ = 1001/10002 and 1201/10002 give Welch V = 1.9572e-5; the combined variance
    // (0.11 overall) gives 1.9591e-5, the larger. tau^2 = 8.2097 * 0.18 / 20000 = 7.3887e-5.
    // ln L = 0.5 ln(V / (V + tau^2)) + tau^2 0.02^2 / (2 V (V + tau^2)) = -0.7813 + 8.0691 = 7.2878.
    expect(Math.abs(up.variance! / 1.95913e-5 - 1)).toBeLessThan(1e-4);
    expect(up.logLikelihoodRatio).toBeCloseTo(7.2878, 3);
    expect(Math.abs(up.pValue / Math.exp(-7.2878) - 1)).toBeLessThan(1e-3);
    expect(up.ci![0]).toBeGreaterThan(0);
    expect(up.estimate).toBeCloseTo(0.02, 12);
    expect(up.relativeEstimate).toBeCloseTo(0.2, 12);
    // Near zero effect the relative interval is the absolute one over the control mean; here, roughly so.
    expect(up.relativeCi![0]).toBeCloseTo(up.ci![0] / 0.1, 1);
    expect(up.relativeCi![1]).toBeCloseTo(up.ci![1] / 0.1, 1);
    const cost = sequentialTest({ control, treatment, tau2, direction: "lower-is-better" });
    expect(cost.decided).toBe("treatment-worse");
  });

  it("says nothing on a small difference", () => {
    const r = sequentialTest({ control: new ProportionStat(1000, 10_000), treatment: new ProportionStat(1030, 10_000), tau2 });
    expect(r.decided).toBeNull();
    expect(r.pValue).toBeGreaterThan(ALPHA);
    expect(r.ci![0]).toBeLessThan(0);
    expect(r.ci![1]).toBeGreaterThan(0);
  });

  it("keeps the p-value monotone and the interval shrinking when fed its previous result", () => {
    // A treatment that looks good early and then regresses to the control's rate.
    const steps: Array<[number, number, number]> = [
      [2000, 200, 260],
      [4000, 400, 470],
      [8000, 800, 830],
      [16000, 1600, 1610],
    ];
    let previous: SequentialResult | null = null;
    const p: number[] = [];
    const width: number[] = [];
    for (const [n, c, t] of steps) {
      const r: SequentialResult = sequentialTest({ control: new ProportionStat(c, n), treatment: new ProportionStat(t, n), tau2, previous });
      const alone = sequentialTest({ control: new ProportionStat(c, n), treatment: new ProportionStat(t, n), tau2 });
      expect(r.pValue).toBeLessThanOrEqual(alone.pValue);
      p.push(r.pValue);
      width.push(r.ci![1] - r.ci![0]);
      previous = r;
    }
    for (let i = 1; i < p.length; i++) {
      expect(p[i]).toBeLessThanOrEqual(p[i - 1] as number);
      expect(width[i]).toBeLessThanOrEqual(width[i - 1] as number);
    }
    // Without the previous result the last look alone sees no effect.
    expect(sequentialTest({ control: new ProportionStat(1600, 16000), treatment: new ProportionStat(1610, 16000), tau2 }).pValue).toBeGreaterThan(p[3] as number);
    expect(previous!.looks).toBe(4);
  });

  it("works on means (Welford) as well as proportions", () => {
    const control = new MeanStat();
    const treatment = new MeanStat();
    for (let i = 0; i < 2000; i++) {
      control.observe(10 + Math.sin(i));
      treatment.observe(10.5 + Math.sin(i * 1.3));
    }
    const r = sequentialTest({ control, treatment, tau2: tau2ForHorizon({ perUnitVariance: 0.5, controlCount: 5000, treatmentCount: 5000 }), direction: "lower-is-better" });
    expect(r.decided).toBe("treatment-worse");
    expect(r.estimate).toBeCloseTo(0.5, 2);
  });

  it("rejects a previous result from another test or from arms that shrank", () => {
    const first = sequentialTest({ control: new ProportionStat(100, 1000), treatment: new ProportionStat(110, 1000), tau2 });
    expect(() => sequentialTest({ control: new ProportionStat(100, 1000), treatment: new ProportionStat(110, 1000), tau2: tau2 * 2, previous: first })).toThrow(/different alpha, tau2/);
    expect(() => sequentialTest({ control: new ProportionStat(50, 500), treatment: new ProportionStat(110, 1000), tau2, previous: first })).toThrow(/cumulative/);
    expect(() => sequentialTest({ control: new ProportionStat(1, 10), treatment: new ProportionStat(1, 10), tau2: 0 })).toThrow(/tau2/);
    expect(() => sequentialTest({ control: new ProportionStat(1, 10), treatment: new ProportionStat(1, 10), tau2, alpha: 1 })).toThrow(/alpha/);
    expect(() => sequentialTest({ control: { count: 10, mean: NaN, variance: 1 }, treatment: new ProportionStat(1, 10), tau2 })).toThrow(/control.mean/);
  });
});

describe("sequentialTest, monitored after every batch (simulated experiments, 1,000 unless stated)", () => {
  it("A/A at 10 %: at most alpha false positives over 50 looks, where peeking at a z-test gives several times alpha", () => {
    const n = 200 * 50;
    const out = simulateProportions({ experiments: 1000, batchPerArm: 200, looks: 50, alpha: ALPHA, tau2: tau2ForHorizon({ perUnitVariance: 0.09, controlCount: n, treatmentCount: n }), seed: 1, pc: 0.1, pt: 0.1 });
    expect(out.msprtDecided / 1000).toBeLessThanOrEqual(FPR_LIMIT);
    expect(out.coverageMisses / 1000).toBeLessThanOrEqual(FPR_LIMIT);
    expect(out.monotoneViolations).toBe(0);
    // The harness can see inflation: the same streams, z-test checked at every look.
    expect(out.peekingRejections / 1000).toBeGreaterThan(0.2);
    // ...while that z-test looked at once, at the horizon, is calibrated (within 3 sd of alpha).
    expect(Math.abs(out.horizonRejections / 1000 - ALPHA)).toBeLessThan(3 * Math.sqrt((ALPHA * (1 - ALPHA)) / 1000));
  });

  it("A/A on a 5 % canary at a 3 % rate: at most alpha, and a truly better canary is not called worse", () => {
    const settings = { experiments: 1000, batchPerArm: 950, treatmentBatch: 50, looks: 40, alpha: ALPHA, seed: 2, pc: 0.03 };
    const tau2 = tau2ForHorizon({ perUnitVariance: 0.03 * 0.97, controlCount: 950 * 40, treatmentCount: 50 * 40 });
    const aa = simulateProportions({ ...settings, tau2, pt: 0.03 });
    expect(aa.msprtDecided / 1000).toBeLessThanOrEqual(FPR_LIMIT);
    const better = simulateProportions({ ...settings, tau2, pt: 0.033 });
    expect(better.msprtWorse).toBeLessThanOrEqual(3);
    // With Welch's variance alone the skew of a 50-a-batch arm turns into false "worse" calls.
    expect(better.welchWorse).toBeGreaterThanOrEqual(10);
  });

  it("A/A on a skewed per-unit cost (means): at most alpha", () => {
    const n = 60 * 40;
    const out = simulateMeans({ experiments: 1000, batchPerArm: 60, looks: 40, alpha: ALPHA, tau2: tau2ForHorizon({ perUnitVariance: 14 * 14, controlCount: n, treatmentCount: n }), seed: 3, draw: skewedCost, shift: 0 });
    expect(out.msprtDecided / 1000).toBeLessThanOrEqual(FPR_LIMIT);
    expect(out.coverageMisses / 1000).toBeLessThanOrEqual(FPR_LIMIT);
  });

  it("CTR with the split by user: per impression the test fires far too often, per user (RatioStat) it holds alpha (300 runs)", () => {
    const users = { heavyShare: 0.2, heavyRate: 0.4, lightRate: 0.025, extraImpressions: 9 };
    const n = 50 * 20;
    const settings = { batchPerArm: 50, looks: 20, alpha: ALPHA, seed: 5, lift: 0, ...users };
    const perUser = simulateClustered({ ...settings, experiments: 300, unit: "user", tau2: tau2ForHorizon({ perUnitVariance: clusteredPilotVariance(users, 20_000, 99), controlCount: n, treatmentCount: n }) });
    const perImpression = simulateClustered({ ...settings, experiments: 100, unit: "impression", tau2: tau2ForHorizon({ perUnitVariance: 0.09, controlCount: 10 * n, treatmentCount: 10 * n }) });
    expect(perUser.msprtDecided / 300).toBeLessThanOrEqual(binomialUpper(300, ALPHA));
    expect(perImpression.msprtDecided / 100).toBeGreaterThan(0.2);
  });

  it("A/B 10 % -> 11 %: detected with the planned power by the planned horizon, never the wrong way, and the sequence covers the truth", () => {
    // sampleSizeForMde plans 28,246 per arm for the sequential test (14,751 for one fixed look).
    const horizon = sampleSizeForMde({ baseline: 0.1, mde: 0.1, mdeKind: "relative", test: "sequential" }).control;
    const batch = Math.ceil(horizon / 50);
    const n = batch * 50;
    const out = simulateProportions({ experiments: 1000, batchPerArm: batch, looks: 50, alpha: ALPHA, tau2: tau2ForHorizon({ perUnitVariance: 0.09, controlCount: n, treatmentCount: n }), seed: 4, pc: 0.1, pt: 0.11 });
    expect(out.msprtBetter / 1000).toBeGreaterThanOrEqual(0.8);
    expect(out.msprtWorse).toBe(0);
    expect(out.coverageMisses / 1000).toBeLessThanOrEqual(FPR_LIMIT);
    // Half the experiments stop before the fixed-horizon sample size for this effect.
    expect(median(out.decisionUnits)).toBeLessThan(14_751);
  });
});
