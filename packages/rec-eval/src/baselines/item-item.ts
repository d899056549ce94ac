import type { UserItemMatrix } from "../matrix";
import { RecEvalError } from "../matrix";

// A dense item x item matrix of 4-byte floats: 10,000 items is 400 MB, the most we allow.
export const MAX_DENSE_ITEMS = 10_000;

export function checkDenseSize(model: string, numItems: number): void {
  if (numItems > MAX_DENSE_ITEMS) {
    throw new RecEvalError("numItems", `${model} keeps a dense ${numItems} x ${numItems} matrix; at most ${MAX_DENSE_ITEMS} items`);
  }
}

/** Item co-occurrence counts X^T X of the binary training matrix (diagonal = item counts). */
export function cooccurrence(train: UserItemMatrix): Float64Array {
  const n = train.numItems;
  const c = new Float64Array(n * n);
  for (let u = 0; u < train.numUsers; u++) {
    const items = train.itemsOf(u);
    for (let a = 0; a < items.length; a++) {
      const ra = (items[a] as number) * n;
      for (let b = 0; b <= a; b++) {
        const idx = ra + (items[b] as number);
        c[idx] = (c[idx] as number) + 1;
      }
    }
  }
  // Items are sorted per user, so only the lower triangle was filled.
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) c[j * n + i] = c[i * n + j] as number;
  return c;
}

/** score[j] = sum over the user's training items i of weights[i][j]. */
export function scoreByRows(weights: Float32Array, n: number, items: Int32Array, out: Float32Array): Float32Array {
  out.fill(0);
  for (let a = 0; a < items.length; a++) {
    const row = (items[a] as number) * n;
    for (let j = 0; j < n; j++) out[j] = (out[j] as number) + (weights[row + j] as number);
  }
  return out;
}
