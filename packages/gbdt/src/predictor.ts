import type { FeatureRows } from "./dataset";
import { GbdtInputError } from "./errors";
import type { GbdtModel } from "./model";
import { transformMargin } from "./objectives";
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
 */
export class Predictor {
  readonly objective: ObjectiveName;
  readonly numFeatures: number;
  readonly numTrees: number;
  private readonly baseScore: number;
  private readonly roots: Int32Array;
  /** Deepest tree of each group of four consecutive trees. */
  private readonly groupDepth: Int32Array;
  private readonly nodes: Int32Array;
  private readonly thresholds: Float64Array;
  private readonly leafValues: Float64Array;
  private readonly scratch: Float64Array;
  private readonly single = new Float64Array(1);

  constructor(model: GbdtModel) {
    this.objective = model.objective;
    this.numFeatures = model.numFeatures;
    this.numTrees = model.trees.length;
    this.baseScore = model.baseScore;
    const total = model.trees.reduce((sum, tree) => sum + tree.left.length, 0);
    this.roots = new Int32Array(model.trees.length);
    this.groupDepth = new Int32Array(Math.ceil(model.trees.length / 4));
    this.nodes = new Int32Array(total * 4);
    this.thresholds = new Float64Array(total);
    this.leafValues = new Float64Array(total);
    this.scratch = new Float64Array(this.numFeatures);

    let offset = 0;
    model.trees.forEach((tree, t) => {
      const ids = breadthFirstIds(tree, offset);
      this.roots[t] = offset;
      this.groupDepth[t >> 2] = Math.max(this.groupDepth[t >> 2] as number, treeDepth(tree));
      for (let i = 0; i < tree.left.length; i++) {
        const id = ids[i] as number;
        const left = tree.left[i] as number;
        if (left < 0) {
          this.nodes[id * 4 + 1] = id;
          this.thresholds[id] = Infinity;
          this.leafValues[id] = tree.value[i] as number;
        } else {
          this.nodes[id * 4] = tree.feature[i] as number;
          this.nodes[id * 4 + 1] = ids[left] as number;
          this.nodes[id * 4 + 2] = tree.defaultLeft[i] === 1 ? 0 : 1;
          this.thresholds[id] = tree.threshold[i] as number;
        }
      }
      offset += tree.left.length;
    });
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
    const out = this.single;
    out[0] = this.baseScore;
    this.walkBlock(x, x.length, 0, 1, out);
    return out[0] as number;
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
    // every row. Sums still add tree by tree in model order: the same bits as walk().
    for (let start = 0; start < numRows; start += BATCH_BLOCK_ROWS) {
      const end = Math.min(numRows, start + BATCH_BLOCK_ROWS);
      result.fill(this.baseScore, start, end);
      this.walkBlock(data, numColumns, start, end, result);
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

  /**
   * Adds every tree's leaf value to result[r] for rows [start, end) of the row-major `x`, four
   * trees in lockstep, in model order (so a sum equals the tree walk's bit for bit).
   */
  private walkBlock(x: Float64Array, width: number, start: number, end: number, result: Float64Array): void {
    const { roots, groupDepth, nodes, thresholds, leafValues } = this;
    const numTrees = roots.length;
    let t = 0;
    for (; t + 4 <= numTrees; t += 4) {
      const ra = roots[t] as number;
      const rb = roots[t + 1] as number;
      const rc = roots[t + 2] as number;
      const rd = roots[t + 3] as number;
      const depth = groupDepth[t >> 2] as number;
      for (let r = start, offset = start * width; r < end; r++, offset += width) {
        let a = ra;
        let b = rb;
        let c = rc;
        let d = rd;
        for (let step = 0; step < depth; step++) {
          const oa = a << 2;
          const ob = b << 2;
          const oc = c << 2;
          const od = d << 2;
          const va = x[offset + (nodes[oa] as number)] as number;
          const vb = x[offset + (nodes[ob] as number)] as number;
          const vc = x[offset + (nodes[oc] as number)] as number;
          const vd = x[offset + (nodes[od] as number)] as number;
          a = (nodes[oa + 1] as number) + (+(va > (thresholds[a] as number)) | (+(va !== va) & (nodes[oa + 2] as number)));
          b = (nodes[ob + 1] as number) + (+(vb > (thresholds[b] as number)) | (+(vb !== vb) & (nodes[ob + 2] as number)));
          c = (nodes[oc + 1] as number) + (+(vc > (thresholds[c] as number)) | (+(vc !== vc) & (nodes[oc + 2] as number)));
          d = (nodes[od + 1] as number) + (+(vd > (thresholds[d] as number)) | (+(vd !== vd) & (nodes[od + 2] as number)));
        }
        let sum = result[r] as number;
        sum += leafValues[a] as number;
        sum += leafValues[b] as number;
        sum += leafValues[c] as number;
        sum += leafValues[d] as number;
        result[r] = sum;
      }
    }
    for (; t < numTrees; t++) {
      const root = roots[t] as number;
      for (let r = start, offset = start * width; r < end; r++, offset += width) {
        let node = root;
        for (;;) {
          const o = node << 2;
          const v = x[offset + (nodes[o] as number)] as number;
          const next = (nodes[o + 1] as number) + (+(v > (thresholds[node] as number)) | (+(v !== v) & (nodes[o + 2] as number)));
          if (next === node) break;
          node = next;
        }
        result[r] = (result[r] as number) + (leafValues[node] as number);
      }
    }
  }
}

/** Rows per block in batch prediction: their feature values stay in L1 while a tree group passes over them. */
const BATCH_BLOCK_ROWS = 64;

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
