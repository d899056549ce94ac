import type { RatingsDataset } from "@mlsd/datasets";
import { evaluate, interactionsOf, stratifiedSplit, type EvalSplit } from "@mlsd/rec-eval";
import type { TwoTowerConfig } from "@mlsd/two-tower";
import { fitTwoTowerOn } from "./movielens-eval";
import { matrixInteractions, RatingSignals, retrievalRecommender, trainTwoStageRanker, twoStageRecommender, type TwoStageConfig } from "./two-stage";

export interface TuneRow {
  stage: "retrieval" | "ranker" | "two-tower";
  setting: string;
  metric: string;
  value: number;
}

export interface TuneGrid {
  retrieval: { retrievalDim: number; retrievalLambda: number }[];
  ranker: (Partial<Omit<TwoStageConfig, "ranker">> & { ranker?: Partial<TwoStageConfig["ranker"]> })[];
  twoTower: Partial<TwoTowerConfig>[];
}

export const DEFAULT_TUNE_GRID: TuneGrid = {
  retrieval: [256, 512].flatMap((retrievalDim) => [250, 500, 1000].map((retrievalLambda) => ({ retrievalDim, retrievalLambda }))),
  ranker: [{ folds: 4 }, { folds: 5 }, { folds: 5, ranker: { learningRate: 0.1 } }],
  twoTower: [
    { batchSize: 512, learningRate: 0.001 },
    { batchSize: 256, learningRate: 0.003 },
    { batchSize: 1024, learningRate: 0.003 },
  ],
};

/**
 * Hyper-parameter search that never sees a test rating: the training half of the seed's split is
 * split again 75/25 per user (the same protocol one level down); every setting fits on the inner
 * 75 % and is scored on the inner 25 %. Retrieval by recall@200, the ranker and the two-tower model
 * by NDCG@10.
 */
export async function tuneMovieLens(dataset: RatingsDataset, seed: number, base: TwoStageConfig, grid: TuneGrid = DEFAULT_TUNE_GRID, log: (line: string) => void = () => undefined): Promise<TuneRow[]> {
  const outer = stratifiedSplit(interactionsOf(dataset), { trainRatio: 0.75, seed });
  const inner = stratifiedSplit(matrixInteractions(outer.train), { trainRatio: 0.75, seed: seed + 100 });
  const validation: EvalSplit = { protocol: "validation (75/25 of the training half)", train: inner.train, test: inner.test };
  const rows: TuneRow[] = [];
  const add = (row: TuneRow) => {
    rows.push(row);
    log(`tune ${row.stage} ${row.setting}: ${row.metric} ${row.value.toFixed(4)}`);
  };
  for (const r of grid.retrieval) {
    const config = { ...base, ...r };
    const signals = await RatingSignals.fit(dataset, inner.train, config, seed);
    const result = await evaluate(retrievalRecommender("retrieval", () => signals), validation, { k: 200 });
    add({ stage: "retrieval", setting: `dim ${r.retrievalDim}, lambda ${r.retrievalLambda}`, metric: "recall@200", value: result.recall });
  }
  for (const r of grid.ranker) {
    const config: TwoStageConfig = { ...base, ...r, ranker: { ...base.ranker, ...r.ranker } as TwoStageConfig["ranker"] };
    const ranker = await trainTwoStageRanker(dataset, inner.train, config, seed, log);
    const signals = await RatingSignals.fit(dataset, inner.train, config, seed);
    const result = await evaluate(twoStageRecommender("two-stage", () => signals, ranker.model), validation, { k: 10 });
    add({ stage: "ranker", setting: `folds ${config.folds}, learning rate ${config.ranker.learningRate}`, metric: "NDCG@10", value: result.ndcg });
  }
  for (const t of grid.twoTower) {
    const { recommender } = await fitTwoTowerOn(dataset, validation, seed, t, true);
    const result = await evaluate(recommender, validation, { k: 10 });
    add({ stage: "two-tower", setting: `batch ${t.batchSize}, learning rate ${t.learningRate}`, metric: "NDCG@10", value: result.ndcg });
  }
  return rows;
}
