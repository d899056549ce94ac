import type { Recommender } from "../evaluate";
import type { UserItemMatrix } from "../matrix";
import { RecEvalError } from "../matrix";
import { cooccurrenceRow, itemPostings, NeighborLists } from "./item-item";

export interface Rp3BetaOptions {
  /** Popularity penalty: weights to j are divided by count(j)^beta. Default 0.5. */
  beta?: number;
  /** Neighbours kept per item. Default 200. */
  neighbors?: number;
}

/**
 * RP3beta (Paudel et al. 2017, alpha = 1): the three-step random walk item -> user -> item on the
 * bipartite graph, W_ij = sum_u [u rated i and j] / (|u| count(i)), re-weighted by count(j)^-beta
 * so that popular items do not take every list; each item keeps its strongest `neighbors`.
 */
export class Rp3Beta implements Recommender {
  readonly name: string;
  private readonly beta: number;
  private readonly neighbors: number;
  private lists: NeighborLists | undefined;
  private train: UserItemMatrix | undefined;
  private buffer = new Float32Array(0);

  constructor(options: Rp3BetaOptions = {}) {
    this.beta = options.beta ?? 0.5;
    this.neighbors = options.neighbors ?? 200;
    if (!(this.beta >= 0)) throw new RecEvalError("beta", `must be non-negative, got ${this.beta}`);
    if (!Number.isInteger(this.neighbors) || this.neighbors < 1) throw new RecEvalError("neighbors", `must be a positive integer, got ${this.neighbors}`);
    this.name = `RP3beta(beta=${this.beta}, k=${this.neighbors})`;
  }

  fit(train: UserItemMatrix): void {
    const postings = itemPostings(train);
    const counts = train.itemCounts();
    const inverseLength = Float64Array.from({ length: train.numUsers }, (_, u) => 1 / Math.max(1, train.countOf(u)));
    const penalty = Float64Array.from(counts, (c) => (c > 0 ? c ** -this.beta : 0));
    this.lists = NeighborLists.build(train.numItems, this.neighbors, (i, row) => {
      const ci = counts[i] as number;
      if (ci === 0) return row.fill(0);
      cooccurrenceRow(train, postings, i, row, inverseLength);
      for (let j = 0; j < row.length; j++) row[j] = ((row[j] as number) / ci) * (penalty[j] as number);
    });
    this.train = train;
    this.buffer = new Float32Array(train.numItems);
  }

  scoreAll(user: number): Float32Array {
    if (!this.train || !this.lists) throw new RecEvalError("fit", "RP3beta.scoreAll called before fit");
    return this.lists.score(this.train.itemsOf(user), this.buffer);
  }
}
