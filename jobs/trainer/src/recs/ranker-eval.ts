import { ndcgAtK } from "@mlsd/ml-metrics";
import { Rng } from "@mlsd/random";

/** Held-out query groups with both kinds of truth: what users clicked and what they would have liked. */
export interface RankingEvalSet {
  /** Group g spans rows [groupOffsets[g], groupOffsets[g + 1]). */
  groupOffsets: Int32Array;
  /** Item id of each row (distinct within a group). */
  items: ArrayLike<number>;
  /** P(click | examined) of each row's user and item: the world's ground truth. */
  trueRelevance: ArrayLike<number>;
  clicked: ArrayLike<number>;
}

export interface NdcgResult {
  /** Mean NDCG@k with the true relevance as a linear gain, over every group. */
  trueRelevance: number;
  /** Mean NDCG@k with clicks as binary gains, over the groups with at least one click. */
  clicks: number;
  groups: number;
  groupsWithClicks: number;
}

/**
 * NDCG@k of the order `scores` puts each group in. Ties are broken by a fixed random order, not by
 * row order: rows come in logged order, and breaking ties by it would hand every method with
 * ties the logging policy's ranking for free.
 */
export function ndcgOfScores(set: RankingEvalSet, scores: ArrayLike<number>, k: number, tieSeed = 1): NdcgResult {
  const n = set.items.length;
  if (scores.length !== n) throw new RangeError(`scores: expected one per row (${n}), got ${scores.length}`);
  const rng = new Rng(tieSeed);
  const tie = Float64Array.from({ length: n }, () => rng.next());
  let sumTrue = 0;
  let sumClicks = 0;
  let judged = 0;
  const groups = set.groupOffsets.length - 1;
  for (let g = 0; g < groups; g++) {
    const start = set.groupOffsets[g] as number;
    const end = set.groupOffsets[g + 1] as number;
    const rows = Array.from({ length: end - start }, (_, i) => start + i);
    rows.sort((a, b) => (scores[b] as number) - (scores[a] as number) || (tie[a] as number) - (tie[b] as number));
    const ranking = rows.map((r) => set.items[r] as number);
    const gains = new Map<number, number>();
    const clicked = new Set<number>();
    for (const r of rows) {
      gains.set(set.items[r] as number, set.trueRelevance[r] as number);
      if (set.clicked[r]) clicked.add(set.items[r] as number);
    }
    sumTrue += ndcgAtK(ranking, gains, k);
    if (clicked.size > 0) {
      sumClicks += ndcgAtK(ranking, clicked, k);
      judged++;
    }
  }
  return { trueRelevance: groups > 0 ? sumTrue / groups : 0, clicks: judged > 0 ? sumClicks / judged : 0, groups, groupsWithClicks: judged };
}
