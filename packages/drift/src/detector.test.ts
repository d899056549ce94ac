import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { type Shift, World } from "../test/world";
import { DriftDetector, type DriftDetectorOptions, type DriftEvaluation } from "./detector";
import { PsiNullCache } from "./null-distribution";

const world = new World(15, 5);
const reference = world.reference(new Rng(100), 20_000, true);
const referenceWithoutScore = { ...reference, score: null };
// Null distributions depend only on content and seed, so every detector here can share them.
const nullCache = new PsiNullCache({ replicates: 2000, seed: 1 });

function detector(options: Partial<DriftDetectorOptions> = {}, ref = reference): DriftDetector {
  return new DriftDetector(ref, { window: { kind: "count", size: 2000 }, evaluateEvery: 200, nullCache, ...options });
}

function run(d: DriftDetector, rng: Rng, events: number, options: { shift?: Shift; start?: number; spacingMs?: number } = {}): DriftEvaluation[] {
  const evaluations: DriftEvaluation[] = [];
  const start = options.start ?? d.eventCount;
  const spacing = options.spacingMs ?? 1;
  for (let i = 0; i < events; i++) {
    const evaluation = d.push(world.event(rng, (start + i) * spacing, options.shift));
    if (evaluation) evaluations.push(evaluation);
  }
  return evaluations;
}

describe("DriftDetector on an unchanged stream", () => {
  it("keeps PSI near 0 and never alerts", () => {
    const d = detector();
    const evaluations = run(d, new Rng(1), 20_000);
    expect(evaluations).toHaveLength(100);
    const last = evaluations[evaluations.length - 1] as DriftEvaluation;
    expect(last.results.map((r) => r.feature)).toEqual([...world.numeric, ...world.categorical, "score"]);
    expect(last.results[20]?.isScore).toBe(true);
    const full = evaluations.filter((e) => e.windowSize === 2000);
    expect(full).toHaveLength(91);
    // The null mean at 2,000 events over 10 bins is about 9 * (1/2000 + 1/20000) = 0.005.
    const maxPsi = Math.max(...full.flatMap((e) => e.results.map((r) => r.psi)));
    expect(maxPsi).toBeLessThan(0.025);
    expect(evaluations.every((e) => e.results.every((r) => r.band === "stable" && !r.alerting))).toBe(true);
    expect(evaluations.flatMap((e) => e.transitions)).toEqual([]);
    expect(d.alertingFeatures()).toEqual([]);
  });
});

describe("DriftDetector on a 0.5 sd mean shift of one numeric feature", () => {
  const d = detector();
  const rng = new Rng(2);
  run(d, rng, 10_000);
  const shiftAt = d.eventCount;
  const after = run(d, rng, 10_000, { shift: { meanShift: { x3: 0.5 } } });
  const transitions = after.flatMap((e) => e.transitions);

  it("alerts on that feature only, within 2,000 events (one window) of the shift", () => {
    expect(transitions.map((t) => `${t.feature}:${t.type}`)).toEqual(["x3:start"]);
    const delay = (transitions[0]?.eventCount ?? Infinity) - shiftAt;
    // Measured 1,800 with these seeds: PSI crosses 0.1 once ~70% of the window is shifted, then
    // the condition must hold for 3 evaluations (400 more events).
    expect(delay).toBeLessThanOrEqual(2000);
    expect(d.alertingFeatures()).toEqual(["x3"]);
  });

  it("reports the shift in every statistic of that feature", () => {
    const last = after[after.length - 1] as DriftEvaluation;
    const x3 = last.results.find((r) => r.feature === "x3");
    expect(x3?.psi).toBeGreaterThan(0.18);
    expect(x3?.band).not.toBe("stable");
    expect(x3?.pValue).toBeCloseTo(1 / 2001, 12);
    expect(x3?.ks).toBeGreaterThan(0.15);
    expect(x3?.ksPValue).toBeLessThan(1e-10);
    expect(x3?.chiSquare).toBeNull();
    expect(x3?.jsDivergence).toBeGreaterThan(0.01);
    const others = last.results.filter((r) => r.feature !== "x3");
    expect(Math.max(...others.map((r) => r.psi))).toBeLessThan(0.03);
  });

  it("shows a rising PSI trend while the window fills with shifted events", () => {
    const trendOfX3 = (e: DriftEvaluation): number => e.results.find((r) => r.feature === "x3")?.trend ?? Number.NaN;
    // Evaluations 4-10 after the shift (800-2,000 events in): PSI grows by ~0.02 per evaluation.
    expect(Math.min(...after.slice(3, 10).map(trendOfX3))).toBeGreaterThan(0.005);
    expect(Math.abs(trendOfX3(after[after.length - 1] as DriftEvaluation))).toBeLessThan(0.005);
  });

  it("stops the alert once the shift is gone for clearAfter evaluations", () => {
    const recovered = run(d, rng, 6000);
    const stops = recovered.flatMap((e) => e.transitions);
    expect(stops.map((t) => `${t.feature}:${t.type}`)).toEqual(["x3:stop"]);
    expect(d.alertingFeatures()).toEqual([]);
  });
});

describe("DriftDetector on a categorical shift", () => {
  it("detects it by chi-square and Jensen-Shannon and alerts on that feature only", () => {
    const d = detector();
    const rng = new Rng(3);
    run(d, rng, 4000);
    const shiftAt = d.eventCount;
    const after = run(d, rng, 6000, { shift: { categoryWeights: { c2: [0.25, 0.25, 0.15, 0.12, 0.23] } } });
    const transitions = after.flatMap((e) => e.transitions);
    expect(transitions.map((t) => `${t.feature}:${t.type}`)).toEqual(["c2:start"]);
    expect((transitions[0]?.eventCount ?? Infinity) - shiftAt).toBeLessThanOrEqual(2000);
    const last = after[after.length - 1] as DriftEvaluation;
    const c2 = last.results.find((r) => r.feature === "c2");
    const c1 = last.results.find((r) => r.feature === "c1");
    expect(c2?.chiSquare?.df).toBe(4); // five categories; "other" and missing are empty in both
    expect(c2?.chiSquare?.pValue).toBeLessThan(1e-20);
    expect(c1?.chiSquare?.pValue).toBeGreaterThan(0.001);
    expect(c2?.jsDivergence).toBeGreaterThan(10 * (c1?.jsDivergence ?? 1));
    expect(c2?.ks).toBeNull();
  });
});

describe("false alarms under no shift", () => {
  // 2,000 evaluations of disjoint 100-event windows across 20 features (15 numeric, 5 categorical),
  // fed to a detector that reports the per-evaluation condition (sustain 1) and one with the
  // default 3-evaluation sustain.
  const alpha = 0.05;
  const options = { window: { kind: "count", size: 100 }, evaluateEvery: 100, alpha } as const;
  const raw = detector({ ...options, sustain: 1, clearAfter: 1 }, referenceWithoutScore);
  const sustained = detector(options, referenceWithoutScore);
  const rng = new Rng(4);
  const evaluations: DriftEvaluation[] = [];
  const sustainedTransitions: string[] = [];
  for (let i = 0; i < 200_000; i++) {
    const event = world.event(rng, i);
    const evaluation = raw.push(event);
    if (evaluation) evaluations.push(evaluation);
    for (const t of sustained.push(event)?.transitions ?? []) sustainedTransitions.push(`${t.feature}:${t.type}`);
  }
  const results = evaluations.flatMap((e) => e.results);

  it("plain PSI >= 0.1 would fire on a large share of windows", () => {
    expect(evaluations).toHaveLength(2000);
    expect(results).toHaveLength(40_000);
    const plainRate = results.filter((r) => r.psi >= 0.1).length / results.length;
    expect(plainRate).toBeGreaterThan(0.25);
  });

  it("the PSI p-values are calibrated: about 5% below 0.05 and 1% below 0.01", () => {
    const below05 = results.filter((r) => r.pValue < 0.05).length / results.length;
    const below01 = results.filter((r) => r.pValue < 0.01).length / results.length;
    expect(below05).toBeGreaterThan(0.035);
    expect(below05).toBeLessThan(0.06);
    expect(below01).toBeGreaterThan(0.005);
    expect(below01).toBeLessThan(0.014);
  });

  it("effect size AND Holm-corrected significance keep evaluations with any alert under alpha", () => {
    const featureRate = results.filter((r) => r.conditionMet).length / results.length;
    const familyRate = evaluations.filter((e) => e.results.some((r) => r.conditionMet)).length / evaluations.length;
    expect(featureRate).toBeLessThan(alpha / 20);
    expect(familyRate).toBeLessThan(alpha);
  });

  it("with the default 3-evaluation sustain no alert starts at all", () => {
    expect(sustained.eventCount).toBe(200_000);
    expect(sustainedTransitions).toEqual([]);
  });
});

describe("DriftDetector with a time window", () => {
  it("keeps the last T seconds by event time and detects a score shift", () => {
    const d = detector({ window: { kind: "time", seconds: 20 }, evaluateEvery: 200 });
    const rng = new Rng(5);
    // 100 events per second: the 20 s window holds 2,000 events once warm.
    const before = run(d, rng, 6000, { spacingMs: 10 });
    expect(before[before.length - 1]?.windowSize).toBe(2000);
    expect(before.flatMap((e) => e.transitions)).toEqual([]);
    const shiftAt = d.eventCount;
    const evaluations: DriftEvaluation[] = [];
    for (let i = 0; i < 4000; i++) {
      const event = world.event(rng, (6000 + i) * 10);
      const evaluation = d.push({ ...event, score: Math.min(1, (event.score ?? 0) + 0.15) });
      if (evaluation) evaluations.push(evaluation);
    }
    const transitions = evaluations.flatMap((e) => e.transitions);
    expect(transitions.map((t) => `${t.feature}:${t.type}`)).toEqual(["score:start"]);
    expect((transitions[0]?.eventCount ?? Infinity) - shiftAt).toBeLessThanOrEqual(2000);
    // Events are 10 ms apart from time 0, so the n-th event has time (n - 1) * 10.
    expect(transitions[0]?.time).toBe(((transitions[0]?.eventCount ?? 0) - 1) * 10);
  });

  it("drops events older than the window and does not count them", () => {
    const d = detector({ window: { kind: "time", seconds: 1 }, evaluateEvery: 1000 });
    const rng = new Rng(6);
    run(d, rng, 500, { spacingMs: 10 });
    expect(d.push(world.event(rng, 0))).toBeUndefined();
    expect(d.lateEvents).toBe(1);
    expect(d.eventCount).toBe(500);
    expect(d.windowSize).toBe(100);
  });

  it("evicts on advanceTime when the stream goes quiet", () => {
    const d = detector({ window: { kind: "time", seconds: 1 }, evaluateEvery: 1000 });
    run(d, new Rng(6), 500, { spacingMs: 10 });
    d.advanceTime(4990 + 500);
    expect(d.windowSize).toBe(50);
    d.advanceTime(10_000);
    expect(d.windowSize).toBe(0);
    expect(() => d.advanceTime(Number.NaN)).toThrow(/time/);
  });
});

describe("DriftDetector mechanics", () => {
  it("evaluates every evaluateEvery events once the window has minWindowSize events", () => {
    const d = detector({ window: { kind: "count", size: 1000 }, evaluateEvery: 50, minWindowSize: 120 });
    const evaluations = run(d, new Rng(7), 400);
    expect(evaluations.map((e) => e.eventCount)).toEqual([150, 200, 250, 300, 350, 400]);
    expect(evaluations.map((e) => e.evaluation)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(detector().evaluate()).toBeUndefined();
  });

  it("applies Bonferroni when asked", () => {
    const d = detector({ correction: "bonferroni" });
    const last = run(d, new Rng(8), 2000).pop() as DriftEvaluation;
    for (const r of last.results) expect(r.adjustedPValue).toBeCloseTo(Math.min(1, r.pValue * 21), 12);
  });

  it("counts missing and mistyped values as missing", () => {
    const d = detector({ window: { kind: "count", size: 200 }, evaluateEvery: 200 });
    const rng = new Rng(9);
    let evaluation: DriftEvaluation | undefined;
    for (let i = 0; i < 200; i++) {
      const event = world.event(rng, i);
      const features = { ...event.features, x0: i % 2 === 0 ? Number.NaN : "1.5", c0: undefined };
      evaluation = d.push({ ...event, features } as never);
    }
    const byName = new Map(evaluation?.results.map((r) => [r.feature, r]));
    expect(byName.get("x0")?.missingRate).toBe(1);
    expect(byName.get("x0")?.ks).toBeNull();
    expect(byName.get("c0")?.missingRate).toBe(1);
    expect(byName.get("x0")?.psi).toBeGreaterThan(5);
  });

  it("rejects bad events and options naming the field", () => {
    const d = detector();
    expect(() => d.push({ time: Number.NaN, features: {} })).toThrow(/event\.time/);
    expect(() => d.push({ time: 1, features: null as never })).toThrow(/event\.features/);
    expect(() => detector({ evaluateEvery: 0 })).toThrow(/options\.evaluateEvery/);
    expect(() => detector({ alpha: 1 })).toThrow(/options\.alpha/);
    expect(() => detector({ window: { kind: "sliding" } as never })).toThrow(/options\.window/);
    expect(() => detector({ window: { kind: "time", seconds: -1 } })).toThrow(/options\.window\.seconds/);
    expect(() => detector({ window: { kind: "count", size: 0 } })).toThrow(/window\.size/);
    expect(() => new DriftDetector(reference, { window: { kind: "count", size: 100 }, nullReplicates: 100 })).toThrow(/options\.nullReplicates/);
  });
});
