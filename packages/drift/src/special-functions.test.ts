import { describe, expect, it } from "vitest";
import { chiSquareSurvival, kolmogorovSurvival, logGamma, regularizedGammaP, regularizedGammaQ } from "./special-functions";

describe("logGamma", () => {
  it("matches log factorials and Gamma(1/2) = sqrt(pi)", () => {
    let factorial = 1;
    for (let n = 1; n <= 20; n++) {
      expect(logGamma(n)).toBeCloseTo(Math.log(factorial), 10);
      factorial *= n;
    }
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(logGamma(0.25)).toBeCloseTo(Math.log(3.625609908221908), 12);
  });

  it("rejects non-positive arguments", () => {
    expect(() => logGamma(0)).toThrow(RangeError);
  });
});

describe("regularised incomplete gamma", () => {
  // For integer a, Q(a, x) = exp(-x) * sum_{k<a} x^k / k! (the Poisson tail identity).
  const poissonTail = (a: number, x: number): number => {
    let term = 1;
    let sum = 1;
    for (let k = 1; k < a; k++) {
      term *= x / k;
      sum += term;
    }
    return Math.exp(-x) * sum;
  };

  it("matches the closed form for integer shapes on both sides of a + 1", () => {
    for (const a of [1, 2, 3, 7, 15, 40]) {
      for (const x of [0.1, 1, 3, 8, 20, 45, 70]) {
        const expected = poissonTail(a, x);
        expect(Math.abs(regularizedGammaQ(a, x) - expected)).toBeLessThan(1e-12);
        expect(Math.abs(regularizedGammaP(a, x) - (1 - expected))).toBeLessThan(1e-12);
      }
    }
    expect(regularizedGammaQ(3, 20) / (221 * Math.exp(-20))).toBeCloseTo(1, 10);
  });

  it("matches P(1/2, x) = erf(sqrt(x))", () => {
    expect(regularizedGammaP(0.5, 0.01)).toBeCloseTo(0.1124629160182849, 12); // erf(0.1)
    expect(regularizedGammaP(0.5, 1)).toBeCloseTo(0.8427007929497149, 12); // erf(1)
  });

  it("handles the ends", () => {
    expect(regularizedGammaP(2, 0)).toBe(0);
    expect(regularizedGammaQ(2, 0)).toBe(1);
    expect(regularizedGammaQ(2, Infinity)).toBe(0);
    expect(() => regularizedGammaP(-1, 1)).toThrow(RangeError);
    expect(() => regularizedGammaQ(1, -1)).toThrow(RangeError);
  });
});

describe("chiSquareSurvival", () => {
  // Critical values from the standard chi-square table (upper-tail probability, df, value).
  const table: Array<[number, number, number]> = [
    [0.05, 1, 3.841459],
    [0.05, 2, 5.991465],
    [0.05, 3, 7.814728],
    [0.05, 5, 11.070498],
    [0.05, 10, 18.307038],
    [0.05, 20, 31.410433],
    [0.05, 100, 124.342113],
    [0.01, 1, 6.634897],
    [0.01, 10, 23.209251],
    [0.001, 1, 10.827566],
    [0.95, 4, 0.710723],
  ];

  it.each(table)("P(chi2 >= x) = %f for df %i at x = %f", (p, df, x) => {
    expect(Math.abs(chiSquareSurvival(x, df) - p)).toBeLessThan(1e-6);
  });

  it("is exp(-x/2) for two degrees of freedom", () => {
    for (const x of [0.5, 2, 9, 30]) expect(chiSquareSurvival(x, 2)).toBeCloseTo(Math.exp(-x / 2), 13);
  });

  it("is 1 at x <= 0 and rejects df <= 0", () => {
    expect(chiSquareSurvival(0, 3)).toBe(1);
    expect(() => chiSquareSurvival(1, 0)).toThrow(RangeError);
  });
});

describe("kolmogorovSurvival", () => {
  it("matches the tabulated critical values 1.2238 (10%), 1.3581 (5%), 1.6276 (1%)", () => {
    expect(kolmogorovSurvival(1.2238)).toBeCloseTo(0.1, 4);
    expect(kolmogorovSurvival(1.3581)).toBeCloseTo(0.05, 5);
    expect(kolmogorovSurvival(1.6276)).toBeCloseTo(0.01, 5);
    expect(kolmogorovSurvival(0.5)).toBeCloseTo(0.9639452436648751, 9);
    expect(kolmogorovSurvival(0)).toBe(1);
  });
});
