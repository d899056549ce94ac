import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadMovieLens, type RatingsDataset } from "@mlsd/datasets";
import { interactionsOf, stratifiedSplit, type EvalSplit } from "@mlsd/rec-eval";
import { writeTinyMovieLens } from "@mlsd/trainer/src/recs/movielens-fixture";
import { MOVIELENS_TWO_STAGE, type TwoStageConfig } from "@mlsd/trainer/src/recs/two-stage";
import { movieLens100kDir } from "../config";

/**
 * Which MovieLens the real-data arms read: "ml-100k", MovieLens 100K with the trainer's pipeline as
 * published (`MOVIELENS_TWO_STAGE`); "tiny", the trainer's miniature MovieLens folder and a small
 * pipeline (the CI size).
 */
export type LabMovieLens = "ml-100k" | "tiny";

const TINY_CONFIG: Partial<TwoStageConfig> = {
  retrievalDim: 8,
  candidates: 20,
  folds: 3,
  ranker: { ...MOVIELENS_TWO_STAGE.ranker, numRounds: 40, learningRate: 0.1, earlyStoppingRounds: 10, minChildWeight: 0.01 },
};

export async function loadLabMovieLens(data: LabMovieLens): Promise<RatingsDataset> {
  if (data === "tiny") {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-movielens-"));
    try {
      writeTinyMovieLens(dir, { users: 60, movies: 45, perUser: 15 });
      return await loadMovieLens(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const dir = movieLens100kDir();
  if (!fs.existsSync(dir)) throw new Error(`the MovieLens arm needs MovieLens 100K unpacked at ${dir} (grouplens.org/datasets/movielens/100k; or set MOVIELENS_100K_DIR)`);
  return loadMovieLens(dir);
}

/** The trainer's MovieLens pipeline settings at this size. */
export function labPipelineConfig(data: LabMovieLens): TwoStageConfig {
  return { ...MOVIELENS_TWO_STAGE, ...(data === "tiny" ? TINY_CONFIG : {}) };
}

/** The claim seed's split: stratified 75/25 with seed 41 + the claim's seed (42, 43, 44, as in the trainer README). */
export function labSplit(dataset: RatingsDataset, claimSeed: number): { split: EvalSplit; splitSeed: number } {
  const splitSeed = 41 + claimSeed;
  return { split: stratifiedSplit(interactionsOf(dataset), { trainRatio: 0.75, seed: splitSeed }), splitSeed };
}
