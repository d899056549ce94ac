import { describe, expect, it } from "vitest";
import { Rng } from "@mlsd/random";
import { Dataset } from "./dataset";
import { GbdtInputError } from "./errors";
import { GbdtModel } from "./model";
import { Predictor } from "./predictor";
import { imbalancedData, rankingData } from "./test-fixtures";
import { train } from "./train";

describe("Predictor (flattened trees)", () => {
  const { rows, labels } = imbalancedData(3000, 41);
  const model = train(Dataset.fromRows(rows, { labels }), { objective: "binary", numRounds: 25, maxDepth: 5, maxLeaves: 20 }).model;
  const predictor = new Predictor(model);
  const rng = new Rng(5);
  const probes = Array.from({ length: 500 }, () => [rng.normal(0, 2), rng.bernoulli(0.2) ? NaN : rng.normal(), rng.bernoulli(0.5) ? NaN : rng.normal(), rng.normal()]);

  it("equals the tree walk exactly, for training rows, new rows and missing values", () => {
    for (const row of [...rows.slice(0, 500), ...probes]) {
      expect(predictor.predictRowRaw(row)).toBe(model.predictRaw(row));
      expect(predictor.predictRow(Float64Array.from(row))).toBe(model.predict(row));
    }
  });

  it("predicts batches of rows and dense matrices like single rows", () => {
    const matrix = { data: Float64Array.from(probes.flat()), numRows: probes.length, numColumns: 4 };
    const fromMatrix = predictor.predictBatch(matrix);
    const fromRows = predictor.predictBatch(probes);
    const raw = predictor.predictBatchRaw(matrix, new Float64Array(probes.length));
    probes.forEach((row, i) => {
      expect(fromMatrix[i]).toBe(predictor.predictRow(row));
      expect(fromRows[i]).toBe(predictor.predictRow(row));
      expect(raw[i]).toBe(predictor.predictRowRaw(row));
    });
  });

  it("returns raw scores for ranking models and handles single-leaf trees", () => {
    const r = rankingData(20, 10, 3);
    const ranker = train(Dataset.fromRows(r.rows, { labels: r.labels, groups: r.groups }), { objective: "lambdarank", numRounds: 5 }).model;
    const p = new Predictor(ranker);
    for (const row of r.rows.slice(0, 50)) expect(p.predictRow(row)).toBe(ranker.predictRaw(row));
    const constant = GbdtModel.fromJSON({
      ...ranker.toJSON(),
      baseScore: 0.25,
      trees: [{ left: [-1], right: [-1], feature: [-1], threshold: [0], defaultLeft: [false], value: [0.5], gain: [0], cover: [1], count: [1] }],
    });
    expect(new Predictor(constant).predictRowRaw([1, 2, 3, 4])).toBe(0.75);
  });

  it("walks trees whose node ids are in any parent-before-child order, and single-leaf trees in a group", () => {
    // Depth-first ids (children not adjacent) as another tool might write them.
    const depthFirst = {
      left: [1, 2, -1, -1, 5, -1, -1],
      right: [4, 3, -1, -1, 6, -1, -1],
      feature: [0, 1, -1, -1, 2, -1, -1],
      threshold: [0, 1, 0, 0, -1, 0, 0],
      defaultLeft: [true, false, false, false, false, false, false],
      value: [0, 0, 1, 2, 0, 3, 4],
      gain: [1, 1, 0, 0, 1, 0, 0],
      cover: [4, 2, 1, 1, 2, 1, 1],
      count: [4, 2, 1, 1, 2, 1, 1],
    };
    const leaf = (value: number) => ({ left: [-1], right: [-1], feature: [-1], threshold: [0], defaultLeft: [false], value: [value], gain: [0], cover: [1], count: [1] });
    const handmade = GbdtModel.fromJSON({
      ...model.toJSON(),
      baseScore: 0,
      trees: [depthFirst, leaf(10), depthFirst, leaf(100), depthFirst],
    });
    const p = new Predictor(handmade);
    const cases: Array<[number[], number]> = [
      [[-1, 0, 0, 0], 1],
      [[-1, 5, 0, 0], 2],
      [[NaN, NaN, 0, 0], 2],
      [[1, 0, -2, 0], 3],
      [[1, 0, 0, 0], 4],
      [[1, 0, NaN, 0], 4],
    ];
    for (const [row, perTree] of cases) {
      expect(handmade.predictRaw(row)).toBe(3 * perTree + 110);
      expect(p.predictRowRaw(row)).toBe(3 * perTree + 110);
    }
  });

  it("rejects rows of the wrong width", () => {
    expect(() => predictor.predictRow([1, 2, 3])).toThrow(GbdtInputError);
    expect(() => predictor.predictBatch({ data: new Float64Array(6), numRows: 2, numColumns: 3 })).toThrow(GbdtInputError);
  });
});
