import { describe, expect, it } from "vitest";
import { Rng } from "@mlsd/random";
import { ExactIndex } from "./exact-index";
import { naiveTopK } from "./testing/reference";

function randomRows(rows: number, dim: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: rows * dim }, () => rng.normal());
}

describe("ExactIndex scan kernel", () => {
  it.each([
    [7, 5],
    [4101, 3],
    [2048, 64],
    [1, 1],
  ])("matches a full sort for %i rows of dim %i (padding, odd rows, chunk boundaries)", (rows, dim) => {
    const items = randomRows(rows, dim, rows + dim);
    const index = ExactIndex.build(items, Array.from({ length: rows }, (_, i) => i), { dim, initialCapacity: 1 });
    for (const query of [randomRows(1, dim, 99), randomRows(1, dim, 100)]) {
      const k = Math.min(rows, 50);
      const truth = naiveTopK(items, dim, query, k);
      const found = index.search(query, k);
      expect(found.ids).toEqual(truth.rows);
      found.scores.forEach((s, r) => expect(Math.abs(s - (truth.scores[r] as number))).toBeLessThan(1e-12));
    }
  });

  it("orders rows exactly where float32 scores tie (the float32 pass only filters)", () => {
    const dim = 8;
    const rows = 300;
    // Row i differs from the others by i float32 steps in one coordinate: with a query of 1000s the
    // score differences (~1e-4) are below float32 resolution at 8000 (~5e-4), not below float64's.
    const items = new Float32Array(rows * dim).fill(1);
    const order = Array.from({ length: rows }, (_, i) => (i * 7919) % rows);
    order.forEach((step, i) => (items[i * dim + 3] = 1 + step * 2 ** -23));
    const query = new Float32Array(dim).fill(1000);
    const index = ExactIndex.build(items, Array.from({ length: rows }, (_, i) => i), { dim });
    const truth = naiveTopK(items, dim, query, 20);
    expect(index.search(query, 20).ids).toEqual(truth.rows);
  });

  it("keeps scoring correctly after deletions move rows and the storage grows", () => {
    const dim = 6;
    const items = randomRows(3000, dim, 5);
    const index = new ExactIndex<number>({ dim, initialCapacity: 2 });
    index.addItems(items.subarray(0, 1000 * dim), Array.from({ length: 1000 }, (_, i) => i));
    index.markDeleted(Array.from({ length: 500 }, (_, i) => 2 * i));
    index.addItems(items.subarray(1000 * dim), Array.from({ length: 2000 }, (_, i) => 1000 + i));
    const live = Array.from({ length: 3000 }, (_, i) => i).filter((i) => i >= 1000 || i % 2 === 1);
    const liveItems = new Float32Array(live.length * dim);
    live.forEach((id, r) => liveItems.set(items.subarray(id * dim, (id + 1) * dim), r * dim));
    const query = randomRows(1, dim, 6);
    expect(index.size).toBe(2500);
    expect(index.vectorBytes).toBe(2500 * dim * 4);
    expect(index.search(query, 30).ids).toEqual(naiveTopK(liveItems, dim, query, 30).rows.map((r) => live[r]));
  });
});
