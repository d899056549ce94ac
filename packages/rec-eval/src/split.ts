import type { RatingsDataset } from "@mlsd/datasets";
import { Rng } from "@mlsd/random";
import { RecEvalError, UserItemMatrix } from "./matrix";
import type { Interactions } from "./matrix";

/** A train/test split of one rating log; every test rating is a positive to be found. */
export interface EvalSplit {
  readonly protocol: string;
  readonly train: UserItemMatrix;
  readonly test: UserItemMatrix;
}

export function interactionsOf(dataset: RatingsDataset): Interactions {
  return { numUsers: dataset.numUsers, numItems: dataset.numItems, ...dataset.ratings };
}

export interface StratifiedSplitOptions {
  /** Share of each user's ratings kept for training, rounded per user. Default 0.75. */
  trainRatio?: number;
  seed?: number;
}

/**
 * Per-user stratified random split: each user's ratings are shuffled and the first
 * round(trainRatio * n) go to training, as in the Microsoft Recommenders MovieLens benchmark
 * (python_stratified_split, ratio 0.75), so every user appears in both halves.
 */
export function stratifiedSplit(data: Interactions, options: StratifiedSplitOptions = {}): EvalSplit {
  const ratio = options.trainRatio ?? 0.75;
  if (!(ratio > 0 && ratio < 1)) throw new RecEvalError("trainRatio", `must be in (0, 1), got ${ratio}`);
  const rng = new Rng(options.seed ?? 42);
  const byUser = rowsByUser(data);
  const train: number[] = [];
  const test: number[] = [];
  for (let u = 0; u < data.numUsers; u++) {
    const rows = Array.from(byUser.indices.subarray(byUser.indptr[u] as number, byUser.indptr[u + 1] as number));
    rng.shuffle(rows);
    const nTrain = Math.round(ratio * rows.length);
    for (let j = 0; j < rows.length; j++) (j < nTrain ? train : test).push(rows[j] as number);
  }
  return {
    protocol: `stratified ${Math.round(ratio * 100)}/${Math.round((1 - ratio) * 100)}`,
    train: UserItemMatrix.fromRatings(data, train),
    test: UserItemMatrix.fromRatings(data, test),
  };
}

/**
 * Time-based leave-last-out: each user's latest rating is the test item and the rest is
 * training. Ties on the timestamp go to the rating that comes later in the log. Users with a
 * single rating keep it in training and are not evaluated.
 */
export function leaveLastOut(data: Interactions): EvalSplit {
  const byUser = rowsByUser(data);
  const train: number[] = [];
  const test: number[] = [];
  for (let u = 0; u < data.numUsers; u++) {
    const start = byUser.indptr[u] as number;
    const end = byUser.indptr[u + 1] as number;
    if (end - start < 2) {
      for (let j = start; j < end; j++) train.push(byUser.indices[j] as number);
      continue;
    }
    let last = byUser.indices[start] as number;
    for (let j = start + 1; j < end; j++) {
      const r = byUser.indices[j] as number;
      if ((data.timestamps[r] as number) >= (data.timestamps[last] as number)) last = r;
    }
    for (let j = start; j < end; j++) {
      const r = byUser.indices[j] as number;
      (r === last ? test : train).push(r);
    }
  }
  return {
    protocol: "leave-last-out",
    train: UserItemMatrix.fromRatings(data, train),
    test: UserItemMatrix.fromRatings(data, test),
  };
}

/** Row positions grouped by user, in log order within each user. */
function rowsByUser(data: Interactions): { indptr: Int32Array; indices: Int32Array } {
  const n = data.users.length;
  if (data.items.length !== n || data.values.length !== n || data.timestamps.length !== n) {
    throw new RecEvalError("interactions", "users, items, values and timestamps must have the same length");
  }
  const indptr = new Int32Array(data.numUsers + 1);
  for (let r = 0; r < n; r++) {
    const u = data.users[r] as number;
    if (!(u >= 0 && u < data.numUsers)) throw new RecEvalError("users", `user ${u} at row ${r} is outside [0, ${data.numUsers})`);
    indptr[u + 1] = (indptr[u + 1] as number) + 1;
  }
  for (let u = 0; u < data.numUsers; u++) indptr[u + 1] = (indptr[u + 1] as number) + (indptr[u] as number);
  const fill = indptr.slice(0, data.numUsers);
  const indices = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const u = data.users[r] as number;
    indices[fill[u] as number] = r;
    fill[u] = (fill[u] as number) + 1;
  }
  return { indptr, indices };
}
