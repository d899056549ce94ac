import { labelsKnownAt, type TransactionTable } from "@mlsd/datasets";
import { CUSTOMER_RATIO_FEATURES, fraudFeatureNames, selectFeatureRows as selectRows, type FraudFeatureMatrix } from "@mlsd/feature-store";
import { Dataset, GbdtModel, Predictor, train, type TrainParamsInput } from "@mlsd/gbdt";
import { Progress } from "@mlsd/progress";
import { meanMetrics, rankingMetrics, type RankingMetrics } from "./evaluate";
import { foldCutoffMs, type FoldRows } from "./protocol";

/** GBDT settings held fixed while the grid varies the rest. */
export const BASE_GBDT_PARAMS: TrainParamsInput = Object.freeze({
  objective: "binary",
  lambda: 1,
  minChildWeight: 1,
  subsample: 0.8,
  colsampleByTree: 0.8,
  evalMetric: "logloss",
  seed: 7,
});

/**
 * Of each feature's 254 bin edges, how many the training labels place (`@mlsd/gbdt`'s
 * `labelEdges`). Equal-frequency edges put every fraud above 220 in the top amount bin, with
 * legitimate amounts below 220: no tree could split there. 32 had the best mean validation AP of
 * {0, 32, 64, 128} on world seed 0's four validation folds (depth 3, lr 0.1, 200 trees, fraud
 * weight 1; the trainer README gives the command and the values).
 */
export const DEFAULT_LABEL_EDGES = 32;

/**
 * The columns the model computes from the served features, after them (`FraudColumnPlan`): the
 * amount against the customer's own averages. Mean validation AP on world seed 0's four folds
 * (depth 3, lr 0.1, 200 trees, fraud weight 1, 32 label edges): 0.7239 with them, 0.6977
 * without (the trainer README gives the command).
 */
export const DEFAULT_RATIO_FEATURES: readonly string[] = CUSTOMER_RATIO_FEATURES;

/** One early-stopped fit without a grid search: the from-log trainer and the degraded-answer fallback use it. */
export const DEFAULT_GBDT_PARAMS: TrainParamsInput = Object.freeze({
  ...BASE_GBDT_PARAMS,
  numRounds: 300,
  learningRate: 0.1,
  maxDepth: 6,
  earlyStoppingRounds: 30,
});

/**
 * Weight of fraud rows relative to legitimate ones. `"sqrt-balance"` uses sqrt(negatives /
 * positives) of the fold's training rows: enough to stop the rare class being ignored, without the
 * calibration damage of a full rebalance.
 */
export type PositiveWeight = number | "sqrt-balance";

export interface FraudModelParams {
  maxDepth: number;
  learningRate: number;
  numRounds: number;
  positiveWeight: PositiveWeight;
}

export interface GridAxes {
  maxDepth: number[];
  learningRate: number[];
  numRounds: number[];
  positiveWeight: PositiveWeight[];
}

/** The handbook searched XGBoost over depth {3, 6, 9}, trees {25, 50, 100}, learning rate {0.1, 0.3}; this grid covers it and goes further in trees. */
export const DEFAULT_GRID: Readonly<GridAxes> = Object.freeze({
  maxDepth: [3, 6, 9],
  learningRate: [0.1, 0.3],
  numRounds: [25, 50, 100, 200, 400],
  positiveWeight: [1, "sqrt-balance"] as PositiveWeight[],
});

export interface Candidate {
  id: number;
  params: FraudModelParams;
}

/** Every combination, in axis order (depth, learning rate, weight, then rounds): earlier ids are the simpler models and win ties. */
export function expandGrid(axes: GridAxes): Candidate[] {
  for (const [name, values] of Object.entries(axes)) {
    if (!Array.isArray(values) || values.length === 0) throw new RangeError(`grid: ${name} needs at least one value`);
  }
  const out: Candidate[] = [];
  for (const maxDepth of axes.maxDepth) {
    for (const learningRate of axes.learningRate) {
      for (const positiveWeight of axes.positiveWeight) {
        for (const numRounds of [...axes.numRounds].sort((a, b) => a - b)) out.push({ id: out.length, params: { maxDepth, learningRate, numRounds, positiveWeight } });
      }
    }
  }
  return out;
}

export function describeParams(p: FraudModelParams): string {
  const weight = p.positiveWeight === "sqrt-balance" ? "sqrt-balance" : String(p.positiveWeight);
  return `depth ${p.maxDepth}, lr ${p.learningRate}, ${p.numRounds} trees, fraud weight ${weight}`;
}

export interface FraudData {
  table: TransactionTable;
  /** The model's columns: the served features, then any it computes from them. */
  matrix: FraudFeatureMatrix;
  /** Bin edges per feature that the training labels place instead of the quantiles (`@mlsd/gbdt`'s `labelEdges`; default 0). */
  labelEdges?: number;
}

export interface FittedFold {
  model: GbdtModel;
  scalePosWeight: number;
  /** Frauds in the training window known at the cutoff, and those not known yet (trained as legitimate). */
  knownFrauds: number;
  hiddenFrauds: number;
  seconds: number;
}

/** A fold's training rows binned once, with the labels known at its cutoff. */
export interface FoldTrainingSet {
  dataset: Dataset;
  positives: number;
  hidden: number;
}

export function foldTrainingSet(data: FraudData, fold: FoldRows): FoldTrainingSet {
  const { labels, hidden } = labelsKnownAt(data.table, fold.train, foldCutoffMs(data.table, fold));
  const positives = labels.reduce((s, v) => s + v, 0);
  if (positives === 0) {
    throw new RangeError(`no fraud known in the training window days ${fold.windows.train.from}-${fold.windows.train.to - 1}: use a longer window or another period`);
  }
  return { dataset: Dataset.fromRows(selectRows(data.matrix, fold.train), { labels, featureNames: data.matrix.names, seed: 7, labelEdges: data.labelEdges ?? 0 }), positives, hidden };
}

/** Trains on a fold's training rows with the labels known at its cutoff. */
export function fitFold(data: FraudData, fold: FoldRows, params: FraudModelParams, prepared = foldTrainingSet(data, fold)): FittedFold {
  const { dataset, positives, hidden } = prepared;
  const scalePosWeight = params.positiveWeight === "sqrt-balance" ? Math.sqrt((dataset.numRows - positives) / positives) : params.positiveWeight;
  const t0 = performance.now();
  const result = train(dataset, { ...BASE_GBDT_PARAMS, maxDepth: params.maxDepth, learningRate: params.learningRate, numRounds: params.numRounds, scalePosWeight });
  return { model: result.model, scalePosWeight, knownFrauds: positives, hiddenFrauds: hidden, seconds: (performance.now() - t0) / 1000 };
}

/** The same model with only its first `trees` trees: the model `trees` rounds of boosting would have made. */
export function truncateModel(model: GbdtModel, trees: number): GbdtModel {
  if (trees >= model.trees.length) return model;
  return new GbdtModel({ objective: model.objective, baseScore: model.baseScore, featureNames: model.featureNames, trees: model.trees.slice(0, trees), params: { ...model.params, numRounds: trees } });
}

export function scoreRows(model: GbdtModel, matrix: FraudFeatureMatrix, rows: Int32Array): Float64Array {
  return new Predictor(model).predictBatch(selectRows(matrix, rows));
}

export type SelectionMetric = keyof RankingMetrics;

export interface CandidateResult {
  candidate: Candidate;
  perFold: RankingMetrics[];
  mean: RankingMetrics;
}

export interface SelectionResult {
  selectBy: SelectionMetric;
  /** Bin edges per feature that the training labels placed (`FraudData.labelEdges`). */
  labelEdges: number;
  /** The matrix's columns that are not served features: what the model computes from them. */
  computedColumns: string[];
  results: CandidateResult[];
  best: CandidateResult;
  /** Scores of the chosen candidate on each validation fold's assessed rows. */
  bestScores: Float64Array[];
  seconds: number;
}

/**
 * Prequential grid search: every candidate is trained on each validation fold's training window
 * and scored on its validation window; the candidate with the best mean `selectBy` wins. The test
 * windows are never looked at. Candidates that differ only in the number of trees share one
 * training run (the first n trees of a boosted model are the n-round model).
 */
export function prequentialSearch(data: FraudData, folds: FoldRows[], candidates: Candidate[], selectBy: SelectionMetric, options: { quiet?: boolean } = {}): SelectionResult {
  if (folds.length === 0) throw new RangeError("prequential search needs at least one validation fold");
  if (candidates.length === 0) throw new RangeError("prequential search needs at least one candidate");
  const groups = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const { numRounds: _rounds, ...rest } = c.params;
    const key = JSON.stringify(rest);
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const totalTrees = [...groups.values()].reduce((s, g) => s + Math.max(...g.map((c) => c.params.numRounds)), 0) * folds.length;
  const progress = options.quiet ? undefined : new Progress({ total: totalTrees, label: `prequential search (${candidates.length} candidates x ${folds.length} folds)`, unit: "trees" });
  const t0 = performance.now();
  let done = 0;
  const perFold = new Map<number, RankingMetrics[]>();
  const scores = new Map<number, Float64Array[]>();
  const prepared = folds.map((fold) => foldTrainingSet(data, fold));
  for (const group of groups.values()) {
    const maxRounds = Math.max(...group.map((c) => c.params.numRounds));
    for (const [k, fold] of folds.entries()) {
      const fitted = fitFold(data, fold, { ...(group[0] as Candidate).params, numRounds: maxRounds }, prepared[k]);
      done += maxRounds;
      progress?.update(done);
      for (const c of group) {
        const s = scoreRows(truncateModel(fitted.model, c.params.numRounds), data.matrix, fold.assess);
        perFold.set(c.id, [...(perFold.get(c.id) ?? []), rankingMetrics(data.table, fold.assess, s)]);
        scores.set(c.id, [...(scores.get(c.id) ?? []), s]);
      }
    }
  }
  progress?.done();
  const results = candidates.map((candidate) => {
    const metrics = perFold.get(candidate.id) as RankingMetrics[];
    return { candidate, perFold: metrics, mean: meanMetrics(metrics) };
  });
  let best = results[0] as CandidateResult;
  for (const r of results) if (r.mean[selectBy] > best.mean[selectBy]) best = r;
  const served = new Set(fraudFeatureNames());
  return { selectBy, labelEdges: data.labelEdges ?? 0, computedColumns: data.matrix.names.filter((n) => !served.has(n)), results, best, bestScores: scores.get(best.candidate.id) as Float64Array[], seconds: (performance.now() - t0) / 1000 };
}
