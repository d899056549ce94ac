import { describe, expect, it } from "vitest";
import { hardestForBatch } from "./negatives";

describe("hardestForBatch", () => {
  // 2 rows x 4 pool items (ids 10..13); row 0's positive is 11, row 1's is 13.
  const pool = [10, 11, 12, 13];
  const positives = [11, 13];
  const scores = [
    0.1, 0.9, 0.2, 0.3, // row 0: 11 is its own positive, so 13 (0.3) and 12 (0.2) are its hardest
    0.5, 0.4, 0.0, 0.95, // row 1: 13 is its own positive, so 10 (0.5) is its hardest
  ];

  it("ranks pool items by their best score over the rows, a row's own positive excluded", () => {
    // Hardness: 10 -> 0.5, 11 -> 0.4 (row 1 only), 12 -> 0.2, 13 -> 0.3 (row 0 only).
    expect(Array.from(hardestForBatch(scores, pool, positives, 4))).toEqual([10, 11, 13, 12]);
    expect(Array.from(hardestForBatch(scores, pool, positives, 2))).toEqual([10, 11]);
  });

  it("puts an item that is every row's positive last and caps count at the pool", () => {
    const out = hardestForBatch([0.9, 0.1, 0.9, 0.1], [7, 8], [7, 7], 5);
    expect(Array.from(out)).toEqual([8, 7]);
  });

  it("refuses scores of the wrong shape and a negative count", () => {
    expect(() => hardestForBatch([1, 2, 3], pool, positives, 1)).toThrow(/expected 2 rows x 4/);
    expect(() => hardestForBatch(scores, pool, positives, -1)).toThrow(/non-negative/);
  });
});
