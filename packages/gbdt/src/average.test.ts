import { describe, expect, it } from "vitest";
import { Dataset } from "./dataset";
import { GbdtInputError } from "./errors";
import { averageModels, GbdtModel } from "./model";
import { Predictor } from "./predictor";
import { imbalancedData } from "./test-fixtures";
import { train } from "./train";

const { rows, labels } = imbalancedData(1500, 5);
const names = ["amount", "velocity", "age", "noise"];
const fit = (seed: number, objective: "binary" | "regression" = "binary") =>
  train(Dataset.fromRows(rows, { labels, featureNames: names }), { objective, numRounds: 8, maxDepth: 3, subsample: 0.7, seed }).model;

describe("averageModels (a bag served as one model)", () => {
  const bag = [fit(1), fit(2), fit(3)];
  const averaged = averageModels(bag);

  it("gives every row the mean of the models' raw margins, through the tree walk, the Predictor and a JSON round trip", () => {
    const reloaded = GbdtModel.fromJSON(JSON.parse(JSON.stringify(averaged.toJSON())));
    const predictor = new Predictor(reloaded);
    let worst = 0;
    for (let r = 0; r < 200; r++) {
      const row = rows[r] as number[];
      const mean = bag.reduce((s, m) => s + m.predictRaw(row), 0) / bag.length;
      expect(mean).not.toBe(bag[0]?.predictRaw(row)); // the bag's members differ (different subsamples)
      worst = Math.max(worst, Math.abs(averaged.predictRaw(row) - mean), Math.abs(predictor.predictRowRaw(row) - mean));
    }
    expect(worst).toBeLessThan(1e-9);
    expect(averaged.trees).toHaveLength(bag.reduce((s, m) => s + m.trees.length, 0));
    expect(averaged.params.bag).toBe(3);
    expect(averaged.bestIteration).toBeNull();
  });

  it("leaves the members untouched", () => {
    const before = fit(1);
    averageModels([before, fit(2)]);
    expect(Array.from(before.trees[0]?.value ?? [])).toEqual(Array.from(fit(1).trees[0]?.value ?? []));
  });

  it("refuses an empty bag and models that do not read the same features or objective, naming the field", () => {
    expect(() => averageModels([])).toThrow(GbdtInputError);
    const other = train(Dataset.fromRows(rows, { labels, featureNames: ["a", "b", "c", "d"] }), { objective: "binary", numRounds: 2 }).model;
    expect(() => averageModels([bag[0] as GbdtModel, other])).toThrow(/models\[1\]\.featureNames/);
    expect(() => averageModels([bag[0] as GbdtModel, fit(4, "regression")])).toThrow(/models\[1\]\.objective/);
  });
});
