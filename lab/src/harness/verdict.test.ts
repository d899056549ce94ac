import { describe, expect, it } from "vitest";
import { meanInterval } from "./stats";
import { atLeast, atMost, combine, judge, within, type Check, type Judgement } from "./verdict";

const iv = (values: number[]) => meanInterval(values);

describe("judge", () => {
  it("at-least: holds when the whole interval clears the threshold, fails when it is all below, else inconclusive", () => {
    expect(judge(atLeast(0.01), iv([0.05, 0.052, 0.048]))).toEqual({ verdict: "holds", margin: expect.closeTo(0.04, 9) });
    expect(judge(atLeast(0.01), iv([0.001, 0.002, 0.0015])).verdict).toBe("does not hold");
    expect(judge(atLeast(0.01), iv([0.001, 0.03, 0.012])).verdict).toBe("inconclusive");
    expect(judge(atLeast(0.01), iv([0.001, 0.002, 0.0015])).margin).toBeCloseTo(-0.0085, 9);
  });

  it("at-most: the mirror image, with the margin positive on the claim's side", () => {
    expect(judge(atMost(0.02), iv([0.001, 0.002, 0.003]))).toEqual({ verdict: "holds", margin: expect.closeTo(0.018, 9) });
    expect(judge(atMost(0.02), iv([0.05, 0.06, 0.055])).verdict).toBe("does not hold");
    expect(judge(atMost(0.02), iv([0.0, 0.04, 0.02])).verdict).toBe("inconclusive");
  });

  it("within: holds inside, fails entirely outside on either side, inconclusive across an edge", () => {
    expect(judge(within(-0.02, 0.02), iv([0.001, -0.002, 0.0]))).toMatchObject({ verdict: "holds" });
    expect(judge(within(-0.02, 0.02), iv([0.05, 0.06, 0.055])).verdict).toBe("does not hold");
    expect(judge(within(-0.02, 0.02), iv([-0.05, -0.06, -0.055])).verdict).toBe("does not hold");
    expect(judge(within(-0.02, 0.02), iv([0.0, 0.04, 0.02])).verdict).toBe("inconclusive");
    expect(() => within(1, 1)).toThrow(/below/);
  });

  it("is inconclusive on one seed (no interval) or on no finite value", () => {
    expect(judge(atLeast(0), iv([5])).verdict).toBe("inconclusive");
    expect(judge(atLeast(0), iv([Number.NaN])).verdict).toBe("inconclusive");
    // Identical values have a zero-width interval: a verdict without doubt.
    expect(judge(atLeast(0), iv([1, 1, 1])).verdict).toBe("holds");
  });
});

describe("combine", () => {
  const check = (id: string, threshold: number): Check => ({ id, metric: id, description: id, rule: atLeast(threshold) });
  const part = (id: string, verdict: Judgement["verdict"], margin: number, threshold = 1) => ({ check: check(id, threshold), verdict, margin });

  it("holds only when every part holds, reporting the first declared part", () => {
    const r = combine([part("a", "holds", 0.5, 1), part("b", "holds", 0.05, 0.1), part("c", "holds", 2, 10)]);
    expect(r.verdict).toBe("holds");
    expect(r.deciding.check.id).toBe("a");
  });

  it("does not hold when any part does not, even beside inconclusive ones", () => {
    const r = combine([part("a", "inconclusive", 0), part("b", "does not hold", -1), part("c", "holds", 1)]);
    expect(r).toMatchObject({ verdict: "does not hold", deciding: { check: { id: "b" } } });
  });

  it("is inconclusive when nothing fails but something is open", () => {
    expect(combine([part("a", "holds", 1), part("b", "inconclusive", 0)])).toMatchObject({ verdict: "inconclusive", deciding: { check: { id: "b" } } });
    expect(() => combine([])).toThrow();
  });
});
