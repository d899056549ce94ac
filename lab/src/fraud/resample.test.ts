import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { resampleToPrevalence, undersampleNegatives } from "./resample";

const labels = Array.from({ length: 10_000 }, (_, i) => (i % 100 === 0 ? 1 : 0)); // 1 %

describe("resampleToPrevalence", () => {
  it("drops positives to lower the prevalence and negatives to raise it", () => {
    const low = resampleToPrevalence(labels, 0.001, new Rng(1));
    const lowPos = low.filter((i) => labels[i] === 1).length;
    expect(lowPos).toBe(Math.round((0.001 / 0.999) * 9900));
    expect(low.length - lowPos).toBe(9900);
    const high = resampleToPrevalence(labels, 0.5, new Rng(1));
    expect(high.filter((i) => labels[i] === 1).length).toBe(100);
    expect(high.length).toBe(200);
    expect(() => resampleToPrevalence(labels, 1, new Rng(1))).toThrow();
  });
});

describe("undersampleNegatives", () => {
  it("keeps every positive and about the share of negatives asked", () => {
    const kept = undersampleNegatives(labels, 0.1, new Rng(2));
    expect(kept.filter((i) => labels[i] === 1).length).toBe(100);
    const negatives = kept.length - 100;
    expect(Math.abs(negatives - 990)).toBeLessThan(4 * Math.sqrt(990));
  });
});
