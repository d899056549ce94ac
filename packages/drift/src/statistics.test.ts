import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { DriftError } from "./errors";
import {
  chiSquareHomogeneity,
  jensenShannonDivergence,
  ksFromHistograms,
  ksPValue,
  ksStatistic,
  populationStabilityIndex,
  psiBand,
} from "./statistics";

describe("populationStabilityIndex", () => {
  it("matches the hand-computed value", () => {
    // p = (.5, .3, .2), q = (.3, .3, .4): -0.2 ln 0.6 + 0 + 0.2 ln 2 = 0.240794
    const exact = -0.2 * Math.log(0.6) + 0.2 * Math.log(2);
    expect(populationStabilityIndex([50, 30, 20], [30, 30, 40], 1e-12)).toBeCloseTo(exact, 9);
    expect(populationStabilityIndex([50, 30, 20], [30, 30, 40])).toBeCloseTo(exact, 3);
  });

  it("is 0 for identical proportions whatever the totals", () => {
    expect(populationStabilityIndex([10, 20, 30, 40], [1, 2, 3, 4])).toBeCloseTo(0, 15);
  });

  it("keeps an empty reference bin finite through epsilon smoothing", () => {
    // p' = (1 + e, e) / (1 + 2e), q' = (0.9 + e, 0.1 + e) / (1 + 2e), e = 1e-4
    const psi = populationStabilityIndex([100, 0], [90, 10]);
    expect(psi).toBeCloseTo(0.701270164470571, 12);
    // A smaller epsilon makes the same novelty look larger: the choice of epsilon is part of PSI.
    expect(populationStabilityIndex([100, 0], [90, 10], 1e-6)).toBeGreaterThan(psi + 0.4);
    // Empty on the window side is handled the same way.
    expect(Number.isFinite(populationStabilityIndex([90, 10], [100, 0]))).toBe(true);
    // A bin empty on both sides contributes nothing.
    expect(populationStabilityIndex([50, 50, 0], [50, 50, 0])).toBe(0);
  });

  it("rejects mismatched or empty histograms naming the field", () => {
    expect(() => populationStabilityIndex([1, 2], [1, 2, 3])).toThrow(/window/);
    expect(() => populationStabilityIndex([0, 0], [1, 2])).toThrow(DriftError);
    expect(() => populationStabilityIndex([1, -1], [1, 2])).toThrow(/reference\[1\]/);
  });
});

describe("psiBand", () => {
  it("uses < 0.1 stable, 0.1-0.25 moderate, >= 0.25 significant", () => {
    expect(psiBand(0.0999)).toBe("stable");
    expect(psiBand(0.1)).toBe("moderate");
    expect(psiBand(0.2499)).toBe("moderate");
    expect(psiBand(0.25)).toBe("significant");
    expect(psiBand(0.15, { moderate: 0.05, significant: 0.15 })).toBe("significant");
  });
});

describe("jensenShannonDivergence", () => {
  it("is 0 for identical, 1 bit for disjoint, 0.5 for half-overlapping histograms", () => {
    expect(jensenShannonDivergence([3, 1], [6, 2])).toBeCloseTo(0, 15);
    expect(jensenShannonDivergence([1, 0], [0, 1])).toBeCloseTo(1, 15);
    // m = (.25, .5, .25): each side contributes 0.5 * 0.5 * log2(0.5 / 0.25) = 0.25.
    expect(jensenShannonDivergence([1, 1, 0], [0, 1, 1])).toBeCloseTo(0.5, 15);
  });
});

describe("chiSquareHomogeneity", () => {
  it("matches the hand-computed 2x2 table", () => {
    // Expected 25 in every cell: 4 * 5^2 / 25 = 4 on 1 df, p = 0.0455003.
    const result = chiSquareHomogeneity([20, 30], [30, 20]);
    expect(result.statistic).toBeCloseTo(4, 12);
    expect(result.df).toBe(1);
    expect(result.pValue).toBeCloseTo(0.04550026389635857, 10);
  });

  it("drops categories empty on both sides and scores ones the reference never saw", () => {
    const withEmpty = chiSquareHomogeneity([20, 30, 0], [30, 20, 0]);
    expect(withEmpty.df).toBe(1);
    expect(withEmpty.statistic).toBeCloseTo(4, 12);
    const novel = chiSquareHomogeneity([500, 500, 0], [45, 45, 10]);
    expect(novel.df).toBe(2);
    expect(novel.pValue).toBeLessThan(1e-10);
  });

  it("reports no evidence when only one category is used", () => {
    expect(chiSquareHomogeneity([5, 0], [7, 0])).toEqual({ statistic: 0, df: 0, pValue: 1 });
  });
});

describe("ksStatistic (exact, raw samples)", () => {
  it("matches hand-computed values, with ties", () => {
    // F_a(5) = 1, F_b(5) = 3/6.
    expect(ksStatistic([1, 2, 3, 4, 5], [3, 4, 5, 6, 7, 8])).toBeCloseTo(0.5, 15);
    // At 2: F_a = 3/4, F_b = 1/4.
    expect(ksStatistic([1, 2, 2, 3], [2, 3, 3, 4])).toBeCloseTo(0.5, 15);
    expect(ksStatistic([1, 2, 3], [1, 2, 3])).toBe(0);
    expect(ksStatistic([1, 2], [5, 6])).toBe(1);
  });

  it("rejects empty samples and NaN", () => {
    expect(() => ksStatistic([], [1])).toThrow(/a: is empty/);
    expect(() => ksStatistic([1], [Number.NaN])).toThrow(/b: contains NaN/);
  });
});

describe("ksFromHistograms (on a grid)", () => {
  it("equals the exact statistic when every value has its own cell", () => {
    // Cells (-inf,1) [1,2) [2,3) [3,4) [4,inf) for the tie example above.
    expect(ksFromHistograms([0, 1, 2, 1, 0], [0, 0, 1, 2, 1])).toBeCloseTo(0.5, 15);
  });

  it("bounds the exact KS from below, within one reference cell's share", () => {
    const rng = new Rng(3);
    const reference = Array.from({ length: 4000 }, () => rng.normal());
    const window = Array.from({ length: 500 }, () => rng.normal(0.3, 1.2));
    const sorted = [...reference].sort((x, y) => x - y);
    const edges = Array.from({ length: 19 }, (_, i) => sorted[Math.floor((4000 * (i + 1)) / 20)] as number);
    const cell = (x: number): number => edges.filter((e) => e <= x).length;
    const r = new Array<number>(20).fill(0);
    const w = new Array<number>(20).fill(0);
    for (const x of reference) r[cell(x)] = (r[cell(x)] as number) + 1;
    for (const x of window) w[cell(x)] = (w[cell(x)] as number) + 1;
    const grid = ksFromHistograms(r, w);
    const exact = ksStatistic(reference, window);
    expect(grid).toBeLessThanOrEqual(exact + 1e-12);
    expect(exact).toBeLessThanOrEqual(grid + Math.max(...r) / 4000 + 1e-12);
    expect(exact - grid).toBeGreaterThan(0);
  });

  it("leaves trailing cells (the missing cell) out when asked", () => {
    expect(ksFromHistograms([1, 1, 0], [1, 1, 50], 2)).toBe(0);
  });
});

describe("ksPValue", () => {
  it("gives the 5% level at the tabulated critical distance", () => {
    // For equal samples of 1000, ne = 500: d = 1.3581 / (sqrt(500) + 0.12 + 0.11 / sqrt(500)).
    const root = Math.sqrt(500);
    expect(ksPValue(1.3581 / (root + 0.12 + 0.11 / root), 1000, 1000)).toBeCloseTo(0.05, 5);
    expect(ksPValue(0.2, 0, 10)).toBe(1);
  });
});
