import { describe, expect, it } from "vitest";
import { HistogramArena } from "./histogram-arena";

describe("HistogramArena", () => {
  // 3 features x 5 rows, column-major; feature f has 4 bins at offset 4f.
  const bins = Uint8Array.from([0, 1, 2, 3, 1, /* f1 */ 3, 3, 0, 1, 2, /* f2 */ 2, 2, 2, 2, 2]);
  const binOffsets = Int32Array.from([0, 4, 8]);
  const grad = Float64Array.from([0.5, -1, 2, 0.25, 4]);
  const hess = Float64Array.from([1, 2, 3, 4, 5]);

  function reference(rows: number[], features: number[]): Float64Array {
    const out = new Float64Array(24);
    for (const f of features) {
      for (const r of rows) {
        const b = (binOffsets[f] as number) + (bins[f * 5 + r] as number);
        out[2 * b] = (out[2 * b] as number) + (grad[r] as number);
        out[2 * b + 1] = (out[2 * b + 1] as number) + (hess[r] as number);
      }
    }
    return out;
  }

  it("accumulates (grad, hess) per bin for any row subset and feature subset, and subtracts siblings", () => {
    const arena = new HistogramArena(bins, 5, 12);
    const slots = Array.from({ length: 9 }, () => arena.acquire()); // forces the memory to grow
    arena.setGradients(grad, hess);
    const read = (slot: number): number[] => Array.from(arena.f64.subarray(arena.base(slot), arena.base(slot) + 24));
    for (const [rows, features] of [
      [[0, 1, 2, 3, 4], [0, 1, 2]],
      [[1, 3], [2, 0, 1]],
      [[4], [1]],
    ] as const) {
      const slot = slots[8] as number;
      arena.f64.fill(0, arena.base(slot), arena.base(slot) + 24);
      arena.accumulate(slot, Int32Array.from(rows), Int32Array.from(features), binOffsets);
      expect(read(slot)).toEqual(Array.from(reference([...rows], [...features])));
    }
    const parent = slots[0] as number;
    const child = slots[1] as number;
    for (const s of [parent, child]) arena.f64.fill(0, arena.base(s), arena.base(s) + 24);
    arena.accumulate(parent, Int32Array.from([0, 1, 2, 3, 4]), Int32Array.from([0, 1, 2]), binOffsets);
    arena.accumulate(child, Int32Array.from([1, 3]), Int32Array.from([0, 1, 2]), binOffsets);
    for (let f = 0; f < 3; f++) arena.subtract(parent, child, f * 4, 4);
    expect(read(parent)).toEqual(Array.from(reference([0, 2, 4], [0, 1, 2])));
    arena.release(child);
    expect(arena.acquire()).toBe(child);
  });

  it("partitions a leaf's rows stably by a per-bin table", () => {
    const arena = new HistogramArena(bins, 5, 12);
    const goesLeft = new Uint8Array(256);
    goesLeft[1] = 1;
    goesLeft[3] = 1;
    // Feature 1's bins for rows 0..4 are 3, 3, 0, 1, 2: rows 0, 1, 3 go left, in order.
    const rows = Int32Array.from([4, 0, 2, 1, 3]);
    expect(arena.partition(rows, 1, goesLeft)).toBe(3);
    expect(Array.from(rows)).toEqual([0, 1, 3, 4, 2]);
    const none = Int32Array.from([2, 4]);
    expect(arena.partition(none, 1, goesLeft)).toBe(0);
    expect(Array.from(none)).toEqual([2, 4]);
  });
});
