import { describe, expect, it } from "vitest";
import { Dataset } from "./dataset";
import { GbdtInputError } from "./errors";
import { meanNdcg } from "./eval-metrics";
import { rankingData } from "./test-fixtures";
import { train } from "./train";

describe("base margin", () => {
  // rankingData grades by e + x1 (+ noise), with column 0 = query offset + e and column 1 = x1.
  // The trees see column 0 (and noise columns) but not x1; x1 comes in only as the prior.
  const withoutX1 = (rows: number[][]) => rows.map((r) => [r[0] as number, r[2] as number, r[3] as number]);
  const fit = rankingData(150, 30, 31);
  const test = rankingData(100, 30, 32);
  const prior = (rows: number[][]) => rows.map((r) => 2 * (r[1] as number));
  const data = Dataset.fromRows(withoutX1(fit.rows), { labels: fit.labels, groups: fit.groups, baseMargin: prior(fit.rows) });
  const testData = Dataset.fromRows(withoutX1(test.rows), { labels: test.labels, groups: test.groups, reference: data });
  const groups = testData.groupOffsets as Int32Array;
  const params = { objective: "lambdarank", numRounds: 60, maxDepth: 3, learningRate: 0.2 } as const;

  it("boosts a correction to the prior: prior + trees ranks better than either alone", () => {
    const result = train(data, params);
    expect(result.model.baseScore).toBe(0);
    const testPrior = prior(test.rows);
    const trees = withoutX1(test.rows).map((r) => result.model.predictRaw(r));
    const combined = meanNdcg(trees.map((t, i) => t + (testPrior[i] as number)), test.labels, groups, 10);
    const priorOnly = meanNdcg(testPrior, test.labels, groups, 10);
    const plain = train(Dataset.fromRows(withoutX1(fit.rows), { labels: fit.labels, groups: fit.groups }), params).model;
    const treesOnly = meanNdcg(withoutX1(test.rows).map((r) => plain.predictRaw(r)), test.labels, groups, 10);
    expect(combined).toBeGreaterThan(priorOnly + 0.05);
    expect(combined).toBeGreaterThan(treesOnly + 0.05);
  });

  it("starts from the base margin: a regression prior equal to the labels leaves nothing to learn", () => {
    const rows = Array.from({ length: 40 }, (_, i) => [i % 7, i % 3]);
    const labels = rows.map((_, i) => Math.sin(i));
    const result = train(Dataset.fromRows(rows, { labels, baseMargin: labels }), { objective: "regression", numRounds: 5 });
    for (const r of rows) expect(result.model.predictRaw(r)).toBeCloseTo(0, 12);
  });

  it("scores validation from its own base margin, so early stopping judges prior + trees", () => {
    const valid = Dataset.fromRows(withoutX1(test.rows), { labels: test.labels, groups: test.groups, baseMargin: prior(test.rows), reference: data });
    const result = train(data, { ...params, numRounds: 5 }, { validation: valid });
    const testPrior = prior(test.rows);
    const combined = withoutX1(test.rows).map((r, i) => result.model.predictRaw(r) + (testPrior[i] as number));
    expect(result.history.at(-1)?.value).toBeCloseTo(meanNdcg(combined, test.labels, groups, 10), 12);
  });

  it("rejects a base margin of the wrong length or with non-finite values, and a validation set without one", () => {
    expect(() => Dataset.fromRows([[1], [2]], { labels: [0, 1], baseMargin: [0] })).toThrow(GbdtInputError);
    expect(() => Dataset.fromRows([[1], [2]], { labels: [0, 1], baseMargin: [0, Number.NaN] })).toThrow(/baseMargin\[1\]/);
    expect(() => train(data, params, { validation: testData })).toThrow(/base margin/);
  });
});
