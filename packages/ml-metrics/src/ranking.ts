/**
 * Top-k ranking metrics for recommendation. A ranking is the list of item ids in recommended
 * order (best first); relevance is a set of item ids (binary) or a map from item id to a graded
 * gain. Per-list functions return 0 when nothing is relevant; the mean* helpers skip such lists,
 * as trec_eval and the MovieLens comparisons do (a user with no test items is not evaluated).
 */

export type Ranking = ArrayLike<number>;
/** Binary relevance (a set) or graded relevance (item id -> gain, gains <= 0 count as irrelevant). */
export type Relevance = ReadonlySet<number> | ReadonlyMap<number, number>;

export class RankingInputError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "RankingInputError";
  }
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RankingInputError("k", `must be a positive integer, got ${k}`);
}

function isGraded(relevance: Relevance): relevance is ReadonlyMap<number, number> {
  return typeof (relevance as ReadonlyMap<number, number>).get === "function";
}

function gainOf(relevance: Relevance, item: number): number {
  if (!isGraded(relevance)) return relevance.has(item) ? 1 : 0;
  const g = relevance.get(item);
  return g !== undefined && g > 0 ? g : 0;
}

function relevantCount(relevance: Relevance): number {
  if (!isGraded(relevance)) return relevance.size;
  let n = 0;
  for (const g of relevance.values()) if (g > 0) n++;
  return n;
}

function hitsInTopK(ranked: Ranking, relevance: Relevance, k: number): number {
  const n = Math.min(k, ranked.length);
  let hits = 0;
  for (let i = 0; i < n; i++) if (gainOf(relevance, ranked[i] as number) > 0) hits++;
  return hits;
}

/** Relevant items among the first k, divided by k (not by the list length: an empty slot is a miss). */
export function precisionAtK(ranked: Ranking, relevance: Relevance, k: number): number {
  checkK(k);
  return hitsInTopK(ranked, relevance, k) / k;
}

/** Relevant items among the first k, divided by the number of relevant items. */
export function recallAtK(ranked: Ranking, relevance: Relevance, k: number): number {
  checkK(k);
  const total = relevantCount(relevance);
  return total === 0 ? 0 : hitsInTopK(ranked, relevance, k) / total;
}

/** 1 when at least one of the first k items is relevant (HR@k, the leave-one-out metric). */
export function hitRateAtK(ranked: Ranking, relevance: Relevance, k: number): number {
  checkK(k);
  return hitsInTopK(ranked, relevance, k) > 0 ? 1 : 0;
}

export interface NdcgOptions {
  /** "linear": gain = relevance (binary sets give 1); "exponential": gain = 2^relevance - 1. */
  gain?: "linear" | "exponential";
}

/**
 * NDCG@k with the log2(rank + 1) discount. The ideal ranking puts the k largest gains first, so
 * NDCG is 1 exactly when the top k is ordered by gain. The log base cancels in the ratio, so
 * this equals implementations that use ln.
 */
export function ndcgAtK(ranked: Ranking, relevance: Relevance, k: number, options: NdcgOptions = {}): number {
  checkK(k);
  const exponential = options.gain === "exponential";
  const transform = (g: number): number => (exponential ? 2 ** g - 1 : g);
  const n = Math.min(k, ranked.length);
  let dcg = 0;
  for (let i = 0; i < n; i++) {
    const g = gainOf(relevance, ranked[i] as number);
    if (g > 0) dcg += transform(g) / Math.log2(i + 2);
  }
  if (dcg === 0) return 0;
  let ideal: number[];
  if (!isGraded(relevance)) {
    ideal = new Array<number>(Math.min(k, relevance.size)).fill(1);
  } else {
    ideal = [...relevance.values()].filter((g) => g > 0);
    ideal.sort((a, b) => b - a);
    if (ideal.length > k) ideal.length = k;
  }
  let idcg = 0;
  for (let i = 0; i < ideal.length; i++) idcg += transform(ideal[i] as number) / Math.log2(i + 2);
  return dcg / idcg;
}

export interface AveragePrecisionOptions {
  /**
   * What the sum of precisions at hit ranks is divided by.
   * "relevant" (default): the number of relevant items. This is the MAP in the Microsoft
   * Recommenders MovieLens benchmark table (their `map`, after Spark MLlib's meanAveragePrecision),
   * the published comparison our rec-eval protocol follows.
   * "min-relevant-k": min(|relevant|, k), the Kaggle-style MAP@k whose maximum is 1 for any k.
   */
  normalizer?: "relevant" | "min-relevant-k";
}

/** Sum over relevant ranks r <= k of precision@r, divided as the normalizer option says. */
export function averagePrecisionAtK(
  ranked: Ranking,
  relevance: Relevance,
  k: number,
  options: AveragePrecisionOptions = {},
): number {
  checkK(k);
  const total = relevantCount(relevance);
  if (total === 0) return 0;
  const n = Math.min(k, ranked.length);
  let hits = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (gainOf(relevance, ranked[i] as number) > 0) {
      hits++;
      sum += hits / (i + 1);
    }
  }
  const denominator = options.normalizer === "min-relevant-k" ? Math.min(total, k) : total;
  return sum / denominator;
}

/** 1 / rank of the first relevant item within the first k (all of the list when k is omitted), else 0. */
export function reciprocalRank(ranked: Ranking, relevance: Relevance, k?: number): number {
  if (k !== undefined) checkK(k);
  const n = k === undefined ? ranked.length : Math.min(k, ranked.length);
  for (let i = 0; i < n; i++) if (gainOf(relevance, ranked[i] as number) > 0) return 1 / (i + 1);
  return 0;
}

function checkParallel(rankings: readonly Ranking[], relevances: readonly Relevance[]): void {
  if (rankings.length !== relevances.length) {
    throw new RankingInputError(
      "relevances",
      `expected one relevance per ranking (${rankings.length}), got ${relevances.length}`,
    );
  }
}

function meanOverJudged(
  rankings: readonly Ranking[],
  relevances: readonly Relevance[],
  perList: (ranked: Ranking, relevance: Relevance) => number,
): number {
  checkParallel(rankings, relevances);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < rankings.length; i++) {
    const relevance = relevances[i] as Relevance;
    if (relevantCount(relevance) === 0) continue;
    sum += perList(rankings[i] as Ranking, relevance);
    n++;
  }
  return n === 0 ? 0 : sum / n;
}

/** Mean of averagePrecisionAtK over the lists that have at least one relevant item. */
export function meanAveragePrecision(
  rankings: readonly Ranking[],
  relevances: readonly Relevance[],
  k: number,
  options: AveragePrecisionOptions = {},
): number {
  checkK(k);
  return meanOverJudged(rankings, relevances, (r, rel) => averagePrecisionAtK(r, rel, k, options));
}

/** Mean reciprocal rank over the lists that have at least one relevant item. */
export function mrr(rankings: readonly Ranking[], relevances: readonly Relevance[], k?: number): number {
  if (k !== undefined) checkK(k);
  return meanOverJudged(rankings, relevances, (r, rel) => reciprocalRank(r, rel, k));
}

function checkItem(item: number, catalogSize: number): void {
  if (!Number.isInteger(item) || item < 0 || item >= catalogSize) {
    throw new RankingInputError("recommendations", `item ${item} is outside the catalogue [0, ${catalogSize})`);
  }
}

/** How often each item of a catalogue of dense ids [0, catalogSize) appears in the lists. */
export function exposureCounts(recommendations: Iterable<Ranking>, catalogSize: number): Float64Array {
  if (!Number.isInteger(catalogSize) || catalogSize < 1) {
    throw new RankingInputError("catalogSize", `must be a positive integer, got ${catalogSize}`);
  }
  const counts = new Float64Array(catalogSize);
  for (const list of recommendations) {
    for (let i = 0; i < list.length; i++) {
      const item = list[i] as number;
      checkItem(item, catalogSize);
      counts[item] = (counts[item] as number) + 1;
    }
  }
  return counts;
}

/** Share of the catalogue that appears in at least one recommendation list. */
export function catalogCoverage(recommendations: Iterable<Ranking>, catalogSize: number): number {
  const counts = exposureCounts(recommendations, catalogSize);
  let shown = 0;
  for (let i = 0; i < counts.length; i++) if ((counts[i] as number) > 0) shown++;
  return shown / catalogSize;
}

/**
 * Gini index of exposure over every item (zeros included): 0 when all items are shown equally
 * often, (n - 1) / n when one item takes every impression. Computed from the sorted values as
 * sum_i (2i - n - 1) x_(i) / (n * sum x), i = 1..n.
 */
export function giniIndex(exposure: ArrayLike<number>): number {
  const n = exposure.length;
  if (n === 0) throw new RankingInputError("exposure", "needs at least one item");
  const sorted = Float64Array.from(exposure);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const x = sorted[i] as number;
    if (!(x >= 0) || !Number.isFinite(x)) {
      throw new RankingInputError("exposure", `value ${i} is ${x}; exposure must be finite and >= 0`);
    }
    total += x;
  }
  if (total === 0) return 0;
  sorted.sort();
  let weighted = 0;
  for (let i = 0; i < n; i++) weighted += (2 * (i + 1) - n - 1) * (sorted[i] as number);
  return weighted / (n * total);
}
