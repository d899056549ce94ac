import { Rng } from "@mlsd/random";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "./backend";
import { TwoTowerInputError } from "./errors";
import { hitRate, meanPopularityRank, popularityRanks, topKByDot } from "./evaluate";

beforeAll(async () => {
  await initBackend(() => {});
});

describe("topKByDot", () => {
  it("returns the exact top k by dot product, best first, ties to the lower id", () => {
    const rng = new Rng(5);
    const dim = 4;
    const nq = 7;
    const ni = 60;
    const q = Float32Array.from({ length: nq * dim }, () => rng.normal());
    const items = Float32Array.from({ length: ni * dim }, () => rng.normal());
    items.set(items.subarray(0, dim), 10 * dim); // item 10 duplicates item 0
    const k = 5;
    const got = topKByDot(q, items, dim, k);
    for (let r = 0; r < nq; r++) {
      const score = (j: number) => {
        let s = 0;
        for (let c = 0; c < dim; c++) s += (q[r * dim + c] as number) * (items[j * dim + c] as number);
        return Math.fround(s);
      };
      const brute = Array.from({ length: ni }, (_, j) => j).sort((a, b) => score(b) - score(a) || a - b);
      const mine = Array.from(got.subarray(r * k, (r + 1) * k));
      // Float32 rounding may swap near-equal scores; compare scores, then the set membership.
      mine.forEach((item, p) => expect(score(item)).toBeCloseTo(score(brute[p] as number), 4));
      if (mine.includes(0) && mine.includes(10)) expect(mine.indexOf(0)).toBeLessThan(mine.indexOf(10));
    }
  });

  it("leaves excluded items out and pads with -1 when too few remain", () => {
    const items = Float32Array.from([1, 0, 0.5, 0, 0.2, 0]);
    const got = topKByDot(Float32Array.from([1, 0]), items, 2, 3, () => [0]);
    expect(Array.from(got)).toEqual([1, 2, -1]);
  });

  it("rejects k <= 0", () => {
    expect(() => topKByDot(new Float32Array(2), new Float32Array(2), 2, 0)).toThrow(TwoTowerInputError);
  });
});

describe("metrics", () => {
  it("hitRate counts rows whose target is in the list", () => {
    expect(hitRate(Int32Array.from([1, 2, 3, 4, 5, 6]), 3, [3, 7])).toBe(0.5);
  });

  it("popularity ranks put the most frequent item first", () => {
    const ranks = popularityRanks([5, 9, 1, 9]);
    expect(Array.from(ranks)).toEqual([2, 0, 3, 1]);
    expect(meanPopularityRank(Int32Array.from([1, 2, -1]), ranks)).toBe(1.5);
  });
});
