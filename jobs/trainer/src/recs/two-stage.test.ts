import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadMovieLens, type RatingsDataset } from "@mlsd/datasets";
import { Predictor } from "@mlsd/gbdt";
import { Ease, Ials, ItemKnn, interactionsOf, stratifiedSplit, UserItemMatrix, type EvalSplit } from "@mlsd/rec-eval";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyMovieLens } from "./movielens-fixture";
import { rankerSettingName } from "./movielens-tune";
import { bagSeed, buildRankerRows, CANDIDATE_COLUMNS, COSESSION_FEATURES, EASE_LAMBDAS, IALS_FEATURES, IALS_SETTINGS, SECOND_OPINION_FEATURES, sessionMatrix, fitRankerOnRows, MOVIELENS_TWO_STAGE, trainTwoStageRanker, RatingSignals, selectColumns, TWO_STAGE_FEATURES, twoStageRecommender, type RankerRows, type TwoStageConfig, type TwoStageFeature } from "./two-stage";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ml-two-stage-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const config: TwoStageConfig = {
  ...MOVIELENS_TWO_STAGE,
  retrievalDim: 8,
  candidates: 20,
  folds: 3,
  ranker: { objective: "lambdarank", numRounds: 20, learningRate: 0.1, maxDepth: 3, minChildWeight: 0.01, earlyStoppingRounds: 10, evalMetric: "ndcg", ndcgAt: 10, seed: 7 },
};
const column = (name: TwoStageFeature) => CANDIDATE_COLUMNS.indexOf(name);
/** Every training rating time of an item, read the slow way. */
function trainTimesOf(item: number): number[] {
  const out: number[] = [];
  for (let u = 0; u < split.train.numUsers; u++) {
    const p = split.train.itemsOf(u).indexOf(item);
    if (p >= 0) out.push(split.train.timestamps[split.train.indptr[u]! + p]!);
  }
  return out;
}

let dataset: RatingsDataset;
let split: EvalSplit;
let rows: RankerRows;
let signals: RatingSignals;
/** The same signals with the search-only columns' models fitted. */
let searchSignals: RatingSignals;
beforeAll(async () => {
  writeTinyMovieLens(dir, { users: 40, movies: 45, perUser: 15 });
  dataset = await loadMovieLens(dir);
  split = stratifiedSplit(interactionsOf(dataset), { trainRatio: 0.75, seed: 42 });
  rows = await buildRankerRows(dataset, split.train, config, 42);
  signals = await RatingSignals.fit(dataset, split.train, config, 42);
  searchSignals = await RatingSignals.fit(dataset, split.train, { ...config, searchColumns: true }, 42);
}, 120_000);

describe("the two-stage ranker's rows", () => {
  it("labels each fold's candidates with that fold's ratings, and keeps only lists with a positive", () => {
    const groups = [...rows.fit.groups, ...rows.valid.groups];
    expect(groups.every((g) => g === config.candidates)).toBe(true);
    expect(rows.fit.labels.length + rows.valid.labels.length).toBe(groups.length * config.candidates);
    let offset = 0;
    for (const g of rows.fit.groups) {
      const labels = rows.fit.labels.slice(offset, offset + g);
      expect(labels.some((y) => y === 1)).toBe(true);
      offset += g;
    }
    expect(rows.candidateRecall).toBeGreaterThan(0);
    expect(rows.candidateRecall).toBeLessThanOrEqual(1);
  });

  it("builds the same rows, bit for bit, on this thread and on worker threads", async () => {
    const inline = await buildRankerRows(dataset, split.train, { ...config, workers: 1 }, 42);
    const threaded = await buildRankerRows(dataset, split.train, { ...config, workers: 3 }, 42);
    for (const side of ["fit", "valid"] as const) {
      const [a, b] = [inline[side], threaded[side]];
      expect(b.groups).toEqual(a.groups);
      expect(b.labels).toEqual(a.labels);
      expect(b.length).toBe(a.length);
      expect(a.length).toBeGreaterThan(0);
      let same = 0;
      for (let p = 0; p < a.length; p++) if (Object.is(a.data[p], b.data[p])) same++;
      expect(same).toBe(a.length);
    }
    expect(threaded.candidateRecall).toBe(inline.candidateRecall);
    await expect(buildRankerRows(dataset, split.train, { ...config, workers: 0 }, 42)).rejects.toThrow(/workers/);
  });

  it("scores retrieval for every user at once with the same bits as one user at a time", async () => {
    const fresh = await RatingSignals.fit(dataset, split.train, config, 42);
    const users = Array.from({ length: split.train.numUsers }, (_, u) => u);
    const perUser = users.map((u) => Float32Array.from(fresh.retrievalScores(u)));
    const block = await fresh.retrievalScoresOf([3, 0, 17]);
    const n = split.train.numItems;
    [3, 0, 17].forEach((u, k) => expect(Array.from(block.subarray(k * n, (k + 1) * n))).toEqual(Array.from(perUser[u]!)));
    expect(await fresh.precomputeRetrieval(users.length * n * 4 - 1)).toBe(false);
    expect(await fresh.precomputeRetrieval()).toBe(true);
    let same = 0;
    for (const u of users) {
      const row = fresh.retrievalScores(u);
      for (let j = 0; j < n; j++) if (Object.is(row[j], perUser[u]![j])) same++;
    }
    expect(same).toBe(users.length * n);
    expect(fresh.candidates(4)).toEqual(signals.candidates(4));
  });

  it("computes the time-span features from the user's and the movie's training ratings", () => {
    const user = 5;
    const { items, rows: features } = signals.candidates(user);
    const times = Array.from(split.train.timestamps.subarray(split.train.indptr[user]!, split.train.indptr[user + 1]!));
    const first = Math.min(...times);
    const last = Math.max(...times);
    const F = CANDIDATE_COLUMNS.length;
    items.forEach((item, r) => {
      const itemTimes = trainTimesOf(item);
      if (!itemTimes.length) return;
      const inSpan = itemTimes.filter((t) => t >= first - 86_400 && t < last + 86_400).length / itemTimes.length;
      expect(features[r * F + column("item_first_after_user_days")]).toBeCloseTo((Math.min(...itemTimes) - last) / 86_400, 9);
      expect(features[r * F + column("user_first_after_item_days")]).toBeCloseTo((first - Math.max(...itemTimes)) / 86_400, 9);
      expect(features[r * F + column("item_share_in_user_span")]).toBeCloseTo(inSpan, 12);
      expect(features[r * F + column("user_span_days")]).toBeCloseTo((last - first) / 86_400, 9);
    });
  });

  it("counts the movie's ratings within a day of any of the user's ratings (the session features)", () => {
    const user = 11;
    const { items, rows: features } = signals.candidates(user);
    const times = Array.from(split.train.timestamps.subarray(split.train.indptr[user]!, split.train.indptr[user + 1]!));
    const nearUser = (t: number) => times.some((s) => t >= s - 86_400 && t < s + 86_400);
    const nearAll = Array.from(split.train.timestamps).filter(nearUser).length;
    const F = CANDIDATE_COLUMNS.length;
    let checked = 0;
    items.forEach((item, r) => {
      const itemTimes = trainTimesOf(item);
      if (!itemTimes.length) return;
      const near = itemTimes.filter(nearUser).length;
      expect(features[r * F + column("item_share_near_user_1d")]).toBeCloseTo(near / itemTimes.length, 12);
      expect(features[r * F + column("item_log_near_user_1d")]).toBeCloseTo(Math.log1p(near), 12);
      expect(features[r * F + column("item_traffic_share_near_user_1d")]).toBeCloseTo((near / nearAll) * dataset.numItems, 9);
      checked++;
    });
    expect(checked).toBeGreaterThan(0);
    expect(features[column("user_sessions")]).toBeGreaterThanOrEqual(1);
  });
});

describe("the co-session item-kNN's sessions", () => {
  it("start a new row wherever a user paused longer than the gap, whatever order the ratings are stored in", () => {
    const hour = 3_600;
    // User 0 rates items 0, 1 within minutes, then 2, 3 a day later; user 1 rates 4 and 0 an hour apart.
    const m = UserItemMatrix.fromRatings({
      numUsers: 2,
      numItems: 5,
      users: Int32Array.from([0, 0, 0, 0, 1, 1]),
      items: Int32Array.from([3, 0, 2, 1, 4, 0]),
      values: Float32Array.from([4, 5, 3, 4, 2, 5]),
      timestamps: Float64Array.from([24 * hour + 60, 0, 24 * hour, 600, 0, hour]),
    });
    const s = sessionMatrix(m, 30 * 60);
    expect(s.numUsers).toBe(4);
    expect(Array.from({ length: 4 }, (_, k) => Array.from(s.itemsOf(k)))).toEqual([[0, 1], [2, 3], [4], [0]]);
    expect(sessionMatrix(m, 2 * hour).numUsers).toBe(3);
    expect(s.nnz).toBe(m.nnz);
  });

  it("score a candidate by its co-session similarity to the user's movies, as a share of the best candidate's and a rank", () => {
    const { items, rows: features } = searchSignals.candidates(7);
    const rel = Array.from(items, (_, r) => features[r * CANDIDATE_COLUMNS.length + column("cosession_score_rel")]!);
    const rank = Array.from(items, (_, r) => features[r * CANDIDATE_COLUMNS.length + column("cosession_rank")]!);
    expect(Math.max(...rel)).toBeCloseTo(1, 9);
    expect(new Set(rank).size).toBe(items.length);
    const best = rank.indexOf(0);
    expect(rel[best]).toBe(Math.max(...rel));
  });
});

describe("candidate rows from another retriever (the served path's ANN answer)", () => {
  it("equal the exact candidates' rows when given the same items and scores, and read only the candidates' scores", () => {
    const user = 6;
    const exact = signals.candidates(user);
    const scores = Float32Array.from(signals.retrievalScores(user));
    const only = new Float32Array(scores.length).fill(Number.NaN);
    for (const j of exact.items) only[j] = scores[j]!;
    expect(Array.from(signals.rowsFor(user, exact.items, only))).toEqual(Array.from(exact.rows));
  });
});

describe("the search-only second opinions", () => {
  const F = CANDIDATE_COLUMNS.length;

  it("are left out (NaN, no model fitted) unless the search asks for them or the features read them; the other columns do not change", () => {
    const shipped = signals.candidates(3);
    const search = searchSignals.candidates(3);
    expect(Array.from(search.items)).toEqual(Array.from(shipped.items));
    for (let r = 0; r < shipped.items.length; r++) {
      for (const f of [...COSESSION_FEATURES, ...SECOND_OPINION_FEATURES]) expect(shipped.rows[r * F + column(f)]).toBeNaN();
      for (const f of TWO_STAGE_FEATURES) expect(search.rows[r * F + column(f)]).toBe(shipped.rows[r * F + column(f)]);
    }
  });

  it("carry full EASE at each penalty as a z-score and a rank among the candidates", async () => {
    const user = 9;
    const { items, rows: features } = searchSignals.candidates(user);
    for (const lambda of EASE_LAMBDAS) {
      const ease = new Ease({ lambda });
      await ease.fit(split.train);
      const scores = Array.from(items, (j) => ease.scoreAll(user)[j]!);
      const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
      const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
      const order = Array.from(items.keys()).sort((a, b) => scores[b]! - scores[a]! || a - b);
      items.forEach((_, r) => {
        expect(features[r * F + column(`ease_lambda${lambda}_z` as TwoStageFeature)]).toBeCloseTo((scores[r]! - mean) / sd, 4);
        expect(features[r * F + column(`ease_lambda${lambda}_rank` as TwoStageFeature)]).toBe(order.indexOf(r));
      });
    }
  });

  it("sit beside the shipped iALS columns: its score (its settings, fitted on the training half) as a z-score and a rank among the candidates", () => {
    const user = 9;
    const ials = new Ials(IALS_SETTINGS);
    ials.fit(split.train);
    expect(IALS_FEATURES.every((f) => (TWO_STAGE_FEATURES as readonly string[]).includes(f))).toBe(true);
    const { items, rows: features } = signals.candidates(user);
    const scores = Array.from(items, (j) => ials.scoreAll(user)[j]!);
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
    const order = Array.from(items.keys()).sort((a, b) => scores[b]! - scores[a]! || a - b);
    expect(sd).toBeGreaterThan(0);
    items.forEach((_, r) => {
      expect(features[r * F + column("ials_z")]).toBeCloseTo((scores[r]! - mean) / sd, 4);
      expect(features[r * F + column("ials_rank")]).toBe(order.indexOf(r));
    });
  });

  it("read item-kNN through the user's ratings: the similarity-weighted mean of rating minus the user's mean over the candidate's rated neighbours", () => {
    const user = 4;
    const knn = new ItemKnn({ neighbors: config.itemNeighbors });
    knn.fit(split.train);
    const history = Array.from(split.train.itemsOf(user));
    const ratings = Array.from(split.train.valuesOf(user));
    const mean = ratings.reduce((a, b) => a + b, 0) / ratings.length;
    const { items, rows: features } = searchSignals.candidates(user);
    let checked = 0;
    items.forEach((j, r) => {
      const { ids, similarities } = knn.neighborsOf(j);
      let num = 0;
      let den = 0;
      ids.forEach((i, p) => {
        const h = history.indexOf(i);
        if (h < 0) return;
        num += similarities[p]! * (ratings[h]! - mean);
        den += similarities[p]!;
      });
      const value = features[r * F + column("itemknn_rating_dev")];
      if (den > 0) {
        expect(value).toBeCloseTo(num / den, 9);
        checked++;
      } else expect(value).toBeNaN();
    });
    expect(checked).toBeGreaterThan(0);
  });
});

describe("a ranker boosted from the retrieval prior", () => {
  it("scores a candidate as priorWeight * retrieval_score_z + the trees' raw output", () => {
    const priorWeight = 0.3;
    const ranker = fitRankerOnRows(rows, config.ranker, priorWeight);
    expect(ranker.priorWeight).toBe(priorWeight);
    expect(ranker.model.baseScore).toBe(0);
    const user = 7;
    const { items, rows: features } = signals.candidates(user);
    // The shipped ranker reads the shipped feature set, not the search-only session columns.
    expect(ranker.model.featureNames).toEqual([...TWO_STAGE_FEATURES]);
    const trees = new Predictor(ranker.model).predictBatchRaw(selectColumns(features, items.length, TWO_STAGE_FEATURES));
    const scores = twoStageRecommender("t", () => signals, ranker).scoreAll(user);
    items.forEach((item, r) => {
      const z = features[r * CANDIDATE_COLUMNS.length + column("retrieval_score_z")]!;
      expect(scores[item]).toBeCloseTo(trees[r]! + priorWeight * z, 5);
    });
    // Items outside the candidates rank below every candidate.
    const outside = Array.from(scores).filter((s) => s === Number.NEGATIVE_INFINITY).length;
    expect(outside).toBe(dataset.numItems - items.length);
  });

  it("reads only the features it was trained on, in their order", () => {
    const features = ["item_log_popularity", "retrieval_score_z", "item_share_near_user_1d"] as const;
    const ranker = fitRankerOnRows(rows, config.ranker, 0, features);
    expect(ranker.model.featureNames).toEqual([...features]);
    const user = 7;
    const { items, rows: all } = signals.candidates(user);
    const F = CANDIDATE_COLUMNS.length;
    const picked = new Float64Array(items.length * features.length);
    for (let r = 0; r < items.length; r++) features.forEach((f, k) => (picked[r * features.length + k] = all[r * F + column(f)]!));
    const trees = new Predictor(ranker.model).predictBatchRaw({ data: picked, numRows: items.length, numColumns: features.length });
    const scores = twoStageRecommender("t", () => signals, ranker).scoreAll(user);
    items.forEach((item, r) => expect(scores[item]).toBeCloseTo(trees[r]!, 5));
  });

  it("rejects a negative or non-finite prior weight", () => {
    expect(() => fitRankerOnRows(rows, config.ranker, -1)).toThrow(/priorWeight/);
    expect(() => fitRankerOnRows(rows, config.ranker, Number.NaN)).toThrow(/priorWeight/);
  });

  it("bags rankers boosted on rows dealt by their own seeds into one model whose trees average theirs", async () => {
    const bagged = await trainTwoStageRanker(dataset, split.train, { ...config, bags: 2 }, 42);
    const second = fitRankerOnRows(await buildRankerRows(dataset, split.train, config, bagSeed(42, 1)), { ...config.ranker, seed: bagSeed(7, 1) }, config.priorWeight);
    const first = fitRankerOnRows(rows, config.ranker, config.priorWeight);
    expect(bagged.model.trees).toHaveLength(first.model.trees.length + second.model.trees.length);
    expect(bagged.rows).toBe(first.rows + second.rows);
    const user = 7;
    const { items, rows: features } = signals.candidates(user);
    const picked = selectColumns(features, items.length, TWO_STAGE_FEATURES);
    const [a, b, both] = [first, second, bagged].map((r) => new Predictor(r.model).predictBatchRaw(picked));
    expect(Array.from(a!).some((v, r) => Math.abs(v - b![r]!) > 1e-9)).toBe(true);
    items.forEach((_, r) => expect(both![r]).toBeCloseTo((a![r]! + b![r]!) / 2, 9));
    // The prior is added once, as each member was boosted from it.
    const scores = twoStageRecommender("t", () => signals, bagged).scoreAll(user);
    items.forEach((item, r) => expect(scores[item]).toBeCloseTo(both![r]! + config.priorWeight * features[r * CANDIDATE_COLUMNS.length + column("retrieval_score_z")]!, 5));
    await expect(trainTwoStageRanker(dataset, split.train, { ...config, bags: 0 }, 42)).rejects.toThrow(/bags/);
  });

  it("trains the same bag on this thread and on worker threads (folds and boostings), tree for tree", async () => {
    const inline = await trainTwoStageRanker(dataset, split.train, { ...config, bags: 3, workers: 1 }, 42);
    const threaded = await trainTwoStageRanker(dataset, split.train, { ...config, bags: 3, workers: 2 }, 42);
    expect(threaded.model.trees.length).toBeGreaterThan(3);
    expect(threaded.model.toJSON()).toEqual(inline.model.toJSON());
    expect([threaded.bestIteration, threaded.validNdcg, threaded.rows, threaded.groups, threaded.candidateRecall]).toEqual([inline.bestIteration, inline.validNdcg, inline.rows, inline.groups, inline.candidateRecall]);
  });

  it("names a tuning setting by what it changes", () => {
    expect(rankerSettingName({})).toBe("pipeline settings");
    expect(rankerSettingName({ priorWeight: 0.2, ranker: { maxDepth: 4 } })).toBe("priorWeight 0.2, maxDepth 4");
  });
});
