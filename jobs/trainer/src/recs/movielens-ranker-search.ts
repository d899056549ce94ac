import type { RatingsDataset } from "@mlsd/datasets";
import { evaluate, interactionsOf, stratifiedSplit, type EvalSplit, type Recommender } from "@mlsd/rec-eval";
import { Predictor } from "@mlsd/gbdt";
import { bagRankers, bagSeed, buildRankerRows, COSESSION_FEATURES, IALS_FEATURES, SECOND_OPINION_FEATURES, SESSION_FEATURES, fitBagMember, matrixInteractions, priorMargins, RatingSignals, retrievalRecommender, selectColumns, RANKER_FEATURES_V3, type RankerRows, type TwoStageConfig, type TwoStageFeature } from "./two-stage";

/** One ranker setting: a feature subset, a prior weight and boosting parameters over the pipeline's. */
export interface RankerVariant {
  name: string;
  /** Settings that change the stacked rows (each distinct one builds its own). */
  rows?: Partial<Pick<TwoStageConfig, "folds" | "candidates">>;
  features?: readonly TwoStageFeature[];
  priorWeight?: number;
  ranker?: Partial<TwoStageConfig["ranker"]>;
  /** Rankers averaged (each on rows dealt by its own seed); default 1. */
  bags?: number;
}

export interface RankerSearchRow {
  variant: string;
  /** Validation NDCG@10 per inner split, in innerSeeds order, and their mean. */
  ndcg: number[];
  mean: number;
  trees: number[];
}

// The 32-feature variants: the 27 of feature set /3 and the session features. (Was every candidate column
// but the co-session ones, which came to include the second opinions and iALS once those joined
// the rows: 39 features, not the 32 the table's rows were scored with.)
const WITH_SESSIONS: readonly TwoStageFeature[] = [...RANKER_FEATURES_V3, ...SESSION_FEATURES];
const WITH_COSESSION: readonly TwoStageFeature[] = [...RANKER_FEATURES_V3, ...COSESSION_FEATURES];
const WITH_EASE: readonly TwoStageFeature[] = [...RANKER_FEATURES_V3, ...SECOND_OPINION_FEATURES.filter((f) => f.startsWith("ease_"))];
const WITH_RATING_KNN: readonly TwoStageFeature[] = [...RANKER_FEATURES_V3, "itemknn_rating_dev"];
const WITH_SECOND_OPINIONS: readonly TwoStageFeature[] = [...RANKER_FEATURES_V3, ...SECOND_OPINION_FEATURES];
const WITH_IALS: readonly TwoStageFeature[] = [...RANKER_FEATURES_V3, ...IALS_FEATURES];

const SHALLOW = { maxDepth: 3, minChildWeight: 10 } as const;

export const DEFAULT_RANKER_VARIANTS: readonly RankerVariant[] = [
  { name: "27 features (/3), depth 6, min child weight 0.01 (the /3 ranker)", features: RANKER_FEATURES_V3, ranker: { maxDepth: 6, minChildWeight: 0.01 } },
  { name: "32 features (/3 + session), depth 6, min child weight 0.01", features: WITH_SESSIONS, ranker: { maxDepth: 6, minChildWeight: 0.01 } },
  { name: "27 features (/3), depth 3, min child weight 10", features: RANKER_FEATURES_V3, ranker: SHALLOW },
  { name: "32 features (/3 + session), depth 3, min child weight 10", features: WITH_SESSIONS, ranker: SHALLOW },
  { name: "32 features, depth 2, min child weight 10", features: WITH_SESSIONS, ranker: { maxDepth: 2, minChildWeight: 10 } },
  { name: "32 features, depth 1 (stumps), min child weight 10", features: WITH_SESSIONS, ranker: { maxDepth: 1, minChildWeight: 10 } },
  { name: "32 features, depth 3, min child weight 10, prior 0", features: WITH_SESSIONS, priorWeight: 0, ranker: SHALLOW },
  { name: "32 features, depth 3, pointwise logistic", features: WITH_SESSIONS, priorWeight: 0, ranker: { ...SHALLOW, objective: "binary", evalMetric: "logloss" } },
  { name: "27 features, depth 3, min child weight 10, learning rate 0.02", features: RANKER_FEATURES_V3, ranker: { ...SHALLOW, learningRate: 0.02 } },
  { name: "27 features, depth 2, min child weight 10", features: RANKER_FEATURES_V3, ranker: { maxDepth: 2, minChildWeight: 10 } },
  { name: "27 features, depth 3, min child weight 50", features: RANKER_FEATURES_V3, ranker: { maxDepth: 3, minChildWeight: 50 } },
  { name: "27 features, depth 3, min child weight 10, L2 10", features: RANKER_FEATURES_V3, ranker: { ...SHALLOW, lambda: 10 } },
  { name: "27 features, depth 2, min child weight 10, bag of 3", features: RANKER_FEATURES_V3, ranker: { maxDepth: 2, minChildWeight: 10 }, bags: 3 },
  { name: "27 features, depth 2, min child weight 10, bag of 5", features: RANKER_FEATURES_V3, ranker: { maxDepth: 2, minChildWeight: 10 }, bags: 5 },
  { name: "27 features, depth 3, min child weight 10, bag of 5", features: RANKER_FEATURES_V3, ranker: SHALLOW, bags: 5 },
  { name: "29 features (27 + co-session kNN), depth 2, min child weight 10", features: WITH_COSESSION, ranker: { maxDepth: 2, minChildWeight: 10 } },
  { name: "29 features (27 + co-session kNN), depth 2, min child weight 10, bag of 5", features: WITH_COSESSION, ranker: { maxDepth: 2, minChildWeight: 10 }, bags: 5 },
  { name: "27 features, depth 2, min child weight 10, bag of 10", features: RANKER_FEATURES_V3, ranker: { maxDepth: 2, minChildWeight: 10 }, bags: 10 },
  { name: "31 features (27 + EASE at lambda 100 and 2000), depth 2, min child weight 10, bag of 5", features: WITH_EASE, ranker: { maxDepth: 2, minChildWeight: 10 }, bags: 5 },
  { name: "28 features (27 + item-kNN through the user's ratings), depth 2, min child weight 10, bag of 5", features: WITH_RATING_KNN, ranker: { maxDepth: 2, minChildWeight: 10 }, bags: 5 },
  { name: "32 features (27 + both), depth 2, min child weight 10, bag of 5", features: WITH_SECOND_OPINIONS, ranker: { maxDepth: 2, minChildWeight: 10 }, bags: 5 },
  // Some members early-stop after 1-3 trees (seed 43's bag in the claims lab): more patience, or none.
  { name: "27 features, depth 2, min child weight 10, bag of 5, early-stopping patience 200", features: RANKER_FEATURES_V3, ranker: { maxDepth: 2, minChildWeight: 10, earlyStoppingRounds: 200 }, bags: 5 },
  { name: "27 features, depth 2, min child weight 10, bag of 5, 150 rounds (no early stop)", features: RANKER_FEATURES_V3, ranker: { maxDepth: 2, minChildWeight: 10, numRounds: 150, earlyStoppingRounds: undefined }, bags: 5 },
  { name: "27 features, depth 2, min child weight 10, bag of 5, 300 rounds (no early stop)", features: RANKER_FEATURES_V3, ranker: { maxDepth: 2, minChildWeight: 10, numRounds: 300, earlyStoppingRounds: undefined }, bags: 5 },
  // The trees correct priorWeight * retrieval_score_z: a stronger prior leans more on retrieval's order.
  { name: "27 features, depth 2, min child weight 10, bag of 5, prior 0.2", features: RANKER_FEATURES_V3, priorWeight: 0.2, ranker: { maxDepth: 2, minChildWeight: 10 }, bags: 5 },
  { name: "27 features, depth 2, min child weight 10, bag of 5, prior 0.5", features: RANKER_FEATURES_V3, priorWeight: 0.5, ranker: { maxDepth: 2, minChildWeight: 10 }, bags: 5 },
  // LambdaRank counts pairs whose better item sits in the top 30 (the package default): the
  // metric reads only 10, and the 50 candidates hold more pairs than 30 positions see.
  { name: "27 features, depth 2, min child weight 10, bag of 5, LambdaRank truncation 10", features: RANKER_FEATURES_V3, ranker: { maxDepth: 2, minChildWeight: 10, lambdarankTruncation: 10 }, bags: 5 },
  { name: "27 features, depth 2, min child weight 10, bag of 5, LambdaRank truncation 50 (every pair)", features: RANKER_FEATURES_V3, ranker: { maxDepth: 2, minChildWeight: 10, lambdarankTruncation: 50 }, bags: 5 },
  // Members that see fewer features per tree differ more from each other, which is what a bag averages.
  { name: "27 features, depth 2, min child weight 10, bag of 5, colsample 0.5", features: RANKER_FEATURES_V3, ranker: { maxDepth: 2, minChildWeight: 10, colsampleByTree: 0.5 }, bags: 5 },
  // A model of another family: implicit ALS's score and rank among the candidates.
  { name: "29 features (27 + iALS), depth 2, min child weight 10, bag of 5", features: WITH_IALS, ranker: { maxDepth: 2, minChildWeight: 10 }, bags: 5 },
];

/**
 * Ranker variants scored on several validation splits, all carved from one seed's training
 * half (per user, 75/25 like the test split): a single split cannot separate +-0.003. Each inner
 * split builds its stacked rows and its validation candidates once; every variant boosts on the
 * same rows and ranks the same candidates.
 */
export async function searchRankerVariants(
  dataset: RatingsDataset,
  seed: number,
  innerSeeds: readonly number[],
  base: TwoStageConfig,
  variants: readonly RankerVariant[] = DEFAULT_RANKER_VARIANTS,
  log: (line: string) => void = () => undefined,
): Promise<RankerSearchRow[]> {
  const outer = stratifiedSplit(interactionsOf(dataset), { trainRatio: 0.75, seed });
  const names = ["retrieval stage alone (no ranker)", ...variants.map((v) => v.name)];
  const results = names.map((variant) => ({ variant, ndcg: [] as number[], trees: [] as number[] }));
  for (const innerSeed of innerSeeds) {
    const inner = stratifiedSplit(matrixInteractions(outer.train), { trainRatio: 0.75, seed: innerSeed });
    const validation: EvalSplit = { protocol: `validation (inner seed ${innerSeed})`, train: inner.train, test: inner.test };
    const built = new Map<string, { rows: RankerRows; cached: Map<number, { items: Int32Array; rows: Float64Array }> }>();
    const candidatesFor = new Map<number, Map<number, { items: Int32Array; rows: Float64Array }>>();
    const rowsFor = async (config: TwoStageConfig, bag: number) => {
      const key = `${config.folds}/${config.candidates}/${bag}`;
      let entry = built.get(key);
      if (!entry) {
        const rows = await buildRankerRows(dataset, inner.train, config, bagSeed(innerSeed, bag), log);
        let cached = candidatesFor.get(config.candidates);
        if (!cached) {
          const signals = await RatingSignals.fit(dataset, inner.train, config, innerSeed);
          cached = new Map();
          for (let u = 0; u < inner.test.numUsers; u++) if (inner.test.countOf(u) > 0) cached.set(u, signals.candidates(u));
          candidatesFor.set(config.candidates, cached);
          if (candidatesFor.size === 1) {
            const retrieval = await evaluate(retrievalRecommender("retrieval", () => signals), validation, { k: 10 });
            (results[0] as { ndcg: number[] }).ndcg.push(retrieval.ndcg);
            log(`inner seed ${innerSeed}: retrieval alone NDCG@10 ${retrieval.ndcg.toFixed(4)}`);
          }
        }
        entry = { rows, cached };
        built.set(key, entry);
      }
      return entry;
    };
    for (const [v, variant] of variants.entries()) {
      // Every row carries every candidate column, so that all variants boost on the same rows.
      const config: TwoStageConfig = { ...base, searchColumns: true, ...variant.rows };
      const priorWeight = variant.priorWeight ?? base.priorWeight;
      const params = { ...base.ranker, ...variant.ranker } as TwoStageConfig["ranker"];
      const members = [];
      let cached = new Map<number, { items: Int32Array; rows: Float64Array }>();
      for (let b = 0; b < (variant.bags ?? 1); b++) {
        const entry = await rowsFor(config, b);
        cached = entry.cached;
        members.push(fitBagMember(entry.rows, params, b, priorWeight, variant.features ?? base.features));
      }
      const ranker = bagRankers(members);
      const predictor = new Predictor(ranker.model);
      const scores = new Float32Array(inner.train.numItems);
      const recommender: Recommender = {
        name: variant.name,
        fit: () => undefined,
        scoreAll: (u) => {
          const c = cached.get(u);
          scores.fill(Number.NEGATIVE_INFINITY);
          if (!c) return scores;
          const predicted = predictor.predictBatchRaw(selectColumns(c.rows, c.items.length, ranker.features));
          const prior = priorMargins(c.rows, c.items.length, priorWeight);
          c.items.forEach((i, k) => (scores[i] = (predicted[k] as number) + (prior[k] as number)));
          return scores;
        },
      };
      const ndcg = (await evaluate(recommender, validation, { k: 10 })).ndcg;
      const row = results[v + 1] as { ndcg: number[]; trees: number[] };
      row.ndcg.push(ndcg);
      row.trees.push(ranker.bestIteration + 1);
      log(`inner seed ${innerSeed}: ${variant.name}: NDCG@10 ${ndcg.toFixed(4)} (${ranker.bestIteration + 1} trees; top ${ranker.topFeatures.slice(0, 4).join(", ")})`);
    }
  }
  return results.map((r) => ({ ...r, mean: r.ndcg.reduce((a, b) => a + b, 0) / Math.max(1, r.ndcg.length) }));
}
