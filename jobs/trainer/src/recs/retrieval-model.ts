import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defaultEffort, ExactIndex, HnswIndex, IvfIndex, recallOfIds, SEARCH_EFFORT, type HnswParams, type IvfParams, type SavedIndex, type SearchResult, type Vector } from "@mlsd/ann";
import { centeredEmbeddings, embeddingCenter } from "@mlsd/model-formats/retrieval";
import { Progress } from "@mlsd/progress";
import type { UserItemMatrix } from "@mlsd/rec-eval";
import { linearUserVector, TwoTowerModel, UserEncoder, type FitReport, type LinearTowers, type TrainingData, type TwoTowerConfig, type UserQuery } from "@mlsd/two-tower";

export interface TrainedTwoTower {
  model: TwoTowerModel;
  encoder: UserEncoder;
  /** numItems x dim item-tower outputs, row i = item i. */
  embeddings: Float32Array;
  epochLoss: number[];
  /** The validation score after each epoch, when early stopping ran. */
  validation: number[];
  /** 1-based epoch whose weights were kept. */
  keptEpoch: number;
  examplesPerSecond: number;
  seconds: number;
}

export interface TrainTwoTowerOptions {
  quiet?: boolean;
  /**
   * Early stopping: a score of the model after each epoch (higher is better, e.g. NDCG on a
   * validation split). Training stops at the first epoch that does not improve it, and the best
   * epoch's weights are kept.
   */
  validate?: (encoder: UserEncoder, embeddings: Float32Array) => number | Promise<number>;
}

/** Fits the two-tower model one epoch at a time (the progress bar moves per epoch), optionally with early stopping. */
export async function trainTwoTower(data: TrainingData, config: Partial<TwoTowerConfig>, options: TrainTwoTowerOptions = {}): Promise<TrainedTwoTower> {
  let model = await TwoTowerModel.fromData(data, config);
  const epochs = model.config.epochs;
  const rows = data.interactions.user.length;
  const progress = options.quiet ? null : new Progress({ total: epochs * rows, label: "train two-tower", unit: "examples" });
  const reports: FitReport[] = [];
  const validation: number[] = [];
  const snapshot = options.validate ? fs.mkdtempSync(path.join(os.tmpdir(), "two-tower-best-")) : null;
  let kept = epochs;
  try {
    for (let e = 0; e < epochs; e++) {
      reports.push(await model.fit(data, { epochs: 1 }));
      progress?.update((e + 1) * rows);
      if (!options.validate || !snapshot) continue;
      const score = await options.validate(new UserEncoder(model.exportUserTower()), model.exportItemEmbeddings());
      const best = Math.max(...validation);
      validation.push(score);
      if (score > best || validation.length === 1) {
        kept = e + 1;
        await model.save(snapshot);
      } else {
        break;
      }
    }
    progress?.done();
    if (snapshot && kept < reports.length) model = await TwoTowerModel.load(snapshot);
  } finally {
    if (snapshot) fs.rmSync(snapshot, { recursive: true, force: true });
  }
  const seconds = reports.reduce((s, r) => s + r.seconds, 0);
  return {
    model,
    encoder: new UserEncoder(model.exportUserTower()),
    embeddings: model.exportItemEmbeddings(),
    epochLoss: reports.map((r) => r.epochLoss[0] as number),
    validation,
    keptEpoch: kept,
    examplesPerSecond: (reports.length * rows) / seconds,
    seconds,
  };
}

/** Which index the retrieval model serves from, with its parameters (the trainer's `--index`, `--nlist`, `--nprobe`). */
export type IndexSpec = { kind: "hnsw"; params?: Partial<HnswParams> } | { kind: "ivf"; params?: Partial<IvfParams> };

/**
 * IVF lists when `--nlist` is not given: 4 sqrt(n) (faiss's guidance is 4-16 sqrt(n)), at most the
 * library's 1024, so a list holds about sqrt(n) / 4 items and the default nprobe scans a few percent.
 */
export function defaultNlist(items: number): number {
  return Math.max(1, Math.min(1024, Math.round(4 * Math.sqrt(items))));
}

export interface BuiltIndexes {
  /** Over the embeddings minus `center` (see embeddingCenter), HNSW or IVF: search it through `searchIndex`. */
  ann: SavedIndex<string>;
  center: Float32Array;
  exact: ExactIndex<string>;
  buildSeconds: number;
}

/** Index results on the scale of exact inner products: the centring shift added back. `effort` is HNSW's ef or IVF's nprobe. */
export function searchIndex(indexes: BuiltIndexes, q: Vector, k: number, effort?: number): SearchResult<string> {
  const result = indexes.ann.search(q, k, effort);
  let shift = 0;
  for (let j = 0; j < indexes.center.length; j++) shift += (q[j] as number) * (indexes.center[j] as number);
  return { ids: result.ids, scores: result.scores.map((s) => s + shift) };
}

/** The index (HNSW or IVF, stamped with the model version) and the exact baseline over the same item embeddings. */
export function buildIndexes(embeddings: Float32Array, dim: number, itemId: (i: number) => string, version: string, spec: IndexSpec = { kind: "hnsw" }, options: { quiet?: boolean } = {}): BuiltIndexes {
  const n = embeddings.length / dim;
  const ids = Array.from({ length: n }, (_, i) => itemId(i));
  const center = embeddingCenter(embeddings, dim);
  const centred = centeredEmbeddings(embeddings, center);
  const t0 = performance.now();
  let ann: SavedIndex<string>;
  if (spec.kind === "hnsw") {
    const hnsw = HnswIndex.create<string>({ dim, modelVersion: version, params: spec.params ?? {}, initialCapacity: n });
    const progress = options.quiet ? null : new Progress({ total: n, label: "build HNSW index", unit: "items" });
    const batch = 10_000;
    for (let start = 0; start < n; start += batch) {
      const end = Math.min(n, start + batch);
      hnsw.addItems(centred.subarray(start * dim, end * dim), ids.slice(start, end));
      progress?.update(end);
    }
    progress?.done();
    ann = hnsw;
  } else {
    // One batch: the coarse quantiser is trained on the first batch added.
    ann = IvfIndex.build<string>(centred, ids, { dim, modelVersion: version, params: { nlist: defaultNlist(n), ...spec.params } });
  }
  const buildSeconds = (performance.now() - t0) / 1000;
  return { ann, center, exact: ExactIndex.build(embeddings, ids, { dim }), buildSeconds };
}

/** The HNSW norm lifts the trainer tries on a catalogue (the ann package's default, 0.5, among them). */
export const LIFT_CANDIDATES: readonly number[] = [0, 0.25, 0.5];

export interface LiftChoice {
  /** The chosen lift and the index built with it. */
  liftFraction: number;
  indexes: BuiltIndexes;
  k: number;
  queries: number;
  /** Recall@k against exact search at the default ef, per lift tried. */
  tried: { liftFraction: number; recall: number }[];
}

/**
 * Builds the HNSW index once per lift and keeps the one that agrees best with exact inner-product
 * search on these queries (recall@k at the default ef; ties go to the smaller lift). No label is
 * read, only exact search. The lift that suits one embedding's norm spread can wreck another's:
 * the ann package's 0.5 came from a synthetic benchmark, and on MovieLens's low-rank EASE vectors
 * (norms from 0 to 1.4) it found 73 % of the exact top 200 at the default ef (400), no lift 100 %.
 */
/**
 * The query vectors of the first `limit` users with training ratings, in user order: what the
 * lift choice and the index sweeps score HNSW on (recall against exact search, no held-out
 * rating read). A user with no training rating has no query and is skipped.
 */
export function trainingUserQueries(towers: LinearTowers, train: UserItemMatrix, limit = Number.POSITIVE_INFINITY): Float32Array[] {
  const queries: Float32Array[] = [];
  for (let u = 0; u < train.numUsers && queries.length < limit; u++) {
    const history = train.itemsOf(u);
    if (history.length > 0) queries.push(linearUserVector(towers, history));
  }
  return queries;
}

export function buildHnswChoosingLift(embeddings: Float32Array, dim: number, itemId: (i: number) => string, version: string, queries: readonly Float32Array[], k: number, lifts: readonly number[] = LIFT_CANDIDATES): LiftChoice {
  if (!lifts.length) throw new RangeError("lifts must name at least one lift fraction");
  const tried: LiftChoice["tried"] = [];
  let best: { liftFraction: number; indexes: BuiltIndexes; recall: number } | null = null;
  for (const liftFraction of [...lifts].sort((a, b) => a - b)) {
    const indexes = buildIndexes(embeddings, dim, itemId, version, { kind: "hnsw", params: { liftFraction } }, { quiet: true });
    const recall = (sweepIndexRecall(indexes, queries, [k], [Math.max(k, defaultEffort(indexes.ann))])[0] as IndexRecall).recall;
    tried.push({ liftFraction, recall });
    if (!best || recall > best.recall) best = { liftFraction, indexes, recall };
  }
  const chosen = best as { liftFraction: number; indexes: BuiltIndexes };
  return { liftFraction: chosen.liftFraction, indexes: chosen.indexes, k, queries: queries.length, tried };
}

const EF_SWEEP = [50, 100, 200, 400];
const NPROBE_SWEEP = [1, 2, 4, 8, 16, 32, 64, 128];

/**
 * The search efforts a recall table sweeps for this index: ef 50-400 for HNSW (hnswlib searches
 * with max(ef, k), so only ef >= k is measured), nprobe 1-128 up to the lists trained for IVF;
 * the index's own default is always among them.
 */
export function sweepEfforts(index: SavedIndex): number[] {
  const base = index.kind === "hnsw" ? EF_SWEEP : NPROBE_SWEEP.filter((p) => p <= index.params.nlist);
  return [...new Set([...base, defaultEffort(index)])].sort((a, b) => a - b);
}

export interface IndexRecall {
  k: number;
  /** HNSW's ef or IVF's nprobe (`SEARCH_EFFORT[kind]`). */
  effort: number;
  recall: number;
  queries: number;
  annMedianUs: number;
  exactMedianUs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * Recall@k of the index against exact search on real user-tower queries, for every (k, effort)
 * pair (HNSW: ef >= k only, as hnswlib searches with max(ef, k)), with the median time of each
 * search. The exact top list is computed once per query: on a million items it is the expensive part.
 */
export function sweepIndexRecall(indexes: BuiltIndexes, queries: readonly Float32Array[], ks: readonly number[], efforts: readonly number[] = sweepEfforts(indexes.ann)): IndexRecall[] {
  const maxK = Math.max(...ks);
  const exactUs: number[] = [];
  const exact = queries.map((q) => {
    const t0 = performance.now();
    const ids = indexes.exact.search(q, maxK).ids;
    exactUs.push((performance.now() - t0) * 1000);
    return ids;
  });
  const out: IndexRecall[] = [];
  for (const k of ks) {
    for (const effort of efforts.filter((e) => indexes.ann.kind !== "hnsw" || e >= k)) {
      let total = 0;
      const annUs: number[] = [];
      queries.forEach((q, j) => {
        const t0 = performance.now();
        const approx = indexes.ann.search(q, k, effort);
        annUs.push((performance.now() - t0) * 1000);
        total += recallOfIds(approx.ids, (exact[j] as string[]).slice(0, k));
      });
      out.push({ k, effort, recall: queries.length ? total / queries.length : 0, queries: queries.length, annMedianUs: median(annUs), exactMedianUs: median(exactUs) });
    }
  }
  return out;
}

/** A user-tower query for a user index of the training data (unknown users go through the unknown row). */
/** The recall row at the index's own default effort (what the service searches with unless told otherwise), or null. */
export function recallAtDefault(sweep: readonly IndexRecall[], index: SavedIndex, k: number): number | null {
  const effort = index.kind === "hnsw" ? Math.max(k, index.params.ef) : index.params.nprobe;
  return sweep.find((s) => s.k === k && s.effort === effort)?.recall ?? null;
}

/** "ef" or "nprobe": what a recall table's effort column means for this index. */
export function effortName(index: SavedIndex): "ef" | "nprobe" {
  return SEARCH_EFFORT[index.kind];
}

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
