import { createHash } from "node:crypto";
import type { RatingsDataset } from "@mlsd/datasets";
import { averageModels, Dataset, featureImportance, GbdtModel, Predictor, train as trainGbdt, type GbdtModelJson, type TrainParamsInput } from "@mlsd/gbdt";
import { Ease, Ials, ItemKnn, RecEvalError, Rp3Beta, topK, UserItemMatrix, UserKnn, type Interactions, type Recommender } from "@mlsd/rec-eval";
import { Rng } from "@mlsd/random";
import { fitLowRankEase, linearScores, linearUserVector, type LinearTowers } from "@mlsd/two-tower";
import { defaultWorkers, WorkerPool } from "../worker-pool";

// The project's own recommender for rating logs (MovieLens): low-rank EASE retrieval (a
// two-tower model with linear towers, served by HNSW) hands its top candidates to a LambdaRank
// GBDT that sees the retrieval score next to item-item, user-user, random-walk and
// matrix-factorisation signals, popularity, time, genre and user statistics.

/** The 27 features of feature set /3 (the ranker before iALS joined): the search's older variants read these. */
export const RANKER_FEATURES_V3 = [
  "retrieval_score_z",
  "retrieval_score_rel",
  "retrieval_rank",
  "itemknn_score_rel",
  "itemknn_max_rel",
  "rp3_score_rel",
  "rp3_rank",
  "userknn_score_rel",
  "userknn_rank",
  "item_log_popularity",
  "item_mean_rating",
  "item_release_year",
  "item_window_share_7d",
  "item_window_share_30d",
  "item_time_gap_days",
  "item_first_after_user_days",
  "user_first_after_item_days",
  "item_share_in_user_span",
  "user_span_days",
  "user_log_activity",
  "user_mean_rating",
  "user_mean_item_popularity",
  "item_popularity_vs_user",
  "genre_affinity",
  "user_age",
  "user_gender",
  "user_occupation",
] as const;

/**
 * A model of another family: implicit ALS (matrix factorisation), its score as a z-score among
 * the candidates and its rank. Every other signal is item-item or user-user; the ranker search
 * scored these on three validation splits before they joined the shipped set.
 */
export const IALS_FEATURES = ["ials_z", "ials_rank"] as const;

/** The shipped ranker's features: feature set /3 and iALS. */
export const TWO_STAGE_FEATURES = [...RANKER_FEATURES_V3, ...IALS_FEATURES] as const;

/**
 * Session features (what others rated within a day of the user's ratings): computed on every
 * candidate row so the ranker search can score them, but not in the shipped set, since they did
 * not pay on validation (the trainer README's variant table).
 */
export const SESSION_FEATURES = ["item_share_near_user_1d", "item_log_near_user_1d", "item_traffic_share_near_user_1d", "item_age_at_user_years", "user_sessions"] as const;

/**
 * Co-session item-kNN: cosine between movies over rating sessions (a user's ratings split where
 * they paused longer than `sessionGapMinutes`) instead of over users, so two movies are similar
 * when people rate them in the same sitting. The candidate's summed similarity to the user's
 * movies, relative to the best candidate's, and its rank among the candidates. Search-only, like
 * the session features, until validation says it pays.
 */
export const COSESSION_FEATURES = ["cosession_score_rel", "cosession_rank"] as const;

/**
 * Second opinions, search-only: full EASE at a sharper and a smoother penalty than retrieval's
 * (z-score among the candidates and rank), and item-kNN read through the user's ratings (the
 * similarity-weighted mean of the user's rating minus their mean rating over the candidate's
 * neighbours in the history: did they like the movies this one resembles).
 */
export const EASE_LAMBDAS = [100, 2000] as const;
export const SECOND_OPINION_FEATURES = ["ease_lambda100_z", "ease_lambda100_rank", "ease_lambda2000_z", "ease_lambda2000_rank", "itemknn_rating_dev"] as const;

/**
 * iALS's settings, chosen alone by validation NDCG@10 on the inner split of seed 42's training
 * half (`--tune --tune-stages ials`: alpha {5, 10, 20, 30, 50} x lambda {10, 50, 100, 150, 300}
 * at 64 factors; 0.2775, the best of 25, on a ridge where the best lambda grows with alpha).
 */
export const IALS_SETTINGS = { factors: 64, alpha: 20, lambda: 100, iterations: 10 } as const;

/** The columns of a candidate row: the shipped features, then the search-only ones. */
export const CANDIDATE_COLUMNS = [...TWO_STAGE_FEATURES, ...SESSION_FEATURES, ...COSESSION_FEATURES, ...SECOND_OPINION_FEATURES] as const;
/** Columns that need models of their own, fitted only when `searchColumns` is set (else NaN). */
const FITTED_SEARCH_COLUMNS: readonly TwoStageFeature[] = [...COSESSION_FEATURES, ...SECOND_OPINION_FEATURES];
export type TwoStageFeature = (typeof CANDIDATE_COLUMNS)[number];
const F = CANDIDATE_COLUMNS.length;

/** What a published two-stage ranker was trained on; a service must compute exactly these. */
export const TWO_STAGE_FEATURE_SET = {
  name: "movielens-two-stage/4",
  names: TWO_STAGE_FEATURES,
  schemaHash: createHash("sha256").update(JSON.stringify({ version: 4, names: TWO_STAGE_FEATURES })).digest("hex").slice(0, 16),
} as const;

export interface TwoStageConfig {
  /** Low-rank EASE: eigen-directions kept (the embedding size) and the L2 penalty. */
  retrievalDim: number;
  retrievalLambda: number;
  /** Retrieval candidates per user that the ranker orders. */
  candidates: number;
  /** The ranker learns from K folds of the training ratings: models fit on K-1, labels from the held-out one. */
  folds: number;
  /**
   * Rankers in the bag: each is boosted on stacked rows dealt into folds by its own seed, and the
   * shipped model averages their margins (one model with every tree, `averageModels`). 1: no bag.
   */
  bags: number;
  itemNeighbors: number;
  /** A pause longer than this starts a new rating session (the co-session item-kNN's rows). */
  sessionGapMinutes: number;
  userNeighbors: number;
  rp3Beta: number;
  /** The ranker's trees start from priorWeight * retrieval_score_z (0: from nothing). */
  priorWeight: number;
  /** The candidate columns the ranker reads (the shipped set: TWO_STAGE_FEATURES). */
  features: readonly TwoStageFeature[];
  /**
   * Fit the models behind the search-only columns (co-session kNN, EASE at other penalties) even
   * when `features` does not read them: the ranker search scores every column on one set of rows.
   */
  searchColumns?: boolean;
  ranker: TrainParamsInput;
  /**
   * Threads that fit the ranker's folds and boost its bag members at once (default: the machine's
   * cores; 1: everything on this thread). Any value gives the same rows and the same ranker.
   */
  workers?: number;
}

/**
 * Chosen on validation splits carved from the training half only (`--tune`, see the trainer
 * README): retrieval dim and lambda by recall@200, folds and the ranker's step and depth by
 * NDCG@10; rounds by early stopping on held-out training users.
 */
export const MOVIELENS_TWO_STAGE: TwoStageConfig = {
  retrievalDim: 512,
  retrievalLambda: 500,
  candidates: 50,
  folds: 5,
  bags: 5,
  itemNeighbors: 100,
  sessionGapMinutes: 30,
  userNeighbors: 50,
  rp3Beta: 0.5,
  priorWeight: 0.05,
  features: TWO_STAGE_FEATURES,
  ranker: {
    objective: "lambdarank",
    numRounds: 1000,
    learningRate: 0.05,
    maxDepth: 2,
    minChildWeight: 10,
    subsample: 0.8,
    colsampleByTree: 0.8,
    earlyStoppingRounds: 60,
    evalMetric: "ndcg",
    ndcgAt: 10,
    seed: 7,
  },
};

const DAY = 86_400;

/** Everything the ranker's features are computed from, fitted on one training matrix. */
export class RatingSignals {
  private readonly itemLogPopularity: Float64Array;
  private readonly itemMeanRating: Float64Array;
  private readonly itemTimes: Float64Array[];
  private readonly itemMedianTime: Float64Array;
  private readonly allTimes: Float64Array;
  private readonly userMedianTime: Float64Array;
  private readonly userFirstTime: Float64Array;
  private readonly userLastTime: Float64Array;
  private readonly userMeanPopularity: Float64Array;
  private readonly meanUserCount: number;
  private readonly occupations: Map<string, number>;
  private readonly scratch: { retrieval: Float32Array; user: Float32Array; seen: Uint8Array; cosession: Float32Array; ials: Float32Array };
  /** Every user's retrieval scores (users x items), once precomputeRetrieval has run. */
  private everyUsersRetrieval: Float32Array | undefined;

  private constructor(
    readonly dataset: RatingsDataset,
    readonly train: UserItemMatrix,
    readonly config: TwoStageConfig,
    readonly towers: LinearTowers,
    private readonly itemKnn: ItemKnn,
    private readonly rp3: Rp3Beta,
    private readonly userKnn: UserKnn,
    private readonly ials: Ials,
    private readonly search: SearchSignals | undefined,
  ) {
    const m = train;
    const n = m.numItems;
    const counts = m.itemCounts();
    const meanCount = m.nnz / Math.max(1, n);
    this.itemLogPopularity = Float64Array.from(counts, (c) => Math.log((c + 1) / meanCount));
    const sums = new Float64Array(n);
    const times: number[][] = Array.from({ length: n }, () => []);
    for (let u = 0; u < m.numUsers; u++) {
      for (let p = m.indptr[u] as number; p < (m.indptr[u + 1] as number); p++) {
        const i = m.indices[p] as number;
        sums[i]! += m.values[p] as number;
        (times[i] as number[]).push(m.timestamps[p] as number);
      }
    }
    this.itemMeanRating = Float64Array.from(sums, (s, i) => ((counts[i] as number) > 0 ? s / (counts[i] as number) : Number.NaN));
    this.itemTimes = times.map((t) => Float64Array.from(t).sort());
    this.itemMedianTime = Float64Array.from(this.itemTimes, (t) => (t.length ? (t[t.length >> 1] as number) : Number.NaN));
    this.allTimes = Float64Array.from(m.timestamps).sort();
    this.meanUserCount = m.nnz / Math.max(1, m.numUsers);
    this.userMedianTime = new Float64Array(m.numUsers);
    this.userFirstTime = new Float64Array(m.numUsers).fill(Number.NaN);
    this.userLastTime = new Float64Array(m.numUsers).fill(Number.NaN);
    this.userMeanPopularity = new Float64Array(m.numUsers);
    for (let u = 0; u < m.numUsers; u++) {
      const ts = Float64Array.from(m.timestamps.subarray(m.indptr[u] as number, m.indptr[u + 1] as number)).sort();
      this.userMedianTime[u] = ts.length ? (ts[ts.length >> 1] as number) : Number.NaN;
      if (ts.length) {
        this.userFirstTime[u] = ts[0] as number;
        this.userLastTime[u] = ts[ts.length - 1] as number;
      }
      let p = 0;
      for (const i of m.itemsOf(u)) p += this.itemLogPopularity[i] as number;
      this.userMeanPopularity[u] = m.countOf(u) > 0 ? p / m.countOf(u) : Number.NaN;
    }
    this.occupations = new Map([...new Set(dataset.users?.occupations ?? [])].sort().map((o, k) => [o, k]));
    this.scratch = { retrieval: new Float32Array(n), user: new Float32Array(towers.dim), seen: new Uint8Array(n), cosession: new Float32Array(n), ials: new Float32Array(n) };
  }

  static async fit(dataset: RatingsDataset, train: UserItemMatrix, config: TwoStageConfig, seed: number): Promise<RatingSignals> {
    const wantsSearch = config.searchColumns === true || config.features.some((f) => FITTED_SEARCH_COLUMNS.includes(f));
    const towers = await fitRetrievalTowers(train, config, seed);
    const itemKnn = new ItemKnn({ neighbors: config.itemNeighbors });
    itemKnn.fit(train);
    const rp3 = new Rp3Beta({ beta: config.rp3Beta, neighbors: 2 * config.itemNeighbors });
    rp3.fit(train);
    const userKnn = new UserKnn({ neighbors: config.userNeighbors });
    userKnn.fit(train);
    const ials = new Ials(IALS_SETTINGS);
    ials.fit(train);
    return new RatingSignals(dataset, train, config, towers, itemKnn, rp3, userKnn, ials, wantsSearch ? await fitSearchSignals(train, config) : undefined);
  }

  /** The retrieval stage's exact scores for every item: <user vector, item vector>. */
  retrievalScores(user: number, out: Float32Array = this.scratch.retrieval): Float32Array {
    const n = this.towers.numItems;
    if (this.everyUsersRetrieval) {
      out.set(this.everyUsersRetrieval.subarray(user * n, (user + 1) * n));
      return out;
    }
    const d = this.towers.dim;
    const q = linearUserVector(this.towers, this.train.itemsOf(user), this.scratch.user);
    const items = this.towers.itemVectors;
    for (let j = 0; j < this.towers.numItems; j++) {
      let s = 0;
      const base = j * d;
      for (let r = 0; r < d; r++) s += (q[r] as number) * (items[base + r] as number);
      out[j] = s;
    }
    return out;
  }

  /**
   * retrievalScores of several users at once (users x items, row-major), in one matrix product:
   * the same bits as calling it per user, at a fraction of the time on large catalogues.
   */
  async retrievalScoresOf(users: readonly number[]): Promise<Float32Array> {
    return Float32Array.from(await linearScores(this.towers, users.map((u) => this.train.itemsOf(u))));
  }

  /**
   * Scores every user's retrieval now, in one product, when users x items float32 fit in
   * `budgetBytes`; later retrievalScores calls copy their row (the same bits) instead of looping
   * over the catalogue. For evaluations that rank every user several times. Returns whether it did.
   */
  async precomputeRetrieval(budgetBytes = 256 << 20): Promise<boolean> {
    if (this.train.numUsers * this.towers.numItems * 4 > budgetBytes) return false;
    this.everyUsersRetrieval = await this.retrievalScoresOf(Array.from({ length: this.train.numUsers }, (_, u) => u));
    return true;
  }

  /**
   * The user's retrieval candidates (unseen items, best first) and their feature rows (candidates x
   * F); `count` (default: the config's) as many, the whole unseen catalogue when it is that large.
   * `retrieval`: the user's scores from retrievalScoresOf, when already computed.
   */
  candidates(user: number, count: number = this.config.candidates, retrieval: Float32Array = this.retrievalScores(user)): { items: Int32Array; rows: Float64Array } {
    const seen = this.scratch.seen;
    const history = this.train.itemsOf(user);
    for (const i of history) seen[i] = 1;
    const items = topK(retrieval, Math.min(count, this.train.numItems), seen);
    for (const i of history) seen[i] = 0;
    return { items, rows: this.rowsFor(user, items, retrieval) };
  }

  /**
   * Feature rows (items x F) for candidates someone else retrieved, best first, with their retrieval
   * scores (`retrieval[j]` for each candidate j; nothing else is read): what serving builds from
   * the ANN index's answer.
   */
  rowsFor(user: number, items: Int32Array, retrieval: ArrayLike<number>): Float64Array {
    const m = this.train;
    const n = m.numItems;
    const history = m.itemsOf(user);
    const knn = Float32Array.from(this.itemKnn.scoreAll(user));
    const rp3 = Float32Array.from(this.rp3.scoreAll(user));
    const uknn = Float32Array.from(this.userKnn.scoreAll(user));
    const rp3Rank = rankWithin(rp3, items);
    const uknnRank = rankWithin(uknn, items);
    const search = this.search;
    const cosession = search ? search.cosessionKnn.scoreItems(history, this.scratch.cosession) : undefined;
    const cosessionRank = cosession ? rankWithin(cosession, items) : undefined;
    const ease = search ? search.ease.map((model) => zAndRank(model.scoreAll(user), items)) : [];
    const ials = zAndRank(this.ials.scoreItems(user, items, this.scratch.ials), items);

    let maxRetrieval = Number.NEGATIVE_INFINITY;
    let sumRetrieval = 0;
    let sumRetrieval2 = 0;
    let maxKnn = 1e-12;
    let maxRp3 = 1e-12;
    let maxUknn = 1e-12;
    let maxCosession = 1e-12;
    for (const j of items) {
      if (cosession) maxCosession = Math.max(maxCosession, cosession[j] as number);
      maxRetrieval = Math.max(maxRetrieval, retrieval[j] as number);
      sumRetrieval += retrieval[j] as number;
      sumRetrieval2 += (retrieval[j] as number) ** 2;
      maxKnn = Math.max(maxKnn, knn[j] as number);
      maxRp3 = Math.max(maxRp3, rp3[j] as number);
      maxUknn = Math.max(maxUknn, uknn[j] as number);
    }
    const historySet = new Set(history);
    const tu = this.userMedianTime[user] as number;
    const userFirst = this.userFirstTime[user] as number;
    const userLast = this.userLastTime[user] as number;
    const window = (t: Float64Array, days: number) => lowerBound(t, tu + days * DAY) - lowerBound(t, tu - days * DAY);
    const all7 = Math.max(1, window(this.allTimes, 7));
    const all30 = Math.max(1, window(this.allTimes, 30));
    // The days the user was rating (each rating time +-1 day, overlapping windows merged): a
    // random split hides ratings from those same sessions, so what others rated then is telling.
    const sessions = activeWindows(m.timestamps.subarray(m.indptr[user] as number, m.indptr[user + 1] as number), DAY);
    const near = (t: Float64Array) => {
      let c = 0;
      for (let w = 0; w < sessions.length; w += 2) c += lowerBound(t, sessions[w + 1] as number) - lowerBound(t, sessions[w] as number);
      return c;
    };
    const nearAll = Math.max(1, near(this.allTimes));
    const userYear = Number.isFinite(tu) ? new Date(tu * 1000).getUTCFullYear() + new Date(tu * 1000).getUTCMonth() / 12 : Number.NaN;
    const genres = this.dataset.items.genres;
    const genreShare = new Map<number, number>();
    for (const i of history) for (const g of genres[i] ?? []) genreShare.set(g, (genreShare.get(g) ?? 0) + 1 / history.length);
    let ratingSum = 0;
    const ratings = m.valuesOf(user);
    for (let p = 0; p < history.length; p++) ratingSum += ratings[p] as number;
    const users = this.dataset.users;
    const age = users ? (users.ages[user] as number) : Number.NaN;
    const gender = users ? (users.genders[user] === "F" ? 1 : 0) : Number.NaN;
    const occupation = users ? (this.occupations.get(users.occupations[user] as string) ?? Number.NaN) : Number.NaN;
    const logActivity = Math.log(Math.max(1, history.length) / this.meanUserCount);
    const meanRating = history.length ? ratingSum / history.length : Number.NaN;
    const meanPopularity = this.userMeanPopularity[user] as number;

    // The strongest similarity between each candidate and a history item (similarity is symmetric,
    // so it is the first history item among the candidate's own neighbours).
    const knnMax = Float64Array.from(items, (j) => {
      const neighbours = this.itemKnn.neighborsOf(j);
      for (let p = 0; p < neighbours.ids.length; p++) if (historySet.has(neighbours.ids[p] as number)) return neighbours.similarities[p] as number;
      return 0;
    });
    const topKnnMax = Math.max(1e-12, ...knnMax);
    // Search-only (the shipped bag does not read it, so serving skips the work): item-kNN through
    // the user's ratings, over the candidate's neighbours the user rated, the similarity-weighted
    // mean of (their rating - their mean rating).
    const knnRatingDev = search ? this.knnRatingDeviation(history, ratings, meanRating, items) : undefined;
    const meanRetrieval = sumRetrieval / items.length;
    const sdRetrieval = Math.sqrt(Math.max(0, sumRetrieval2 / items.length - meanRetrieval ** 2)) || 1;

    const rows = new Float64Array(items.length * F);
    items.forEach((j, r) => {
      let affinity = 0;
      for (const g of genres[j] ?? []) affinity += genreShare.get(g) ?? 0;
      const t = this.itemTimes[j] as Float64Array;
      const year = this.dataset.items.releaseYears[j] as number;
      const nearCount = near(t);
      const values = [
        ((retrieval[j] as number) - meanRetrieval) / sdRetrieval,
        (retrieval[j] as number) / Math.max(1e-12, Math.abs(maxRetrieval)),
        r,
        (knn[j] as number) / maxKnn,
        (knnMax[r] as number) / topKnnMax,
        (rp3[j] as number) / maxRp3,
        rp3Rank[r] as number,
        (uknn[j] as number) / maxUknn,
        uknnRank[r] as number,
        this.itemLogPopularity[j] as number,
        this.itemMeanRating[j] as number,
        year > 0 ? year : Number.NaN,
        window(t, 7) / all7,
        window(t, 30) / all30,
        ((this.itemMedianTime[j] as number) - tu) / DAY,
        // A movie first rated after the user's last rating (or last rated before their first) is
        // one the user was rarely around to rate: ML users rate in short bursts.
        t.length ? ((t[0] as number) - userLast) / DAY : Number.NaN,
        t.length ? (userFirst - (t[t.length - 1] as number)) / DAY : Number.NaN,
        t.length ? (lowerBound(t, userLast + DAY) - lowerBound(t, userFirst - DAY)) / t.length : Number.NaN,
        (userLast - userFirst) / DAY,
        logActivity,
        meanRating,
        meanPopularity,
        (this.itemLogPopularity[j] as number) - meanPopularity,
        affinity,
        age,
        gender,
        occupation,
        ials.z[r] as number,
        ials.rank[r] as number,
        t.length ? nearCount / t.length : Number.NaN,
        Math.log1p(nearCount),
        (nearCount / nearAll) * n,
        year > 0 ? userYear - year : Number.NaN,
        sessions.length / 2,
        cosession ? (cosession[j] as number) / maxCosession : Number.NaN,
        cosessionRank ? (cosessionRank[r] as number) : Number.NaN,
        ...EASE_LAMBDAS.flatMap((_, e) => (ease[e] ? [ease[e].z[r] as number, ease[e].rank[r] as number] : [Number.NaN, Number.NaN])),
        knnRatingDev ? (knnRatingDev[r] as number) : Number.NaN,
      ];
      rows.set(values, r * F);
    });
    return rows;
  }

  private knnRatingDeviation(history: ArrayLike<number>, ratings: ArrayLike<number>, meanRating: number, items: Int32Array): Float64Array {
    const ratingOf = new Map<number, number>();
    for (let p = 0; p < history.length; p++) ratingOf.set(history[p] as number, ratings[p] as number);
    return Float64Array.from(items, (j) => {
      const neighbours = this.itemKnn.neighborsOf(j);
      let num = 0;
      let den = 0;
      for (let p = 0; p < neighbours.ids.length; p++) {
        const r = ratingOf.get(neighbours.ids[p] as number);
        if (r === undefined) continue;
        num += (neighbours.similarities[p] as number) * (r - meanRating);
        den += neighbours.similarities[p] as number;
      }
      return den > 0 ? num / den : Number.NaN;
    });
  }
}

/**
 * The training ratings with one row per rating session instead of per user: a user's ratings in
 * time order, a new session wherever the pause exceeds `gapSeconds`.
 */
export function sessionMatrix(train: UserItemMatrix, gapSeconds: number): UserItemMatrix {
  const sessions = new Int32Array(train.nnz);
  let numSessions = 0;
  for (let u = 0; u < train.numUsers; u++) {
    const start = train.indptr[u] as number;
    const order = Array.from({ length: (train.indptr[u + 1] as number) - start }, (_, k) => start + k).sort((a, b) => (train.timestamps[a] as number) - (train.timestamps[b] as number));
    order.forEach((p, k) => {
      if (k === 0 || (train.timestamps[p] as number) - (train.timestamps[order[k - 1] as number] as number) > gapSeconds) numSessions++;
      sessions[p] = numSessions - 1;
    });
  }
  return UserItemMatrix.fromRatings({ ...matrixInteractions(train), numUsers: numSessions, users: sessions });
}

/** The retrieval stage's towers (low-rank EASE) on the training ratings: what the retrieval service serves. */
export function fitRetrievalTowers(train: UserItemMatrix, config: Pick<TwoStageConfig, "retrievalDim" | "retrievalLambda">, seed: number): Promise<LinearTowers> {
  return fitLowRankEase(
    { numRows: train.numUsers, numColumns: train.numItems, indptr: train.indptr, indices: train.indices },
    { dim: Math.min(config.retrievalDim, train.numItems), lambda: config.retrievalLambda, seed },
  );
}

/** The models behind the search-only columns. */
interface SearchSignals {
  cosessionKnn: ItemKnn;
  /** Full EASE at each of EASE_LAMBDAS. */
  ease: Ease[];
}

async function fitSearchSignals(train: UserItemMatrix, config: TwoStageConfig): Promise<SearchSignals> {
  const cosessionKnn = new ItemKnn({ neighbors: config.itemNeighbors });
  cosessionKnn.fit(sessionMatrix(train, config.sessionGapMinutes * 60));
  const ease: Ease[] = [];
  for (const lambda of EASE_LAMBDAS) {
    const model = new Ease({ lambda });
    await model.fit(train);
    ease.push(model);
  }
  return { cosessionKnn, ease };
}

/** Z-score among the listed items and rank (0 = best) of each listed item by `scores`. */
function zAndRank(scores: Float32Array, items: Int32Array): { z: Float64Array; rank: Float64Array } {
  let sum = 0;
  let sum2 = 0;
  for (const j of items) {
    sum += scores[j] as number;
    sum2 += (scores[j] as number) ** 2;
  }
  const mean = sum / Math.max(1, items.length);
  const sd = Math.sqrt(Math.max(0, sum2 / Math.max(1, items.length) - mean ** 2)) || 1;
  return { z: Float64Array.from(items, (j) => ((scores[j] as number) - mean) / sd), rank: rankWithin(scores, items) };
}

/** Rank (0 = best) of each listed item among the listed items by `scores`. */
function rankWithin(scores: Float32Array, items: Int32Array): Float64Array {
  const order = Array.from(items.keys()).sort((a, b) => (scores[items[b] as number] as number) - (scores[items[a] as number] as number) || a - b);
  const rank = new Float64Array(items.length);
  order.forEach((k, r) => (rank[k] = r));
  return rank;
}

/** Sorted [start, end) pairs covering every time +-radius, overlapping windows merged. */
function activeWindows(times: ArrayLike<number>, radius: number): Float64Array {
  const sorted = Float64Array.from(times).sort();
  const out: number[] = [];
  for (const t of sorted) {
    if (out.length && t - radius <= (out[out.length - 1] as number)) out[out.length - 1] = t + radius;
    else out.push(t - radius, t + radius);
  }
  return Float64Array.from(out);
}

function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A matrix back to the rating log the split functions take. */
export function matrixInteractions(m: UserItemMatrix): Interactions {
  const users = new Int32Array(m.nnz);
  for (let u = 0; u < m.numUsers; u++) users.fill(u, m.indptr[u] as number, m.indptr[u + 1] as number);
  return { numUsers: m.numUsers, numItems: m.numItems, users, items: m.indices, values: m.values, timestamps: m.timestamps };
}

const PRIOR_FEATURE = CANDIDATE_COLUMNS.indexOf("retrieval_score_z");

/** priorWeight * retrieval_score_z of each row: the score the ranker's trees correct. */
export function priorMargins(rows: Float64Array, numRows: number, priorWeight: number): Float64Array {
  return Float64Array.from({ length: numRows }, (_, r) => priorWeight * (rows[r * F + PRIOR_FEATURE] as number));
}

/** Candidate rows (numRows x F, in CANDIDATE_COLUMNS order) cut down to `features`, in that order. */
export function selectColumns(rows: Float64Array, numRows: number, features: readonly TwoStageFeature[]): { data: Float64Array; numRows: number; numColumns: number } {
  if (features.length === F && features.every((f, c) => CANDIDATE_COLUMNS[c] === f)) return { data: rows, numRows, numColumns: F };
  const columns = features.map((f) => {
    const c = CANDIDATE_COLUMNS.indexOf(f);
    if (c < 0) throw new RecEvalError("features", `unknown two-stage feature ${String(f)}`);
    return c;
  });
  const out = new Float64Array(numRows * columns.length);
  for (let r = 0; r < numRows; r++) columns.forEach((c, k) => (out[r * columns.length + k] = rows[r * F + c] as number));
  return { data: out, numRows, numColumns: columns.length };
}

/** Stacked rows as plain data, to hand to a worker thread. */
export interface RowsData {
  data: Float64Array<ArrayBuffer>;
  labels: number[];
  groups: number[];
}

class Rows {
  data = new Float64Array(1 << 16);
  labels: number[] = [];
  groups: number[] = [];
  length = 0;

  static fromData(rows: RowsData): Rows {
    const out = new Rows();
    out.data = rows.data;
    out.length = rows.data.length;
    out.labels = rows.labels;
    out.groups = rows.groups;
    return out;
  }

  /** The filled part of the rows, copied, and the labels and groups. */
  toData(): RowsData {
    return { data: this.data.slice(0, this.length), labels: this.labels, groups: this.groups };
  }

  add(rows: Float64Array, labels: number[]): void {
    while (this.length + rows.length > this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data.set(rows, this.length);
    this.length += rows.length;
    this.labels.push(...labels);
    this.groups.push(labels.length);
  }

  dataset(reference: Dataset | undefined, priorWeight: number, features: readonly TwoStageFeature[]): Dataset {
    const numRows = this.labels.length;
    const all = this.data.subarray(0, this.length);
    const baseMargin = priorWeight > 0 ? priorMargins(all, numRows, priorWeight) : undefined;
    return Dataset.fromRows(selectColumns(all, numRows, features), {
      labels: this.labels,
      groups: this.groups,
      ...(baseMargin ? { baseMargin } : {}),
      ...(reference ? { reference } : { featureNames: [...features] }),
    });
  }
}

export interface TrainedRanker {
  model: GbdtModel;
  /** The columns the trees read, in order (of CANDIDATE_COLUMNS). */
  features: readonly TwoStageFeature[];
  /** The ranker scores candidates as priorWeight * retrieval_score_z + the trees' output. */
  priorWeight: number;
  bestIteration: number;
  /** NDCG@10 of the ranker on its early-stopping users (held-out training users, their fold labels). */
  validNdcg: number | null;
  rows: number;
  groups: number;
  /** Share of the held-out fold ratings found among the candidates: the ranker's ceiling. */
  candidateRecall: number;
  topFeatures: string[];
  seconds: number;
}

/** The ranker's training rows: fit users' and early-stopping users' candidate lists with their fold labels. */
export interface RankerRows {
  fit: Rows;
  valid: Rows;
  candidateRecall: number;
  seconds: number;
}

/** One fold of one deal of the training ratings: everything a worker thread needs to build its rows. */
export interface FoldTask {
  dataset: RatingsDataset;
  /** The training ratings (matrixInteractions of the training matrix). */
  ratings: Interactions;
  /** Each rating's fold, and the fold this task holds out. */
  fold: Int32Array;
  heldOut: number;
  /** 1 for the users who only early-stop the boosting. */
  isValid: Uint8Array;
  config: TwoStageConfig;
  /** The signals' seed. */
  seed: number;
}

/** A fold's query groups in user order: their rows (concatenated), labels, sizes and which side they go to. */
export interface FoldRows {
  data: Float64Array<ArrayBuffer>;
  labels: Uint8Array<ArrayBuffer>;
  groupSizes: Int32Array<ArrayBuffer>;
  groupValid: Uint8Array<ArrayBuffer>;
  /** Held-out ratings found among the candidates, and all held-out ratings of users with candidates. */
  found: number;
  heldOutRatings: number;
  fitRatings: number;
}

/**
 * Fits the signals on every fold but the held-out one and labels each user's retrieval candidates
 * with the held-out ratings (1 = rated). Pure: the same task gives the same rows in any thread.
 */
export async function buildFoldRows(task: FoldTask): Promise<FoldRows> {
  const { ratings, fold, heldOut } = task;
  const fitIdx: number[] = [];
  const labelIdx: number[] = [];
  for (let p = 0; p < fold.length; p++) (fold[p] === heldOut ? labelIdx : fitIdx).push(p);
  const fitM = UserItemMatrix.fromRatings(ratings, fitIdx);
  const labelM = UserItemMatrix.fromRatings(ratings, labelIdx);
  const signals = await RatingSignals.fit(task.dataset, fitM, task.config, task.seed);
  const chunks: Float64Array[] = [];
  const labels: number[] = [];
  const groupSizes: number[] = [];
  const groupValid: number[] = [];
  let found = 0;
  let heldOutRatings = 0;
  const users = Array.from({ length: ratings.numUsers }, (_, u) => u).filter((u) => labelM.countOf(u) > 0 && fitM.countOf(u) > 0);
  // Retrieval scores a block of users at a time (about 64 MB of them), in one product each.
  const n = fitM.numItems;
  const block = Math.max(1, Math.floor((64 << 20) / (8 * Math.max(1, n))));
  for (let b0 = 0; b0 < users.length; b0 += block) {
    const blockUsers = users.slice(b0, b0 + block);
    const scores = await signals.retrievalScoresOf(blockUsers);
    blockUsers.forEach((u, k) => {
      const { items, rows } = signals.candidates(u, undefined, scores.subarray(k * n, (k + 1) * n));
      const userLabels: number[] = Array.from(items, (i) => (labelM.has(u, i) ? 1 : 0));
      const hits = userLabels.reduce((a, b) => a + b, 0);
      found += hits;
      heldOutRatings += labelM.countOf(u);
      if (hits === 0) return;
      chunks.push(rows);
      labels.push(...userLabels);
      groupSizes.push(userLabels.length);
      groupValid.push(task.isValid[u] as number);
    });
  }
  const data = new Float64Array(chunks.reduce((s, c) => s + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    data.set(c, offset);
    offset += c.length;
  }
  return { data, labels: Uint8Array.from(labels), groupSizes: Int32Array.from(groupSizes), groupValid: Uint8Array.from(groupValid), found, heldOutRatings, fitRatings: fitM.nnz };
}

// The folds' signal fits are independent and take nearly all of the ranker's time (25 of a run's
// 26 fits at 5 folds and a bag of 5), so they run on worker threads, one per core by default, and
// so do the bag members' boostings. Each fold's rows are stacked in fold order afterwards: the
// rows, and so the ranker, do not depend on the thread count.

/** A task for the ranker's worker threads: one fold's rows, or one bag member's boosting. */
export type RankerWorkerTask = { kind: "fold"; fold: FoldTask } | { kind: "boost"; boost: BoostTask };
export type RankerWorkerResult = { kind: "fold"; rows: FoldRows } | { kind: "boost"; ranker: TrainedRankerData };
const rankerPools = new Map<number, WorkerPool<RankerWorkerTask, RankerWorkerResult>>();

function rankerWorkers(config: TwoStageConfig): number {
  const workers = config.workers ?? defaultWorkers();
  if (!Number.isInteger(workers) || workers < 1) throw new RecEvalError("workers", `must be an integer >= 1, got ${workers}`);
  return workers;
}

function rankerPool(workers: number): WorkerPool<RankerWorkerTask, RankerWorkerResult> {
  let pool = rankerPools.get(workers);
  if (!pool) {
    pool = new WorkerPool<RankerWorkerTask, RankerWorkerResult>(new URL("./ranker-worker.ts", import.meta.url), workers);
    rankerPools.set(workers, pool);
  }
  return pool;
}

async function runFold(task: FoldTask): Promise<FoldRows> {
  const workers = rankerWorkers(task.config);
  if (workers === 1) return buildFoldRows(task);
  const result = await rankerPool(workers).run({ kind: "fold", fold: task });
  if (result.kind !== "fold") throw new Error(`a ranker worker answered a fold task with ${result.kind}`);
  return result.rows;
}

/**
 * `count` jobs, all submitted at once when they run on worker threads; one after another on this
 * thread (the fits yield at awaits, and interleaving them would only add memory).
 */
async function allJobs<T>(count: number, parallel: boolean, job: (index: number) => Promise<T>): Promise<T[]> {
  if (parallel) return Promise.all(Array.from({ length: count }, (_, index) => job(index)));
  const out: T[] = [];
  for (let index = 0; index < count; index++) out.push(await job(index));
  return out;
}

/**
 * Stacking on the training ratings alone: each user's ratings are dealt into `folds` folds; for
 * each fold the signals are fitted on the others and the fold's ratings label the retrieval
 * candidates (1 = rated), so the rows look like the ones ranked at test time (signals fitted on
 * everything seen, labels from ratings they never saw). A fifth of the users (by a seeded draw)
 * only early-stop the boosting. The folds run at once on `config.workers` threads.
 */
export async function buildRankerRows(
  dataset: RatingsDataset,
  train: UserItemMatrix,
  config: TwoStageConfig,
  seed: number,
  log: (line: string) => void = () => undefined,
): Promise<RankerRows> {
  const t0 = performance.now();
  const k = config.folds;
  if (!Number.isInteger(k) || k < 2) throw new RecEvalError("folds", `must be an integer >= 2, got ${k}`);
  const rng = new Rng(seed);
  const fold = new Int32Array(train.nnz);
  for (let u = 0; u < train.numUsers; u++) {
    const positions = Array.from({ length: train.countOf(u) }, (_, j) => (train.indptr[u] as number) + j);
    rng.shuffle(positions);
    positions.forEach((p, j) => (fold[p] = j % k));
  }
  const isValid = Uint8Array.from({ length: train.numUsers }, () => (rng.next() < 0.2 ? 1 : 0));
  const ratings = matrixInteractions(train);
  let done = 0;
  const folds = await allJobs(k, rankerWorkers(config) > 1, async (f) => {
    const rows = await runFold({ dataset, ratings, fold, heldOut: f, isValid, config, seed: seed + f });
    log(`ranker rows dealt by seed ${seed}: ${++done}/${k} folds (fold ${f + 1}: signals fitted on ${rows.fitRatings} ratings, ${rows.groupSizes.length} query groups)`);
    return rows;
  });
  const fitRows = new Rows();
  const validRows = new Rows();
  let found = 0;
  let heldOut = 0;
  for (const rows of folds) {
    found += rows.found;
    heldOut += rows.heldOutRatings;
    let offset = 0;
    let labelOffset = 0;
    rows.groupSizes.forEach((size, g) => {
      (rows.groupValid[g] ? validRows : fitRows).add(rows.data.subarray(offset, offset + size * F), Array.from(rows.labels.subarray(labelOffset, labelOffset + size)));
      offset += size * F;
      labelOffset += size;
    });
  }
  return { fit: fitRows, valid: validRows, candidateRecall: heldOut ? found / heldOut : 0, seconds: (performance.now() - t0) / 1000 };
}

/** Boosts the ranker on built rows; with a prior weight the trees correct priorWeight * retrieval_score_z. */
export function fitRankerOnRows(rows: RankerRows, ranker: TrainParamsInput, priorWeight: number, features: readonly TwoStageFeature[] = TWO_STAGE_FEATURES): TrainedRanker {
  if (!Number.isFinite(priorWeight) || priorWeight < 0) throw new RecEvalError("priorWeight", `must be a finite number >= 0, got ${priorWeight}`);
  const t0 = performance.now();
  const trainSet = rows.fit.dataset(undefined, priorWeight, features);
  const validSet = rows.valid.dataset(trainSet, priorWeight, features);
  const result = trainGbdt(trainSet, ranker, { validation: validSet });
  const importance = featureImportance(result.model, "gain");
  return {
    model: result.model,
    features,
    priorWeight,
    bestIteration: result.bestIteration,
    validNdcg: result.bestScore ?? null,
    rows: rows.fit.labels.length + rows.valid.labels.length,
    groups: rows.fit.groups.length + rows.valid.groups.length,
    candidateRecall: rows.candidateRecall,
    topFeatures: importance.slice(0, 6).map((f) => f.name),
    seconds: rows.seconds + (performance.now() - t0) / 1000,
  };
}

/** What a worker thread needs to boost one bag member. */
export interface BoostTask {
  fit: RowsData;
  valid: RowsData;
  candidateRecall: number;
  rowSeconds: number;
  ranker: TrainParamsInput;
  member: number;
  priorWeight: number;
  features: readonly TwoStageFeature[];
}

/** A trained ranker with its model as JSON (what crosses between threads; the trees' numbers are exact). */
export type TrainedRankerData = Omit<TrainedRanker, "model"> & { model: GbdtModelJson };

/** Boosts one bag member from plain data: the worker-thread side of boostBagMember. */
export function boostFromTask(task: BoostTask): TrainedRankerData {
  const rows: RankerRows = { fit: Rows.fromData(task.fit), valid: Rows.fromData(task.valid), candidateRecall: task.candidateRecall, seconds: task.rowSeconds };
  const trained = fitBagMember(rows, task.ranker, task.member, task.priorWeight, task.features);
  return { ...trained, model: trained.model.toJSON() };
}

/** fitBagMember on a worker thread when there are several (the same model: the trees cross as exact JSON numbers). */
async function boostBagMember(rows: RankerRows, config: TwoStageConfig, b: number): Promise<TrainedRanker> {
  const workers = rankerWorkers(config);
  if (workers === 1) return fitBagMember(rows, config.ranker, b, config.priorWeight, config.features);
  const task: BoostTask = { fit: rows.fit.toData(), valid: rows.valid.toData(), candidateRecall: rows.candidateRecall, rowSeconds: rows.seconds, ranker: config.ranker, member: b, priorWeight: config.priorWeight, features: config.features };
  const result = await rankerPool(workers).run({ kind: "boost", boost: task }, [task.fit.data.buffer, task.valid.data.buffer]);
  if (result.kind !== "boost") throw new Error(`a ranker worker answered a boosting task with ${result.kind}`);
  return { ...result.ranker, model: GbdtModel.fromJSON(result.ranker.model) };
}

/** Bag member b's seed: its fold deal and its boosting's subsamples differ from the other members'. */
export const bagSeed = (seed: number, b: number): number => seed + 7_919 * b;

/** Bag member b boosted on its rows: the boosting's own seed moved by bagSeed, so its subsamples differ too. */
export function fitBagMember(rows: RankerRows, ranker: TrainParamsInput, b: number, priorWeight: number, features: readonly TwoStageFeature[]): TrainedRanker {
  return fitRankerOnRows(rows, { ...ranker, seed: bagSeed(ranker.seed ?? 7, b) }, priorWeight, features);
}

/**
 * Averages bag members into one ranker (their margins averaged; the prior is added once, as each
 * member was boosted from the same prior). Counts and times are summed, scores averaged.
 */
export function bagRankers(members: readonly TrainedRanker[]): TrainedRanker {
  const first = members[0];
  if (!first) throw new RecEvalError("bags", "needs at least one ranker");
  if (members.length === 1) return first;
  const model = averageModels(members.map((m) => m.model));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const valid = members.map((m) => m.validNdcg).filter((v): v is number => v !== null);
  return {
    model,
    features: first.features,
    priorWeight: first.priorWeight,
    bestIteration: Math.round(mean(members.map((m) => m.bestIteration))),
    validNdcg: valid.length ? mean(valid) : null,
    rows: members.reduce((s, m) => s + m.rows, 0),
    groups: members.reduce((s, m) => s + m.groups, 0),
    candidateRecall: mean(members.map((m) => m.candidateRecall)),
    topFeatures: featureImportance(model, "gain").slice(0, 6).map((f) => f.name),
    seconds: members.reduce((s, m) => s + m.seconds, 0),
  };
}

/** The ranker of the pipeline: stacked rows from the training ratings, then boosting; `bags` times, averaged. */
export async function trainTwoStageRanker(
  dataset: RatingsDataset,
  train: UserItemMatrix,
  config: TwoStageConfig,
  seed: number,
  log: (line: string) => void = () => undefined,
): Promise<TrainedRanker> {
  const bags = config.bags;
  if (!Number.isInteger(bags) || bags < 1) throw new RecEvalError("bags", `must be an integer >= 1, got ${bags}`);
  const t0 = performance.now();
  // Every member's folds are queued at once, and each member's boosting as soon as its rows are
  // stacked, so the worker threads stay busy across members.
  const members = await allJobs(bags, rankerWorkers(config) > 1, async (b) => {
    const member = await boostBagMember(await buildRankerRows(dataset, train, config, bagSeed(seed, b), log), config, b);
    if (bags > 1) log(`ranker bag member ${b + 1}/${bags}: ${member.bestIteration + 1} trees`);
    return member;
  });
  // Members' row building overlaps, so the bag's time is the wall clock, not their sum.
  return { ...bagRankers(members), seconds: (performance.now() - t0) / 1000 };
}

/** The retrieval stage alone, scored exactly (what HNSW approximates). */
export function retrievalRecommender(name: string, signals: () => RatingSignals): Recommender {
  return { name, fit: () => undefined, scoreAll: (u) => signals().retrievalScores(u) };
}

/** A user's candidates (best first) and their feature rows, from somewhere other than exact retrieval (an ANN index). */
export type CandidateSource = (signals: RatingSignals, user: number) => { items: Int32Array; rows: Float64Array };

/**
 * Retrieval candidates ordered by the ranker; everything outside the candidates ranks below them.
 * `candidates`: how many exact retrieval hands over (default: the signals' config), or a source
 * of candidates and rows.
 */
export function twoStageRecommender(name: string, signals: () => RatingSignals, ranker: Pick<TrainedRanker, "model" | "priorWeight" | "features">, candidates?: number | CandidateSource): Recommender {
  const predictor = new Predictor(ranker.model);
  let scores = new Float32Array(0);
  return {
    name,
    fit: () => undefined,
    scoreAll: (u) => {
      const s = signals();
      if (scores.length !== s.train.numItems) scores = new Float32Array(s.train.numItems);
      const { items, rows } = typeof candidates === "function" ? candidates(s, u) : s.candidates(u, candidates);
      const predicted = predictor.predictBatchRaw(selectColumns(rows, items.length, ranker.features));
      const prior = priorMargins(rows, items.length, ranker.priorWeight);
      scores.fill(Number.NEGATIVE_INFINITY);
      items.forEach((i, k) => (scores[i] = (predicted[k] as number) + (prior[k] as number)));
      return scores;
    },
  };
}
