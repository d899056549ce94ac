import type { Recommender } from "../evaluate";
import type { UserItemMatrix } from "../matrix";
import { RecEvalError } from "../matrix";
import { cooccurrenceRow, itemPostings, NeighborLists } from "./item-item";

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
  private lists: NeighborLists | undefined;
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
    const postings = itemPostings(train);
    const counts = train.itemCounts();
    this.lists = NeighborLists.build(train.numItems, this.neighbors, (i, row) => {
      const ci = counts[i] as number;
      if (ci === 0) return row.fill(0);
      cooccurrenceRow(train, postings, i, row);
      for (let j = 0; j < row.length; j++) if ((row[j] as number) > 0) row[j] = (row[j] as number) / Math.sqrt(ci * (counts[j] as number));
    });
    this.train = train;
    this.buffer = new Float32Array(train.numItems);
  }

  scoreAll(user: number): Float32Array {
    if (!this.train || !this.lists) throw new RecEvalError("fit", "ItemKNN.scoreAll called before fit");
    return this.lists.score(this.train.itemsOf(user), this.buffer);
  }

  /** Scores for any list of items (a history the model was not fitted on, such as one user's across sessions). */
  scoreItems(items: ArrayLike<number>, out: Float32Array = this.buffer): Float32Array {
    if (!this.lists) throw new RecEvalError("fit", "ItemKNN.scoreItems called before fit");
    return this.lists.score(items, out);
  }

  /** The kept neighbours of item i with their similarities (views, most similar first). */
  neighborsOf(i: number): { ids: Int32Array; similarities: Float32Array } {
    if (!this.lists) throw new RecEvalError("fit", "ItemKNN.neighborsOf called before fit");
    const { ids, weights } = this.lists.neighborsOf(i);
    return { ids, similarities: weights };
  }
}
