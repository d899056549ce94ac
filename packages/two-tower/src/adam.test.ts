import { describe, expect, it } from "vitest";
import { AdamSlot, adamDense, adamRows, DEFAULT_ADAM } from "./adam";

describe("lazy Adam", () => {
  it("matches dense Adam on the rows it touches and leaves the others alone", () => {
    const dim = 3;
    const start = Float32Array.from({ length: 4 * dim }, (_, i) => Math.sin(i));
    const dense = start.slice();
    const lazy = start.slice();
    const denseSlot = new AdamSlot(dense.length);
    const lazySlot = new AdamSlot(lazy.length);
    // Rows 1 and 3 get gradients; rows 0 and 2 get zero (dense) or are absent (lazy).
    for (let step = 0; step < 5; step++) {
      const g = Float32Array.from({ length: 4 * dim }, (_, i) => (Math.floor(i / dim) % 2 === 1 ? Math.cos(i + step) : 0));
      adamDense(DEFAULT_ADAM, denseSlot, dense, g);
      adamRows(DEFAULT_ADAM, lazySlot, lazy, dim, Int32Array.from([3, 1]), Float32Array.from([...g.subarray(9, 12), ...g.subarray(3, 6)]));
    }
    for (const row of [1, 3]) for (let j = 0; j < dim; j++) expect(lazy[row * dim + j]).toBeCloseTo(dense[row * dim + j] as number, 6);
    for (const row of [0, 2]) for (let j = 0; j < dim; j++) expect(lazy[row * dim + j]).toBe(start[row * dim + j]);
    expect(lazy[3]).not.toBe(start[3]);
  });

  it("moves the first step by the learning rate against the gradient's sign", () => {
    const values = Float32Array.from([1, 1]);
    adamDense({ ...DEFAULT_ADAM, learningRate: 0.1 }, new AdamSlot(2), values, Float32Array.from([5, -0.01]));
    expect(values[0]).toBeCloseTo(0.9, 5);
    expect(values[1]).toBeCloseTo(1.1, 5);
  });
});
