import type { Recommender } from "../evaluate";
import type { UserItemMatrix } from "../matrix";
import { RecEvalError } from "../matrix";
import { checkDenseSize, cooccurrence, scoreByRows } from "./item-item";

export interface ItemKnnOptions {
  /** Neighbours kept per item (Deshpande & Karypis' k). Default 100. */
  neighbors?: number;
}

/**
 * Item-based top-N (Deshpande & Karypis 2004) on binary feedback: cosine similarity between
 * item columns, each item keeps its `neighbors` most similar items, and a user's score for j is
 * the sum of the similarities of j to the items the user rated.
 */
export class ItemKnn implements Recommender {
  readonly name: string;
  private readonly neighbors: number;
  private weights = new Float32Array(0);
  private numItems = 0;
  private train: UserItemMatrix | undefined;
  private buffer = new Float32Array(0);

  constructor(options: ItemKnnOptions = {}) {
    this.neighbors = options.neighbors ?? 100;
    if (!Number.isInteger(this.neighbors) || this.neighbors < 1) {
      throw new RecEvalError("neighbors", `must be a positive integer, got ${this.neighbors}`);
    }
    this.name = `ItemKNN(cosine, k=${this.neighbors})`;
  }

  fit(train: UserItemMatrix): void {
    const n = train.numItems;
    checkDenseSize("ItemKNN", n);
    const c = cooccurrence(train);
    const norms = new Float64Array(n);
    for (let i = 0; i < n; i++) norms[i] = Math.sqrt(c[i * n + i] as number);
    const w = new Float32Array(n * n);
    const row = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const ni = norms[i] as number;
      if (ni === 0) continue;
      for (let j = 0; j < n; j++) {
        const nj = norms[j] as number;
        row[j] = j === i || nj === 0 ? 0 : (c[i * n + j] as number) / (ni * nj);
      }
      const cut = this.neighbors < n ? kthLargest(row, this.neighbors) : 0;
      let above = 0;
      for (let j = 0; j < n; j++) if ((row[j] as number) > cut) above++;
      // Ties at the cut-off go to the lower item index so each row keeps at most `neighbors`.
      let tiesLeft = cut > 0 ? this.neighbors - above : 0;
      for (let j = 0; j < n; j++) {
        const s = row[j] as number;
        if (s > cut) w[i * n + j] = s;
        else if (s === cut && tiesLeft > 0) {
          w[i * n + j] = s;
          tiesLeft--;
        }
      }
    }
    this.weights = w;
    this.numItems = n;
    this.train = train;
    this.buffer = new Float32Array(n);
  }

  scoreAll(user: number): Float32Array {
    if (!this.train) throw new RecEvalError("fit", "ItemKNN.scoreAll called before fit");
    return scoreByRows(this.weights, this.numItems, this.train.itemsOf(user), this.buffer);
  }
}

/** The k-th largest value (quickselect on a copy). */
function kthLargest(values: Float64Array, k: number): number {
  const a = values.slice();
  let lo = 0;
  let hi = a.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) > pivot) i++;
      while ((a[j] as number) < pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target] as number;
  }
  return a[target] as number;
}
