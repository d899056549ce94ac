import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { AnomalyInputError, averagePathLength, IsolationForest } from "./isolation-forest";

function cloud(n: number, outliers: number, seed: number) {
  const rng = new Rng(seed);
  const data = new Float64Array((n + outliers) * 2);
  for (let i = 0; i < n; i++) {
    data[2 * i] = rng.normal(0, 1);
    data[2 * i + 1] = rng.normal(0, 1);
  }
  for (let k = 0; k < outliers; k++) {
    data[2 * (n + k)] = 6 + rng.normal(0, 0.3);
    data[2 * (n + k) + 1] = -6 + rng.normal(0, 0.3);
  }
  return { data, numRows: n + outliers, numColumns: 2 };
}

describe("IsolationForest", () => {
  it("normalises by the average unsuccessful-search path length", () => {
    expect(averagePathLength(1)).toBe(0);
    expect(averagePathLength(2)).toBe(1);
    // 2 H(255) - 2 * 255 / 256 with H(i) ~ ln i + Euler's constant.
    expect(averagePathLength(256)).toBeCloseTo(10.24, 2);
  });

  it("scores far-away points as anomalies and the bulk as ordinary", () => {
    const m = cloud(2000, 20, 1);
    const forest = IsolationForest.fit(m, { seed: 3 });
    const scores = forest.score(m);
    const inlier = Array.from(scores.subarray(0, 2000));
    const outlier = Array.from(scores.subarray(2000));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(outlier)).toBeGreaterThan(0.65);
    expect(mean(inlier)).toBeLessThan(0.5);
    expect(Math.min(...outlier)).toBeGreaterThan(Math.max(...inlier.slice(0, 100)) - 0.2);
  });

  it("is reproducible from its seed", () => {
    const m = cloud(500, 5, 2);
    const a = IsolationForest.fit(m, { seed: 9, trees: 20 }).score(m);
    const b = IsolationForest.fit(m, { seed: 9, trees: 20 }).score(m);
    const c = IsolationForest.fit(m, { seed: 10, trees: 20 }).score(m);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it("rejects bad options and a matrix of another width", () => {
    const m = cloud(50, 0, 3);
    expect(() => IsolationForest.fit(m, { trees: 0 })).toThrow(AnomalyInputError);
    expect(() => IsolationForest.fit(m, { sampleSize: 1 })).toThrow(/sampleSize/);
    expect(() => IsolationForest.fit(m).score({ data: [1, 2, 3], numRows: 1, numColumns: 3 })).toThrow(/numColumns/);
  });
});
