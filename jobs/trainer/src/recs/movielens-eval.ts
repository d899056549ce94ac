import type { SearchResult } from "@mlsd/ann";
import type { RatingsDataset } from "@mlsd/datasets";
import { Ease, EASE_MAX_ITEMS, evaluate, Ials, interactionsOf, ItemKnn, MostPopular, stratifiedSplit, type EvalSplit, type EvaluationResult, type Recommender } from "@mlsd/rec-eval";
import type { TrainingData, TwoTowerConfig } from "@mlsd/two-tower";
import { dotRecommender, fitOnce, movieLensTrainingData, movieLensUserTable, TIME_HISTORIES, type HistorySetting } from "./movielens";
import { buildHnswChoosingLift, searchIndex, trainingUserQueries, trainTwoTower, type BuiltIndexes, type LiftChoice, type TrainedTwoTower } from "./retrieval-model";
import { IALS_SETTINGS, matrixInteractions, RatingSignals, retrievalRecommender, trainTwoStageRanker, twoStageRecommender, type TrainedRanker, type TwoStageConfig } from "./two-stage";

/** A two-tower setting on MovieLens: the model's config plus how its training rows get their histories. */
export type TwoTowerSetting = Partial<TwoTowerConfig> & { readonly histories?: HistorySetting };

/**
 * Two-tower settings for MovieLens, chosen on a validation split carved from the training half
 * (`--tune --tune-stages two-tower`): batch size and learning rate at 32-dim embeddings, then
 * 128-dim id embeddings and output (four times the package default), which scored above 32 and 64
 * on both ml-100k and ml-latest-small, then histories sampled from the user's other training
 * items instead of the ones just before in time, which scored above those on both; the epoch count
 * by early stopping on a further 10 %.
 */
export const MOVIELENS_TWO_TOWER: TwoTowerSetting = { batchSize: 512, learningRate: 0.001, epochs: 4, idDim: 128, outputDim: 128, histories: { kind: "sampled", length: 50 } };

/** The baselines' settings, fixed beforehand (EASE, item-kNN) or tuned on validation (iALS, `--tune-stages ials`). */
const EASE_SETTINGS = { lambda: 500 } as const;
const ITEM_KNN_SETTINGS = { neighbors: 100 } as const;

/** The models' names in the report; the baselines' come from the models, so a settings change cannot leave them stale. */
export const MODEL_NAMES = {
  mostPop: new MostPopular().name,
  itemKnn: new ItemKnn(ITEM_KNN_SETTINGS).name,
  ease: new Ease(EASE_SETTINGS).name,
  ials: new Ials(IALS_SETTINGS).name,
  twoTower: "two-tower (exact)",
  retrieval: "low-rank EASE retrieval (exact)",
  retrievalHnsw: "low-rank EASE retrieval (HNSW)",
  twoStage: "two-stage: retrieval top-50 -> GBDT ranker",
} as const;

/**
 * iALS's fit costs about d^2 per training rating per half-sweep (d = 64, 20 half-sweeps): about
 * 12 s at 100K's 75K training ratings on one core, growing with the ratings. Releases above this
 * many training ratings leave the baseline row out (the ranker's iALS columns are fitted anyway).
 */
export const IALS_MAX_RATINGS = 2_000_000;

export interface SeedRun {
  seed: number;
  split: EvalSplit;
  /** k = 10 metrics per model, in table order. */
  results: EvaluationResult[];
  /** recall@200 of EASE and of the retrieval stage (exact and through HNSW). */
  recallAt200: { model: string; recall: number }[];
  twoTower: TrainedTwoTower | null;
  /** How the two-tower model's training rows got their histories. */
  twoTowerHistories: HistorySetting | null;
  ranker: TrainedRanker;
  signals: RatingSignals;
  indexes: BuiltIndexes;
  /** The HNSW norm lift, chosen by agreement with exact search on the training users' vectors. */
  lift: LiftChoice;
  /** The training users' own retrieval vectors (at most 1000) the lift was chosen on; the report's index sweep reuses them. */
  userQueries: Float32Array[];
  data: TrainingData;
  seconds: { twoTower: number; ranker: number; signals: number; evaluation: number };
}

export interface SeedRunOptions {
  config: TwoStageConfig;
  version: string;
  twoTower?: TwoTowerSetting | false;
  quiet?: boolean;
  log?: (line: string) => void;
}

/** The two-tower model on a split, epochs early-stopped on 10 % of the training half. */
export async function fitTwoTowerOn(dataset: RatingsDataset, split: EvalSplit, seed: number, setting: TwoTowerSetting, quiet: boolean): Promise<{ trained: TrainedTwoTower; recommender: Recommender; histories: HistorySetting }> {
  const { histories = TIME_HISTORIES, ...config } = { ...MOVIELENS_TWO_TOWER, ...setting };
  const inner = stratifiedSplit(matrixInteractions(split.train), { trainRatio: 0.9, seed: seed + 1 });
  const fitData = movieLensTrainingData(dataset, inner.train, { ...histories, seed });
  const validTable = movieLensUserTable(fitData);
  const trained = await trainTwoTower(fitData, config, {
    quiet,
    validate: async (encoder, embeddings) => (await evaluate(dotRecommender(encoder, validTable, embeddings), { protocol: "validation", train: inner.train, test: inner.test }, { k: 10 })).ndcg,
  });
  // Serving pools each user's latest items from the whole training half (history kind aside, same length).
  const table = movieLensUserTable(movieLensTrainingData(dataset, split.train, { ...TIME_HISTORIES, length: histories.length, seed }));
  return { trained, recommender: { ...dotRecommender(trained.encoder, table, trained.embeddings), name: MODEL_NAMES.twoTower }, histories };
}

/** The retrieval stage through HNSW: its top (k + seen) items keep their scores, the rest rank below. */
function hnswRecommender(signals: RatingSignals, indexes: BuiltIndexes, k: number): Recommender {
  const n = signals.train.numItems;
  const scores = new Float32Array(n);
  const q = new Float32Array(signals.towers.dim);
  return {
    name: MODEL_NAMES.retrievalHnsw,
    fit: () => undefined,
    scoreAll: (u) => {
      const d = signals.towers.dim;
      q.fill(0);
      for (const i of signals.train.itemsOf(u)) for (let r = 0; r < d; r++) q[r] = (q[r] as number) + (signals.towers.historyVectors[i * d + r] as number);
      const found: SearchResult<string> = searchIndex(indexes, q, Math.min(n, k + signals.train.countOf(u)), Math.max(400, 2 * k));
      scores.fill(Number.NEGATIVE_INFINITY);
      found.ids.forEach((id, j) => (scores[signals.dataset.itemIndex.get(Number(id)) as number] = found.scores[j] as number));
      return scores;
    },
  };
}

/**
 * One seed of the protocol: rec-eval's stratified 75/25 split, every model fitted on the
 * training half only, k = 10 over all unrated items, plus recall@200 of EASE and retrieval.
 */
export async function runSeed(dataset: RatingsDataset, seed: number, options: SeedRunOptions): Promise<SeedRun> {
  const log = options.log ?? (() => undefined);
  const split = stratifiedSplit(interactionsOf(dataset), { trainRatio: 0.75, seed });
  const t0 = performance.now();
  let twoTower: Awaited<ReturnType<typeof fitTwoTowerOn>> | null = null;
  if (options.twoTower !== false) {
    twoTower = await fitTwoTowerOn(dataset, split, seed, options.twoTower ?? {}, options.quiet ?? true);
    log(`seed ${seed}: two-tower ${twoTower.trained.epochLoss.length} epochs (kept ${twoTower.trained.keptEpoch}), validation NDCG@10 ${twoTower.trained.validation.map((v) => v.toFixed(4)).join(" -> ")}`);
  }
  const t1 = performance.now();
  const ranker = await trainTwoStageRanker(dataset, split.train, options.config, seed, log);
  log(`seed ${seed}: ranker ${ranker.bestIteration + 1} trees on ${ranker.rows} rows / ${ranker.groups} users-folds, early-stopping NDCG@10 ${ranker.validNdcg?.toFixed(4)}, fold candidate recall ${ranker.candidateRecall.toFixed(4)} (${ranker.seconds.toFixed(0)} s)`);
  const t2 = performance.now();
  const signals = await RatingSignals.fit(dataset, split.train, options.config, seed);
  // Retrieval ranks every user three times below (k = 10, the ranker's candidates, k = 200).
  await signals.precomputeRetrieval();
  const d = signals.towers.dim;
  // Queries: the training users' own vectors (at most 1000), scored against exact search, no label read.
  const queries = trainingUserQueries(signals.towers, split.train, 1000);
  const lift = buildHnswChoosingLift(signals.towers.itemVectors, d, (i) => String(dataset.itemIds[i]), options.version, queries, 200);
  const indexes = lift.indexes;
  log(`seed ${seed}: HNSW norm lift ${lift.liftFraction} (recall@200 against exact search at the default ef: ${lift.tried.map((t) => `${t.liftFraction} -> ${t.recall.toFixed(4)}`).join(", ")})`);
  const data = movieLensTrainingData(dataset, split.train);
  const t3 = performance.now();

  const ease = dataset.numItems <= EASE_MAX_ITEMS ? fitOnce(new Ease(EASE_SETTINGS)) : null;
  const models: Recommender[] = [new MostPopular(), new ItemKnn(ITEM_KNN_SETTINGS)];
  if (ease) models.push(ease);
  if (split.train.nnz <= IALS_MAX_RATINGS) models.push(fitOnce(new Ials(IALS_SETTINGS)));
  if (twoTower) models.push(twoTower.recommender);
  models.push(retrievalRecommender(MODEL_NAMES.retrieval, () => signals), twoStageRecommender(MODEL_NAMES.twoStage, () => signals, ranker));
  const results: EvaluationResult[] = [];
  for (const model of models) {
    results.push(await evaluate(model, split, { k: 10 }));
    log(`seed ${seed}: ${model.name} NDCG@10 ${(results.at(-1) as EvaluationResult).ndcg.toFixed(4)}`);
  }
  const recallAt200: { model: string; recall: number }[] = [];
  for (const model of [...(ease ? [ease] : []), retrievalRecommender(MODEL_NAMES.retrieval, () => signals), hnswRecommender(signals, indexes, 200)]) {
    recallAt200.push({ model: model.name, recall: (await evaluate(model, split, { k: 200 })).recall });
  }
  const t4 = performance.now();
  return {
    seed,
    split,
    results,
    recallAt200,
    twoTower: twoTower?.trained ?? null,
    twoTowerHistories: twoTower?.histories ?? null,
    ranker,
    signals,
    indexes,
    lift,
    userQueries: queries,
    data,
    seconds: { twoTower: (t1 - t0) / 1000, ranker: (t2 - t1) / 1000, signals: (t3 - t2) / 1000, evaluation: (t4 - t3) / 1000 },
  };
}

export interface SeedSummary {
  model: string;
  metric: string;
  mean: number;
  min: number;
  max: number;
  sd: number;
  values: number[];
}

/** Mean, range and standard deviation over seeds of each model's NDCG@10, P@10, recall@10 and of recall@200. */
export function summarizeSeeds(runs: readonly SeedRun[]): SeedSummary[] {
  const out: SeedSummary[] = [];
  const add = (model: string, metric: string, values: number[]) => {
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1));
    out.push({ model, metric, mean, min: Math.min(...values), max: Math.max(...values), sd, values });
  };
  const first = runs[0];
  if (!first) return out;
  for (const r of first.results) {
    const per = (pick: (e: EvaluationResult) => number) => runs.map((run) => pick(run.results.find((x) => x.recommender === r.recommender) as EvaluationResult));
    add(r.recommender, "NDCG@10", per((e) => e.ndcg));
    add(r.recommender, "P@10", per((e) => e.precision));
    add(r.recommender, "R@10", per((e) => e.recall));
  }
  for (const r of first.recallAt200) add(r.model, "R@200", runs.map((run) => (run.recallAt200.find((x) => x.model === r.model) as { recall: number }).recall));
  return out;
}

/**
 * Only the two-tower row (with MostPop beside it as the floor), per seed: the tfjs model is the
 * slowest part of a full run, so its seeds can be measured on their own with the same split
 * and the same early stopping.
 */
export async function twoTowerSeeds(dataset: RatingsDataset, seeds: readonly number[], config: TwoTowerSetting, log: (line: string) => void = () => undefined): Promise<{ seed: number; mostPop: EvaluationResult; twoTower: EvaluationResult; keptEpoch: number }[]> {
  const out = [];
  for (const seed of seeds) {
    const split = stratifiedSplit(interactionsOf(dataset), { trainRatio: 0.75, seed });
    const { trained, recommender } = await fitTwoTowerOn(dataset, split, seed, config, true);
    const twoTower = await evaluate(recommender, split, { k: 10 });
    const mostPop = await evaluate(new MostPopular(), split, { k: 10 });
    log(`seed ${seed}: two-tower NDCG@10 ${twoTower.ndcg.toFixed(4)} (epoch ${trained.keptEpoch} kept), MostPop ${mostPop.ndcg.toFixed(4)}`);
    out.push({ seed, mostPop, twoTower, keptEpoch: trained.keptEpoch });
  }
  return out;
}
