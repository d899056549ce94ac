import { describe, expect, it } from "vitest";
import { Dataset } from "./dataset";
import { GbdtInputError } from "./errors";
import { meanNdcg } from "./eval-metrics";
import { createObjective } from "./objectives";
import { resolveParams } from "./params";
import type { GbdtModel } from "./model";
import { rankingData } from "./test-fixtures";
import { train } from "./train";

function ndcgAt10(model: GbdtModel, rows: number[][], labels: number[], groups: Int32Array): number {
  return meanNdcg(
    rows.map((r) => model.predictRaw(r)),
    labels,
    groups,
    10,
  );
}

describe("lambdarank", () => {
  const fit = rankingData(150, 30, 21);
  const test = rankingData(100, 30, 22);
  const data = Dataset.fromRows(fit.rows, { labels: fit.labels, groups: fit.groups });
  const testGroups = Dataset.fromRows(test.rows, { labels: test.labels, groups: test.groups, reference: data }).groupOffsets as Int32Array;
  const common = { numRounds: 60, maxDepth: 3, learningRate: 0.2 } as const;

  it("beats a pointwise model on NDCG@10 when queries carry offsets that do not order items", () => {
    const ranker = train(data, { objective: "lambdarank", ...common }).model;
    const pointwise = train(data, { objective: "regression", ...common }).model;
    const rankerNdcg = ndcgAt10(ranker, test.rows, test.labels, testGroups);
    const pointwiseNdcg = ndcgAt10(pointwise, test.rows, test.labels, testGroups);
    // Measured: 0.858 vs 0.697; ranking by x1 alone gives 0.667.
    expect(rankerNdcg).toBeGreaterThan(pointwiseNdcg + 0.1);
    expect(rankerNdcg).toBeGreaterThan(0.82);
  });

  it("early-stops on validation NDCG@k", () => {
    const valid = Dataset.fromRows(test.rows, { labels: test.labels, groups: test.groups, reference: data });
    const result = train(data, { objective: "lambdarank", ...common, numRounds: 400, learningRate: 0.3, earlyStoppingRounds: 15 }, { validation: valid });
    expect(result.history[0]?.metric).toBe("ndcg");
    expect(result.history.length).toBe(result.bestIteration + 16);
    expect(result.bestScore).toBe(Math.max(...result.history.map((h) => h.value)));
    expect(result.bestScore).toBeCloseTo(ndcgAt10(result.model, test.rows, test.labels, testGroups), 12);
  });

  it("pushes the more relevant item up and leaves all-equal queries alone", () => {
    const rows = [[1], [2], [3], [4], [5], [6]];
    const data = Dataset.fromRows(rows, { labels: [0, 0, 0, 2, 1, 0], groups: [3, 3] });
    const objective = createObjective(resolveParams({ objective: "lambdarank" }), data);
    const grad = new Float64Array(6);
    const hess = new Float64Array(6);
    objective.computeGradients(new Float64Array(6), grad, hess);
    expect(Array.from(grad.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(hess.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(grad[3]).toBeLessThan(0);
    expect(grad[5]).toBeGreaterThan(0);
    expect((grad[3] as number) + (grad[4] as number) + (grad[5] as number)).toBeCloseTo(0, 15);
    // Pair (3,5) at equal scores: rho = 1/2, |dNDCG| = (2^2 - 1) * (1 - 1/log2(4)) / idcg.
    const idcg = 3 + 1 / Math.log2(3);
    const pair35 = (0.5 * 3 * (1 - 0.5)) / idcg;
    const pair34 = (0.5 * 2 * (1 - 1 / Math.log2(3))) / idcg;
    expect(grad[3]).toBeCloseTo(-(pair35 + pair34), 12);
    expect(objective.baseScore).toBe(0);
  });

  it("rejects missing groups and non-integer grades", () => {
    const rows = [[1], [2], [3]];
    const codes = (fn: () => unknown): [string, string] => {
      try {
        fn();
      } catch (e) {
        if (e instanceof GbdtInputError) return [e.code, e.field];
        throw e;
      }
      throw new Error("expected a GbdtInputError");
    };
    expect(codes(() => train(Dataset.fromRows(rows, { labels: [0, 1, 2] }), { objective: "lambdarank" }))).toEqual(["bad_groups", "groups"]);
    expect(codes(() => train(Dataset.fromRows(rows, { labels: [0, 1.5, 2], groups: [3] }), { objective: "lambdarank" }))).toEqual([
      "bad_label",
      "labels[1]",
    ]);
    expect(codes(() => train(Dataset.fromRows(rows, { labels: [0, 1, 2] }), { objective: "pairwise" }))).toEqual(["bad_groups", "groups"]);
  });

  it("computes LambdaMART gradients equal to the pairwise definition, on groups of every size", () => {
    const sizes = [1, 2, 7, 40, 90];
    const labels: number[] = [];
    const margins: number[] = [];
    let seed = 3;
    const next = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    for (const size of sizes) for (let i = 0; i < size; i++) {
      labels.push(Math.floor(next() * 4));
      margins.push(Math.round(next() * 8) / 2 - 2); // ties on purpose
    }
    const data = Dataset.fromRows(labels.map((_, i) => [i]), { labels, groups: sizes });
    const params = resolveParams({ objective: "lambdarank", lambdarankTruncation: 10 });
    const n = labels.length;
    const grad = new Float64Array(n);
    const hess = new Float64Array(n);
    createObjective(params, data).computeGradients(Float64Array.from(margins), grad, hess);

    const refGrad = new Float64Array(n);
    const refHess = new Float64Array(n);
    let start = 0;
    for (const size of sizes) {
      const rows = Array.from({ length: size }, (_, k) => start + k);
      const ranked = [...rows].sort((a, b) => (margins[b] as number) - (margins[a] as number) || a - b);
      const gain = (r: number): number => 2 ** (labels[r] as number) - 1;
      const ideal = rows.map(gain).sort((a, b) => b - a);
      const idcg = ideal.slice(0, 10).reduce((sum, g, p) => sum + g / Math.log2(p + 2), 0);
      for (let p = 0; p < Math.min(size, 10) && idcg > 0; p++) {
        for (let q = p + 1; q < size; q++) {
          const i = ranked[p] as number;
          const j = ranked[q] as number;
          if (labels[i] === labels[j]) continue;
          const [hi, lo] = (labels[i] as number) > (labels[j] as number) ? [i, j] : [j, i];
          const delta = (Math.abs(gain(i) - gain(j)) * (1 / Math.log2(p + 2) - 1 / Math.log2(q + 2))) / idcg;
          const rho = 1 / (1 + Math.exp((margins[hi] as number) - (margins[lo] as number)));
          refGrad[hi] = (refGrad[hi] as number) - rho * delta;
          refGrad[lo] = (refGrad[lo] as number) + rho * delta;
          refHess[hi] = (refHess[hi] as number) + rho * (1 - rho) * delta;
          refHess[lo] = (refHess[lo] as number) + rho * (1 - rho) * delta;
        }
      }
      start += size;
    }
    for (let r = 0; r < n; r++) {
      expect(grad[r]).toBeCloseTo(refGrad[r] as number, 12);
      expect(hess[r]).toBeCloseTo(refHess[r] as number, 12);
    }
    expect(refGrad.some((g) => g !== 0)).toBe(true);
  });
});

describe("pairwise (RankNet) and weighted pairs", () => {
  const gradients = (objective: "lambdarank" | "pairwise", labels: number[], groups: number[], margins: number[], weights?: number[]) => {
    const data = Dataset.fromRows(labels.map((_, i) => [i]), { labels, groups, ...(weights ? { weights } : {}) });
    const grad = new Float64Array(labels.length);
    const hess = new Float64Array(labels.length);
    createObjective(resolveParams({ objective }), data).computeGradients(Float64Array.from(margins), grad, hess);
    return { grad, hess };
  };

  it("gives every mis-ordered pair the plain logistic gradient, wherever it sits", () => {
    // One group: labels 1, 0, 0, 1 at margins 2, 1, 0, -1. Pairs (0,1), (0,2), (3,1), (3,2).
    const margins = [2, 1, 0, -1];
    const { grad, hess } = gradients("pairwise", [1, 0, 0, 1], [4], margins);
    const rho = (hi: number, lo: number) => 1 / (1 + Math.exp((margins[hi] as number) - (margins[lo] as number)));
    expect(grad[0]).toBeCloseTo(-(rho(0, 1) + rho(0, 2)), 12);
    expect(grad[3]).toBeCloseTo(-(rho(3, 1) + rho(3, 2)), 12);
    expect(grad[1]).toBeCloseTo(rho(0, 1) + rho(3, 1), 12);
    expect(hess[2]).toBeCloseTo(rho(0, 2) * (1 - rho(0, 2)) + rho(3, 2) * (1 - rho(3, 2)), 12);
    // LambdaRank weighs the same pairs by their NDCG change: the pair deep in the list counts less.
    const lambda = gradients("lambdarank", [1, 0, 0, 1], [4], margins);
    expect(Math.abs(lambda.grad[3] as number)).toBeLessThan(Math.abs(grad[3] as number));
  });

  it("weighs each pair by the weight of its more relevant row", () => {
    const labels = [1, 0, 0, 1, 0];
    const margins = [0.3, -0.2, 0.5, 0, 0.1];
    const weights = [4, 7, 7, 0.5, 7];
    for (const objective of ["pairwise", "lambdarank"] as const) {
      const plain = gradients(objective, labels, [3, 2], margins);
      const weighted = gradients(objective, labels, [3, 2], margins, weights);
      // Group 1: every pair has row 0 (weight 4) as its relevant row; group 2: row 3 (weight 0.5).
      for (const r of [0, 1, 2]) expect(weighted.grad[r]).toBeCloseTo(4 * (plain.grad[r] as number), 12);
      for (const r of [3, 4]) expect(weighted.hess[r]).toBeCloseTo(0.5 * (plain.hess[r] as number), 12);
    }
  });

  it("learns to rank the planted relevance, with validation NDCG to stop on", () => {
    const fit = rankingData(150, 30, 21);
    const test = rankingData(100, 30, 22);
    const data = Dataset.fromRows(fit.rows, { labels: fit.labels, groups: fit.groups });
    const valid = Dataset.fromRows(test.rows, { labels: test.labels, groups: test.groups, reference: data });
    const result = train(data, { objective: "pairwise", numRounds: 60, maxDepth: 3, learningRate: 0.2 }, { validation: valid });
    expect(result.history[0]?.metric).toBe("ndcg");
    const pointwise = train(data, { objective: "regression", numRounds: 60, maxDepth: 3, learningRate: 0.2 }).model;
    const groups = valid.groupOffsets as Int32Array;
    expect(ndcgAt10(result.model, test.rows, test.labels, groups)).toBeGreaterThan(ndcgAt10(pointwise, test.rows, test.labels, groups) + 0.05);
    expect(result.model.objective).toBe("pairwise");
  });
});
