import { evaluate } from "@mlsd/rec-eval";
import type { TrainParamsInput } from "@mlsd/gbdt";
import { bagRankers, bagSeed, buildRankerRows, fitBagMember, RatingSignals, twoStageRecommender, type TrainedRanker } from "@mlsd/trainer/src/recs/two-stage";
import { RANKER_OBJECTIVES, type RankerObjective } from "../recs-loop/ranker-world";
import { labPipelineConfig, labSplit, loadLabMovieLens, type LabMovieLens } from "./movielens-data";

export interface MovieLensObjectivesOptions {
  data: LabMovieLens;
  /** Rankers in each loss's bag (the published pipeline has MOVIELENS_TWO_STAGE.bags). */
  bags: number;
  k: number;
}

export interface MovieLensObjectiveFit {
  objective: RankerObjective;
  /** NDCG@k against the held-out ratings, over every test user. */
  ndcg: number;
  /** Mean trees per bag member (early stopping). */
  trees: number;
  /** Boosting seconds, summed over the bag (the rows are built once and shared). */
  seconds: number;
}

export interface MovieLensObjectives {
  users: number;
  items: number;
  splitSeed: number;
  trainRows: number;
  fits: MovieLensObjectiveFit[];
}

/**
 * The loss on its own: the pipeline's boosting settings with only the objective (and, for the
 * pointwise loss, the early-stopping metric: log-loss, as the pointwise ranker stops on) changed.
 */
export function movieLensObjectiveParams(base: TrainParamsInput, objective: RankerObjective): TrainParamsInput {
  if (objective === "pointwise") return { ...base, objective: "binary", evalMetric: "logloss" };
  return { ...base, objective };
}

/**
 * The project's MovieLens pipeline with its ranker trained under each loss: the same stacked rows
 * (the trainer's fold deal per bag member), the same candidates, features, prior and boosting
 * settings; NDCG on the split's held-out ratings through the same retrieval top-N.
 */
export async function compareMovieLensObjectives(options: MovieLensObjectivesOptions, seed: number, log: (line: string) => void): Promise<MovieLensObjectives> {
  const dataset = await loadLabMovieLens(options.data);
  const config = { ...labPipelineConfig(options.data), bags: options.bags };
  const { split, splitSeed } = labSplit(dataset, seed);
  log(`MovieLens (${options.data}): ${dataset.numUsers} users, ${dataset.numItems} movies, split seed ${splitSeed}; ${options.bags} row builds shared by the ${RANKER_OBJECTIVES.length} losses`);
  const members = new Map<RankerObjective, TrainedRanker[]>(RANKER_OBJECTIVES.map((o) => [o, []]));
  let trainRows = 0;
  for (let b = 0; b < options.bags; b++) {
    const rows = await buildRankerRows(dataset, split.train, config, bagSeed(splitSeed, b));
    trainRows += rows.fit.labels.length;
    for (const o of RANKER_OBJECTIVES) {
      const member = fitBagMember(rows, movieLensObjectiveParams(config.ranker, o), b, config.priorWeight, config.features);
      (members.get(o) as TrainedRanker[]).push({ ...member, seconds: member.seconds - rows.seconds });
    }
    log(`bag member ${b + 1}/${options.bags}: ${RANKER_OBJECTIVES.map((o) => `${o} ${(members.get(o)?.at(-1) as TrainedRanker).bestIteration + 1} trees`).join(", ")}`);
  }
  const signals = await RatingSignals.fit(dataset, split.train, config, splitSeed);
  const fits: MovieLensObjectiveFit[] = [];
  for (const o of RANKER_OBJECTIVES) {
    const bag = members.get(o) as TrainedRanker[];
    const ranker = bagRankers(bag);
    const ndcg = (await evaluate(twoStageRecommender(o, () => signals, ranker), split, { k: options.k })).ndcg;
    fits.push({ objective: o, ndcg, trees: bag.reduce((s, m) => s + m.bestIteration + 1, 0) / bag.length, seconds: bag.reduce((s, m) => s + m.seconds, 0) });
    log(`${o}: NDCG@${options.k} ${ndcg.toFixed(4)}`);
  }
  return { users: dataset.numUsers, items: dataset.numItems, splitSeed, trainRows: trainRows / options.bags, fits };
}
