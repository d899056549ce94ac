import { GbdtInputError } from "./errors";
import type { GbdtModel } from "./model";
import { treeDepth, type Tree } from "./tree";

export type ImportanceKind = "gain" | "split" | "cover";

export interface FeatureImportance {
  feature: number;
  name: string;
  /** Total split gain, number of splits, or total hessian cover of the splits on this feature. */
  importance: number;
}

/** Importance per feature, largest first (ties by feature id). */
export function featureImportance(model: GbdtModel, kind: ImportanceKind = "gain"): FeatureImportance[] {
  const totals = new Float64Array(model.numFeatures);
  for (const tree of model.trees) {
    for (let i = 0; i < tree.left.length; i++) {
      if ((tree.left[i] as number) < 0) continue;
      const f = tree.feature[i] as number;
      const amount = kind === "gain" ? (tree.gain[i] as number) : kind === "split" ? 1 : (tree.cover[i] as number);
      totals[f] = (totals[f] as number) + amount;
    }
  }
  return Array.from(totals, (importance, feature) => ({ feature, name: model.featureNames[feature] as string, importance })).sort(
    (a, b) => b.importance - a.importance || a.feature - b.feature,
  );
}

/**
 * Path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, algorithm 2): exact Shapley values of the
 * raw margin where a feature left out of a coalition follows both branches weighted by the
 * training rows that went each way. Returns numFeatures + 1 values; the last is the bias (base
 * score plus each tree's expected output), and all of them sum to the raw margin.
 */
export function contributions(model: GbdtModel, row: ArrayLike<number>): Float64Array {
  const numFeatures = model.numFeatures;
  if (row.length !== numFeatures) {
    throw new GbdtInputError("feature_mismatch", "row", `has ${row.length} values, the model has ${numFeatures} features`);
  }
  const phi = new Float64Array(numFeatures + 1);
  let bias = model.baseScore;
  let maxDepth = 0;
  for (const tree of model.trees) maxDepth = Math.max(maxDepth, treeDepth(tree));
  const path = new PathBuffer(((maxDepth + 2) * (maxDepth + 3)) / 2);
  for (const tree of model.trees) {
    bias += expectedValue(tree, 0);
    recurse(tree, row, phi, path, 0, 0, 0, 1, 1, -1);
  }
  phi[numFeatures] = bias;
  return phi;
}

export interface Reason {
  feature: number;
  name: string;
  contribution: number;
}

/**
 * The k features with the largest contributions, for reason codes. "increase" keeps only features
 * that pushed the score up (why a transaction looks risky); "absolute" ranks by magnitude.
 */
export function topReasons(
  contributionValues: ArrayLike<number>,
  featureNames: readonly string[],
  k: number,
  direction: "increase" | "absolute" = "increase",
): Reason[] {
  if (contributionValues.length !== featureNames.length && contributionValues.length !== featureNames.length + 1) {
    throw new GbdtInputError(
      "length_mismatch",
      "contributions",
      `has ${contributionValues.length} values for ${featureNames.length} feature names (bias last is allowed)`,
    );
  }
  if (!Number.isInteger(k) || k < 0) throw new GbdtInputError("bad_param", "k", `is ${k}, expected a non-negative integer`);
  const reasons: Reason[] = [];
  for (let f = 0; f < featureNames.length; f++) {
    const contribution = contributionValues[f] as number;
    if (direction === "increase" ? contribution > 0 : contribution !== 0) {
      reasons.push({ feature: f, name: featureNames[f] as string, contribution });
    }
  }
  const key = direction === "increase" ? (r: Reason) => r.contribution : (r: Reason) => Math.abs(r.contribution);
  return reasons.sort((a, b) => key(b) - key(a) || a.feature - b.feature).slice(0, k);
}

function expectedValue(tree: Tree, node: number): number {
  const l = tree.left[node] as number;
  if (l < 0) return tree.value[node] as number;
  const r = tree.right[node] as number;
  const total = tree.count[node] as number;
  return ((tree.count[l] as number) * expectedValue(tree, l) + (tree.count[r] as number) * expectedValue(tree, r)) / total;
}

/**
 * The "unique path" of features met from the root, one slot per feature, stored for every depth
 * of the recursion back to back so that a child extends a copy of its parent's path.
 */
class PathBuffer {
  readonly feature: Int32Array;
  readonly zero: Float64Array;
  readonly one: Float64Array;
  readonly weight: Float64Array;
  constructor(size: number) {
    this.feature = new Int32Array(size);
    this.zero = new Float64Array(size);
    this.one = new Float64Array(size);
    this.weight = new Float64Array(size);
  }
  copy(from: number, to: number, length: number): void {
    this.feature.copyWithin(to, from, from + length);
    this.zero.copyWithin(to, from, from + length);
    this.one.copyWithin(to, from, from + length);
    this.weight.copyWithin(to, from, from + length);
  }
}

/** Adds one feature to the path (length `depth` before, depth + 1 after), updating subset weights. */
function extend(p: PathBuffer, at: number, depth: number, zero: number, one: number, feature: number): void {
  const { weight } = p;
  p.feature[at + depth] = feature;
  p.zero[at + depth] = zero;
  p.one[at + depth] = one;
  weight[at + depth] = depth === 0 ? 1 : 0;
  for (let i = depth - 1; i >= 0; i--) {
    weight[at + i + 1] = (weight[at + i + 1] as number) + (one * (weight[at + i] as number) * (i + 1)) / (depth + 1);
    weight[at + i] = (zero * (weight[at + i] as number) * (depth - i)) / (depth + 1);
  }
}

/** Inverse of extend for the path element at `index` (path length depth + 1 before, depth after). */
function unwind(p: PathBuffer, at: number, depth: number, index: number): void {
  const { weight } = p;
  const one = p.one[at + index] as number;
  const zero = p.zero[at + index] as number;
  let next = weight[at + depth] as number;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = weight[at + i] as number;
      weight[at + i] = (next * (depth + 1)) / ((i + 1) * one);
      next = tmp - ((weight[at + i] as number) * zero * (depth - i)) / (depth + 1);
    } else {
      weight[at + i] = ((weight[at + i] as number) * (depth + 1)) / (zero * (depth - i));
    }
  }
  for (let i = index; i < depth; i++) {
    p.feature[at + i] = p.feature[at + i + 1] as number;
    p.zero[at + i] = p.zero[at + i + 1] as number;
    p.one[at + i] = p.one[at + i + 1] as number;
  }
}

/** Total subset weight of the path with element `index` taken out, without modifying the path. */
function unwoundSum(p: PathBuffer, at: number, depth: number, index: number): number {
  const { weight } = p;
  const one = p.one[at + index] as number;
  const zero = p.zero[at + index] as number;
  let next = weight[at + depth] as number;
  let total = 0;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = (next * (depth + 1)) / ((i + 1) * one);
      total += tmp;
      next = (weight[at + i] as number) - (tmp * zero * (depth - i)) / (depth + 1);
    } else {
      total += (weight[at + i] as number) / ((zero * (depth - i)) / (depth + 1));
    }
  }
  return total;
}

function recurse(
  tree: Tree,
  row: ArrayLike<number>,
  phi: Float64Array,
  p: PathBuffer,
  parentAt: number,
  depth: number,
  node: number,
  parentZero: number,
  parentOne: number,
  parentFeature: number,
): void {
  // This call's path starts right after the parent's (which had `depth` elements).
  const at = parentAt + depth;
  if (depth > 0) p.copy(parentAt, at, depth);
  extend(p, at, depth, parentZero, parentOne, parentFeature);

  const left = tree.left[node] as number;
  if (left < 0) {
    const value = tree.value[node] as number;
    for (let i = 1; i <= depth; i++) {
      const w = unwoundSum(p, at, depth, i);
      const f = p.feature[at + i] as number;
      phi[f] = (phi[f] as number) + w * ((p.one[at + i] as number) - (p.zero[at + i] as number)) * value;
    }
    return;
  }
  const right = tree.right[node] as number;
  const feature = tree.feature[node] as number;
  const x = row[feature] as number;
  const goesLeft = x <= (tree.threshold[node] as number) || (x !== x && tree.defaultLeft[node] === 1);
  const hot = goesLeft ? left : right;
  const cold = goesLeft ? right : left;
  const count = tree.count[node] as number;
  let incomingZero = 1;
  let incomingOne = 1;
  let pathDepth = depth;
  for (let i = 1; i <= depth; i++) {
    if (p.feature[at + i] === feature) {
      // The feature was met higher up: undo that entry and carry its fractions into this split.
      incomingZero = p.zero[at + i] as number;
      incomingOne = p.one[at + i] as number;
      unwind(p, at, depth, i);
      pathDepth = depth - 1;
      break;
    }
  }
  recurse(tree, row, phi, p, at, pathDepth + 1, hot, ((tree.count[hot] as number) / count) * incomingZero, incomingOne, feature);
  recurse(tree, row, phi, p, at, pathDepth + 1, cold, ((tree.count[cold] as number) / count) * incomingZero, 0, feature);
}
