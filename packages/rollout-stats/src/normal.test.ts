import { describe, expect, it } from "vitest";
import { normalCdf, normalDensity, normalQuantile, normalSurvival } from "./normal";

// Reference values from an independent implementation (libm's erfc):
//   python3 -c "import math; print(repr(0.5*math.erfc(-x/math.sqrt(2))))" for each x.
const REFERENCE: Array<[number, number]> = [
  [-30, 4.906713927148764e-198],
  [-12, 1.776482112077702e-33],
  [-8, 6.220960574271819e-16],
  [-5, 2.866515718791946e-7],
  [-3, 0.0013498980316300957],
  [-1.5, 0.06680720126885809],
  [-0.25, 0.4012936743170763],
];

describe("normalCdf", () => {
  it("matches libm's erfc to 1e-8 relative in the lower tail, down to 1e-198", () => {
    for (const [x, p] of REFERENCE) expect(Math.abs(normalCdf(x) - p) / p, `x = ${x}`).toBeLessThan(1e-8);
  });

  it("is symmetric and keeps the upper tail's digits in normalSurvival", () => {
    for (const x of [0.1, 1, 2.5, 4]) expect(normalCdf(x) + normalCdf(-x)).toBeCloseTo(1, 15);
    expect(normalSurvival(8) / 6.220960574271819e-16 - 1).toBeLessThan(1e-8);
    expect(normalCdf(0)).toBe(0.5);
  });

  it("integrates the density (Simpson's rule from -12 to x agrees to 1e-12)", () => {
    for (const x of [-2, -0.7, 0.4, 1.9]) {
      const steps = 4000;
      const h = (x + 12) / steps;
      let sum = normalDensity(-12) + normalDensity(x);
      for (let i = 1; i < steps; i++) sum += (i % 2 ? 4 : 2) * normalDensity(-12 + i * h);
      expect(Math.abs((sum * h) / 3 - normalCdf(x))).toBeLessThan(1e-12);
    }
  });

  it("rejects NaN", () => {
    expect(() => normalCdf(NaN)).toThrow(/NaN/);
  });
});

describe("normalQuantile", () => {
  it("gives the familiar critical values", () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 12);
    expect(normalQuantile(0.8)).toBeCloseTo(0.8416212335729143, 12);
    expect(normalQuantile(0.5)).toBe(0);
  });

  it("inverts normalCdf across the range, tails included", () => {
    for (const p of [1e-15, 1e-9, 1e-4, 0.02, 0.02425, 0.3, 0.7, 0.99, 1 - 1e-6]) {
      const x = normalQuantile(p);
      const back = p < 0.5 ? normalCdf(x) : normalSurvival(x);
      const target = p < 0.5 ? p : 1 - p;
      expect(Math.abs(back - target) / target, `p = ${p}`).toBeLessThan(1e-8);
    }
  });

  it("rejects p outside (0, 1)", () => {
    for (const p of [0, 1, -0.1, NaN]) expect(() => normalQuantile(p)).toThrow(RangeError);
  });
});
