import type { RatingsDataset } from "@mlsd/datasets";
import type { Recommender, UserItemMatrix } from "@mlsd/rec-eval";
import { buildHistories, sampleHistories, type TrainingData, type UserEncoder, type UserQuery } from "@mlsd/two-tower";
import type { UserTable } from "@mlsd/model-formats/retrieval";
import { HISTORY_LENGTH } from "./world-data";

/** MovieLens 100K age groups (the 1M release's buckets): under 18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+. */
const AGE_EDGES = [18, 25, 35, 45, 50, 56];

export function ageBucket(age: number): number {
  let b = 0;
  while (b < AGE_EDGES.length && age >= (AGE_EDGES[b] as number)) b++;
  return b;
}

export const MOVIELENS_USER_NUMERIC = ["log_ratings"] as const;
export const MOVIELENS_USER_CATEGORICAL = ["age_bucket", "gender", "occupation"] as const;

/**
 * How each training row gets the history the user tower pools: "time" = the items the user rated
 * just before it (point in time), "sampled" = a seeded draw from the user's other training items
 * (two-tower's `sampleHistories`), which matches a per-user random split. Serving pools the
 * user's latest `length` items either way.
 */
export interface HistorySetting {
  readonly kind: "time" | "sampled";
  readonly length: number;
}

/** Point-in-time histories of the synthetic world's length: what the model trained on before the sampled ones. */
export const TIME_HISTORIES: HistorySetting = { kind: "time", length: HISTORY_LENGTH };

/**
 * Two-tower training data from the training half of a split: every training rating is a
 * positive, in time order per user, with histories as `histories` says. Items: first genre as
 * the category, all genres as tags, log of training ratings as the popularity scalar, release
 * year as freshness.
 */
export function movieLensTrainingData(dataset: RatingsDataset, train: UserItemMatrix, histories: HistorySetting & { readonly seed: number } = { ...TIME_HISTORIES, seed: 0 }): TrainingData {
  const nU = dataset.numUsers;
  const nI = dataset.numItems;
  const rows: { u: number; i: number; t: number }[] = [];
  for (let u = 0; u < nU; u++) {
    const items = train.itemsOf(u);
    const times = train.timestamps.subarray(train.indptr[u] as number, train.indptr[u + 1] as number);
    for (let j = 0; j < items.length; j++) rows.push({ u, i: items[j] as number, t: times[j] as number });
  }
  rows.sort((a, b) => a.t - b.t || a.u - b.u || a.i - b.i);
  const user = Int32Array.from(rows, (r) => r.u);
  const item = Int32Array.from(rows, (r) => r.i);
  const time = Float64Array.from(rows, (r) => r.t);

  const genres = dataset.items.genreNames.length;
  const category = new Int32Array(nI).fill(-1);
  const tags = new Uint8Array(nI * genres);
  const counts = train.itemCounts();
  const years = dataset.items.releaseYears;
  let yearSum = 0;
  let yearN = 0;
  for (let i = 0; i < nI; i++) {
    if ((years[i] as number) > 0) {
      yearSum += years[i] as number;
      yearN++;
    }
  }
  const meanYear = yearN ? yearSum / yearN : 1990;
  for (let i = 0; i < nI; i++) {
    const g = dataset.items.genres[i] ?? [];
    if (g.length > 0) category[i] = g[0] as number;
    for (const t of g) tags[i * genres + t] = 1;
  }

  const occupations = [...new Set(dataset.users?.occupations ?? [])].sort();
  const numeric = new Float32Array(nU);
  const categorical = new Int32Array(nU * 3).fill(-1);
  for (let u = 0; u < nU; u++) {
    numeric[u] = Math.log1p(train.countOf(u));
    if (dataset.users) {
      categorical[u * 3] = ageBucket(dataset.users.ages[u] as number);
      categorical[u * 3 + 1] = dataset.users.genders[u] === "F" ? 1 : 0;
      categorical[u * 3 + 2] = occupations.indexOf(dataset.users.occupations[u] as string);
    }
  }
  return {
    numUsers: nU,
    numItems: nI,
    userFeatures: { numericDim: 1, numeric, categoricalCardinalities: [AGE_EDGES.length + 1, 2, Math.max(1, occupations.length)], categorical },
    itemFeatures: {
      numCategories: Math.max(1, genres),
      category,
      numTags: genres,
      tags,
      quality: Float32Array.from(counts, (c) => Math.log1p(c)),
      freshness: Float32Array.from(years, (y) => (y > 0 ? y : meanYear) - 1900),
    },
    interactions: { user, item, time },
    histories: histories.kind === "sampled" ? sampleHistories({ user, item }, histories.length, histories.seed) : buildHistories({ user, item, time }, histories.length),
  };
}

/** Each user's latest `length` training items by time, most recent first. */
export function movieLensHistories(data: TrainingData, length = data.histories.length): Int32Array {
  const out = new Int32Array(data.numUsers * length).fill(-1);
  const filled = new Int32Array(data.numUsers);
  const { user, item } = data.interactions;
  for (let r = user.length - 1; r >= 0; r--) {
    const u = user[r] as number;
    const f = filled[u] as number;
    if (f < length) {
      out[u * length + f] = item[r] as number;
      filled[u] = f + 1;
    }
  }
  return out;
}

export function movieLensUserTable(data: TrainingData): UserTable {
  const known = new Uint8Array(data.numUsers);
  for (const u of data.interactions.user) known[u] = 1;
  return {
    numeric: data.userFeatures.numeric,
    numericNames: [...MOVIELENS_USER_NUMERIC],
    categorical: data.userFeatures.categorical,
    categoricalNames: [...MOVIELENS_USER_CATEGORICAL],
    cardinalities: [...data.userFeatures.categoricalCardinalities],
    history: movieLensHistories(data),
    historyLength: data.histories.length,
    known,
  };
}

/** The two-tower model scored exactly by dot products: what validation early-stops on. */
export function dotRecommender(encoder: UserEncoder, table: UserTable, embeddings: Float32Array): Recommender {
  const d = encoder.dim;
  const n = embeddings.length / d;
  const q = new Float32Array(d);
  const scores = new Float32Array(n);
  return {
    name: "two-tower (dot products)",
    fit: () => undefined,
    scoreAll: (u) => {
      encoder.encode(queryOf(table, u), q);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += (q[j] as number) * (embeddings[i * d + j] as number);
        scores[i] = s;
      }
      return scores;
    },
  };
}

function queryOf(table: UserTable, u: number): UserQuery {
  const nNum = table.numericNames.length;
  const nCat = table.categoricalNames.length;
  return {
    userId: table.known[u] ? u : -1,
    numeric: table.numeric.subarray(u * nNum, (u + 1) * nNum),
    categorical: table.categorical.subarray(u * nCat, (u + 1) * nCat),
    history: table.history.subarray(u * table.historyLength, (u + 1) * table.historyLength),
  };
}

/** Fits the wrapped model only when handed a different training matrix, so two rows can share one fit. */
export function fitOnce(model: Recommender): Recommender {
  let fittedOn: UserItemMatrix | undefined;
  return {
    name: model.name,
    fit: async (train) => {
      if (fittedOn === train) return;
      await model.fit(train);
      fittedOn = train;
    },
    scoreAll: (u) => model.scoreAll(u),
  };
}

