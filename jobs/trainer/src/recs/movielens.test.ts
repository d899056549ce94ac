import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadMovieLens } from "@mlsd/datasets";
import { interactionsOf, stratifiedSplit, type Recommender, type UserItemMatrix } from "@mlsd/rec-eval";
import { validateTrainingData } from "@mlsd/two-tower";
import { afterAll, describe, expect, it } from "vitest";
import { ageBucket, fitOnce, movieLensTrainingData, movieLensUserTable } from "./movielens";
import { writeTinyMovieLens } from "./movielens-fixture";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ml-tiny-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("MovieLens as two-tower training data", () => {
  it("buckets ages as the 1M release does", () => {
    expect([0, 17, 18, 24, 25, 34, 35, 44, 45, 49, 50, 55, 56, 90].map(ageBucket)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
  });

  it("trains on the training half only, in time order, with genres, demographics and histories", async () => {
    writeTinyMovieLens(dir);
    const dataset = await loadMovieLens(dir);
    const split = stratifiedSplit(interactionsOf(dataset), { trainRatio: 0.75, seed: 42 });
    const data = movieLensTrainingData(dataset, split.train);
    expect(() => validateTrainingData(data)).not.toThrow();
    expect(data.interactions.user.length).toBe(split.train.nnz);
    for (let r = 0; r < data.interactions.user.length; r++) expect(split.train.has(data.interactions.user[r]!, data.interactions.item[r]!)).toBe(true);
    for (let r = 1; r < data.interactions.time.length; r++) expect(data.interactions.time[r]).toBeGreaterThanOrEqual(data.interactions.time[r - 1]!);
    // Movie index m (id m + 1) has genre 1 + m % 3, which is both its category and its only tag.
    const genres = dataset.items.genreNames.length;
    expect(data.itemFeatures.category[4]).toBe(1 + (4 % 3));
    expect(Array.from(data.itemFeatures.tags.subarray(4 * genres, 5 * genres)).reduce((a, b) => a + b, 0)).toBe(1);
    expect(data.itemFeatures.freshness[3]).toBe(1973 - 1900);
    // Movie 10 has no release date: the mean year stands in.
    expect(data.itemFeatures.freshness[9]).toBeGreaterThan(70);
    expect(data.itemFeatures.quality[0]).toBeCloseTo(Math.log1p(split.train.itemCounts()[0]!), 6);
    // User index 1 (id 2): age 23 -> bucket 1, female, "student" (index 1 of engineer, student, writer).
    expect(Array.from(data.userFeatures.categorical.subarray(3, 6))).toEqual([1, 1, 1]);
    const table = movieLensUserTable(data);
    expect(table.known.every((k) => k === 1)).toBe(true);
    const u = 5;
    const rows = Array.from(data.interactions.user.keys()).filter((r) => data.interactions.user[r] === u);
    expect(table.history[u * table.historyLength]).toBe(data.interactions.item[rows.at(-1)!]);
  });
});

describe("fitOnce", () => {
  it("fits the wrapped model once per training matrix, so two rows can share a fit", async () => {
    let fits = 0;
    const model: Recommender = { name: "counted", fit: () => void fits++, scoreAll: () => new Float32Array(1) };
    const shared = fitOnce(model);
    const a = {} as UserItemMatrix;
    await shared.fit(a);
    await shared.fit(a);
    expect(fits).toBe(1);
    await shared.fit({} as UserItemMatrix);
    expect(fits).toBe(2);
    expect(shared.name).toBe("counted");
  });
});
