import type { Recommender } from "../evaluate";
import type { UserItemMatrix } from "../matrix";
import { RecEvalError } from "../matrix";
import { topK } from "../top-k";
import { itemPostings } from "./item-item";

export interface UserKnnOptions {
  /** Most similar users kept per user. Default 50. */
  neighbors?: number;
}

/**
 * User-based top-N on binary feedback: cosine similarity between users' item sets; a user's
 * score for j is the summed similarity of the neighbours who rated j. Neighbour lists only
 * (numUsers x neighbors), computed one user at a time from the item postings.
 */
export class UserKnn implements Recommender {
  readonly name: string;
  private readonly neighbors: number;
  private indptr = new Int32Array(1);
  private ids = new Int32Array(0);
  private sims = new Float32Array(0);
  private train: UserItemMatrix | undefined;
  private buffer = new Float32Array(0);

  constructor(options: UserKnnOptions = {}) {
    this.neighbors = options.neighbors ?? 50;
    if (!Number.isInteger(this.neighbors) || this.neighbors < 1) throw new RecEvalError("neighbors", `must be a positive integer, got ${this.neighbors}`);
    this.name = `UserKNN(cosine, k=${this.neighbors})`;
  }

  fit(train: UserItemMatrix): void {
    const U = train.numUsers;
    const postings = itemPostings(train);
    const overlap = new Float64Array(U);
    const keep = Math.min(this.neighbors, U);
    const indptr = new Int32Array(U + 1);
    const ids = new Int32Array(U * keep);
    const sims = new Float32Array(U * keep);
    let nnz = 0;
    for (let u = 0; u < U; u++) {
      overlap.fill(0);
      const cu = train.countOf(u);
      for (const i of train.itemsOf(u)) {
        for (let p = postings.indptr[i] as number; p < (postings.indptr[i + 1] as number); p++) overlap[postings.users[p] as number]! += 1;
      }
      overlap[u] = 0;
      for (let v = 0; v < U; v++) if ((overlap[v] as number) > 0) overlap[v] = (overlap[v] as number) / Math.sqrt(cu * train.countOf(v));
      for (const v of topK(overlap, keep)) {
        const s = overlap[v] as number;
        if (!(s > 0)) break;
        ids[nnz] = v;
        sims[nnz++] = s;
      }
      indptr[u + 1] = nnz;
    }
    this.indptr = indptr;
    this.ids = ids.slice(0, nnz);
    this.sims = sims.slice(0, nnz);
    this.train = train;
    this.buffer = new Float32Array(train.numItems);
  }

  scoreAll(user: number): Float32Array {
    const train = this.train;
    if (!train) throw new RecEvalError("fit", "UserKNN.scoreAll called before fit");
    const out = this.buffer;
    out.fill(0);
    for (let p = this.indptr[user] as number; p < (this.indptr[user + 1] as number); p++) {
      const s = this.sims[p] as number;
      for (const i of train.itemsOf(this.ids[p] as number)) out[i]! += s;
    }
    return out;
  }
}
