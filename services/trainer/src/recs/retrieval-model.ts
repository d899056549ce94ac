import { ExactIndex, HnswIndex, recallOfIds, type HnswParams } from "@mlsd/ann";
import { Progress } from "@mlsd/progress";
import { TwoTowerModel, UserEncoder, type FitReport, type TrainingData, type TwoTowerConfig, type UserQuery } from "@mlsd/two-tower";

export interface TrainedTwoTower {
  model: TwoTowerModel;
  encoder: UserEncoder;
  /** numItems x dim item-tower outputs, row i = item i. */
  embeddings: Float32Array;
  epochLoss: number[];
  examplesPerSecond: number;
  seconds: number;
}

/** Fits the two-tower model one epoch at a time so the progress bar moves per epoch. */
export async function trainTwoTower(data: TrainingData, config: Partial<TwoTowerConfig>, options: { quiet?: boolean } = {}): Promise<TrainedTwoTower> {
  const model = await TwoTowerModel.fromData(data, config);
  const epochs = model.config.epochs;
  const rows = data.interactions.user.length;
  const progress = options.quiet ? null : new Progress({ total: epochs * rows, label: "train two-tower", unit: "examples" });
  const reports: FitReport[] = [];
  for (let e = 0; e < epochs; e++) {
    reports.push(await model.fit(data, { epochs: 1 }));
    progress?.update((e + 1) * rows);
  }
  progress?.done();
  const seconds = reports.reduce((s, r) => s + r.seconds, 0);
  return {
    model,
    encoder: new UserEncoder(model.exportUserTower()),
    embeddings: model.exportItemEmbeddings(),
    epochLoss: reports.map((r) => r.epochLoss[0] as number),
    examplesPerSecond: (epochs * rows) / seconds,
    seconds,
  };
}

export interface BuiltIndexes {
  hnsw: HnswIndex<string>;
  exact: ExactIndex<string>;
  buildSeconds: number;
}

/** The HNSW index (stamped with the model version) and the exact baseline over the same item embeddings. */
export function buildIndexes(embeddings: Float32Array, dim: number, itemId: (i: number) => string, version: string, params: Partial<HnswParams> = {}, options: { quiet?: boolean } = {}): BuiltIndexes {
  const n = embeddings.length / dim;
  const ids = Array.from({ length: n }, (_, i) => itemId(i));
  const t0 = performance.now();
  const hnsw = HnswIndex.create<string>({ dim, modelVersion: version, params, initialCapacity: n });
  const progress = options.quiet ? null : new Progress({ total: n, label: "build HNSW index", unit: "items" });
  const batch = 10_000;
  for (let start = 0; start < n; start += batch) {
    const end = Math.min(n, start + batch);
    hnsw.addItems(embeddings.subarray(start * dim, end * dim), ids.slice(start, end));
    progress?.update(end);
  }
  progress?.done();
  const buildSeconds = (performance.now() - t0) / 1000;
  return { hnsw, exact: ExactIndex.build(embeddings, ids, { dim }), buildSeconds };
}

export interface IndexRecall {
  k: number;
  ef: number;
  recall: number;
  queries: number;
  hnswMedianUs: number;
  exactMedianUs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Recall@k of HNSW against exact search on real user-tower queries, with the median search time of each. */
export function measureIndexRecall(indexes: BuiltIndexes, queries: readonly Float32Array[], k: number, ef?: number): IndexRecall {
  let total = 0;
  const hnswUs: number[] = [];
  const exactUs: number[] = [];
  for (const q of queries) {
    let t0 = performance.now();
    const approx = indexes.hnsw.search(q, k, ef);
    hnswUs.push((performance.now() - t0) * 1000);
    t0 = performance.now();
    const exact = indexes.exact.search(q, k);
    exactUs.push((performance.now() - t0) * 1000);
    total += recallOfIds(approx.ids, exact.ids);
  }
  return {
    k,
    ef: Math.max(ef ?? indexes.hnsw.params.ef, k),
    recall: queries.length ? total / queries.length : 0,
    queries: queries.length,
    hnswMedianUs: median(hnswUs),
    exactMedianUs: median(exactUs),
  };
}

/** A user-tower query for a user index of the training data (unknown users go through the unknown row). */
export function userQuery(data: Pick<TrainingData, "userFeatures">, user: number, known: boolean, history: ArrayLike<number>): UserQuery {
  const uf = data.userFeatures;
  const nNum = uf.numericDim;
  const nCat = uf.categoricalCardinalities.length;
  return {
    userId: known ? user : -1,
    numeric: uf.numeric.subarray(user * nNum, (user + 1) * nNum),
    categorical: uf.categorical.subarray(user * nCat, (user + 1) * nCat),
    history,
  };
}
