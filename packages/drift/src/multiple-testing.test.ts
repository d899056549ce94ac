import { describe, expect, it } from "vitest";
import { adjustPValues, bonferroniAdjust, holmAdjust } from "./multiple-testing";

describe("multiple-testing corrections", () => {
  it("Holm: sorted p times (m - rank), made monotone", () => {
    // Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max so far 0.06.
    const adjusted = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((v, i) => expect(adjusted[i]).toBeCloseTo(v, 12));
  });

  it("Bonferroni multiplies by m and caps at 1", () => {
    expect([...bonferroniAdjust([0.01, 0.3])]).toEqual([0.02, 0.6]);
    expect([...bonferroniAdjust([0.7, 0.2])]).toEqual([1, 0.4]);
  });

  it("Holm rejects everything Bonferroni does, and sometimes more", () => {
    const p = [0.011, 0.012, 0.013, 0.9];
    const alpha = 0.05;
    const holm = adjustPValues(p, "holm").filter((q) => q < alpha).length;
    const bonferroni = adjustPValues(p, "bonferroni").filter((q) => q < alpha).length;
    expect(bonferroni).toBe(2);
    expect(holm).toBe(3);
  });

  it("rejects p-values outside [0, 1] and unknown methods", () => {
    expect(() => adjustPValues([0.5, 1.2], "holm")).toThrow(/pValues\[1\]/);
    expect(() => adjustPValues([0.5], "sidak" as never)).toThrow(/correction/);
  });
});
