import * as tf from "@tensorflow/tfjs";
import { Rng } from "@mlsd/random";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backendName, initBackend } from "./backend";
import { isFastSegmentSumActive, useFastSegmentSum, useStockSegmentSum } from "./segment-sum";

beforeAll(async () => {
  await initBackend(() => {});
});
afterAll(() => useFastSegmentSum());

function gatherGradient(table: tf.Tensor2D, indices: tf.Tensor, upstream: tf.Tensor): Float32Array {
  return tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, indices), upstream)))(table).dataSync() as Float32Array);
}

function withKernel<T>(fast: boolean, f: () => T): T {
  if (fast) useFastSegmentSum();
  else useStockSegmentSum();
  return f();
}

describe("fast UnsortedSegmentSum kernel", () => {
  it("is what initBackend installs on the cpu backend", () => {
    expect(backendName()).toBe("cpu");
    expect(isFastSegmentSumActive()).toBe(true);
    useStockSegmentSum();
    expect(isFastSegmentSumActive()).toBe(false);
    useFastSegmentSum();
    expect(isFastSegmentSumActive()).toBe(true);
  });

  it("gives the same gather gradient as the stock kernel, duplicates included", () => {
    const rng = new Rng(3);
    const rows = 50;
    const dim = 6;
    const table = tf.tensor2d(Float32Array.from({ length: rows * dim }, () => rng.normal()), [rows, dim]);
    // Repeated ids must accumulate; ids never gathered must get a zero gradient.
    const ids = Int32Array.from({ length: 40 }, () => rng.int(20));
    ids[1] = ids[0] as number;
    const indices = tf.tensor1d(ids, "int32");
    const upstream = tf.tensor2d(Float32Array.from({ length: ids.length * dim }, () => rng.normal()), [ids.length, dim]);
    const stock = withKernel(false, () => gatherGradient(table, indices, upstream));
    const fast = withKernel(true, () => gatherGradient(table, indices, upstream));
    expect(fast.length).toBe(rows * dim);
    for (let i = 0; i < fast.length; i++) expect(fast[i]).toBeCloseTo(stock[i] as number, 5);
    expect(Array.from(fast.subarray(30 * dim, 31 * dim))).toEqual(new Array(dim).fill(0));
    // Hand check of one row: its gradient is the sum of the upstream rows that gathered it.
    const row = ids[0] as number;
    const up = upstream.dataSync();
    for (let j = 0; j < dim; j++) {
      let expected = 0;
      ids.forEach((id, r) => {
        if (id === row) expected += up[r * dim + j] as number;
      });
      expect(fast[row * dim + j]).toBeCloseTo(expected, 5);
    }
    tf.dispose([table, indices, upstream]);
  });

  it("matches the stock kernel for 2-D indices into a 3-D table", () => {
    const rng = new Rng(4);
    const table = tf.tensor3d(Float32Array.from({ length: 12 * 3 * 2 }, () => rng.normal()), [12, 3, 2]);
    const indices = tf.tensor2d(Int32Array.from({ length: 10 }, () => rng.int(12)), [5, 2], "int32");
    const upstream = tf.tensor(Float32Array.from({ length: 5 * 2 * 3 * 2 }, () => rng.normal()), [5, 2, 3, 2]);
    const stock = withKernel(false, () => gatherGradient(table as unknown as tf.Tensor2D, indices, upstream));
    const fast = withKernel(true, () => gatherGradient(table as unknown as tf.Tensor2D, indices, upstream));
    for (let i = 0; i < fast.length; i++) expect(fast[i]).toBeCloseTo(stock[i] as number, 5);
    tf.dispose([table, indices, upstream]);
  });

  it("drops out-of-range segment ids and sums int32 values like the stock kernel", () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2], "int32");
    const ids = tf.tensor1d([2, -1, 0, 2], "int32");
    const stock = withKernel(false, () => tf.unsortedSegmentSum(x, ids, 3));
    const fast = withKernel(true, () => tf.unsortedSegmentSum(x, ids, 3));
    expect(fast.dtype).toBe("int32");
    expect(Array.from(fast.dataSync())).toEqual([5, 6, 0, 0, 8, 10]);
    expect(Array.from(fast.dataSync())).toEqual(Array.from(stock.dataSync()));
    tf.dispose([x, ids, stock, fast]);
  });
});
