import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { RecEvalError } from "./matrix";
import { topK } from "./top-k";

function bySort(scores: Float32Array, k: number, exclude?: Uint8Array): number[] {
  const idx = Array.from(scores.keys()).filter((i) => !exclude || exclude[i] === 0);
  idx.sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  return idx.slice(0, k);
}

describe("topK", () => {
  it("matches a full sort, ties to the lower index, with exclusions", () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + rng.int(300);
      // Few distinct values, so ties are common.
      const scores = Float32Array.from({ length: n }, () => rng.int(20));
      const exclude = Uint8Array.from({ length: n }, () => (rng.bernoulli(0.3) ? 1 : 0));
      const k = 1 + rng.int(15);
      expect(Array.from(topK(scores, k, exclude))).toEqual(bySort(scores, k, exclude));
      expect(Array.from(topK(scores, k))).toEqual(bySort(scores, k));
    }
  });

  it("returns fewer than k when fewer candidates remain, and ranks NaN last", () => {
    expect(Array.from(topK([0.5, Number.NaN, 0.9], 5))).toEqual([2, 0, 1]);
    expect(Array.from(topK([1, 2, 3], 2, Uint8Array.of(0, 1, 1)))).toEqual([0]);
  });

  it("rejects bad k and a short mask by name", () => {
    expect(() => topK([1], 0)).toThrow(RecEvalError);
    expect(() => topK([1, 2], 1, new Uint8Array(1))).toThrow(/^exclude: /);
  });
});
