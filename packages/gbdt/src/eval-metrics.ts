import { rocAuc } from "@mlsd/ml-metrics";
import type { EvalMetricName } from "./params";

/**
 * Validation metrics for early stopping only; the project's reporting metrics live in
 * @mlsd/ml-metrics. All take raw margins.
 */
export interface EvalTarget {
  labels: Float64Array;
  weights: Float64Array | undefined;
  groupOffsets: Int32Array | undefined;
}

export function higherIsBetter(metric: EvalMetricName): boolean {
  return metric === "auc" || metric === "ndcg";
}

export function evaluate(metric: EvalMetricName, margins: Float64Array, target: EvalTarget, ndcgAt: number): number {
  switch (metric) {
    case "logloss":
      return logLoss(margins, target.labels, target.weights);
    case "auc":
      return rocAuc(target.labels, margins);
    case "rmse":
      return rmse(margins, target.labels, target.weights);
    case "ndcg":
      return meanNdcg(margins, target.labels, target.groupOffsets as Int32Array, ndcgAt);
  }
}

export function logLoss(margins: Float64Array, labels: Float64Array, weights: Float64Array | undefined): number {
  let sum = 0;
  let total = 0;
  for (let i = 0; i < margins.length; i++) {
    const m = margins[i] as number;
    const w = weights ? (weights[i] as number) : 1;
    // log(1 + e^-m) for y = 1 and log(1 + e^m) for y = 0, computed without overflow.
    const z = labels[i] === 1 ? -m : m;
    sum += w * (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
    total += w;
  }
  return sum / total;
}

function rmse(margins: Float64Array, labels: Float64Array, weights: Float64Array | undefined): number {
  let sum = 0;
  let total = 0;
  for (let i = 0; i < margins.length; i++) {
    const w = weights ? (weights[i] as number) : 1;
    const d = (margins[i] as number) - (labels[i] as number);
    sum += w * d * d;
    total += w;
  }
  return Math.sqrt(sum / total);
}

/** NDCG@k averaged over groups; a group with no relevant item scores 1 (XGBoost and LightGBM do the same). */
export function meanNdcg(scores: ArrayLike<number>, labels: ArrayLike<number>, groupOffsets: Int32Array, k: number): number {
  let sum = 0;
  const numGroups = groupOffsets.length - 1;
  for (let g = 0; g < numGroups; g++) {
    const start = groupOffsets[g] as number;
    const end = groupOffsets[g + 1] as number;
    const ids = Array.from({ length: end - start }, (_, i) => start + i);
    const ranked = [...ids].sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
    const ideal = ids.map((i) => labels[i] as number).sort((a, b) => b - a);
    let dcg = 0;
    let idcg = 0;
    for (let p = 0; p < Math.min(k, ids.length); p++) {
      const discount = 1 / Math.log2(p + 2);
      dcg += (2 ** (labels[ranked[p] as number] as number) - 1) * discount;
      idcg += (2 ** (ideal[p] as number) - 1) * discount;
    }
    sum += idcg > 0 ? dcg / idcg : 1;
  }
  return sum / numGroups;
}
