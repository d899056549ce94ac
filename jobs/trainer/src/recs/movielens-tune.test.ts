import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadMovieLens } from "@mlsd/datasets";
import { evaluate, Ials, interactionsOf, stratifiedSplit } from "@mlsd/rec-eval";
import { afterAll, describe, expect, it } from "vitest";
import { writeTinyMovieLens } from "./movielens-fixture";
import { DEFAULT_TUNE_GRID, tuneMovieLens, twoTowerSettingName } from "./movielens-tune";
import { matrixInteractions, MOVIELENS_TWO_STAGE } from "./two-stage";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recs-tune-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("the iALS stage of the validation search", () => {
  it("scores each setting on the inner split of the training half, never on the test half", async () => {
    writeTinyMovieLens(path.join(tmp, "ml"));
    const dataset = await loadMovieLens(path.join(tmp, "ml"));
    const settings = [
      { factors: 4, alpha: 5, lambda: 1, iterations: 3 },
      { factors: 4, alpha: 20, lambda: 10, iterations: 3 },
    ];
    const rows = await tuneMovieLens(dataset, 42, MOVIELENS_TWO_STAGE, { ...DEFAULT_TUNE_GRID, ials: settings }, () => undefined, ["ials"]);
    expect(rows.map((r) => [r.stage, r.setting, r.metric])).toEqual([
      ["ials", "iALS(d=4, alpha=5, lambda=1)", "NDCG@10"],
      ["ials", "iALS(d=4, alpha=20, lambda=10)", "NDCG@10"],
    ]);
    // The same numbers, recomputed on the inner split (seed + 100) of seed 42's training half.
    const outer = stratifiedSplit(interactionsOf(dataset), { trainRatio: 0.75, seed: 42 });
    const inner = stratifiedSplit(matrixInteractions(outer.train), { trainRatio: 0.75, seed: 142 });
    for (const [k, o] of settings.entries()) {
      const model = new Ials(o);
      model.fit(inner.train);
      const expected = (await evaluate(model, { protocol: "v", train: inner.train, test: inner.test }, { k: 10 })).ndcg;
      expect(rows[k]?.value).toBeCloseTo(expected, 12);
      expect(expected).toBeGreaterThan(0);
    }
  }, 120_000);
});

describe("the two-tower stage's settings", () => {
  it("names every field a grid entry sets, so rows with other embedding sizes are told apart", () => {
    expect(twoTowerSettingName({ batchSize: 512, learningRate: 0.001, idDim: 128, outputDim: 128 })).toBe("batch 512, learning rate 0.001, id dim 128, output dim 128");
    expect(twoTowerSettingName({ temperature: 0.05 })).toBe("temperature 0.05");
    expect(twoTowerSettingName({ idDim: 128, histories: { kind: "sampled", length: 50 } })).toBe("id dim 128, sampled histories of 50");
    expect(twoTowerSettingName({ histories: { kind: "time", length: 20 } })).toBe("point-in-time histories of 20");
    const names = DEFAULT_TUNE_GRID.twoTower.map(twoTowerSettingName);
    expect(new Set(names).size).toBe(names.length);
    // Each entry sets its dims and histories, so its row does not move when the shipped ones change.
    for (const t of DEFAULT_TUNE_GRID.twoTower) expect([t.idDim, t.outputDim, t.histories?.length].every((d) => typeof d === "number")).toBe(true);
  });
});
