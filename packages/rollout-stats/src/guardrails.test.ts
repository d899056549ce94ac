import { sampleBinomial } from "@mlsd/drift";
import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { binomialUpper } from "../test/simulate";
import { ProportionStat } from "./accumulators";
import { evaluateGuardrails, type GuardrailSpec } from "./guardrails";
import { LatencyStat } from "./latency";
import { sequentialTest, tau2ForHorizon } from "./sequential";

/** A fixed latency distribution: `n` values, (1 - tail) of them at `base` ms and the rest at `slow` ms. */
function latencies(n: number, base: number, slow: number, tail = 0.02): LatencyStat {
  const s = new LatencyStat();
  for (let i = 0; i < n; i++) s.observe(i < n * (1 - tail) ? base : slow);
  return s;
}

// Tuned to catch a blatant error regression within about 2,000 requests per arm (see the spec's doc).
const errorTau2 = tau2ForHorizon({ perUnitVariance: 0.01 * 0.99, controlCount: 2000, treatmentCount: 2000 });
const SPEC: GuardrailSpec = {
  latency: { maxRatio: 1.2, slackMs: 5 },
  errorRate: { maxAbsoluteIncrease: 0.002, maxRelativeIncrease: 0.5, tau2: errorTau2 },
  primaryDrop: { maxRelativeDrop: 0.05 },
};
const byName = (results: ReturnType<typeof evaluateGuardrails>, name: string) => results.find((r) => r.name === name)!;

describe("latency guardrail", () => {
  it("has too little data below minCount, whatever the numbers", () => {
    const r = evaluateGuardrails({ control: { latency: latencies(999, 10, 40) }, treatment: { latency: latencies(5000, 10, 400) }, spec: { latency: SPEC.latency } })[0]!;
    expect(r.status).toBe("insufficient-data");
    expect(r.value).toBeNull();
    expect(r.detail).toMatch(/999 control.*need 1000/);
  });

  it("holds at 1.2 x control p99 + 5 ms and is breached just past it", () => {
    // Control p99 = 40 ms (2 % of requests at 40): the threshold is 1.2 * 40 + 5 = 53 ms.
    const control = { latency: latencies(2000, 10, 40) };
    const holds = evaluateGuardrails({ control, treatment: { latency: latencies(2000, 10, 52) }, spec: { latency: SPEC.latency } })[0]!;
    expect(holds.status).toBe("holds");
    expect(holds.threshold! / 53).toBeCloseTo(1, 1);
    expect(holds.value! / 52).toBeCloseTo(1, 1);
    const breached = evaluateGuardrails({ control, treatment: { latency: latencies(2000, 10, 60) }, spec: { latency: SPEC.latency } })[0]!;
    expect(breached.status).toBe("breached");
    expect(breached.numbers.ratio! / 1.5).toBeCloseTo(1, 1);
    expect(breached.detail).toMatch(/treatment \d+\.\d+ ms > 1.2 x control \d+\.\d+ ms \+ 5 ms = \d+\.\d+ ms/);
  });

  it("rarely breaches on an A/A pair of lognormal streams at the minimum count (300 pairs)", () => {
    const rng = new Rng(9);
    let breaches = 0;
    for (let i = 0; i < 300; i++) {
      const [c, t] = [new LatencyStat(), new LatencyStat()];
      for (let j = 0; j < 1000; j++) {
        c.observe(8 * Math.exp(rng.normal(0, 0.8)));
        t.observe(8 * Math.exp(rng.normal(0, 0.8)));
      }
      if (evaluateGuardrails({ control: { latency: c }, treatment: { latency: t }, spec: { latency: SPEC.latency } })[0]!.status === "breached") breaches++;
    }
    expect(breaches / 300).toBeLessThan(0.05);
  });
});

describe("error-rate guardrail", () => {
  const spec = { errorRate: SPEC.errorRate };

  it("has too little data below minCount", () => {
    const r = evaluateGuardrails({ control: { errors: new ProportionStat(0, 150) }, treatment: { errors: new ProportionStat(50, 150) }, spec })[0]!;
    expect(r.status).toBe("insufficient-data");
  });

  it("is breached by a treatment failing 5 % of requests against 0.5 %", () => {
    const r = evaluateGuardrails({ control: { errors: new ProportionStat(10, 2000) }, treatment: { errors: new ProportionStat(100, 2000) }, spec })[0]!;
    expect(r.status).toBe("breached");
    // Excess = 0.05 - 1.5 * 0.005 = 0.0425; its lower bound is still above the allowed +0.2 points.
    expect(r.numbers.excess).toBeCloseTo(0.0425, 12);
    expect(r.value!).toBeGreaterThan(0.002);
    expect(r.numbers.limitRate).toBeCloseTo(0.0095, 12);
  });

  it("holds when the point estimate is over the limit but the evidence is thin", () => {
    // 2.0 % against a limit of 1.5 * 1.0 % + 0.2 % = 1.7 %, but on 500 requests: 10 errors vs 5.
    const r = evaluateGuardrails({ control: { errors: new ProportionStat(5, 500) }, treatment: { errors: new ProportionStat(10, 500) }, spec })[0]!;
    expect(r.numbers.treatmentRate).toBeGreaterThan(r.numbers.limitRate!);
    expect(r.status).toBe("holds");
  });

  it("keeps false breaches under alpha when checked after every batch (A/A at 1 %, 1,000 runs x 40 looks)", () => {
    const rng = new Rng(10);
    let breached = 0;
    for (let e = 0; e < 1000; e++) {
      const c = new ProportionStat();
      const t = new ProportionStat();
      for (let look = 0; look < 40; look++) {
        c.addCounts(sampleBinomial(rng, 500, 0.01), 500);
        t.addCounts(sampleBinomial(rng, 500, 0.01), 500);
        if (evaluateGuardrails({ control: { errors: c }, treatment: { errors: t }, spec })[0]!.status === "breached") {
          breached++;
          break;
        }
      }
    }
    expect(breached / 1000).toBeLessThanOrEqual(binomialUpper(1000, 0.05));
  });
});

describe("primary-drop guardrail", () => {
  const tau2 = tau2ForHorizon({ perUnitVariance: 0.09, controlCount: 20_000, treatmentCount: 20_000 });
  const spec = { primaryDrop: SPEC.primaryDrop };

  it("never rolls back on a point estimate alone: -8 % on 2,000 per arm holds", () => {
    const primary = sequentialTest({ control: new ProportionStat(200, 2000), treatment: new ProportionStat(184, 2000), tau2 });
    const r = evaluateGuardrails({ control: {}, treatment: {}, primary, spec })[0]!;
    expect(primary.relativeEstimate).toBeCloseTo(-0.08, 12);
    expect(r.status).toBe("holds");
    expect(r.value!).toBeGreaterThan(-0.05);
  });

  it("is breached when the upper bound of the relative change is below -5 %", () => {
    const primary = sequentialTest({ control: new ProportionStat(2000, 20_000), treatment: new ProportionStat(1600, 20_000), tau2 });
    const r = evaluateGuardrails({ control: {}, treatment: {}, primary, spec })[0]!;
    expect(r.status).toBe("breached");
    expect(r.value!).toBeLessThan(-0.05);
    expect(r.threshold).toBe(-0.05);
    expect(r.detail).toMatch(/relative change -20\.00%.*upper bound -\d+\.\d+% is past -5\.00%/);
  });

  it("reads a rise as the loss for lower-is-better metrics (cost)", () => {
    const primary = sequentialTest({ control: { count: 20_000, mean: 3, variance: 196 }, treatment: { count: 20_000, mean: 4, variance: 196 }, tau2: 0.02, direction: "lower-is-better" });
    const r = evaluateGuardrails({ control: {}, treatment: {}, primary, spec })[0]!;
    expect(r.threshold).toBe(0.05);
    expect(r.status).toBe("breached");
    expect(r.value!).toBeGreaterThan(0.05);
  });

  it("has too little data before the test has looked", () => {
    const primary = sequentialTest({ control: new ProportionStat(2, 20), treatment: new ProportionStat(0, 20), tau2 });
    expect(evaluateGuardrails({ control: {}, treatment: {}, primary, spec })[0]!.status).toBe("insufficient-data");
  });
});

describe("evaluateGuardrails", () => {
  it("evaluates every named guardrail, in order", () => {
    const primary = sequentialTest({ control: new ProportionStat(2000, 20_000), treatment: new ProportionStat(2010, 20_000), tau2: 1e-4 });
    const results = evaluateGuardrails({
      control: { latency: latencies(2000, 10, 40), errors: new ProportionStat(20, 2000) },
      treatment: { latency: latencies(2000, 10, 41), errors: new ProportionStat(22, 2000) },
      primary,
      spec: SPEC,
    });
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ["latency", "holds"],
      ["error-rate", "holds"],
      ["primary-drop", "holds"],
    ]);
    expect(byName(results, "error-rate").numbers.controlRate).toBe(0.01);
  });

  it("treats missing data for a named guardrail as an error, not a pass", () => {
    expect(() => evaluateGuardrails({ control: {}, treatment: {}, spec: { latency: SPEC.latency } })).toThrow(/control.latency/);
    expect(() => evaluateGuardrails({ control: {}, treatment: {}, spec: { errorRate: SPEC.errorRate } })).toThrow(/control.errors/);
    expect(() => evaluateGuardrails({ control: {}, treatment: {}, spec: { primaryDrop: SPEC.primaryDrop } })).toThrow(/primary/);
    expect(() => evaluateGuardrails({ control: {}, treatment: {}, spec: {} })).toThrow(/names no guardrail/);
    expect(() => evaluateGuardrails({ control: { latency: latencies(10, 1, 2) }, treatment: { latency: latencies(10, 1, 2) }, spec: { latency: { maxRatio: 0, slackMs: 1 } } })).toThrow(/maxRatio/);
  });
});
