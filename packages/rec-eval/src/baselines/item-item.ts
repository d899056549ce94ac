import type { UserItemMatrix } from "../matrix";

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
export function cooccurrenceRow(train: UserItemMatrix, postings: { indptr: Int32Array; users: Int32Array }, item: number, out: Float64Array): Float64Array {
  out.fill(0);
  for (let p = postings.indptr[item] as number; p < (postings.indptr[item + 1] as number); p++) {
    const u = postings.users[p] as number;
    for (let q = train.indptr[u] as number; q < (train.indptr[u + 1] as number); q++) out[train.indices[q] as number]! += 1;
  }
  return out;
}
