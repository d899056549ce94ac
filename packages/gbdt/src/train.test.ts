import { describe, expect, it } from "vitest";
import { Dataset } from "./dataset";
import { GbdtInputError } from "./errors";
import { rocAuc } from "@mlsd/ml-metrics";
import { logLoss } from "./eval-metrics";
import type { GbdtModel } from "./model";
import { sigmoid } from "./objectives";
import { imbalancedData, xorData } from "./test-fixtures";
import { numLeaves, treeDepth } from "./tree";
import { train } from "./train";

function margins(model: GbdtModel, rows: number[][]): Float64Array {
  return Float64Array.from(rows, (row) => model.predictRaw(row));
}

describe("train: binary log-loss", () => {
  const fit = xorData(3000, 1);
  const test = xorData(2000, 2);
  const data = Dataset.fromRows(fit.rows, { labels: fit.labels });

  it("learns an XOR interaction that no single feature shows", () => {
    const deep = train(data, { objective: "binary", numRounds: 30, maxDepth: 3 }).model;
    const stumps = train(data, { objective: "binary", numRounds: 30, maxDepth: 1 }).model;
    const labels = Float64Array.from(test.labels);
    const deepAuc = rocAuc(labels, margins(deep, test.rows));
    const stumpAuc = rocAuc(labels, margins(stumps, test.rows));
    // The Bayes AUC is 0.9 for labels flipped with probability 0.1.
    expect(deepAuc).toBeGreaterThan(0.86);
    expect(stumpAuc).toBeLessThan(0.6);
  });

  it("starts from the log-odds of the positive rate", () => {
    const rate = fit.labels.reduce((a, b) => a + b, 0) / fit.labels.length;
    const model = train(data, { objective: "binary", numRounds: 1 }).model;
    expect(model.baseScore).toBeCloseTo(Math.log(rate / (1 - rate)), 12);
  });

  it("respects maxDepth, and maxLeaves with best-first growth", () => {
    const byDepth = train(data, { objective: "binary", numRounds: 5, maxDepth: 3 }).model;
    for (const tree of byDepth.trees) expect(treeDepth(tree)).toBeLessThanOrEqual(3);
    expect(byDepth.trees.some((t) => numLeaves(t) === 8)).toBe(true);
    const byLeaves = train(data, { objective: "binary", numRounds: 5, maxDepth: 10, maxLeaves: 5 }).model;
    for (const tree of byLeaves.trees) expect(numLeaves(tree)).toBe(5);
    expect(byLeaves.trees.some((t) => treeDepth(t) > 2)).toBe(true);
  });

  it("stores leaf values whose binned routing matches raw-threshold prediction", () => {
    const valid = Dataset.fromRows(test.rows, { labels: test.labels, reference: data });
    const result = train(data, { objective: "binary", numRounds: 20, maxDepth: 4 }, { validation: valid });
    const last = result.history[result.history.length - 1];
    const fromRaw = logLoss(margins(result.model, test.rows), Float64Array.from(test.labels), undefined);
    expect(last?.value).toBeCloseTo(fromRaw, 12);
  });

  it("finds the exact best stump, as an exhaustive search over raw thresholds does", () => {
    const small = xorData(300, 9, 3);
    const rows = small.rows.map((r) => [Math.round((r[0] as number) * 10), Math.round((r[2] as number) * 10)]);
    const d = Dataset.fromRows(rows, { labels: small.labels });
    const model = train(d, { objective: "binary", numRounds: 1, maxDepth: 1, lambda: 1, minChildWeight: 0 }).model;
    const tree = model.trees[0];
    const p = sigmoid(model.baseScore);
    const g = small.labels.map((y) => p - y);
    const h = p * (1 - p);
    let best = 0;
    for (let f = 0; f < 2; f++) {
      const values = [...new Set(rows.map((r) => r[f] as number))].sort((a, b) => a - b);
      for (const t of values) {
        let lg = 0;
        let lc = 0;
        rows.forEach((r, i) => {
          if ((r[f] as number) <= t) {
            lg += g[i] as number;
            lc++;
          }
        });
        const G = g.reduce((a, b) => a + b, 0);
        const rc = rows.length - lc;
        if (lc === 0 || rc === 0) continue;
        const gain = (lg * lg) / (lc * h + 1) + ((G - lg) * (G - lg)) / (rc * h + 1) - (G * G) / (rows.length * h + 1);
        best = Math.max(best, gain);
      }
    }
    expect(tree?.gain[0]).toBeCloseTo(best, 9);
  });
});

describe("train: missing values", () => {
  it("learns which way missing values go from the data", () => {
    const { rows, labels } = imbalancedData(6000, 3);
    const data = Dataset.fromRows(rows, { labels });
    const model = train(data, { objective: "binary", numRounds: 40, maxDepth: 3 }).model;
    const missing = model.predict([0, 0, NaN, 0]);
    const present = model.predict([0, 0, 0, 0]);
    // logit -3 + 1.5 vs -3: 0.18 vs 0.047.
    expect(missing).toBeGreaterThan(0.12);
    expect(present).toBeLessThan(0.08);
    const splitsOnX2 = model.trees.flatMap((t) => Array.from(t.feature).flatMap((f, i) => (f === 2 ? [t.defaultLeft[i]] : [])));
    expect(splitsOnX2.length).toBeGreaterThan(0);
  });

  it("sends missing values the way the training rows with missing values went when the threshold is all-values-left", () => {
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 200; i++) {
      rows.push([i % 2 === 0 ? NaN : i]);
      labels.push(i % 2 === 0 ? 1 : 0);
    }
    const model = train(Dataset.fromRows(rows, { labels }), { objective: "binary", numRounds: 10, maxDepth: 1 }).model;
    expect(model.predict([NaN])).toBeGreaterThan(0.7);
    expect(model.predict([51])).toBeLessThan(0.3);
    expect(model.predict([1e9])).toBeLessThan(0.3);
  });
});

describe("train: weights", () => {
  const { rows, labels } = imbalancedData(4000, 4);
  const data = Dataset.fromRows(rows, { labels });
  const mean = (m: GbdtModel): number => rows.reduce((s, r) => s + m.predict(r), 0) / rows.length;

  it("shifts predictions up with scalePosWeight", () => {
    const plain = train(data, { objective: "binary", numRounds: 20, maxDepth: 3 }).model;
    const weighted = train(data, { objective: "binary", numRounds: 20, maxDepth: 3, scalePosWeight: 5 }).model;
    const rate = labels.reduce((a, b) => a + b, 0) / labels.length;
    expect(mean(plain)).toBeCloseTo(rate, 2);
    expect(mean(weighted)).toBeGreaterThan(2.5 * mean(plain));
  });

  it("treats per-row weights on positives like scalePosWeight", () => {
    const viaScale = train(data, { objective: "binary", numRounds: 5, maxDepth: 3, scalePosWeight: 3 }).model;
    const weighted = Dataset.fromRows(rows, { labels, weights: labels.map((y) => (y === 1 ? 3 : 1)) });
    const viaWeights = train(weighted, { objective: "binary", numRounds: 5, maxDepth: 3 }).model;
    expect(JSON.stringify(viaWeights.toJSON().trees)).toBe(JSON.stringify(viaScale.toJSON().trees));
  });
});

describe("train: early stopping and determinism", () => {
  it("stops when the validation metric stops improving and keeps the best round", () => {
    const fit = imbalancedData(1500, 5);
    const held = imbalancedData(1500, 6);
    const data = Dataset.fromRows(fit.rows, { labels: fit.labels });
    const valid = Dataset.fromRows(held.rows, { labels: held.labels, reference: data });
    const result = train(
      data,
      { objective: "binary", numRounds: 500, learningRate: 0.3, maxDepth: 6, minChildWeight: 0, earlyStoppingRounds: 10 },
      { validation: valid },
    );
    expect(result.history.length).toBeLessThan(500);
    expect(result.history.length).toBe(result.bestIteration + 11);
    expect(result.model.trees.length).toBe(result.bestIteration + 1);
    expect(result.model.bestIteration).toBe(result.bestIteration);
    const best = Math.min(...result.history.map((h) => h.value));
    expect(result.bestScore).toBe(best);
    expect(result.history[result.bestIteration]?.value).toBe(best);
  });

  it("early-stops on AUC when asked, maximising it", () => {
    const fit = imbalancedData(1500, 5);
    const held = imbalancedData(1500, 6);
    const data = Dataset.fromRows(fit.rows, { labels: fit.labels });
    const valid = Dataset.fromRows(held.rows, { labels: held.labels, reference: data });
    const result = train(
      data,
      { objective: "binary", numRounds: 300, learningRate: 0.3, evalMetric: "auc", earlyStoppingRounds: 5 },
      { validation: valid },
    );
    expect(result.bestScore).toBe(Math.max(...result.history.map((h) => h.value)));
    expect(result.history.length).toBe(result.bestIteration + 6);
  });

  it("is byte-identical for a seed with row and column subsampling, and differs across seeds", () => {
    const { rows, labels } = xorData(2000, 7, 8);
    const params = { objective: "binary", numRounds: 15, subsample: 0.7, colsampleByTree: 0.5, maxDepth: 4 } as const;
    const json = (seed: number): string => {
      const data = Dataset.fromRows(rows, { labels, binSampleSize: 1000, seed });
      return JSON.stringify(train(data, { ...params, seed }).model.toJSON());
    };
    expect(json(11)).toBe(json(11));
    expect(json(11)).not.toBe(json(12));
  });
});

describe("train: sampling", () => {
  const { rows, labels } = xorData(2000, 8, 8);
  const data = Dataset.fromRows(rows, { labels });

  it("grows each tree on about `subsample` of the rows", () => {
    const model = train(data, { objective: "binary", numRounds: 10, subsample: 0.5, seed: 3 }).model;
    for (const tree of model.trees) {
      expect(tree.count[0]).toBeGreaterThan(900);
      expect(tree.count[0]).toBeLessThan(1100);
    }
    expect(new Set(model.trees.map((t) => t.count[0])).size).toBeGreaterThan(5);
  });

  it("lets each tree split only on its `colsampleByTree` share of the features", () => {
    const model = train(data, { objective: "binary", numRounds: 20, colsampleByTree: 0.25, maxDepth: 4, seed: 3 }).model;
    const used = model.trees.map((t) => new Set(Array.from(t.feature).filter((f) => f >= 0)));
    for (const features of used) expect(features.size).toBeLessThanOrEqual(2);
    expect(new Set(used.flatMap((f) => [...f])).size).toBeGreaterThan(4);
  });
});

describe("train: squared error", () => {
  it("fits a smooth function far better than the mean", () => {
    const rows = Array.from({ length: 2000 }, (_, i) => [(i / 2000) * 6, (i * 7919) % 13]);
    const labels = rows.map((r) => Math.sin(r[0] as number) + 0.1 * (r[1] as number));
    const model = train(Dataset.fromRows(rows, { labels }), { objective: "regression", numRounds: 100, maxDepth: 4, learningRate: 0.2 }).model;
    const mean = labels.reduce((a, b) => a + b, 0) / labels.length;
    expect(model.baseScore).toBeCloseTo(mean, 12);
    const rmse = Math.sqrt(rows.reduce((s, r, i) => s + (model.predict(r) - (labels[i] as number)) ** 2, 0) / rows.length);
    expect(rmse).toBeLessThan(0.05);
  });
});

describe("train: input errors", () => {
  const rows = [[1], [2], [3], [4]];
  const err = (fn: () => unknown): GbdtInputError => {
    try {
      fn();
    } catch (e) {
      if (e instanceof GbdtInputError) return e;
      throw e;
    }
    throw new Error("expected a GbdtInputError");
  };

  it("rejects binary labels outside {0,1} and missing labels", () => {
    const e = err(() => train(Dataset.fromRows(rows, { labels: [0, 1, 2, 0] }), { objective: "binary" }));
    expect([e.code, e.field]).toEqual(["bad_label", "labels[2]"]);
    expect(err(() => train(Dataset.fromRows(rows), { objective: "binary" })).field).toBe("labels");
  });

  it("rejects bad parameters by name", () => {
    const data = Dataset.fromRows(rows, { labels: [0, 1, 0, 1] });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ objective: "poisson" }, "objective"],
      [{ objective: "binary", learningRate: 0 }, "learningRate"],
      [{ objective: "binary", maxDepth: 2.5 }, "maxDepth"],
      [{ objective: "binary", subsample: 1.5 }, "subsample"],
      [{ objective: "binary", lambda: -1 }, "lambda"],
      [{ objective: "binary", lambda: NaN }, "lambda"],
      [{ objective: "binary", evalMetric: "ndcg" }, "evalMetric"],
      [{ objective: "binary", earlyStoppingRounds: 5 }, "earlyStoppingRounds"],
    ];
    for (const [params, field] of cases) {
      const e = err(() => train(data, params as never));
      expect([e.code, e.field]).toEqual(["bad_param", field]);
    }
  });

  it("rejects early stopping on AUC with a single-class validation set", () => {
    const data = Dataset.fromRows(rows, { labels: [0, 1, 0, 1] });
    const negativesOnly = Dataset.fromRows(rows, { labels: [0, 0, 0, 0], reference: data });
    const e = err(() => train(data, { objective: "binary", evalMetric: "auc" }, { validation: negativesOnly }));
    expect([e.code, e.field]).toEqual(["bad_label", "validation.labels"]);
  });

  it("rejects a validation set binned without the training edges", () => {
    const data = Dataset.fromRows(rows, { labels: [0, 1, 0, 1] });
    const unaligned = Dataset.fromRows(rows, { labels: [0, 1, 0, 1] });
    expect(err(() => train(data, { objective: "binary" }, { validation: unaligned })).field).toBe("validation");
  });
});
