import type { Recommender } from "../evaluate";
import type { UserItemMatrix } from "../matrix";
import { RecEvalError } from "../matrix";
import { topK } from "../top-k";
import { cooccurrenceRow, itemPostings } from "./item-item";

export interface ItemKnnOptions {
  /** Neighbours kept per item (Deshpande & Karypis' k). Default 100. */
  neighbors?: number;
}

/**
 * Item-based top-N (Deshpande & Karypis 2004) on binary feedback: cosine similarity between
 * item columns, each item keeps its `neighbors` most similar items, and a user's score for j is
 * the sum of the similarities of j to the items the user rated.
 *
 * Sparse throughout: similarities are computed one item row at a time from the postings and
 * only the kept neighbours are stored (numItems x neighbors), so a 100,000-item catalogue needs
 * tens of MB, not the 40 GB of a dense item x item matrix.
 */
export class ItemKnn implements Recommender {
  readonly name: string;
  private readonly neighbors: number;
  /** CSR of the kept neighbours of each item, similarity in `similarities`. */
  private indptr = new Int32Array(1);
  private neighborIds = new Int32Array(0);
  private similarities = new Float32Array(0);
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
    const postings = itemPostings(train);
    const counts = train.itemCounts();
    const row = new Float64Array(n);
    const keep = Math.min(this.neighbors, n);
    const indptr = new Int32Array(n + 1);
    const ids = new Int32Array(n * keep);
    const sims = new Float32Array(n * keep);
    let nnz = 0;
    for (let i = 0; i < n; i++) {
      const ci = counts[i] as number;
      if (ci > 0) {
        cooccurrenceRow(train, postings, i, row);
        row[i] = 0;
        for (let j = 0; j < n; j++) if ((row[j] as number) > 0) row[j] = (row[j] as number) / Math.sqrt(ci * (counts[j] as number));
        // Ties at the cut-off go to the lower item index (topK's rule); only positive similarities are kept.
        for (const j of topK(row, keep)) {
          const s = row[j] as number;
          if (!(s > 0)) break;
          ids[nnz] = j;
          sims[nnz++] = s;
        }
      }
      indptr[i + 1] = nnz;
    }
    this.indptr = indptr;
    this.neighborIds = ids.slice(0, nnz);
    this.similarities = sims.slice(0, nnz);
    this.train = train;
    this.buffer = new Float32Array(n);
  }

  scoreAll(user: number): Float32Array {
    if (!this.train) throw new RecEvalError("fit", "ItemKNN.scoreAll called before fit");
    const out = this.buffer;
    out.fill(0);
    for (const i of this.train.itemsOf(user)) {
      for (let p = this.indptr[i] as number; p < (this.indptr[i + 1] as number); p++) {
        out[this.neighborIds[p] as number]! += this.similarities[p] as number;
      }
    }
    return out;
  }

  /** The kept neighbours of item i with their similarities (views, most similar first). */
  neighborsOf(i: number): { ids: Int32Array; similarities: Float32Array } {
    const start = this.indptr[i] as number;
    const end = this.indptr[i + 1] as number;
    return { ids: this.neighborIds.subarray(start, end), similarities: this.similarities.subarray(start, end) };
  }
}
