import { describe, expect, it } from "vitest";
import {
  RankingInputError,
  averagePrecisionAtK,
  catalogCoverage,
  exposureCounts,
  giniIndex,
  hitRateAtK,
  meanAveragePrecision,
  mrr,
  ndcgAtK,
  precisionAtK,
  recallAtK,
  reciprocalRank,
} from "./ranking";

// Hits at ranks 2 and 5; item 8 is relevant but never recommended.
const ranked = [5, 3, 9, 1, 7];
const relevant = new Set([3, 7, 8]);

describe("precision, recall, hit rate", () => {
  it("counts hits in the first k", () => {
    expect(precisionAtK(ranked, relevant, 3)).toBeCloseTo(1 / 3, 12);
    expect(precisionAtK(ranked, relevant, 5)).toBeCloseTo(0.4, 12);
    expect(recallAtK(ranked, relevant, 3)).toBeCloseTo(1 / 3, 12);
    expect(recallAtK(ranked, relevant, 5)).toBeCloseTo(2 / 3, 12);
    expect(hitRateAtK(ranked, relevant, 1)).toBe(0);
    expect(hitRateAtK(ranked, relevant, 2)).toBe(1);
  });

  it("divides precision by k even when the list is shorter", () => {
    expect(precisionAtK([3], relevant, 10)).toBeCloseTo(0.1, 12);
  });

  it("treats graded gains above zero as relevant", () => {
    const graded = new Map([
      [3, 2],
      [9, 0],
    ]);
    expect(precisionAtK(ranked, graded, 3)).toBeCloseTo(1 / 3, 12);
    expect(recallAtK(ranked, graded, 3)).toBe(1);
  });

  it("returns 0 when nothing is relevant", () => {
    expect(recallAtK(ranked, new Set(), 5)).toBe(0);
    expect(ndcgAtK(ranked, new Set(), 5)).toBe(0);
    expect(averagePrecisionAtK(ranked, new Set(), 5)).toBe(0);
  });

  it("rejects a bad k by name", () => {
    expect(() => precisionAtK(ranked, relevant, 0)).toThrow(RankingInputError);
    expect(() => ndcgAtK(ranked, relevant, 2.5)).toThrow(/^k: /);
  });
});

describe("ndcgAtK", () => {
  it("binary gains with the log2 discount", () => {
    // DCG = 1/log2(3) + 1/log2(6); IDCG = 1 + 1/log2(3) + 1/log2(4).
    expect(ndcgAtK(ranked, relevant, 5)).toBeCloseTo(0.4776237035032179, 12);
    expect(ndcgAtK([3, 7, 8], relevant, 3)).toBe(1);
  });

  it("graded gains, linear and exponential", () => {
    const gains = new Map([
      [1, 1],
      [2, 3],
      [3, 0],
      [4, 2],
    ]);
    // DCG = 1 + 3/log2(3); ideal order 3, 2, 1.
    expect(ndcgAtK([1, 2, 3], gains, 3)).toBeCloseTo(0.6074915180456525, 12);
    // Gains 2^g - 1: DCG = 1 + 7/log2(3); ideal 7, 3, 1.
    expect(ndcgAtK([1, 2, 3], gains, 3, { gain: "exponential" })).toBeCloseTo(0.5766666455144387, 12);
    expect(ndcgAtK([2, 4, 1], gains, 3)).toBeCloseTo(1, 12);
  });
});

describe("average precision and MAP", () => {
  it("divides by |relevant| by default and by min(|relevant|, k) on request", () => {
    // Precision at the hit ranks: 1/2 and 2/5.
    expect(averagePrecisionAtK(ranked, relevant, 5)).toBeCloseTo(0.9 / 3, 12);
    expect(averagePrecisionAtK(ranked, relevant, 2)).toBeCloseTo(0.5 / 3, 12);
    expect(averagePrecisionAtK(ranked, relevant, 2, { normalizer: "min-relevant-k" })).toBeCloseTo(0.25, 12);
  });

  it("averages over lists with relevant items only", () => {
    const rankings = [ranked, [1, 2], [4]];
    const relevances = [relevant, new Set([1]), new Set<number>()];
    expect(meanAveragePrecision(rankings, relevances, 5)).toBeCloseTo((0.3 + 1) / 2, 12);
    expect(() => meanAveragePrecision(rankings, relevances.slice(1), 5)).toThrow(/relevances/);
  });
});

describe("reciprocal rank", () => {
  it("uses the first relevant item within k", () => {
    expect(reciprocalRank(ranked, relevant)).toBe(0.5);
    expect(reciprocalRank(ranked, relevant, 1)).toBe(0);
    expect(
      mrr(
        [ranked, [9, 9, 1], [2]],
        [relevant, new Set([1]), new Set<number>()],
      ),
    ).toBeCloseTo((0.5 + 1 / 3) / 2, 12);
  });
});

describe("exposure: coverage and Gini", () => {
  it("coverage is the share of the catalogue ever shown", () => {
    expect(catalogCoverage([[0, 1], [1, 2]], 5)).toBeCloseTo(0.6, 12);
    expect(Array.from(exposureCounts([[0, 1], [1, 2]], 4))).toEqual([1, 2, 1, 0]);
    expect(() => catalogCoverage([[7]], 5)).toThrow(/recommendations: item 7/);
  });

  it("Gini is 0 for equal exposure and (n-1)/n for one item taking all", () => {
    expect(giniIndex([1, 1, 1, 1])).toBe(0);
    expect(giniIndex([0, 10, 0, 0])).toBeCloseTo(0.75, 12);
    // Sorted 1,2,3,4: (-3*1 - 1*2 + 1*3 + 3*4) / (4 * 10).
    expect(giniIndex([4, 1, 3, 2])).toBeCloseTo(0.25, 12);
    expect(() => giniIndex([1, -1])).toThrow(/exposure: value 1/);
  });
});
