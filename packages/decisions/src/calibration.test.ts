import { describe, expect, it } from "vitest";
import { CalibrationInputError, fitIsotonic, fitPlatt } from "./calibration";

/** Scores that overstate the probability the way an up-weighted model does: true p, reported p' = w p / (w p + 1 - p). */
function overstated(n: number, weight: number, seed: number) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const labels: number[] = [];
  const scores: number[] = [];
  const truth: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = 0.5 * next() ** 4;
    truth.push(p);
    labels.push(next() < p ? 1 : 0);
    scores.push((weight * p) / (weight * p + 1 - p));
  }
  return { labels, scores, truth };
}

describe("fitPlatt", () => {
  it("recovers the prior correction of an up-weighted model (a = 1, b = -log w)", () => {
    const { labels, scores } = overstated(40_000, 10, 1);
    const platt = fitPlatt(labels, scores);
    expect(platt.a).toBeCloseTo(1, 1);
    expect(platt.b).toBeCloseTo(-Math.log(10), 1);
    expect(platt.apply(10 / 11)).toBeCloseTo(0.5, 1);
  });

  it("rejects one-class or mismatched input", () => {
    expect(() => fitPlatt([0, 0], [0.1, 0.2])).toThrow(CalibrationInputError);
    expect(() => fitPlatt([0, 1], [0.1])).toThrow(/length/);
  });
});

describe("fitIsotonic", () => {
  it("pools violators into a non-decreasing step function of the score", () => {
    const iso = fitIsotonic([0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.5]);
    // (1, 0) at 0.2 and 0.3 violate the order and pool to 0.5.
    expect(iso.steps.map((s) => s.probability)).toEqual([0, 0.5, 1, 1]);
    expect(iso.apply(0)).toBe(0);
    expect(iso.apply(0.25)).toBe(0.5);
    expect(iso.apply(0.9)).toBe(1);
    const applied = iso.applyAll([0.05, 0.3, 0.45]);
    for (let i = 1; i < applied.length; i++) expect(applied[i]!).toBeGreaterThanOrEqual(applied[i - 1]!);
  });

  it("brings overstated probabilities back to the observed rate", () => {
    const { labels, scores, truth } = overstated(40_000, 10, 2);
    const iso = fitIsotonic(labels, scores);
    let err = 0;
    let raw = 0;
    for (let i = 0; i < truth.length; i++) {
      err += Math.abs(iso.apply(scores[i]!) - truth[i]!);
      raw += Math.abs(scores[i]! - truth[i]!);
    }
    expect(err / truth.length).toBeLessThan(0.02);
    expect(raw / truth.length).toBeGreaterThan(0.1);
  });
});
