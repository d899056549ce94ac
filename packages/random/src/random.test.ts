import { describe, expect, it } from "vitest";
import { AliasTable, Rng, unitHash } from "./index";

describe("Rng", () => {
  it("repeats the same stream for the same seed and differs across seeds", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(sa);
  });

  it("draws uniform, normal and poisson values with the right moments", () => {
    const rng = new Rng(7);
    const n = 200_000;
    let su = 0, sn = 0, sn2 = 0, sp = 0;
    for (let i = 0; i < n; i++) {
      su += rng.next();
      const z = rng.normal(3, 2);
      sn += z;
      sn2 += z * z;
      sp += rng.poisson(2.5);
    }
    expect(su / n).toBeCloseTo(0.5, 2);
    const mean = sn / n;
    expect(mean).toBeCloseTo(3, 1);
    expect(Math.sqrt(sn2 / n - mean * mean)).toBeCloseTo(2, 1);
    expect(sp / n).toBeCloseTo(2.5, 1);
  });

  it("samples distinct indices", () => {
    const rng = new Rng(1);
    for (const [n, k] of [[10, 10], [1000, 7], [50, 20]] as const) {
      const s = rng.sampleIndices(n, k);
      expect(s).toHaveLength(k);
      expect(new Set(s).size).toBe(k);
      expect(Math.max(...s)).toBeLessThan(n);
    }
    expect(() => rng.sampleIndices(3, 4)).toThrow(RangeError);
  });
});

describe("AliasTable", () => {
  it("samples in proportion to the weights", () => {
    const table = new AliasTable([1, 2, 3, 4, 0]);
    const rng = new Rng(3);
    const counts = [0, 0, 0, 0, 0];
    const n = 100_000;
    for (let i = 0; i < n; i++) counts[table.sample(rng)]! += 1;
    expect(counts[4]).toBe(0);
    counts.slice(0, 4).forEach((c, i) => expect(c / n).toBeCloseTo((i + 1) / 10, 2));
  });

  it("rejects empty, negative and all-zero weights", () => {
    expect(() => new AliasTable([])).toThrow(RangeError);
    expect(() => new AliasTable([1, -1])).toThrow(RangeError);
    expect(() => new AliasTable([0, 0])).toThrow(RangeError);
  });
});

describe("unitHash", () => {
  it("is fixed by the text, in [0, 1), and spreads ids that differ only at the end", () => {
    expect(unitHash("u42")).toBe(unitHash("u42"));
    const values = Array.from({ length: 10_000 }, (_, i) => unitHash(`u${i}`));
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    const below = values.filter((v) => v < 0.1).length;
    // 10 % of 10,000 by a fair split: 1,000 +- 3 sd (30).
    expect(below).toBeGreaterThan(910);
    expect(below).toBeLessThan(1090);
  });
});
