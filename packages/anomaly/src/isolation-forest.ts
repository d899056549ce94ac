import { Rng } from "@mlsd/random";

/**
 * Isolation forest (Liu, Ting and Zhou, 2008): unsupervised anomaly scores from how quickly random
 * axis-parallel cuts isolate a point. Each tree is grown on a small subsample (256 by default) until
 * every point is alone or the depth limit ceil(log2(sampleSize)) is reached; a point's score is
 * 2^(-mean path length / c(sampleSize)), near 1 for anomalies and below 0.5 for ordinary points.
 * Needs no labels, which is its appeal when labelled fraud is rare.
 */

export interface IsolationForestOptions {
  trees?: number;
  sampleSize?: number;
  seed?: number;
}

/** Row-major dense matrix, as elsewhere in the project. */
export interface Matrix {
  readonly data: ArrayLike<number>;
  readonly numRows: number;
  readonly numColumns: number;
}

export class AnomalyInputError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "AnomalyInputError";
  }
}

/** Average path length of an unsuccessful search in a binary search tree of n points: the normaliser. */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  const harmonic = Math.log(n - 1) + 0.5772156649015329;
  return 2 * harmonic - (2 * (n - 1)) / n;
}

/** Nodes in flat arrays: feature -1 marks a leaf, whose `size` points were not separated further. */
interface Tree {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  size: Int32Array;
}

export class IsolationForest {
  private constructor(
    readonly numColumns: number,
    readonly sampleSize: number,
    private readonly trees: Tree[],
  ) {}

  static fit(matrix: Matrix, options: IsolationForestOptions = {}): IsolationForest {
    const trees = options.trees ?? 100;
    if (!Number.isInteger(trees) || trees < 1) throw new AnomalyInputError("trees", `must be a positive integer, got ${trees}`);
    const requested = options.sampleSize ?? 256;
    if (!Number.isInteger(requested) || requested < 2) throw new AnomalyInputError("sampleSize", `must be an integer >= 2, got ${requested}`);
    if (matrix.numRows < 2) throw new AnomalyInputError("matrix.numRows", `needs at least 2 rows, got ${matrix.numRows}`);
    if (matrix.data.length !== matrix.numRows * matrix.numColumns) {
      throw new AnomalyInputError("matrix.data", `has ${matrix.data.length} values for ${matrix.numRows} x ${matrix.numColumns}`);
    }
    const sampleSize = Math.min(requested, matrix.numRows);
    const depthLimit = Math.ceil(Math.log2(sampleSize));
    const rng = new Rng(options.seed ?? 0);
    const built: Tree[] = [];
    for (let t = 0; t < trees; t++) built.push(growTree(matrix, rng.sampleIndices(matrix.numRows, sampleSize), depthLimit, rng));
    return new IsolationForest(matrix.numColumns, sampleSize, built);
  }

  /** Anomaly score in (0, 1] per row: higher is more anomalous. */
  score(matrix: Matrix): Float64Array {
    if (matrix.numColumns !== this.numColumns) throw new AnomalyInputError("matrix.numColumns", `is ${matrix.numColumns}, the forest was fitted on ${this.numColumns}`);
    const out = new Float64Array(matrix.numRows);
    const norm = averagePathLength(this.sampleSize);
    for (let r = 0; r < matrix.numRows; r++) {
      const offset = r * this.numColumns;
      let total = 0;
      for (const tree of this.trees) total += pathLength(tree, matrix.data, offset);
      out[r] = Math.pow(2, -total / this.trees.length / norm);
    }
    return out;
  }
}

function growTree(matrix: Matrix, sample: number[], depthLimit: number, rng: Rng): Tree {
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const size: number[] = [];
  const { data, numColumns } = matrix;
  const grow = (rows: number[], depth: number): number => {
    const id = feature.length;
    feature.push(-1);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    size.push(rows.length);
    if (rows.length <= 1 || depth >= depthLimit) return id;
    // A random feature that still varies among these rows (try each at most once, in random order).
    const order = rng.shuffle(Array.from({ length: numColumns }, (_, f) => f));
    for (const f of order) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const r of rows) {
        const v = data[r * numColumns + f] as number;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (!(hi > lo)) continue;
      const cut = rng.uniform(lo, hi);
      const l = rows.filter((r) => (data[r * numColumns + f] as number) < cut);
      const rr = rows.filter((r) => (data[r * numColumns + f] as number) >= cut);
      feature[id] = f;
      threshold[id] = cut;
      left[id] = grow(l, depth + 1);
      right[id] = grow(rr, depth + 1);
      return id;
    }
    return id;
  };
  grow(sample, 0);
  return {
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    size: Int32Array.from(size),
  };
}

function pathLength(tree: Tree, data: ArrayLike<number>, offset: number): number {
  let node = 0;
  let depth = 0;
  for (;;) {
    const f = tree.feature[node] as number;
    if (f < 0) return depth + averagePathLength(tree.size[node] as number);
    node = (data[offset + f] as number) < (tree.threshold[node] as number) ? (tree.left[node] as number) : (tree.right[node] as number);
    depth++;
  }
}
