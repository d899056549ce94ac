import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { TopK } from "./top-k";

describe("TopK", () => {
  it.each([1, 7, 100])("keeps the %i largest of 5,000 scores, best first", (k) => {
    const rng = new Rng(k);
    const scores = Array.from({ length: 5000 }, () => rng.normal());
    const heap = new TopK(k);
    scores.forEach((s, row) => heap.push(s, row));
    const expected = scores
      .map((score, row) => ({ score, row }))
      .sort((a, b) => b.score - a.score)
      .slice(0, k);
    const { rows, scores: kept } = heap.drain();
    expect(rows).toEqual(expected.map((e) => e.row));
    expect(kept).toEqual(expected.map((e) => e.score));
  });

  it("returns what it has when fewer than k were pushed, and reports its entry threshold", () => {
    const heap = new TopK(5);
    expect(heap.threshold).toBe(-Infinity);
    [0.3, -2, 1.5].forEach((s, row) => heap.push(s, row));
    expect(heap.threshold).toBe(-Infinity);
    [0.9, 0.1].forEach((s, i) => heap.push(s, 3 + i));
    expect(heap.threshold).toBe(-2);
    heap.push(0.2, 5);
    expect(heap.threshold).toBe(0.1);
    expect(heap.drain()).toEqual({ rows: [2, 3, 0, 5, 4], scores: [1.5, 0.9, 0.3, 0.2, 0.1] });
  });
});
