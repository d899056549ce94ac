import type { FeatureRows } from "./dataset";
import { GbdtInputError } from "./errors";
import type { GbdtModel } from "./model";
import { transformMargin } from "./objectives";
import { ForestKernel, PREDICT_BLOCK_ROWS } from "./predict-kernel";
import type { ObjectiveName } from "./params";
import { treeDepth, type Tree } from "./tree";

/**
 * Every tree of a model flattened into typed arrays for serving.
 *
 * Nodes of all trees share one numbering; the two children of a node are adjacent (renumbered
 * breadth-first), so a step is `node = firstChild + goesRight` with no branch to mispredict.
 * Leaves point to themselves with threshold +Infinity, so a walk may run past a leaf harmlessly:
 * four trees are walked in lockstep for the deepest one's depth, which gives the CPU four
 * independent load chains instead of one (about 2x faster than one tree at a time, measured).
 * Node i's ints are nodes[4i .. 4i+2] = feature, first child, 1 if missing values go right.
 * The walk runs in WebAssembly (predict-kernel.ts, wasm/predict.wat): 1.7x faster than the same
 * loop over JS typed arrays, and bit-identical to it.
 */
export class Predictor {
  readonly objective: ObjectiveName;
  readonly numFeatures: number;
  readonly numTrees: number;
  private readonly baseScore: number;
  private readonly scratch: Float64Array;
  private readonly single = new Float64Array(1);
  private readonly kernel: ForestKernel;

  constructor(model: GbdtModel) {
    this.objective = model.objective;
    this.numFeatures = model.numFeatures;
    this.numTrees = model.trees.length;
    this.baseScore = model.baseScore;
    const total = model.trees.reduce((sum, tree) => sum + tree.left.length, 0);
    const roots = new Int32Array(model.trees.length);
    // Deepest tree of each group of four consecutive trees: the lockstep walk's step count.
    const groupDepth = new Int32Array(Math.ceil(model.trees.length / 4));
    const nodes = new Int32Array(total * 4);
    const thresholds = new Float64Array(total);
    const leafValues = new Float64Array(total);
    this.scratch = new Float64Array(this.numFeatures);

    let offset = 0;
    model.trees.forEach((tree, t) => {
      const ids = breadthFirstIds(tree, offset);
      roots[t] = offset;
      groupDepth[t >> 2] = Math.max(groupDepth[t >> 2] as number, treeDepth(tree));
      for (let i = 0; i < tree.left.length; i++) {
        const id = ids[i] as number;
        const left = tree.left[i] as number;
        if (left < 0) {
          nodes[id * 4 + 1] = id;
          thresholds[id] = Infinity;
          leafValues[id] = tree.value[i] as number;
        } else {
          nodes[id * 4] = tree.feature[i] as number;
          nodes[id * 4 + 1] = ids[left] as number;
          nodes[id * 4 + 2] = tree.defaultLeft[i] === 1 ? 0 : 1;
          thresholds[id] = tree.threshold[i] as number;
        }
      }
      offset += tree.left.length;
    });
    this.kernel = new ForestKernel(nodes, thresholds, leafValues, roots, groupDepth, this.numFeatures);
  }

  /** Raw margin (log-odds for binary). */
  predictRowRaw(row: Float64Array | readonly number[]): number {
    if (row.length !== this.numFeatures) {
      throw new GbdtInputError("feature_mismatch", "row", `has ${row.length} values, the model has ${this.numFeatures} features`);
    }
    let x: Float64Array;
    if (row instanceof Float64Array) x = row;
    else {
      x = this.scratch;
      for (let i = 0; i < x.length; i++) x[i] = row[i] as number;
    }
    this.kernel.predict(x, 0, 1, this.baseScore, this.single, 0);
    return this.single[0] as number;
  }

  /** Probability for binary, the raw score otherwise. */
  predictRow(row: Float64Array | readonly number[]): number {
    return transformMargin(this.objective, this.predictRowRaw(row));
  }

  predictBatchRaw(rows: FeatureRows, out?: Float64Array): Float64Array {
    if (Array.isArray(rows)) {
      const list = rows as ReadonlyArray<Float64Array | readonly number[]>;
      const result = this.output(list.length, out);
      for (let r = 0; r < list.length; r++) result[r] = this.predictRowRaw(list[r] as Float64Array | readonly number[]);
      return result;
    }
    const { data, numRows, numColumns } = rows as { data: Float64Array; numRows: number; numColumns: number };
    if (numColumns !== this.numFeatures || data.length !== numRows * numColumns) {
      throw new GbdtInputError("feature_mismatch", "rows", `matrix is ${numRows}x${numColumns}, the model has ${this.numFeatures} features`);
    }
    const result = this.output(numRows, out);
    // Row blocks: each group of four trees is walked for a whole block of rows before the next
    // group, so a group's nodes stay in cache instead of the whole model streaming through it for
    // every row. Sums still add tree by tree in model order: the same bits as the tree walk.
    for (let start = 0; start < numRows; start += PREDICT_BLOCK_ROWS) {
      this.kernel.predict(data, start, Math.min(PREDICT_BLOCK_ROWS, numRows - start), this.baseScore, result, start);
    }
    return result;
  }

  predictBatch(rows: FeatureRows, out?: Float64Array): Float64Array {
    const result = this.predictBatchRaw(rows, out);
    if (this.objective === "binary") for (let i = 0; i < result.length; i++) result[i] = 1 / (1 + Math.exp(-(result[i] as number)));
    return result;
  }

  private output(numRows: number, out: Float64Array | undefined): Float64Array {
    if (!out) return new Float64Array(numRows);
    if (out.length < numRows) throw new GbdtInputError("length_mismatch", "out", `has room for ${out.length} rows, need ${numRows}`);
    return out;
  }
}

/** New ids for a tree's nodes, breadth first from `offset`, with each node's children adjacent. */
function breadthFirstIds(tree: Tree, offset: number): Int32Array {
  const ids = new Int32Array(tree.left.length);
  ids[0] = offset;
  let next = offset + 1;
  const queue = [0];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head] as number;
    const left = tree.left[node] as number;
    if (left < 0) continue;
    const right = tree.right[node] as number;
    ids[left] = next++;
    ids[right] = next++;
    queue.push(left, right);
  }
  return ids;
}
