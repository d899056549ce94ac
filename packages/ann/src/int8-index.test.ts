import { describe, expect, it } from "vitest";
import { ExactIndex } from "./exact-index";
import { Int8ExactIndex, fitInt8Scales } from "./int8-index";
import { recallAtK } from "./recall";
import { clusteredWorld } from "./testing/synthetic-catalogue";

describe("fitInt8Scales", () => {
  it("maps each dimension's largest magnitude to 127 and gives an all-zero dimension scale 1", () => {
    const vectors = Float32Array.from([1, -2.54, 0, -0.5, 1.27, 0]);
    expect(Array.from(fitInt8Scales(vectors, 3))).toEqual([
      Math.fround(1 / 127),
      Math.fround(2.54 / 127),
      1,
    ]);
  });

  it("rejects a matrix whose length is not a multiple of dim", () => {
    expect(() => fitInt8Scales(new Float32Array(7), 3)).toThrow(expect.objectContaining({ code: "dimension_mismatch", field: "vectors" }));
  });
});

describe("Int8ExactIndex", () => {
  const dim = 16;
  const world = clusteredWorld({ items: 3000, queries: 50, dim, seed: 21, clusters: 20 });

  it("stores a quarter of the float32 bytes (plus the scales) and keeps recall@10 above 0.95", () => {
    const exact = ExactIndex.build(world.items, world.ids, { dim });
    const int8 = Int8ExactIndex.build(world.items, world.ids, { dim });
    expect(exact.vectorBytes).toBe(3000 * dim * 4);
    expect(int8.vectorBytes).toBe(3000 * dim + dim * 4);
    const recall = recallAtK(int8, exact, world.queries, 10);
    expect(recall).toBeGreaterThan(0.95);
    expect(recall).toBeLessThan(1);
  });

  it("rounds to the nearest step and clips, counting, values beyond the fitted range", () => {
    const index = new Int8ExactIndex<string>({ dim: 2, scales: Float32Array.from([0.5, 1]) });
    index.addItems(Float32Array.from([1.2, -3.4, 100, -1000]), ["a", "b"]);
    // a: 1.2 / 0.5 = 2.4 -> 2 steps = 1.0, -3.4 -> -3; b: 200 steps and -1000 steps both clip to +-127.
    expect(index.clippedValues).toBe(2);
    expect(index.search([1, 0], 2)).toEqual({ ids: ["b", "a"], scores: [63.5, 1] });
    expect(index.search([0, 1], 2)).toEqual({ ids: ["a", "b"], scores: [-3, -127] });
  });

  it("rejects scales that do not fit the dimension or are not positive", () => {
    expect(() => new Int8ExactIndex({ dim: 3, scales: new Float32Array(2).fill(1) })).toThrow(
      expect.objectContaining({ code: "dimension_mismatch", field: "scales" }),
    );
    expect(() => new Int8ExactIndex({ dim: 2, scales: Float32Array.from([1, 0]) })).toThrow(
      expect.objectContaining({ code: "invalid_input", field: "scales" }),
    );
  });
});
