import { Rng } from "@mlsd/random";
import { TwoTowerInputError } from "./errors";

/** One row per interaction (a click, a watch, a purchase). */
export interface InteractionLog {
  readonly user: Int32Array;
  readonly item: Int32Array;
  /** Event time (any monotone unit); orders each user's history. */
  readonly time: ArrayLike<number>;
}

/**
 * Point-in-time history per interaction row: row r holds the ids of the `length` items the
 * user interacted with just before row r, most recent first, -1 where there are fewer.
 */
export interface Histories {
  readonly length: number;
  readonly items: Int32Array;
}

/** Row-major per-user features; a categorical value of -1 means unknown. */
export interface UserFeatures {
  readonly numericDim: number;
  readonly numeric: Float32Array;
  readonly categoricalCardinalities: readonly number[];
  readonly categorical: Int32Array;
}

/** Per-item content: what a brand-new item has before anyone interacts with it. */
export interface ItemFeatures {
  readonly numCategories: number;
  /** Category per item; -1 means unknown. */
  readonly category: Int32Array;
  readonly numTags: number;
  /** Multi-hot, numItems x numTags, 0 or 1. */
  readonly tags: Uint8Array;
  readonly quality: Float32Array;
  readonly freshness: Float32Array;
}

/** Everything training needs; the synthetic world and the MovieLens loader both produce it. */
export interface TrainingData {
  readonly numUsers: number;
  readonly numItems: number;
  readonly userFeatures: UserFeatures;
  readonly itemFeatures: ItemFeatures;
  readonly interactions: InteractionLog;
  readonly histories: Histories;
}

/** Held-out interactions with their point-in-time histories and the users' features. */
export interface EvalSet {
  readonly userFeatures: UserFeatures;
  readonly interactions: Pick<InteractionLog, "user" | "item">;
  readonly histories: Histories;
}

/** Content of one item for the item tower; `tags` lists tag indices. */
export interface ItemContent {
  readonly category: number;
  readonly tags: ArrayLike<number>;
  readonly quality: number;
  readonly freshness: number;
}

/**
 * One request to the user tower. `userId` outside [0, numUsers) uses the unknown-user row;
 * `history` is most recent first, any length (the first historyLength ids are used, -1 skipped).
 */
export interface UserQuery {
  readonly userId: number;
  readonly numeric: ArrayLike<number>;
  readonly categorical: ArrayLike<number>;
  readonly history: ArrayLike<number>;
}

/** Sizes the model is built for, read from the training data. */
export interface FeatureSchema {
  readonly numUsers: number;
  readonly numItems: number;
  readonly userNumericDim: number;
  readonly userCategoricalCardinalities: readonly number[];
  readonly numItemCategories: number;
  readonly numTags: number;
  readonly historyLength: number;
}

export function schemaOf(data: TrainingData): FeatureSchema {
  return {
    numUsers: data.numUsers,
    numItems: data.numItems,
    userNumericDim: data.userFeatures.numericDim,
    userCategoricalCardinalities: [...data.userFeatures.categoricalCardinalities],
    numItemCategories: data.itemFeatures.numCategories,
    numTags: data.itemFeatures.numTags,
    historyLength: data.histories.length,
  };
}

function positiveInt(field: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new TwoTowerInputError(field, `must be a positive integer, got ${value}`);
}

function nonNegativeInt(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new TwoTowerInputError(field, `must be a non-negative integer, got ${value}`);
}

function lengthIs(field: string, actual: number, expected: number): void {
  if (actual !== expected) throw new TwoTowerInputError(field, `has length ${actual}, expected ${expected}`);
}

function idsInRange(field: string, ids: ArrayLike<number>, lo: number, hiExclusive: number): void {
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i] as number;
    if (!(v >= lo && v < hiExclusive)) throw new TwoTowerInputError(`${field}[${i}]`, `is ${v}, outside [${lo}, ${hiExclusive})`);
  }
}

function allFinite(field: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new TwoTowerInputError(`${field}[${i}]`, `is ${values[i]}, not a finite number`);
  }
}

export function validateHistories(field: string, histories: Histories, rows: number, numItems: number): void {
  positiveInt(`${field}.length`, histories.length);
  lengthIs(`${field}.items`, histories.items.length, rows * histories.length);
  idsInRange(`${field}.items`, histories.items, -1, numItems);
}

/** Throws a TwoTowerInputError naming the first field that is inconsistent. */
export function validateTrainingData(data: TrainingData): void {
  positiveInt("numUsers", data.numUsers);
  positiveInt("numItems", data.numItems);
  const uf = data.userFeatures;
  nonNegativeInt("userFeatures.numericDim", uf.numericDim);
  lengthIs("userFeatures.numeric", uf.numeric.length, data.numUsers * uf.numericDim);
  allFinite("userFeatures.numeric", uf.numeric);
  uf.categoricalCardinalities.forEach((c, k) => positiveInt(`userFeatures.categoricalCardinalities[${k}]`, c));
  const numCat = uf.categoricalCardinalities.length;
  lengthIs("userFeatures.categorical", uf.categorical.length, data.numUsers * numCat);
  for (let i = 0; i < uf.categorical.length; i++) {
    const card = uf.categoricalCardinalities[i % numCat] as number;
    const v = uf.categorical[i] as number;
    if (v < -1 || v >= card) throw new TwoTowerInputError(`userFeatures.categorical[${i}]`, `is ${v}, outside [-1, ${card})`);
  }
  const itf = data.itemFeatures;
  positiveInt("itemFeatures.numCategories", itf.numCategories);
  lengthIs("itemFeatures.category", itf.category.length, data.numItems);
  idsInRange("itemFeatures.category", itf.category, -1, itf.numCategories);
  nonNegativeInt("itemFeatures.numTags", itf.numTags);
  lengthIs("itemFeatures.tags", itf.tags.length, data.numItems * itf.numTags);
  idsInRange("itemFeatures.tags", itf.tags, 0, 2);
  lengthIs("itemFeatures.quality", itf.quality.length, data.numItems);
  allFinite("itemFeatures.quality", itf.quality);
  lengthIs("itemFeatures.freshness", itf.freshness.length, data.numItems);
  allFinite("itemFeatures.freshness", itf.freshness);
  const log = data.interactions;
  const rows = log.user.length;
  positiveInt("interactions.user.length", rows);
  lengthIs("interactions.item", log.item.length, rows);
  lengthIs("interactions.time", log.time.length, rows);
  idsInRange("interactions.user", log.user, 0, data.numUsers);
  idsInRange("interactions.item", log.item, 0, data.numItems);
  validateHistories("histories", data.histories, rows, data.numItems);
}

/**
 * Point-in-time histories for every row of a log: the `length` items the same user had before
 * that row (by time, ties by row order), most recent first. Build them on the whole log before
 * splitting train from held-out, so held-out rows see the training rows that precede them.
 */
export function buildHistories(log: Pick<InteractionLog, "user" | "item" | "time">, length: number): Histories {
  positiveInt("length", length);
  const rows = log.user.length;
  const order = Array.from({ length: rows }, (_, i) => i);
  order.sort((a, b) => (log.user[a] as number) - (log.user[b] as number) || (log.time[a] as number) - (log.time[b] as number) || a - b);
  const items = new Int32Array(rows * length).fill(-1);
  const recent: number[] = [];
  let currentUser = -1;
  for (const r of order) {
    const u = log.user[r] as number;
    if (u !== currentUser) {
      currentUser = u;
      recent.length = 0;
    }
    for (let k = 0; k < recent.length; k++) items[r * length + k] = recent[k] as number;
    recent.unshift(log.item[r] as number);
    if (recent.length > length) recent.pop();
  }
  return { length, items };
}

/**
 * Set histories for every row of a log: up to `length` of the same user's other rows' items,
 * drawn uniformly without replacement (seeded), never the row's own item. For data whose
 * held-out items are a random subset of each user's set rather than the next ones in time (a
 * per-user random split such as rec-eval's): point-in-time histories would teach "predict the
 * next item from the few before it", while such a test asks "predict a missing item from the
 * rest". Each row costs O(length): a partial Fisher-Yates on the user's rows, undone afterwards.
 */
export function sampleHistories(log: Pick<InteractionLog, "user" | "item">, length: number, seed: number): Histories {
  positiveInt("length", length);
  if (!Number.isInteger(seed)) throw new TwoTowerInputError("seed", `must be an integer, got ${seed}`);
  const rows = log.user.length;
  const rng = new Rng(seed);
  // The log's rows grouped by user (counting sort), so each user's items are one contiguous run.
  let numUsers = 0;
  for (let r = 0; r < rows; r++) numUsers = Math.max(numUsers, (log.user[r] as number) + 1);
  const start = new Int32Array(numUsers + 1);
  for (let r = 0; r < rows; r++) start[(log.user[r] as number) + 1]! += 1;
  for (let u = 0; u < numUsers; u++) start[u + 1]! += start[u] as number;
  const fill = start.slice(0, numUsers);
  const pool = new Int32Array(rows);
  const slotOf = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const u = log.user[r] as number;
    slotOf[r] = fill[u] as number;
    pool[fill[u]!++] = log.item[r] as number;
  }
  const items = new Int32Array(rows * length).fill(-1);
  const swaps = new Int32Array(length + 1);
  const swap = (a: number, b: number) => {
    const t = pool[a] as number;
    pool[a] = pool[b] as number;
    pool[b] = t;
  };
  for (let r = 0; r < rows; r++) {
    const u = log.user[r] as number;
    const lo = start[u] as number;
    const last = (start[u + 1] as number) - 1;
    // Park the row's own slot at the end of the run; draw from the slots before it.
    swap(slotOf[r] as number, last);
    const take = Math.min(length, last - lo);
    for (let k = 0; k < take; k++) {
      const j = lo + k + rng.int(last - lo - k);
      swaps[k] = j;
      swap(lo + k, j);
      items[r * length + k] = pool[lo + k] as number;
    }
    for (let k = take - 1; k >= 0; k--) swap(lo + k, swaps[k] as number);
    swap(slotOf[r] as number, last);
  }
  return { length, items };
}

/** Interaction count per item. */
export function itemCounts(log: Pick<InteractionLog, "item">, numItems: number): Float64Array {
  const counts = new Float64Array(numItems);
  for (let i = 0; i < log.item.length; i++) counts[log.item[i] as number]! += 1;
  return counts;
}

/** The distinct items each user interacted with (to exclude from recommendations). */
export function itemsSeenByUser(log: Pick<InteractionLog, "user" | "item">, numUsers: number): Int32Array[] {
  const sets: Set<number>[] = Array.from({ length: numUsers }, () => new Set<number>());
  for (let i = 0; i < log.user.length; i++) sets[log.user[i] as number]?.add(log.item[i] as number);
  return sets.map((s) => Int32Array.from(s));
}
