import { describe, expect, it } from "vitest";
import { meanInterval, median, tQuantile975 } from "./stats";

describe("meanInterval", () => {
  it("gives the mean and a Student-t 95 % interval", () => {
    const r = meanInterval([1, 2, 3]);
    expect(r.mean).toBe(2);
    expect(r.sd).toBe(1);
    // t(0.975, 2) = 4.303, sd / sqrt(3)
    expect(r.hi - r.mean).toBeCloseTo(4.303 / Math.sqrt(3), 6);
    expect(r.lo).toBeCloseTo(2 - 4.303 / Math.sqrt(3), 6);
  });

  it("ignores non-finite values and has no interval below two values", () => {
    expect(meanInterval([2, Number.NaN])).toMatchObject({ n: 1, mean: 2, lo: -Infinity, hi: Infinity });
    expect(meanInterval([])).toMatchObject({ n: 0, lo: -Infinity, hi: Infinity });
  });

  it("uses tabulated quantiles and a corrected normal beyond 30 degrees of freedom", () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(30)).toBe(2.042);
    expect(tQuantile975(60)).toBeCloseTo(2.0003, 3);
    expect(tQuantile975(120)).toBeCloseTo(1.9799, 3);
    expect(() => tQuantile975(0)).toThrow();
  });

  it("takes medians of odd and even lists", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});
