import { describe, expect, it } from "vitest";
import { recallWhere, thresholdAtFpr } from "./operating-point";

describe("thresholdAtFpr", () => {
  it("flags at most the budgeted share of legitimate rows", () => {
    const labels = [...Array(100).fill(0), 1, 1];
    const scores = [...Array.from({ length: 100 }, (_, i) => i / 100), 0.995, 0.5];
    const t = thresholdAtFpr(labels, scores, 0.05);
    const flaggedLegit = scores.filter((s, i) => labels[i] === 0 && s >= t).length;
    expect(flaggedLegit).toBe(5);
    expect(recallWhere(scores, labels, t)).toBe(0.5);
    expect(() => thresholdAtFpr(labels, scores, 0)).toThrow();
  });

  it("gives NaN recall for an empty selection", () => {
    expect(recallWhere([0.5], [0], 0.1)).toBeNaN();
  });
});
