import type { Dataset } from "./dataset";
import { HistogramArena } from "./histogram-arena";
import type { TrainParams } from "./params";
import type { Tree } from "./tree";

interface Split {
  feature: number;
  /** Rows with value bin in 1..bin go left; bin 0 (missing) follows defaultLeft. */
  bin: number;
  defaultLeft: boolean;
  gain: number;
  leftGrad: number;
  leftHess: number;
}

interface Leaf {
  node: number;
  /** Rows of this leaf are indices[start..end). */
  start: number;
  end: number;
  depth: number;
  sumGrad: number;
  sumHess: number;
  /**
   * Arena slot of the (grad sum, hess sum) per bin while the leaf may still be split. No row
   * counts: an empty child has zero gradient and hessian, so its split gains nothing and is never
   * chosen.
   */
  hist: number | undefined;
  split: Split | undefined;
}

/** A grown tree plus the per-node split bins, which route binned rows without raw values. */
export interface BuiltTree {
  tree: Tree;
  splitBin: Uint8Array;
}

/**
 * Grows one tree best-first (always splitting the leaf with the largest gain) on histograms of
 * gradient statistics. Buffers live as long as the builder so that boosting allocates nothing per
 * row: rows of each leaf are a contiguous range of `indices`, and only the smaller child's
 * histogram is built, the sibling's being the parent's minus it.
 */
export class TreeBuilder {
  private readonly indices: Int32Array;
  private readonly goesLeft = new Uint8Array(256);
  private readonly arena: HistogramArena;
  private leaves: Leaf[] = [];

  private nodeLeft: number[] = [];
  private nodeRight: number[] = [];
  private nodeFeature: number[] = [];
  private nodeThreshold: number[] = [];
  private nodeDefaultLeft: number[] = [];
  private nodeValue: number[] = [];
  private nodeGain: number[] = [];
  private nodeCover: number[] = [];
  private nodeCount: number[] = [];
  private nodeSplitBin: number[] = [];

  constructor(
    private readonly data: Dataset,
    private readonly params: TrainParams,
  ) {
    const n = data.numRows;
    this.indices = new Int32Array(n);
    this.arena = new HistogramArena(data.bins, n, data.binMapper.totalBins);
  }

  /**
   * @param rows sorted row ids to grow on (a per-tree sample), or undefined for all rows
   * @param features feature ids allowed to split in this tree
   */
  build(grad: Float64Array, hess: Float64Array, rows: Int32Array | undefined, features: Int32Array): BuiltTree {
    const { maxLeaves } = this.params;
    this.resetNodes();
    let numRows: number;
    if (rows) {
      this.indices.set(rows);
      numRows = rows.length;
    } else {
      numRows = this.data.numRows;
      for (let i = 0; i < numRows; i++) this.indices[i] = i;
    }
    let sumGrad = 0;
    let sumHess = 0;
    for (let k = 0; k < numRows; k++) {
      const r = this.indices[k] as number;
      sumGrad += grad[r] as number;
      sumHess += hess[r] as number;
    }
    const root: Leaf = {
      node: this.addNode(sumGrad, sumHess, numRows),
      start: 0,
      end: numRows,
      depth: 0,
      sumGrad,
      sumHess,
      hist: undefined,
      split: undefined,
    };
    this.leaves = [root];
    if (this.canSplit(root)) {
      root.hist = this.arena.acquire();
      this.arena.setGradients(grad, hess);
      this.buildHist(root, features);
      root.split = this.findBestSplit(root, features);
    }

    let numLeaves = 1;
    while (numLeaves < maxLeaves) {
      let bestIndex = -1;
      let bestGain = 0;
      for (let i = 0; i < this.leaves.length; i++) {
        const split = (this.leaves[i] as Leaf).split;
        if (split && (bestIndex < 0 || split.gain > bestGain)) {
          bestIndex = i;
          bestGain = split.gain;
        }
      }
      if (bestIndex < 0) break;
      const parent = this.leaves[bestIndex] as Leaf;
      const [left, right] = this.applySplit(parent);
      numLeaves++;
      this.leaves.splice(bestIndex, 1, left, right);

      const parentHist = parent.hist as number;
      parent.hist = undefined;
      const leftCan = numLeaves < maxLeaves && this.canSplit(left);
      const rightCan = numLeaves < maxLeaves && this.canSplit(right);
      if (!leftCan && !rightCan) {
        this.arena.release(parentHist);
        continue;
      }
      const leftSmaller = left.end - left.start <= right.end - right.start;
      const smaller = leftSmaller ? left : right;
      const larger = leftSmaller ? right : left;
      smaller.hist = this.arena.acquire();
      this.buildHist(smaller, features);
      larger.hist = parentHist;
      this.subtractHist(parentHist, smaller.hist, features);
      for (const [child, can] of [
        [left, leftCan],
        [right, rightCan],
      ] as const) {
        if (can) child.split = this.findBestSplit(child, features);
        if (!child.split && child.hist !== undefined) {
          this.arena.release(child.hist);
          child.hist = undefined;
        }
      }
    }
    for (const leaf of this.leaves) {
      if (leaf.hist !== undefined) this.arena.release(leaf.hist);
      leaf.hist = undefined;
    }
    return this.finishTree();
  }

  /** Adds each in-sample row's leaf value to `margins` (rows from the last build only). */
  addLeafValues(margins: Float64Array): void {
    const { indices, nodeValue } = this;
    for (const leaf of this.leaves) {
      const v = nodeValue[leaf.node] as number;
      for (let k = leaf.start; k < leaf.end; k++) {
        const r = indices[k] as number;
        margins[r] = (margins[r] as number) + v;
      }
    }
  }

  private canSplit(leaf: Leaf): boolean {
    const { maxDepth, minChildWeight } = this.params;
    return leaf.depth < maxDepth && leaf.end - leaf.start >= 2 && leaf.sumHess >= 2 * minChildWeight;
  }

  /**
   * Histograms of this tree's features over the leaf's rows, accumulated by the WebAssembly kernel
   * (histogram-arena.ts) four features per pass.
   */
  private buildHist(leaf: Leaf, features: Int32Array): void {
    const slot = leaf.hist as number;
    const { binOffsets, numBins } = this.data.binMapper;
    const hist = this.arena.f64;
    const slotBase = this.arena.base(slot);
    for (let fi = 0; fi < features.length; fi++) {
      const f = features[fi] as number;
      const base = slotBase + (binOffsets[f] as number) * 2;
      hist.fill(0, base, base + (numBins[f] as number) * 2);
    }
    this.arena.accumulate(slot, this.indices.subarray(leaf.start, leaf.end), features, binOffsets);
  }

  private subtractHist(target: number, other: number, features: Int32Array): void {
    const { binOffsets, numBins } = this.data.binMapper;
    for (let fi = 0; fi < features.length; fi++) {
      const f = features[fi] as number;
      this.arena.subtract(target, other, binOffsets[f] as number, numBins[f] as number);
    }
  }

  private findBestSplit(leaf: Leaf, features: Int32Array): Split | undefined {
    const { lambda, minChildWeight, minSplitGain } = this.params;
    const hist = this.arena.f64;
    const slotBase = this.arena.base(leaf.hist as number);
    const { binOffsets, numBins } = this.data.binMapper;
    const G = leaf.sumGrad;
    const H = leaf.sumHess;
    const parentScore = (G * G) / (H + lambda);
    let best: Split | undefined;
    let bestGain = minSplitGain;

    for (let fi = 0; fi < features.length; fi++) {
      const f = features[fi] as number;
      const base = slotBase + (binOffsets[f] as number) * 2;
      const lastValueBin = (numBins[f] as number) - 1;
      const missingHess = hist[base + 1] as number;
      const hasMissing = missingHess > 0;
      // Missing goes right; with missing rows present, "every value left" is a split too.
      const lastT = hasMissing ? lastValueBin : lastValueBin - 1;
      let lG = 0;
      let lH = 0;
      for (let t = 1; t <= lastT; t++) {
        const b = base + t * 2;
        lG += hist[b] as number;
        lH += hist[b + 1] as number;
        if (lH < minChildWeight) continue;
        const rH = H - lH;
        if (rH < minChildWeight) break;
        const rG = G - lG;
        const gain = (lG * lG) / (lH + lambda) + (rG * rG) / (rH + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          // Without missing rows here, unseen missing values follow the heavier child.
          best = { feature: f, bin: t, defaultLeft: hasMissing ? false : lH >= rH, gain, leftGrad: lG, leftHess: lH };
        }
      }
      if (!hasMissing) continue;
      lG = hist[base] as number;
      lH = missingHess;
      for (let t = 1; t < lastValueBin; t++) {
        const b = base + t * 2;
        lG += hist[b] as number;
        lH += hist[b + 1] as number;
        if (lH < minChildWeight) continue;
        const rH = H - lH;
        if (rH < minChildWeight) break;
        const rG = G - lG;
        const gain = (lG * lG) / (lH + lambda) + (rG * rG) / (rH + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          best = { feature: f, bin: t, defaultLeft: true, gain, leftGrad: lG, leftHess: lH };
        }
      }
    }
    return best;
  }

  private applySplit(parent: Leaf): [Leaf, Leaf] {
    const split = parent.split as Split;
    const t = split.bin;
    const missingLeft = split.defaultLeft;
    // A per-split table of "goes left" by bin for the branch-free partition kernel.
    const goesLeft = this.goesLeft;
    goesLeft[0] = missingLeft ? 1 : 0;
    for (let b = 1; b < 256; b++) goesLeft[b] = b <= t ? 1 : 0;
    const write = parent.start + this.arena.partition(this.indices.subarray(parent.start, parent.end), split.feature, goesLeft);

    const node = parent.node;
    const rightGrad = parent.sumGrad - split.leftGrad;
    const rightHess = parent.sumHess - split.leftHess;
    const leftNode = this.addNode(split.leftGrad, split.leftHess, write - parent.start);
    const rightNode = this.addNode(rightGrad, rightHess, parent.end - write);
    this.nodeLeft[node] = leftNode;
    this.nodeRight[node] = rightNode;
    this.nodeFeature[node] = split.feature;
    this.nodeThreshold[node] = this.data.binMapper.thresholdFor(split.feature, t);
    this.nodeDefaultLeft[node] = missingLeft ? 1 : 0;
    this.nodeGain[node] = split.gain;
    this.nodeSplitBin[node] = t;
    const depth = parent.depth + 1;
    return [
      { node: leftNode, start: parent.start, end: write, depth, sumGrad: split.leftGrad, sumHess: split.leftHess, hist: undefined, split: undefined },
      { node: rightNode, start: write, end: parent.end, depth, sumGrad: rightGrad, sumHess: rightHess, hist: undefined, split: undefined },
    ];
  }

  private resetNodes(): void {
    this.nodeLeft = [];
    this.nodeRight = [];
    this.nodeFeature = [];
    this.nodeThreshold = [];
    this.nodeDefaultLeft = [];
    this.nodeValue = [];
    this.nodeGain = [];
    this.nodeCover = [];
    this.nodeCount = [];
    this.nodeSplitBin = [];
  }

  private addNode(sumGrad: number, sumHess: number, count: number): number {
    const { lambda, learningRate } = this.params;
    const denominator = sumHess + lambda;
    this.nodeLeft.push(-1);
    this.nodeRight.push(-1);
    this.nodeFeature.push(-1);
    this.nodeThreshold.push(0);
    this.nodeDefaultLeft.push(0);
    this.nodeValue.push(denominator > 0 ? (-sumGrad / denominator) * learningRate : 0);
    this.nodeGain.push(0);
    this.nodeCover.push(sumHess);
    this.nodeCount.push(count);
    this.nodeSplitBin.push(0);
    return this.nodeLeft.length - 1;
  }

  private finishTree(): BuiltTree {
    return {
      tree: {
        left: Int32Array.from(this.nodeLeft),
        right: Int32Array.from(this.nodeRight),
        feature: Int32Array.from(this.nodeFeature),
        threshold: Float64Array.from(this.nodeThreshold),
        defaultLeft: Uint8Array.from(this.nodeDefaultLeft),
        value: Float64Array.from(this.nodeValue),
        gain: Float64Array.from(this.nodeGain),
        cover: Float64Array.from(this.nodeCover),
        count: Float64Array.from(this.nodeCount),
      },
      splitBin: Uint8Array.from(this.nodeSplitBin),
    };
  }
}

/** Leaf value of a tree for one row of a dataset binned with the training edges. */
export function predictBinnedRow(built: BuiltTree, data: Dataset, row: number): number {
  const { left, right, feature, defaultLeft, value } = built.tree;
  const { splitBin } = built;
  const { bins, numRows } = data;
  let node = 0;
  while ((left[node] as number) >= 0) {
    const b = bins[(feature[node] as number) * numRows + row] as number;
    const goLeft = b === 0 ? defaultLeft[node] === 1 : b <= (splitBin[node] as number);
    node = goLeft ? (left[node] as number) : (right[node] as number);
  }
  return value[node] as number;
}
