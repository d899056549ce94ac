import { AliasTable, Rng } from "@mlsd/random";
import { buildHistories, type EvalSet, type ItemContent, type TrainingData } from "../data";

/**
 * A small world with known structure for tests and benchmarks: users and items belong to latent
 * clusters, users mostly consume their own cluster, item popularity is Zipf-like, and content
 * (category, tags) reveals an item's cluster. Each user's last interaction is held out.
 */
export interface ClusteredWorldOptions {
  readonly seed: number;
  readonly numUsers: number;
  readonly numItems: number;
  readonly numClusters: number;
  readonly interactionsPerUser: number;
  /** Chance that an interaction stays in the user's own cluster. */
  readonly affinity: number;
  /** Popularity weight of the item of global rank r is (r + 1)^-zipf. */
  readonly zipf: number;
  readonly historyLength: number;
  /** Tags per cluster; there are numClusters * tagsPerCluster + 2 tags in all. */
  readonly tagsPerCluster: number;
}

export const SMALL_WORLD: ClusteredWorldOptions = {
  seed: 7,
  numUsers: 400,
  numItems: 300,
  numClusters: 6,
  interactionsPerUser: 16,
  affinity: 0.85,
  zipf: 1.0,
  historyLength: 8,
  tagsPerCluster: 2,
};

export interface ClusteredWorld {
  readonly train: TrainingData;
  readonly heldOut: EvalSet;
  readonly userCluster: Int32Array;
  readonly itemCluster: Int32Array;
  /** Training items per user, to exclude when ranking. */
  readonly seen: Int32Array[];
  /** Content for a brand-new item of cluster c (not in the catalogue). */
  newItemContent(cluster: number, rng: Rng): ItemContent;
  readonly options: ClusteredWorldOptions;
}

export function makeClusteredWorld(overrides: Partial<ClusteredWorldOptions> = {}): ClusteredWorld {
  const o: ClusteredWorldOptions = { ...SMALL_WORLD, ...overrides };
  const rng = new Rng(o.seed);
  const numTags = o.numClusters * o.tagsPerCluster + 2;
  const userCluster = Int32Array.from({ length: o.numUsers }, () => rng.int(o.numClusters));
  const itemCluster = Int32Array.from({ length: o.numItems }, (_, i) => i % o.numClusters);

  const popularityOrder = rng.shuffle(Array.from({ length: o.numItems }, (_, i) => i));
  const weight = new Float64Array(o.numItems);
  popularityOrder.forEach((item, rank) => (weight[item] = Math.pow(rank + 1, -o.zipf)));
  const members: number[][] = Array.from({ length: o.numClusters }, () => []);
  for (let i = 0; i < o.numItems; i++) members[itemCluster[i] as number]!.push(i);
  const samplers = members.map((m) => new AliasTable(m.map((i) => weight[i] as number)));

  const content = (cluster: number, r: Rng): ItemContent => {
    const tags: number[] = [];
    for (let t = 0; t < o.tagsPerCluster; t++) if (r.bernoulli(0.8)) tags.push(cluster * o.tagsPerCluster + t);
    if (r.bernoulli(0.3)) tags.push(o.numClusters * o.tagsPerCluster + r.int(2));
    return {
      category: r.bernoulli(0.9) ? cluster : r.int(o.numClusters),
      tags,
      quality: r.uniform(0, 1),
      freshness: r.uniform(0, 30),
    };
  };
  const category = new Int32Array(o.numItems);
  const tags = new Uint8Array(o.numItems * numTags);
  const quality = new Float32Array(o.numItems);
  const freshness = new Float32Array(o.numItems);
  for (let i = 0; i < o.numItems; i++) {
    const c = content(itemCluster[i] as number, rng);
    category[i] = c.category;
    for (let t = 0; t < c.tags.length; t++) tags[i * numTags + (c.tags[t] as number)] = 1;
    quality[i] = c.quality;
    freshness[i] = c.freshness;
  }

  const numeric = new Float32Array(o.numUsers * 2);
  const categorical = new Int32Array(o.numUsers * 2);
  for (let u = 0; u < o.numUsers; u++) {
    const c = userCluster[u] as number;
    // A noisy numeric hint of the cluster, an uninformative one, a partly informative segment.
    numeric[2 * u] = c + rng.normal(0, 1.5);
    numeric[2 * u + 1] = rng.normal(40, 12);
    categorical[2 * u] = rng.int(4);
    categorical[2 * u + 1] = rng.bernoulli(0.5) ? c : rng.int(o.numClusters);
  }

  const total = o.numUsers * o.interactionsPerUser;
  const user = new Int32Array(total);
  const item = new Int32Array(total);
  const time = new Float64Array(total);
  const heldOutRows: number[] = [];
  const trainRows: number[] = [];
  let r = 0;
  for (let u = 0; u < o.numUsers; u++) {
    const taken = new Set<number>();
    for (let t = 0; t < o.interactionsPerUser; t++) {
      const cluster = rng.bernoulli(o.affinity) ? (userCluster[u] as number) : rng.int(o.numClusters);
      const list = members[cluster] as number[];
      let pick = list[(samplers[cluster] as AliasTable).sample(rng)] as number;
      // Users do not re-consume: redraw a few times, then fall back to the next unseen item.
      for (let tries = 0; taken.has(pick) && tries < 20; tries++) pick = list[(samplers[cluster] as AliasTable).sample(rng)] as number;
      while (taken.has(pick)) pick = (pick + 1) % o.numItems;
      taken.add(pick);
      user[r] = u;
      item[r] = pick;
      time[r] = t;
      (t === o.interactionsPerUser - 1 ? heldOutRows : trainRows).push(r);
      r++;
    }
  }
  const histories = buildHistories({ user, item, time }, o.historyLength);
  const pickRows = <T extends Int32Array | Float64Array>(src: T, rows: number[]): T => {
    const out = new (src.constructor as new (n: number) => T)(rows.length);
    rows.forEach((row, i) => (out[i] = src[row] as number));
    return out;
  };
  const historyRows = (rows: number[]) => {
    const out = new Int32Array(rows.length * o.historyLength);
    rows.forEach((row, i) => out.set(histories.items.subarray(row * o.historyLength, (row + 1) * o.historyLength), i * o.historyLength));
    return { length: o.historyLength, items: out };
  };
  const userFeatures = { numericDim: 2, numeric, categoricalCardinalities: [4, o.numClusters], categorical };
  const train: TrainingData = {
    numUsers: o.numUsers,
    numItems: o.numItems,
    userFeatures,
    itemFeatures: { numCategories: o.numClusters, category, numTags, tags, quality, freshness },
    interactions: { user: pickRows(user, trainRows), item: pickRows(item, trainRows), time: pickRows(time, trainRows) },
    histories: historyRows(trainRows),
  };
  const heldOut: EvalSet = {
    userFeatures,
    interactions: { user: pickRows(user, heldOutRows), item: pickRows(item, heldOutRows) },
    histories: historyRows(heldOutRows),
  };
  const seenSets: Set<number>[] = Array.from({ length: o.numUsers }, () => new Set<number>());
  for (const row of trainRows) seenSets[user[row] as number]!.add(item[row] as number);
  return {
    train,
    heldOut,
    userCluster,
    itemCluster,
    seen: seenSets.map((s) => Int32Array.from(s)),
    newItemContent: content,
    options: o,
  };
}
