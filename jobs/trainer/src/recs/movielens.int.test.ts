import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadMovieLens } from "@mlsd/datasets";
import { ModelRegistry } from "@mlsd/model-registry";
import { interactionsOf, stratifiedSplit } from "@mlsd/rec-eval";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODEL_NAMES } from "./movielens-eval";
import { trainRecs, type TrainRecsResult } from "./pipeline";
import { buildHnswChoosingLift, trainingUserQueries } from "./retrieval-model";
import { MOVIELENS_TWO_STAGE, RatingSignals } from "./two-stage";

// The real MovieLens 100K beside the repository (its licence forbids copying it in): the whole
// pipeline end to end at a reduced size (32-dim retrieval, 60 ranker rounds, no two-tower). The
// ranker keeps the pipeline's 5 folds: it learns on signals fitted on (K-1)/K of the training
// ratings and ranks with signals fitted on all of them, and at 2 folds (half the ratings) the two
// are too unlike (NDCG@10 0.462 against retrieval's 0.480 on seed 42).
const ML100K_DIR = process.env.MOVIELENS_100K_DIR ?? fileURLToPath(new URL("../../../../../shared/datasets/ml-100k", import.meta.url));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recs-ml100k-"));
let result: TrainRecsResult;
beforeAll(async () => {
  result = await trainRecs({
    source: { kind: "movielens", dir: ML100K_DIR, seeds: [42], twoTower: false },
    twoStage: { retrievalDim: 32, folds: 5, ranker: { objective: "lambdarank", numRounds: 60, learningRate: 0.1, maxDepth: 5, minChildWeight: 0.01, evalMetric: "ndcg", ndcgAt: 10, earlyStoppingRounds: 20, seed: 7 } },
    registryDir: path.join(tmp, "registry"),
    reportDir: path.join(tmp, "reports"),
    quiet: true,
    log: () => undefined,
  });
}, 600_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("MovieLens 100K through the two-stage pipeline (reduced size)", () => {
  it("reproduces rec-eval's baselines and puts the two-stage pipeline far above popularity", () => {
    const run = result.movielens!.runs[0]!;
    const ndcg = Object.fromEntries(run.results.map((r) => [r.recommender, r.ndcg]));
    // rec-eval's README, seed 42: MostPop 0.2515, EASE 0.4855 (the same split and code).
    expect(ndcg[MODEL_NAMES.mostPop]).toBeCloseTo(0.2515, 4);
    expect(ndcg[MODEL_NAMES.ease]).toBeCloseTo(0.4855, 4);
    // iALS, the matrix-factorisation baseline: 0.4712 on this split when it was added, below EASE as published.
    expect(ndcg[MODEL_NAMES.ials]).toBeCloseTo(0.4712, 3);
    expect(ndcg[MODEL_NAMES.ials]).toBeLessThan(ndcg[MODEL_NAMES.ease]!);
    expect(ndcg[MODEL_NAMES.retrieval]).toBeGreaterThan(0.35);
    expect(ndcg[MODEL_NAMES.twoStage]).toBeGreaterThan(ndcg[MODEL_NAMES.itemKnn]! + 0.03);
    expect(ndcg[MODEL_NAMES.twoStage]).toBeGreaterThan(1.7 * ndcg[MODEL_NAMES.mostPop]!);
    // At this reduced size the ranker is not expected to beat its retrieval stage by a margin (the
    // full-size numbers are the trainer README's table): what this guards is that re-ranking keeps
    // what retrieval found.
    expect(ndcg[MODEL_NAMES.twoStage]).toBeGreaterThan(ndcg[MODEL_NAMES.retrieval]! - 0.01);
    const recall = Object.fromEntries(run.recallAt200.map((r) => [r.model, r.recall]));
    expect(recall[MODEL_NAMES.retrieval]).toBeGreaterThan(0.7);
    // HNSW finds what exact search over the same vectors finds.
    expect(Math.abs(recall[MODEL_NAMES.retrievalHnsw]! - recall[MODEL_NAMES.retrieval]!)).toBeLessThan(0.01);
  });

  it("publishes the three models under the movielens alias", () => {
    const registry = new ModelRegistry(path.join(tmp, "registry"));
    for (const model of ["retrieval", "ranker-gbdt", "recs-popularity"]) expect(registry.aliases(model).movielens).toBe(result.version);
  });
});

describe("HNSW over the shipped retrieval vectors (512-dim low-rank EASE, seed 42)", () => {
  it("finds the exact top 200 with the lift chosen by agreement with exact search, where the ann package's default lift loses a third", async () => {
    const dataset = await loadMovieLens(ML100K_DIR);
    const split = stratifiedSplit(interactionsOf(dataset), { trainRatio: 0.75, seed: 42 });
    const signals = await RatingSignals.fit(dataset, split.train, MOVIELENS_TWO_STAGE, 42);
    const queries = trainingUserQueries(signals.towers, split.train, 300);
    const choice = buildHnswChoosingLift(signals.towers.itemVectors, signals.towers.dim, String, "t", queries, 200);
    const recallAt = (lift: number) => choice.tried.find((t) => t.liftFraction === lift)?.recall ?? Number.NaN;
    // Measured when the choice was added (943 users, the default ef 400): 1.0000 without lift, 0.7293 at 0.5.
    expect(choice.liftFraction).toBe(0);
    expect(recallAt(0)).toBeGreaterThan(0.99);
    expect(recallAt(0.5)).toBeLessThan(0.8);
  }, 300_000);
});
