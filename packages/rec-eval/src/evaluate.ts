import {
  averagePrecisionAtK,
  giniIndex,
  hitRateAtK,
  ndcgAtK,
  precisionAtK,
  recallAtK,
  reciprocalRank,
} from "@mlsd/ml-metrics";
import type { UserItemMatrix } from "./matrix";
import { RecEvalError } from "./matrix";
import type { EvalSplit } from "./split";
import { topK } from "./top-k";

/** A model that scores every item for a user; the evaluator ranks the scores itself. */
export interface Recommender {
  readonly name: string;
  fit(train: UserItemMatrix): void | Promise<void>;
  /**
   * One score per item (higher is better). The evaluator reads the array before the next call,
   * so an implementation may return the same buffer every time.
   */
  scoreAll(user: number): Float32Array;
}

export interface EvaluateOptions {
  /** Cut-off for every metric. Default 10. */
  k?: number;
  /** Called after each evaluated user (for a progress bar). */
  onProgress?: (usersDone: number, usersTotal: number) => void;
}

/** Means over the users with at least one test item. */
export interface EvaluationResult {
  readonly recommender: string;
  readonly protocol: string;
  readonly k: number;
  readonly users: number;
  readonly precision: number;
  readonly recall: number;
  readonly ndcg: number;
  /** MAP with AP divided by the user's number of test items (the Microsoft Recommenders definition). */
  readonly map: number;
  readonly hitRate: number;
  /** Reciprocal rank of the first hit within the top k, 0 without one. */
  readonly mrr: number;
  /** Share of the catalogue appearing in some top-k list. */
  readonly coverage: number;
  /** Gini index of how often each item appears in the top-k lists (0 = even exposure). */
  readonly gini: number;
  readonly fitSeconds: number;
  readonly recommendSeconds: number;
}

/**
 * Fits the recommender on the training half and ranks, for every user with test items, all
 * items the user has not rated in training; the test items are the relevant ones.
 */
export async function evaluate(
  recommender: Recommender,
  split: EvalSplit,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const k = options.k ?? 10;
  const { train, test } = split;
  if (train.numUsers !== test.numUsers || train.numItems !== test.numItems) {
    throw new RecEvalError("split", "train and test must have the same users and items");
  }
  const fitStart = performance.now();
  await recommender.fit(train);
  const fitSeconds = (performance.now() - fitStart) / 1000;

  const recStart = performance.now();
  const seen = new Uint8Array(train.numItems);
  const exposure = new Float64Array(train.numItems);
  let users = 0;
  let usersTotal = 0;
  for (let u = 0; u < test.numUsers; u++) if (test.countOf(u) > 0) usersTotal++;
  const sum = { precision: 0, recall: 0, ndcg: 0, map: 0, hitRate: 0, mrr: 0 };

  for (let u = 0; u < test.numUsers; u++) {
    if (test.countOf(u) === 0) continue;
    const scores = recommender.scoreAll(u);
    if (scores.length !== train.numItems) {
      throw new RecEvalError("scoreAll", `${recommender.name} returned ${scores.length} scores for ${train.numItems} items`);
    }
    const trainItems = train.itemsOf(u);
    for (let j = 0; j < trainItems.length; j++) seen[trainItems[j] as number] = 1;
    const ranked = topK(scores, k, seen);
    for (let j = 0; j < trainItems.length; j++) seen[trainItems[j] as number] = 0;

    const relevant = new Set(test.itemsOf(u));
    sum.precision += precisionAtK(ranked, relevant, k);
    sum.recall += recallAtK(ranked, relevant, k);
    sum.ndcg += ndcgAtK(ranked, relevant, k);
    sum.map += averagePrecisionAtK(ranked, relevant, k);
    sum.hitRate += hitRateAtK(ranked, relevant, k);
    sum.mrr += reciprocalRank(ranked, relevant, k);
    for (let j = 0; j < ranked.length; j++) exposure[ranked[j] as number] = (exposure[ranked[j] as number] as number) + 1;
    users++;
    options.onProgress?.(users, usersTotal);
  }
  let shown = 0;
  for (let i = 0; i < exposure.length; i++) if ((exposure[i] as number) > 0) shown++;
  const mean = (x: number): number => (users === 0 ? 0 : x / users);
  return {
    recommender: recommender.name,
    protocol: split.protocol,
    k,
    users,
    precision: mean(sum.precision),
    recall: mean(sum.recall),
    ndcg: mean(sum.ndcg),
    map: mean(sum.map),
    hitRate: mean(sum.hitRate),
    mrr: mean(sum.mrr),
    coverage: shown / train.numItems,
    gini: giniIndex(exposure),
    fitSeconds,
    recommendSeconds: (performance.now() - recStart) / 1000,
  };
}
