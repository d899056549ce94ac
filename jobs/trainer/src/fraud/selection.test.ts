import { Predictor } from "@mlsd/gbdt";
import { fraudLabelInputs, fraudTransactionInputs, selectFeatureRows as selectRows } from "@mlsd/feature-store";
import { createFraudWorld, simulateTransactions } from "@mlsd/synth";
import { describe, expect, it } from "vitest";
import { buildFeatures } from "./data";
import { rankingMetrics } from "./evaluate";
import { dayStarts, foldRows, resolveProtocol, testFolds, validationFolds } from "./protocol";
import { expandGrid, fitFold, foldTrainingSet, prequentialSearch, scoreRows, truncateModel, type FraudData } from "./selection";

function smallWorld(): FraudData {
  const table = simulateTransactions(createFraudWorld({ customers: 400, terminals: 800, days: 45, seed: 5 }));
  const txs = fraudTransactionInputs(table);
  return { table, matrix: buildFeatures(txs, fraudLabelInputs(table, txs), true) };
}

describe("expandGrid", () => {
  it("lists every combination, simpler models first, trees ascending", () => {
    const grid = expandGrid({ maxDepth: [3, 6], learningRate: [0.1], numRounds: [50, 10], positiveWeight: [1, "sqrt-balance"] });
    expect(grid.map((c) => [c.id, c.params.maxDepth, c.params.positiveWeight, c.params.numRounds])).toEqual([
      [0, 3, 1, 10],
      [1, 3, 1, 50],
      [2, 3, "sqrt-balance", 10],
      [3, 3, "sqrt-balance", 50],
      [4, 6, 1, 10],
      [5, 6, 1, 50],
      [6, 6, "sqrt-balance", 10],
      [7, 6, "sqrt-balance", 50],
    ]);
    expect(() => expandGrid({ maxDepth: [], learningRate: [0.1], numRounds: [1], positiveWeight: [1] })).toThrow(/maxDepth needs at least one value/);
  });
});

describe("prequential selection", () => {
  const data = smallWorld();
  const days = (data.table.timeDays[data.table.length - 1] as number) + 1;
  const spec = resolveProtocol({ folds: 2 }, { originEpochSeconds: data.table.originEpochSeconds, days });
  const starts = dayStarts(data.table);
  const folds = validationFolds(spec).map((w) => foldRows(data.table, w, spec.knownCompromised, starts));

  it("bins a fold's training rows with edges placed by its labels when the data asks for them", () => {
    const amount = data.matrix.names.indexOf("TX_AMOUNT");
    const binned = (labelEdges: number | undefined) => foldTrainingSet({ ...data, labelEdges }, folds[0]!).dataset;
    const quantiles = binned(undefined);
    expect(Array.from(binned(0).binMapper.edges[amount]!)).toEqual(Array.from(quantiles.binMapper.edges[amount]!));
    // The labels' squared error left inside the amount's bins (sum over bins of S - S^2 / N for
    // 0/1 labels): what no split of this feature can remove. Edges placed by the labels shrink it.
    const withinBins = (d: typeof quantiles) => {
      const sums = new Map<number, [number, number]>();
      for (let r = 0; r < d.numRows; r++) {
        const b = d.bins[amount * d.numRows + r] as number;
        const [s, n] = sums.get(b) ?? [0, 0];
        sums.set(b, [s + (d.labels![r] as number), n + 1]);
      }
      return [...sums.values()].reduce((e, [s, n]) => e + s - (s * s) / n, 0);
    };
    const byLabel = binned(16);
    expect(byLabel.binMapper.edges[amount]!.length).toBe(quantiles.binMapper.edges[amount]!.length);
    expect(withinBins(byLabel)).toBeLessThan(withinBins(quantiles));
    // The world marks every amount above 220 as fraud (the handbook's first scenario): the labels
    // put an edge there, where the quantiles' nearest edge was 10 away.
    const nearest220 = (d: typeof quantiles) => Math.min(...Array.from(d.binMapper.edges[amount]!, (e) => Math.abs(e - 220)));
    expect(nearest220(byLabel)).toBeLessThan(1);
    expect(nearest220(quantiles)).toBeGreaterThan(5);
  });

  it("the first n trees of a longer model are the n-round model", () => {
    const fold = folds[0]!;
    const long = fitFold(data, fold, { maxDepth: 3, learningRate: 0.1, numRounds: 12, positiveWeight: 1 });
    const short = fitFold(data, fold, { maxDepth: 3, learningRate: 0.1, numRounds: 5, positiveWeight: 1 });
    const rows = selectRows(data.matrix, fold.assess);
    expect(Array.from(new Predictor(truncateModel(long.model, 5)).predictBatch(rows))).toEqual(Array.from(new Predictor(short.model).predictBatch(rows)));
    expect(truncateModel(long.model, 99)).toBe(long.model);
  });

  it("scores every candidate on every validation fold, picks the best mean of the chosen metric, and never reads the test window", () => {
    const grid = expandGrid({ maxDepth: [2, 4], learningRate: [0.3], numRounds: [3, 15], positiveWeight: [1] });
    const result = prequentialSearch(data, folds, grid, "auc", { quiet: true });
    expect(result.results.map((r) => r.perFold.length)).toEqual([2, 2, 2, 2]);
    const bestMean = Math.max(...result.results.map((r) => r.mean.auc));
    expect(result.best.mean.auc).toBe(bestMean);
    for (const r of result.results) expect(r.mean.auc).toBeCloseTo((r.perFold[0]!.auc + r.perFold[1]!.auc) / 2, 12);
    // Each fold's metrics are the chosen candidate's scores on that fold's assessed rows, nothing else.
    result.bestScores.forEach((scores, k) => {
      expect(scores.length).toBe(folds[k]!.assess.length);
      expect(rankingMetrics(data.table, folds[k]!.assess, scores)).toEqual(result.best.perFold[k]);
    });
    const testStart = testFolds(spec)[0]!.assess.from;
    for (const f of folds) expect(f.windows.assess.to).toBeLessThanOrEqual(testStart - spec.delayDays);
    // A refit of the chosen candidate reproduces its fold-0 scores exactly (training is seeded).
    const refit = fitFold(data, folds[0]!, result.best.candidate.params);
    expect(Array.from(scoreRows(refit.model, data.matrix, folds[0]!.assess))).toEqual(Array.from(result.bestScores[0]!));
  });
});
