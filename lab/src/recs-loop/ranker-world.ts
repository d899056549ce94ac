import { Predictor, type TrainParamsInput } from "@mlsd/gbdt";
import { createRecWorld, DEFAULT_CLICK_MODEL, simulateInteractions, type ClickModel, type ImpressionLog, type RecWorld } from "@mlsd/synth";
import { clickedSlates, DEFAULT_LAMBDARANK_PARAMS, DEFAULT_POINTWISE_PARAMS, fitRanker, rankerData, type RankerData, type RankerPart } from "@mlsd/trainer/src/recs/ranker";
import { noisyLatentScorer } from "@mlsd/trainer/src/recs/ranker-data";
import { ndcgOfScores } from "@mlsd/trainer/src/recs/ranker-eval";

/** A recs world and its logged slates, as the trainer gets them (popularity logging policy, 30 days, test from day 24). */
export interface RankerWorldSize {
  numUsers: number;
  numItems: number;
  /** Mean sessions per user over the 30 days (the small preset's traffic is 8). */
  sessionsPerUser: number;
  slateSize: number;
  /** Standard deviation of the noise on the retrieval score (the true affinity spreads about 0.5). */
  retrievalNoise: number;
}

export interface RankerWorld {
  world: RecWorld;
  log: ImpressionLog;
  data: RankerData;
}

/**
 * The trainer's ranker rows from one seeded world. The retrieval score is the trainer's stand-in
 * for a trained two-tower model (the true affinity plus noise), so no TensorFlow training is needed.
 */
export function rankerWorld(seed: number, size: RankerWorldSize, clickModel: ClickModel = DEFAULT_CLICK_MODEL): RankerWorld {
  const world = createRecWorld({ preset: "small", seed, numUsers: size.numUsers, numItems: size.numItems });
  const log = simulateInteractions(world, { seed: seed + 1, sessionsPerUser: size.sessionsPerUser, slateSize: size.slateSize, clickModel });
  const data = rankerData({ world, impressions: log, scorer: noisyLatentScorer(world, { noise: size.retrievalNoise, seed }) });
  return { world, log, data };
}

export type RankerObjective = "pointwise" | "pairwise" | "lambdarank";
export const RANKER_OBJECTIVES: readonly RankerObjective[] = ["pointwise", "pairwise", "lambdarank"];

export const OBJECTIVE_NAMES: Record<RankerObjective, string> = {
  pointwise: "pointwise (binary log-loss)",
  pairwise: "pairwise (RankNet)",
  lambdarank: "listwise (LambdaRank)",
};

export interface FittedObjective {
  objective: RankerObjective;
  ipw: boolean;
  /** NDCG@10 on the test window against the world's true relevance, and against the logged clicks. */
  ndcgTrue: number;
  ndcgClicks: number;
  trees: number;
  seconds: number;
  predictor: Predictor;
}

/**
 * Inverse propensity weights: a clicked row counts 1 / P(its position was examined), an unclicked
 * row 1. The propensities are the click model's own (the world knows them; a real system would
 * estimate them from randomised slates).
 */
export function ipwWeights(part: RankerPart, log: ImpressionLog): Float64Array {
  return Float64Array.from(part.logRows, (r, i) => (part.labels[i] === 1 ? 1 / (log.examination[r] as number) : 1));
}

/**
 * The trainer's recipe for each objective: the same trees and early stopping as the production
 * ranker (LambdaRank on slates with a click, validation NDCG@10), log-loss on every impression for
 * pointwise; pairwise swaps LambdaRank's pair weights for RankNet's.
 */
export function fitObjective(rw: RankerWorld, objective: RankerObjective, options: { ipw?: boolean } = {}): FittedObjective {
  const ipw = options.ipw ?? false;
  const params: TrainParamsInput = objective === "pointwise" ? DEFAULT_POINTWISE_PARAMS : { ...DEFAULT_LAMBDARANK_PARAMS, objective };
  const fitOn = objective === "pointwise" ? rw.data.train : clickedSlates(rw.data.train);
  const validOn = objective === "pointwise" ? rw.data.valid : clickedSlates(rw.data.valid);
  const fitted = fitRanker(params, fitOn, validOn, ipw ? ipwWeights(fitOn, rw.log) : undefined);
  const predictor = new Predictor(fitted.result.model);
  const ndcg = ndcgOfScores(rw.data.evalSet, predictor.predictBatchRaw(rw.data.test.rows), 10);
  return { objective, ipw, ndcgTrue: ndcg.trueRelevance, ndcgClicks: ndcg.clicks, trees: fitted.result.model.trees.length, seconds: fitted.seconds, predictor };
}

/** NDCG@10 against true relevance of the logging policy's own order of the test slates. */
export function loggedOrderNdcg(rw: RankerWorld): number {
  return ndcgOfScores(rw.data.evalSet, Float64Array.from(rw.data.test.logRows, (r) => -(rw.log.position[r] as number)), 10).trueRelevance;
}

/** NDCG@10 against true relevance of one test-window feature used alone as the ranking. */
export function featureNdcg(rw: RankerWorld, name: Parameters<RankerData["testColumn"]>[0]): number {
  return ndcgOfScores(rw.data.evalSet, rw.data.testColumn(name), 10).trueRelevance;
}

/**
 * Of the (clicked, skipped) pairs in slates with a click, the share where the clicked item was
 * shown above the skipped one: 0.5 if position did not matter to clicks. A pair loss learns from
 * exactly these pairs, so this is how much of its signal is the logged order.
 */
export function clickAboveSkipShare(part: RankerPart, log: ImpressionLog): number {
  let above = 0;
  let pairs = 0;
  let offset = 0;
  for (const size of part.groups) {
    for (let a = offset; a < offset + size; a++) {
      if (part.labels[a] !== 1) continue;
      const pa = log.position[part.logRows[a] as number] as number;
      for (let b = offset; b < offset + size; b++) {
        if (part.labels[b] !== 0) continue;
        pairs++;
        if (pa < (log.position[part.logRows[b] as number] as number)) above++;
      }
    }
    offset += size;
  }
  return pairs > 0 ? above / pairs : Number.NaN;
}
