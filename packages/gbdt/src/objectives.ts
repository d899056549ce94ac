import type { Dataset } from "./dataset";
import { GbdtInputError } from "./errors";
import type { ObjectiveName, TrainParams } from "./params";

/** First and second derivatives of the loss with respect to the raw margin, written per row. */
export interface Objective {
  readonly name: ObjectiveName;
  /** The raw margin boosting starts from (before any tree). */
  readonly baseScore: number;
  computeGradients(margins: Float64Array, grad: Float64Array, hess: Float64Array): void;
}

export function sigmoid(margin: number): number {
  return 1 / (1 + Math.exp(-margin));
}

/** Margin to prediction: probability for binary, identity for regression and ranking scores. */
export function transformMargin(objective: ObjectiveName, margin: number): number {
  return objective === "binary" ? sigmoid(margin) : margin;
}

export function createObjective(params: TrainParams, data: Dataset): Objective {
  const labels = data.labels;
  if (!labels) throw new GbdtInputError("bad_label", "labels", "training data needs labels");
  switch (params.objective) {
    case "binary":
      return binaryLogLoss(labels, data.weights, params);
    case "regression":
      return squaredError(labels, data.weights, params);
    case "lambdarank":
    case "pairwise":
      if (!data.groupOffsets) throw new GbdtInputError("bad_groups", "groups", `${params.objective} needs query group sizes`);
      return pairRanking(labels, data.groupOffsets, data.weights, params);
  }
}

function binaryLogLoss(labels: Float64Array, weights: Float64Array | undefined, params: TrainParams): Objective {
  const n = labels.length;
  let rowWeights: Float64Array | undefined;
  if (weights || params.scalePosWeight !== 1) {
    rowWeights = new Float64Array(n);
    for (let i = 0; i < n; i++) rowWeights[i] = (weights ? (weights[i] as number) : 1) * (labels[i] === 1 ? params.scalePosWeight : 1);
  }
  let positive = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    if (y !== 0 && y !== 1) throw new GbdtInputError("bad_label", `labels[${i}]`, `is ${y}, binary labels must be 0 or 1`);
    const w = rowWeights ? (rowWeights[i] as number) : 1;
    positive += w * y;
    total += w;
  }
  if (total <= 0) throw new GbdtInputError("bad_value", "weights", "all row weights are zero");
  const p = Math.min(Math.max(positive / total, 1e-7), 1 - 1e-7);
  return {
    name: "binary",
    baseScore: params.baseScore ?? Math.log(p / (1 - p)),
    computeGradients(margins, grad, hess) {
      for (let i = 0; i < n; i++) {
        const prob = 1 / (1 + Math.exp(-(margins[i] as number)));
        const w = rowWeights ? (rowWeights[i] as number) : 1;
        grad[i] = (prob - (labels[i] as number)) * w;
        hess[i] = Math.max(prob * (1 - prob), 1e-16) * w;
      }
    },
  };
}

function squaredError(labels: Float64Array, weights: Float64Array | undefined, params: TrainParams): Objective {
  const n = labels.length;
  let sum = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights ? (weights[i] as number) : 1;
    sum += w * (labels[i] as number);
    total += w;
  }
  if (total <= 0) throw new GbdtInputError("bad_value", "weights", "all row weights are zero");
  return {
    name: "regression",
    baseScore: params.baseScore ?? sum / total,
    computeGradients(margins, grad, hess) {
      for (let i = 0; i < n; i++) {
        const w = weights ? (weights[i] as number) : 1;
        grad[i] = ((margins[i] as number) - (labels[i] as number)) * w;
        hess[i] = w;
      }
    },
  };
}

const MAX_RELEVANCE = 31;

/**
 * Pairwise losses over each query group's pairs with different relevance.
 * - lambdarank, LambdaMART (Burges 2010): a RankNet gradient scaled by the |change in NDCG| of
 *   swapping the two. Gain 2^rel - 1, discount 1/log2(2 + position). Only pairs whose
 *   better-placed item is in the top `lambdarankTruncation` positions count, which focuses the
 *   model on the head of the list.
 * - pairwise, RankNet (Burges 2005): the same logistic pair loss with every pair counted alike,
 *   wherever it sits in the list.
 * Row weights weigh each pair by the weight of its more relevant row: with weights 1 / P(examined)
 * on clicked rows, a click logged low in a list (rarely looked at) counts for the clicks it stands
 * for, the inverse-propensity-weighted pair loss of unbiased learning to rank (Joachims 2017).
 */
function pairRanking(labels: Float64Array, groupOffsets: Int32Array, weights: Float64Array | undefined, params: TrainParams): Objective {
  const n = labels.length;
  const numGroups = groupOffsets.length - 1;
  const listwise = params.objective === "lambdarank";
  const truncation = listwise ? params.lambdarankTruncation : Number.MAX_SAFE_INTEGER;
  const gains = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    if (!Number.isInteger(y) || y < 0 || y > MAX_RELEVANCE) {
      throw new GbdtInputError("bad_label", `labels[${i}]`, `is ${y}, ${params.objective} labels must be integer grades in [0, ${MAX_RELEVANCE}]`);
    }
    gains[i] = 2 ** y - 1;
  }
  let maxGroup = 0;
  for (let g = 0; g < numGroups; g++) maxGroup = Math.max(maxGroup, (groupOffsets[g + 1] as number) - (groupOffsets[g] as number));
  const discount = new Float64Array(maxGroup);
  for (let p = 0; p < maxGroup; p++) discount[p] = 1 / Math.log2(p + 2);
  const inverseIdealDcg = new Float64Array(numGroups);
  for (let g = 0; g < numGroups; g++) {
    const ideal = Array.from(gains.subarray(groupOffsets[g], groupOffsets[g + 1])).sort((a, b) => b - a);
    let dcg = 0;
    for (let p = 0; p < Math.min(ideal.length, truncation); p++) dcg += (ideal[p] as number) * (discount[p] as number);
    inverseIdealDcg[g] = dcg > 0 ? 1 / dcg : 0;
  }
  const order = new Int32Array(maxGroup);
  // Per-position copies of the ranked list: the pair loop reads and accumulates in these small
  // contiguous arrays instead of scattering over the whole table.
  const posLabel = new Float64Array(maxGroup);
  const posGain = new Float64Array(maxGroup);
  const posMargin = new Float64Array(maxGroup);
  const posExp = new Float64Array(maxGroup);
  const posGrad = new Float64Array(maxGroup);
  const posHess = new Float64Array(maxGroup);
  const posWeight = new Float64Array(maxGroup).fill(1);

  return {
    name: params.objective,
    baseScore: params.baseScore ?? 0,
    computeGradients(margins, grad, hess) {
      grad.fill(0);
      hess.fill(0);
      for (let g = 0; g < numGroups; g++) {
        const invIdcg = inverseIdealDcg[g] as number;
        if (invIdcg === 0) continue;
        const start = groupOffsets[g] as number;
        const size = (groupOffsets[g + 1] as number) - start;
        rankByMargin(order, margins, start, size);
        // rho = 1 / (1 + e^(s_hi - s_lo)) = e^(s_lo - m) / (e^(s_lo - m) + e^(s_hi - m)) with m the
        // group's top margin: one exp per item instead of one per pair (the pair loop's main cost).
        const topMargin = margins[order[0] as number] as number;
        for (let p = 0; p < size; p++) {
          const r = order[p] as number;
          posLabel[p] = labels[r] as number;
          posGain[p] = gains[r] as number;
          posMargin[p] = margins[r] as number;
          posExp[p] = Math.exp((margins[r] as number) - topMargin);
          if (weights) posWeight[p] = weights[r] as number;
          posGrad[p] = 0;
          posHess[p] = 0;
        }
        const top = Math.min(size, truncation);
        for (let p = 0; p < top; p++) {
          const yi = posLabel[p] as number;
          const gi = posGain[p] as number;
          const di = discount[p] as number;
          const ei = posExp[p] as number;
          for (let q = p + 1; q < size; q++) {
            const yj = posLabel[q] as number;
            if (yi === yj) continue;
            const iHigher = yi > yj;
            const pairWeight = iHigher ? (posWeight[p] as number) : (posWeight[q] as number);
            const delta = pairWeight * (listwise ? Math.abs(gi - (posGain[q] as number)) * (di - (discount[q] as number)) * invIdcg : 1);
            const ej = posExp[q] as number;
            const sum = ei + ej;
            // Both underflow only for margins ~745 below the top; fall back to the direct form.
            const rho =
              sum > 0
                ? (iHigher ? ej : ei) / sum
                : 1 / (1 + Math.exp(iHigher ? (posMargin[p] as number) - (posMargin[q] as number) : (posMargin[q] as number) - (posMargin[p] as number)));
            const lambda = iHigher ? rho * delta : -rho * delta;
            const h = rho * (1 - rho) * delta;
            posGrad[p] = (posGrad[p] as number) - lambda;
            posGrad[q] = (posGrad[q] as number) + lambda;
            posHess[p] = (posHess[p] as number) + h;
            posHess[q] = (posHess[q] as number) + h;
          }
        }
        for (let p = 0; p < size; p++) {
          const r = order[p] as number;
          grad[r] = posGrad[p] as number;
          hess[r] = posHess[p] as number;
        }
      }
    },
  };
}

/**
 * order[0..size) = start..start+size-1 sorted by margin descending, ties by row id. Insertion sort
 * for the short lists of ranking queries (a comparator sort on a typed array costs more there).
 */
function rankByMargin(order: Int32Array, margins: Float64Array, start: number, size: number): void {
  if (size > 64) {
    const ranked = Array.from({ length: size }, (_, k) => start + k).sort(
      (a, b) => (margins[b] as number) - (margins[a] as number) || a - b,
    );
    for (let k = 0; k < size; k++) order[k] = ranked[k] as number;
    return;
  }
  for (let k = 0; k < size; k++) {
    const row = start + k;
    const m = margins[row] as number;
    let p = k;
    // Rows arrive in increasing id, so a row only moves past strictly smaller margins.
    while (p > 0 && (margins[order[p - 1] as number] as number) < m) {
      order[p] = order[p - 1] as number;
      p--;
    }
    order[p] = row;
  }
}
