import * as tf from "@tensorflow/tfjs";
import type { EvalSet } from "./data";
import { TwoTowerInputError } from "./errors";
import { userRowsOf } from "./features";
import type { TwoTowerModel } from "./model";

/** Per row, item ids to leave out of the ranking (typically what the user already consumed). */
export type ExcludeFn = (row: number) => ArrayLike<number> | undefined;

/** Bounds one score block to ~32 MB whatever the catalogue size. */
const SCORE_BLOCK_FLOATS = 8_000_000;

/**
 * Exact top-k by dot product: every query against every item with a matrix multiply, best
 * first, ties to the lower item id. Returns rows x k item ids (-1 where fewer than k remain).
 */
export function topKByDot(queries: Float32Array, items: Float32Array, dim: number, k: number, exclude?: ExcludeFn): Int32Array {
  if (!Number.isInteger(k) || k <= 0) throw new TwoTowerInputError("k", `must be a positive integer, got ${k}`);
  if (queries.length % dim !== 0 || items.length % dim !== 0) throw new TwoTowerInputError("dim", `${dim} does not divide the inputs`);
  const nq = queries.length / dim;
  const ni = items.length / dim;
  const out = new Int32Array(nq * k).fill(-1);
  const block = Math.max(1, Math.floor(SCORE_BLOCK_FLOATS / Math.max(ni, 1)));
  const itemTensor = tf.tensor2d(items, [ni, dim]);
  const bestScore = new Float64Array(k);
  const bestItem = new Int32Array(k);
  try {
    for (let start = 0; start < nq; start += block) {
      const end = Math.min(nq, start + block);
      const scores = tf.tidy(() => tf.matMul(tf.tensor2d(queries.subarray(start * dim, end * dim), [end - start, dim]), itemTensor, false, true).dataSync());
      for (let q = start; q < end; q++) {
        const row = scores.subarray((q - start) * ni, (q - start + 1) * ni);
        const skip = exclude?.(q);
        if (skip !== undefined) for (let s = 0; s < skip.length; s++) {
          const id = skip[s] as number;
          if (id >= 0 && id < ni) row[id] = -Infinity;
        }
        bestScore.fill(-Infinity);
        bestItem.fill(-1);
        for (let j = 0; j < ni; j++) {
          const sc = row[j] as number;
          if (!(sc > (bestScore[k - 1] as number))) continue;
          let p = k - 1;
          while (p > 0 && sc > (bestScore[p - 1] as number)) {
            bestScore[p] = bestScore[p - 1] as number;
            bestItem[p] = bestItem[p - 1] as number;
            p--;
          }
          bestScore[p] = sc;
          bestItem[p] = j;
        }
        out.set(bestItem, q * k);
      }
    }
  } finally {
    itemTensor.dispose();
  }
  return out;
}

export interface RecallOptions {
  /** Items to leave out per user id (e.g. itemsSeenByUser of the training log). */
  readonly exclude?: readonly (ArrayLike<number> | undefined)[];
}

/** Top-k catalogue items for each held-out row, scored exactly by the model's two towers. */
export function recommendForEvalSet(model: TwoTowerModel, heldOut: EvalSet, k: number, options: RecallOptions = {}): Int32Array {
  const users = heldOut.interactions.user;
  const rows = Int32Array.from({ length: users.length }, (_, i) => i);
  const queries = model.embedUserRows(userRowsOf(heldOut, users, heldOut.histories, rows));
  const exclude = options.exclude;
  return topKByDot(queries, model.exportItemEmbeddings(), model.config.outputDim, k, exclude && ((r) => exclude[users[r] as number]));
}

/** Share of lists (rows x k) that contain their row's target item. */
export function hitRate(lists: Int32Array, k: number, targets: ArrayLike<number>): number {
  let hits = 0;
  for (let r = 0; r < targets.length; r++) {
    const t = targets[r] as number;
    for (let j = 0; j < k; j++) {
      if (lists[r * k + j] === t) {
        hits++;
        break;
      }
    }
  }
  return targets.length === 0 ? 0 : hits / targets.length;
}

/**
 * Recall@k over all catalogue items with one held-out item per row (so recall = hit rate):
 * the share of held-out interactions whose item the model ranks in its top k.
 */
export function recallAtK(model: TwoTowerModel, heldOut: EvalSet, k: number, options: RecallOptions = {}): number {
  if (heldOut.interactions.item.length !== heldOut.interactions.user.length) {
    throw new TwoTowerInputError("heldOut.interactions.item", "must have one entry per user row");
  }
  return hitRate(recommendForEvalSet(model, heldOut, k, options), k, heldOut.interactions.item);
}

/** Rank of each item by count, 0 = most popular (ties to the lower id). */
export function popularityRanks(counts: ArrayLike<number>): Int32Array {
  const order = Array.from({ length: counts.length }, (_, i) => i).sort((a, b) => (counts[b] as number) - (counts[a] as number) || a - b);
  const ranks = new Int32Array(counts.length);
  order.forEach((item, rank) => (ranks[item] = rank));
  return ranks;
}

/**
 * The most-popular baseline: for each row's user, the k items of lowest popularity rank that the
 * user has not seen (rows x k, -1 where fewer remain).
 */
export function mostPopularLists(ranks: Int32Array, users: ArrayLike<number>, seen: readonly (ArrayLike<number> | undefined)[], k: number): Int32Array {
  if (!Number.isInteger(k) || k <= 0) throw new TwoTowerInputError("k", `must be a positive integer, got ${k}`);
  const byPopularity = Array.from(ranks.keys()).sort((a, b) => (ranks[a] as number) - (ranks[b] as number));
  const lists = new Int32Array(users.length * k).fill(-1);
  for (let r = 0; r < users.length; r++) {
    const skip = new Set(Array.from(seen[users[r] as number] ?? []));
    let j = 0;
    for (const item of byPopularity) {
      if (j === k) break;
      if (!skip.has(item)) lists[r * k + j++] = item;
    }
  }
  return lists;
}

/** Mean popularity rank of the items in recommendation lists (-1 entries skipped). */
export function meanPopularityRank(lists: Int32Array, ranks: Int32Array): number {
  let sum = 0;
  let n = 0;
  for (const item of lists) {
    if (item < 0) continue;
    sum += ranks[item] as number;
    n++;
  }
  return n === 0 ? NaN : sum / n;
}
