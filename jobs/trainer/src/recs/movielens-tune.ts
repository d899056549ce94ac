import type { RatingsDataset } from "@mlsd/datasets";
import { evaluate, Ials, interactionsOf, stratifiedSplit, type EvalSplit, type IalsOptions } from "@mlsd/rec-eval";
import type { TwoTowerConfig } from "@mlsd/two-tower";
import { fitTwoTowerOn, type TwoTowerSetting } from "./movielens-eval";
import { TIME_HISTORIES } from "./movielens";
import { buildRankerRows, fitRankerOnRows, matrixInteractions, RatingSignals, retrievalRecommender, twoStageRecommender, type RankerRows, type TwoStageConfig } from "./two-stage";

export interface TuneRow {
  stage: "retrieval" | "ranker" | "two-tower" | "ials";
  setting: string;
  metric: string;
  value: number;
}

export type TuneStage = TuneRow["stage"];
export const TUNE_STAGES: readonly TuneStage[] = ["retrieval", "ranker", "two-tower", "ials"];

export type RankerSetting = Partial<Omit<TwoStageConfig, "ranker">> & { ranker?: Partial<TwoStageConfig["ranker"]> };

export interface TuneGrid {
  retrieval: { retrievalDim: number; retrievalLambda: number }[];
  ranker: RankerSetting[];
  twoTower: TwoTowerSetting[];
  /** The iALS baseline (and its search-only ranker columns), by NDCG@10 alone. */
  ials: IalsOptions[];
}

export const DEFAULT_TUNE_GRID: TuneGrid = {
  retrieval: [256, 512].flatMap((retrievalDim) => [250, 500, 1000].map((retrievalLambda) => ({ retrievalDim, retrievalLambda }))),
  ranker: [
    {},
    { priorWeight: 0.05 },
    { priorWeight: 0.2 },
    { ranker: { objective: "binary", evalMetric: "logloss" } },
  ],
  // Batch and learning rate were searched at 32-dim embeddings with point-in-time histories; the
  // dims at the chosen (512, 0.001): 128 was the best on ml-100k and ml-latest-small; then the
  // histories at 128 dims: sampled ones above point-in-time ones on both (trainer README).
  twoTower: [
    { batchSize: 512, learningRate: 0.001, idDim: 32, outputDim: 32, histories: TIME_HISTORIES },
    { batchSize: 256, learningRate: 0.003, idDim: 32, outputDim: 32, histories: TIME_HISTORIES },
    { batchSize: 1024, learningRate: 0.003, idDim: 32, outputDim: 32, histories: TIME_HISTORIES },
    { batchSize: 512, learningRate: 0.001, idDim: 64, outputDim: 64, histories: TIME_HISTORIES },
    { batchSize: 512, learningRate: 0.001, idDim: 128, outputDim: 128, histories: TIME_HISTORIES },
    { batchSize: 512, learningRate: 0.001, idDim: 128, outputDim: 128, histories: { kind: "sampled", length: 20 } },
    { batchSize: 512, learningRate: 0.001, idDim: 128, outputDim: 128, histories: { kind: "sampled", length: 50 } },
  ],
  ials: [5, 10, 20, 30, 50].flatMap((alpha) => [10, 50, 100, 150, 300].map((lambda) => ({ factors: 64, alpha, lambda }))),
};

/**
 * Hyper-parameter search that never sees a test rating: the training half of the seed's split is
 * split again 75/25 per user (the same protocol one level down); every setting fits on the inner
 * 75 % and is scored on the inner 25 %. Retrieval by recall@200, the ranker and the two-tower model
 * by NDCG@10.
 */
export async function tuneMovieLens(
  dataset: RatingsDataset,
  seed: number,
  base: TwoStageConfig,
  grid: TuneGrid = DEFAULT_TUNE_GRID,
  log: (line: string) => void = () => undefined,
  stages: readonly TuneStage[] = TUNE_STAGES,
): Promise<TuneRow[]> {
  const outer = stratifiedSplit(interactionsOf(dataset), { trainRatio: 0.75, seed });
  const inner = stratifiedSplit(matrixInteractions(outer.train), { trainRatio: 0.75, seed: seed + 100 });
  const validation: EvalSplit = { protocol: "validation (75/25 of the training half)", train: inner.train, test: inner.test };
  const rows: TuneRow[] = [];
  const add = (row: TuneRow) => {
    rows.push(row);
    log(`tune ${row.stage} ${row.setting}: ${row.metric} ${row.value.toFixed(4)}`);
  };
  for (const r of stages.includes("retrieval") ? grid.retrieval : []) {
    const config = { ...base, ...r };
    const signals = await RatingSignals.fit(dataset, inner.train, config, seed);
    const result = await evaluate(retrievalRecommender("retrieval", () => signals), validation, { k: 200 });
    add({ stage: "retrieval", setting: `dim ${r.retrievalDim}, lambda ${r.retrievalLambda}`, metric: "recall@200", value: result.recall });
  }
  // Settings that change only the boosting (prior weight, ranker parameters) share one set of
  // stacked rows and one validation signal fit; anything else builds its own.
  const built = new Map<string, { rows: RankerRows; signals: RatingSignals }>();
  if (stages.includes("ranker") && grid.ranker.length) {
    const signals = await RatingSignals.fit(dataset, inner.train, base, seed);
    add({ stage: "ranker", setting: "retrieval alone (no ranker)", metric: "NDCG@10", value: (await evaluate(retrievalRecommender("retrieval", () => signals), validation, { k: 10 })).ndcg });
  }
  for (const r of stages.includes("ranker") ? grid.ranker : []) {
    const config: TwoStageConfig = { ...base, ...r, ranker: { ...base.ranker, ...r.ranker } as TwoStageConfig["ranker"] };
    const { ranker: _boosting, priorWeight: _prior, ...shaping } = config;
    const key = JSON.stringify(shaping);
    let entry = built.get(key);
    if (!entry) {
      entry = { rows: await buildRankerRows(dataset, inner.train, config, seed, log), signals: await RatingSignals.fit(dataset, inner.train, config, seed) };
      built.set(key, entry);
    }
    const ranker = fitRankerOnRows(entry.rows, config.ranker, config.priorWeight);
    const signals = entry.signals;
    log(`ranker ${rankerSettingName(r)}: top features ${ranker.topFeatures.join(", ")}`);
    const result = await evaluate(twoStageRecommender("two-stage", () => signals, ranker), validation, { k: 10 });
    add({ stage: "ranker", setting: `${rankerSettingName(r)} (${ranker.bestIteration + 1} trees)`, metric: "NDCG@10", value: result.ndcg });
  }
  for (const t of stages.includes("two-tower") ? grid.twoTower : []) {
    const { recommender } = await fitTwoTowerOn(dataset, validation, seed, t, true);
    const result = await evaluate(recommender, validation, { k: 10 });
    add({ stage: "two-tower", setting: twoTowerSettingName(t), metric: "NDCG@10", value: result.ndcg });
  }
  for (const o of stages.includes("ials") ? grid.ials : []) {
    const model = new Ials(o);
    model.fit(inner.train);
    add({ stage: "ials", setting: model.name, metric: "NDCG@10", value: (await evaluate(model, validation, { k: 10 })).ndcg });
  }
  return rows;
}

/** A two-tower grid entry as the table shows it: what it sets on top of `MOVIELENS_TWO_TOWER`. */
export function twoTowerSettingName(setting: TwoTowerSetting): string {
  const { histories, ...config } = setting;
  const names: Partial<Record<keyof TwoTowerConfig, string>> = { batchSize: "batch", learningRate: "learning rate", idDim: "id dim", outputDim: "output dim" };
  return [
    ...Object.entries(config).map(([k, v]) => `${names[k as keyof TwoTowerConfig] ?? k} ${String(v)}`),
    ...(histories ? [`${histories.kind === "time" ? "point-in-time" : "sampled"} histories of ${histories.length}`] : []),
  ].join(", ");
}

/** A ranker grid entry as the table shows it: what it changes from the pipeline's settings. */
export function rankerSettingName(setting: RankerSetting): string {
  const { ranker, ...rest } = setting;
  const parts = [...Object.entries(rest), ...Object.entries(ranker ?? {})].map(([k, v]) => `${k} ${String(v)}`);
  return parts.length ? parts.join(", ") : "pipeline settings";
}
