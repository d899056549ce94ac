import { describe, expect, it } from "vitest";
import { ExactIndex } from "./exact-index";
import { queryRows, recallAtK, recallOfIds } from "./recall";
import type { SearchResult, Vector, VectorIndex } from "./vector-index";

describe("recallOfIds", () => {
  it("counts the share of reference ids found, in any order", () => {
    expect(recallOfIds([3, 1, 9, 4], [1, 2, 3, 4])).toBe(0.75);
    expect(recallOfIds(["a"], ["b", "c"])).toBe(0);
    expect(recallOfIds([], [])).toBe(1);
  });
});

/** Answers with a fixed list whatever the query: a stand-in approximate index with known recall. */
class CannedIndex implements VectorIndex<number> {
  readonly dim = 2;
  readonly size = 4;
  constructor(private readonly answers: number[][]) {}
  private call = 0;
  search(_q: Vector, k: number): SearchResult<number> {
    const ids = (this.answers[this.call++ % this.answers.length] as number[]).slice(0, k);
    return { ids, scores: ids.map(() => 0) };
  }
  addItems(): void {}
  markDeleted(): void {}
  has(): boolean {
    return true;
  }
}

describe("recallAtK", () => {
  // Query (1, 0) scores the items 4, 0, 1, 0; query (0, 1) scores them 0, 2, -1, -3.
  const exact = ExactIndex.build(Float32Array.from([4, 0, 0, 2, 1, -1, 0, -3]), [0, 1, 2, 3], { dim: 2 });

  it("averages per-query recall against the exact answers", () => {
    // Exact top-2: (1,0) -> [0, 2]; (0,1) -> [1, 0].
    const approx = new CannedIndex([
      [0, 3],
      [1, 0],
    ]);
    const queries = Float32Array.from([1, 0, 0, 1]);
    expect(recallAtK(approx, exact, queries, 2)).toBe(0.75);
  });

  it("is 1 for an index measured against itself, and accepts a list of vectors", () => {
    expect(recallAtK(exact, exact, [[1, 1], Float32Array.from([-1, 0.5])], 3)).toBe(1);
  });

  it("rejects an empty query set and a ragged matrix", () => {
    expect(() => recallAtK(exact, exact, new Float32Array(0), 2)).toThrow(expect.objectContaining({ field: "queries" }));
    expect(() => queryRows(new Float32Array(5), 2)).toThrow(expect.objectContaining({ code: "dimension_mismatch" }));
  });
});
