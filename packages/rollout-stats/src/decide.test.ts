import { sampleBinomial } from "@mlsd/drift";
import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { median } from "../test/simulate";
import { ProportionStat } from "./accumulators";
import { decideStage, type StageDecisionInput } from "./decide";
import { evaluateGuardrails, type GuardrailResult } from "./guardrails";
import { sequentialTest, tau2ForHorizon, type SequentialResult } from "./sequential";

const tau2 = tau2ForHorizon({ perUnitVariance: 0.09, controlCount: 20_000, treatmentCount: 20_000 });
const look = (c: [number, number], t: [number, number], direction: "higher-is-better" | "lower-is-better" = "higher-is-better"): SequentialResult =>
  sequentialTest({ control: new ProportionStat(c[0], c[1]), treatment: new ProportionStat(t[0], t[1]), tau2, direction });
const better = look([1000, 10_000], [1200, 10_000]);
const worse = look([1000, 10_000], [800, 10_000]);
const undecided = look([1000, 10_000], [1010, 10_000]);

const guard = (name: GuardrailResult["name"], status: GuardrailResult["status"]): GuardrailResult => ({ name, status, value: null, threshold: null, detail: `${name} is ${status}`, numbers: {} });
const base = (over: Partial<StageDecisionInput>): StageDecisionInput => ({ stage: "canary", primary: undecided, guardrails: [guard("latency", "holds")], minSamples: 5000, maxSamples: 50_000, ...over });

describe("decideStage", () => {
  it("rolls back on any breached guardrail, even when the primary metric is better", () => {
    const d = decideStage(base({ primary: better, guardrails: [guard("latency", "breached"), guard("error-rate", "holds")] }));
    expect(d.action).toBe("rollback");
    expect(d.reasons).toEqual(["guardrail latency breached: latency is breached"]);
    expect(d.numbers.guardrailsBreached).toBe(1);
  });

  it("rolls back when the treatment is worse, before minSamples (waiting only exposes more users)", () => {
    const d = decideStage(base({ primary: worse, minSamples: 20_000 }));
    expect(d.action).toBe("rollback");
    expect(d.reasons[0]).toMatch(/^treatment is worse: primary metric: treatment - control = -0\.02000 \(-20\.00% relative\)/);
  });

  it("advances shadow -> canary -> ab and promotes at the last stage when better, guardrails hold and minSamples are met", () => {
    expect(decideStage(base({ stage: "shadow", primary: better }))).toMatchObject({ action: "advance", nextStage: "canary" });
    expect(decideStage(base({ stage: "canary", primary: better }))).toMatchObject({ action: "advance", nextStage: "ab" });
    const last = decideStage(base({ stage: "ab", primary: better }));
    expect(last).toMatchObject({ action: "promote", nextStage: null });
    expect(last.reasons).toContain("guardrail latency holds: latency is holds");
    // With two stages the canary is the last one.
    expect(decideStage(base({ stage: "canary", primary: better, stages: ["shadow", "canary"] })).action).toBe("promote");
  });

  it("holds a better treatment until minSamples are met and every guardrail has data", () => {
    const few = decideStage(base({ primary: better, minSamples: 20_000, maxSamples: 40_000 }));
    expect(few.action).toBe("hold");
    expect(few.reasons[0]).toMatch(/10000 units in the smaller arm, need minSamples 20000/);
    const pending = decideStage(base({ primary: better, guardrails: [guard("latency", "insufficient-data")] }));
    expect(pending.action).toBe("hold");
    expect(pending.reasons[0]).toMatch(/guardrail latency has too little data/);
  });

  it("holds while undecided within budget, and applies the budget policy once it is spent", () => {
    expect(decideStage(base({})).action).toBe("hold");
    const spent = decideStage(base({ maxSamples: 10_000 }));
    expect(spent.action).toBe("rollback");
    expect(spent.reasons[0]).toMatch(/budget exhausted \(10000 units per arm >= maxSamples 10000\) without a decision.*no evidence of improvement/);
    expect(decideStage(base({ maxSamples: 10_000, onBudgetExhausted: "hold" })).action).toBe("hold");
    const late = decideStage(base({ maxSamples: undefined, maxDurationMs: 3_600_000, elapsedMs: 3_600_000 }));
    expect(late.action).toBe("rollback");
    expect(late.reasons[0]).toMatch(/3600000 ms >= maxDurationMs/);
    // A better treatment still waiting on a guardrail when the budget ends falls under the same policy.
    const waiting = decideStage(base({ primary: better, maxSamples: 10_000, guardrails: [guard("latency", "insufficient-data")] }));
    expect(waiting.action).toBe("rollback");
    expect(waiting.reasons[0]).toMatch(/treatment better but not yet clear to advance/);
  });

  it("reports the numbers behind the decision", () => {
    const d = decideStage(base({ primary: better }));
    expect(d.numbers.controlCount).toBe(10_000);
    expect(d.numbers.relativeEstimate).toBeCloseTo(0.2, 12);
    expect(d.numbers.pValue).toBe(better.pValue);
    expect(d.numbers.ciLower).toBe(better.ci![0]);
  });

  it("rejects inconsistent input", () => {
    expect(() => decideStage(base({ maxSamples: undefined }))).toThrow(/needs a budget/);
    expect(() => decideStage(base({ maxSamples: 100 }))).toThrow(/maxSamples \(100\) must be >= minSamples/);
    expect(() => decideStage(base({ maxDurationMs: 10 }))).toThrow(/elapsedMs/);
    expect(() => decideStage(base({ direction: "lower-is-better" }))).toThrow(/does not match/);
    expect(() => decideStage(base({ stage: "ab", stages: ["shadow", "canary"] }))).toThrow(/not one of/);
  });
});

describe("a simulated rollout, decided after every batch", () => {
  const spec = { primaryDrop: { maxRelativeDrop: 0.05 } };

  function canary(seed: number, pt: number): { decision: ReturnType<typeof decideStage>; treatmentUnits: number } {
    // 5 % canary at a 10 % click rate: 950 control and 50 treatment impressions per batch, up to 400 batches.
    const rng = new Rng(seed);
    const c = new ProportionStat();
    const t = new ProportionStat();
    const canaryTau2 = tau2ForHorizon({ perUnitVariance: 0.09, controlCount: 950 * 400, treatmentCount: 50 * 400 });
    let previous: SequentialResult | null = null;
    for (let batch = 1; ; batch++) {
      c.addCounts(sampleBinomial(rng, 950, 0.1), 950);
      t.addCounts(sampleBinomial(rng, 50, pt), 50);
      const primary: SequentialResult = sequentialTest({ control: c, treatment: t, tau2: canaryTau2, previous });
      previous = primary;
      const guardrails = evaluateGuardrails({ control: {}, treatment: {}, primary, spec });
      const decision = decideStage({ stage: "canary", primary, guardrails, minSamples: 2000, maxSamples: 20_000, stages: ["shadow", "canary"] });
      if (decision.action !== "hold") return { decision, treatmentUnits: t.count };
    }
  }

  it("rolls back a canary with 30 % fewer clicks and promotes one with 30 % more, 50 seeds each", () => {
    const worse = Array.from({ length: 50 }, (_, i) => canary(100 + i, 0.07));
    const betterRuns = Array.from({ length: 50 }, (_, i) => canary(200 + i, 0.13));
    const count = (runs: typeof worse, action: string) => runs.filter((r) => r.decision.action === action).length;
    expect(count(worse, "rollback")).toBe(50);
    expect(worse.every((r) => /primary-drop breached|treatment is worse/.test(r.decision.reasons.join("\n")))).toBe(true);
    // Typically caught within 2,000 canary impressions (out of a 20,000 budget).
    expect(median(worse.map((r) => r.treatmentUnits))).toBeLessThan(3000);
    expect(count(betterRuns, "promote")).toBeGreaterThanOrEqual(47);
    // The better canary is promoted once minSamples (2,000) is met, not long after.
    expect(median(betterRuns.map((r) => r.treatmentUnits))).toBeLessThan(4000);
  });
});
