import type { UserItemMatrix } from "../matrix";
import { topK } from "../top-k";

/** score[j] = sum over the user's training items i of weights[i][j] (dense n x n rows). */
export function scoreByRows(weights: Float32Array, n: number, items: Int32Array, out: Float32Array): Float32Array {
  out.fill(0);
  for (let a = 0; a < items.length; a++) {
    const row = (items[a] as number) * n;
    for (let j = 0; j < n; j++) out[j] = (out[j] as number) + (weights[row + j] as number);
  }
  return out;
}

/** Users of each item (the transpose of the training matrix), CSR. */
export function itemPostings(train: UserItemMatrix): { indptr: Int32Array; users: Int32Array } {
  const n = train.numItems;
  const indptr = new Int32Array(n + 1);
  for (let p = 0; p < train.nnz; p++) indptr[(train.indices[p] as number) + 1]! += 1;
  for (let i = 0; i < n; i++) indptr[i + 1]! += indptr[i] as number;
  const fill = indptr.slice(0, n);
  const users = new Int32Array(train.nnz);
  for (let u = 0; u < train.numUsers; u++) {
    for (let p = train.indptr[u] as number; p < (train.indptr[u + 1] as number); p++) {
      const i = train.indices[p] as number;
      users[fill[i] as number] = u;
      fill[i]! += 1;
    }
  }
  return { indptr, users };
}

/**
 * Co-occurrence counts of item i with every item (row i of X^T X), through the postings: O(the
 * co-raters' items) time and O(numItems) memory, so no item x item matrix is ever held.
 */
export function cooccurrenceRow(
  train: UserItemMatrix,
  postings: { indptr: Int32Array; users: Int32Array },
  item: number,
  out: Float64Array,
  userWeight?: ArrayLike<number>,
): Float64Array {
  out.fill(0);
  for (let p = postings.indptr[item] as number; p < (postings.indptr[item + 1] as number); p++) {
    const u = postings.users[p] as number;
    const w = userWeight ? (userWeight[u] as number) : 1;
    for (let q = train.indptr[u] as number; q < (train.indptr[u + 1] as number); q++) out[train.indices[q] as number]! += w;
  }
  return out;
}

/** Sparse item x item weights: the kept neighbours of each item, CSR, strongest first. */
export class NeighborLists {
  constructor(
    readonly indptr: Int32Array,
    readonly ids: Int32Array,
    readonly weights: Float32Array,
  ) {}

  /**
   * Keeps, for each item i, the `keep` largest positive values of row(i) (ties to the lower
   * index). `row` fills a scratch array of numItems values for item i.
   */
  static build(numItems: number, keep: number, row: (item: number, out: Float64Array) => void): NeighborLists {
    const k = Math.min(keep, numItems);
    const scratch = new Float64Array(numItems);
    // A row is mostly zeros on a large catalogue (items no one rated with i), and only positive
    // values are kept, so the heap runs over the positive ones alone, in index order: the same
    // neighbours in the same order (ties still go to the lower index), without heaping the zeros.
    const positiveIds = new Int32Array(numItems);
    const positive = new Float64Array(numItems);
    const indptr = new Int32Array(numItems + 1);
    let ids = new Int32Array(Math.min(numItems * k, 1 << 20));
    let weights = new Float32Array(ids.length);
    let nnz = 0;
    for (let i = 0; i < numItems; i++) {
      row(i, scratch);
      scratch[i] = 0;
      let m = 0;
      for (let j = 0; j < numItems; j++) {
        const w = scratch[j] as number;
        if (w > 0) {
          positiveIds[m] = j;
          positive[m++] = w;
        }
      }
      const kept = m > 0 ? topK(positive.subarray(0, m), Math.min(k, m)) : new Int32Array(0);
      for (const c of kept) {
        const j = positiveIds[c] as number;
        const w = positive[c] as number;
        if (nnz === ids.length) {
          const grownIds = new Int32Array(Math.min(numItems * k, 2 * ids.length));
          grownIds.set(ids);
          const grownWeights = new Float32Array(grownIds.length);
          grownWeights.set(weights);
          ids = grownIds;
          weights = grownWeights;
        }
        ids[nnz] = j;
        weights[nnz++] = w;
      }
      indptr[i + 1] = nnz;
    }
    return new NeighborLists(indptr, ids.slice(0, nnz), weights.slice(0, nnz));
  }

  /** out[j] = sum over `items` of the weight of j in their lists (0 when absent). */
  score(items: ArrayLike<number>, out: Float32Array): Float32Array {
    out.fill(0);
    for (let a = 0; a < items.length; a++) {
      const i = items[a] as number;
      for (let p = this.indptr[i] as number; p < (this.indptr[i + 1] as number); p++) out[this.ids[p] as number]! += this.weights[p] as number;
    }
    return out;
  }

  neighborsOf(i: number): { ids: Int32Array; weights: Float32Array } {
    const start = this.indptr[i] as number;
    const end = this.indptr[i + 1] as number;
    return { ids: this.ids.subarray(start, end), weights: this.weights.subarray(start, end) };
  }
}
