import { createRecWorld, simulateInteractions, type RecWorld } from "@mlsd/synth";
import { hitRate, itemCounts, itemsSeenByUser, meanPopularityRank, mostPopularLists, popularityRanks, recommendForEvalSet, TwoTowerModel, type EvalSet, type TrainingData, type TwoTowerConfig } from "@mlsd/two-tower";
import { clicksOf, worldTrainingData, type ClickLog } from "@mlsd/trainer/src/recs/world-data";
import { prefixLists } from "./lists";

export interface TwoTowerWorldSize {
  users: number;
  items: number;
  sessionsPerUser: number;
}

export interface TwoTowerWorld {
  world: RecWorld;
  clicks: ClickLog;
  /** The trainer's two-tower training data: clicks before the world's cut-off. */
  data: TrainingData;
  trainRows: number;
  /** Every click after the cut-off, with its point-in-time history and the users' training-time features. */
  heldOut: EvalSet;
  /** Items each user clicked in training: left out of their recommendations. */
  seen: Int32Array[];
  /** Popularity rank of each item among training clicks, 0 = most clicked. */
  ranks: Int32Array;
}

/** A recs world, its logged clicks and the trainer's two-tower data split at the cut-off day. */
export function twoTowerWorld(seed: number, size: TwoTowerWorldSize): TwoTowerWorld {
  const world = createRecWorld({ seed, numUsers: size.users, numItems: size.items });
  const clicks = clicksOf(simulateInteractions(world, { seed: seed + 1, sessionsPerUser: size.sessionsPerUser, slateSize: 10 }));
  const { data, histories, trainRows } = worldTrainingData(world, clicks, world.options.trainCutoffDay);
  const end = clicks.user.length;
  if (end - trainRows < 1) throw new RangeError(`no clicks after the cut-off day ${world.options.trainCutoffDay}: simulate more sessions`);
  const heldOut: EvalSet = {
    userFeatures: data.userFeatures,
    interactions: { user: clicks.user.slice(trainRows, end), item: clicks.item.slice(trainRows, end) },
    histories: { length: histories.length, items: histories.items.slice(trainRows * histories.length, end * histories.length) },
  };
  return {
    world,
    clicks,
    data,
    trainRows,
    heldOut,
    seen: itemsSeenByUser(data.interactions, data.numUsers),
    ranks: popularityRanks(itemCounts(data.interactions, data.numItems)),
  };
}

/** Mean popularity rank of the held-out items themselves: where users' next clicks actually sit. */
export function heldOutPopularityRank(w: TwoTowerWorld): number {
  let sum = 0;
  for (const item of w.heldOut.interactions.item) sum += w.ranks[item] as number;
  return sum / w.heldOut.interactions.item.length;
}

/** Top-k lists of the most clicked training items each held-out row's user has not clicked yet. */
export function popularityLists(w: TwoTowerWorld, k: number): Int32Array {
  return mostPopularLists(w.ranks, w.heldOut.interactions.user, w.seen, k);
}

export interface ListQuality {
  name: string;
  /** Recall@k for each k asked for, in order. */
  recall: number[];
  /** Mean popularity rank of the top-`biasK` lists (0 = the most clicked training item). */
  popRank: number;
  trainSeconds: number;
}

/** Recall@k (one held-out click per row) and popularity of rows x kMax lists. */
export function listQuality(w: TwoTowerWorld, name: string, lists: Int32Array, kMax: number, ks: readonly number[], biasK: number, trainSeconds: number): ListQuality {
  const targets = w.heldOut.interactions.item;
  return {
    name,
    recall: ks.map((k) => hitRate(prefixLists(lists, kMax, k), k, targets)),
    popRank: meanPopularityRank(prefixLists(lists, kMax, biasK), w.ranks),
    trainSeconds,
  };
}

/** Trains one two-tower model on the world's training clicks and judges its exact top-kMax lists. */
export async function trainAndJudge(w: TwoTowerWorld, name: string, config: Partial<TwoTowerConfig>, kMax: number, ks: readonly number[], biasK: number): Promise<ListQuality> {
  const model = await TwoTowerModel.fromData(w.data, config);
  const fit = await model.fit(w.data);
  return listQuality(w, name, recommendForEvalSet(model, w.heldOut, kMax, { exclude: w.seen }), kMax, ks, biasK, fit.seconds);
}
