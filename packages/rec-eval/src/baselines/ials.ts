import { choleskySolveInPlace } from "@mlsd/linalg";
import { Rng } from "@mlsd/random";
import type { Recommender } from "../evaluate";
import type { UserItemMatrix } from "../matrix";
import { RecEvalError } from "../matrix";

export interface IalsOptions {
  /** Latent dimensions. Default 64. */
  factors?: number;
  /** Confidence of an observed pair: 1 + alpha (every unobserved pair has confidence 1). Default 20. */
  alpha?: number;
  /** L2 penalty on every factor row. Default 10. */
  lambda?: number;
  /** Alternating sweeps (users, then items). Default 10. */
  iterations?: number;
  /** Seed of the initial factors. Default 1. */
  seed?: number;
}

/**
 * Implicit ALS (Hu, Koren and Volinsky 2008): user and item factors minimising
 * sum_ui c_ui (p_ui - x_u . y_i)^2 + lambda (|X|^2 + |Y|^2), where p_ui is 1 for a rated pair
 * and 0 otherwise and c_ui = 1 + alpha for a rated pair, 1 otherwise. Each half-sweep solves
 * every row exactly: x_u = (Y'Y + alpha sum_{i in u} y_i y_i' + lambda I)^-1 (1 + alpha) sum_{i in u} y_i,
 * with Y'Y computed once per sweep, so the unobserved pairs cost d^2 per item, not per user.
 * A matrix-factorisation model, a different family from the item-item ones beside it.
 */
export class Ials implements Recommender {
  readonly name: string;
  readonly factors: number;
  private readonly alpha: number;
  private readonly lambda: number;
  private readonly iterations: number;
  private readonly seed: number;
  private userFactors = new Float64Array(0);
  private itemFactors = new Float64Array(0);
  private numItems = 0;
  private buffer = new Float32Array(0);

  constructor(options: IalsOptions = {}) {
    this.factors = options.factors ?? 64;
    this.alpha = options.alpha ?? 20;
    this.lambda = options.lambda ?? 10;
    this.iterations = options.iterations ?? 10;
    this.seed = options.seed ?? 1;
    if (!Number.isInteger(this.factors) || this.factors < 1) throw new RecEvalError("factors", `must be a positive integer, got ${this.factors}`);
    if (!(this.alpha >= 0) || !Number.isFinite(this.alpha)) throw new RecEvalError("alpha", `must be a finite non-negative number, got ${this.alpha}`);
    if (!(this.lambda > 0) || !Number.isFinite(this.lambda)) throw new RecEvalError("lambda", `must be a finite positive number, got ${this.lambda}`);
    if (!Number.isInteger(this.iterations) || this.iterations < 1) throw new RecEvalError("iterations", `must be a positive integer, got ${this.iterations}`);
    this.name = `iALS(d=${this.factors}, alpha=${this.alpha}, lambda=${this.lambda})`;
  }

  fit(train: UserItemMatrix): void {
    const d = this.factors;
    const rng = new Rng(this.seed);
    this.numItems = train.numItems;
    this.userFactors = new Float64Array(train.numUsers * d);
    this.itemFactors = Float64Array.from({ length: train.numItems * d }, () => rng.normal() * 0.01);
    const byItem = transpose(train);
    for (let it = 0; it < this.iterations; it++) {
      this.sweep(this.userFactors, this.itemFactors, train.numUsers, (u) => train.itemsOf(u));
      this.sweep(this.itemFactors, this.userFactors, train.numItems, (i) => byItem.indices.subarray(byItem.indptr[i] as number, byItem.indptr[i + 1] as number));
    }
    this.buffer = new Float32Array(train.numItems);
  }

  /** Solves every row of `solved` with `fixed` held: one exact least-squares solve per row. */
  private sweep(solved: Float64Array, fixed: Float64Array, rows: number, observed: (row: number) => ArrayLike<number>): void {
    const d = this.factors;
    const gram = new Float64Array(d * d);
    for (let j = 0; j < fixed.length / d; j++) {
      const base = j * d;
      for (let a = 0; a < d; a++) {
        const ya = fixed[base + a] as number;
        for (let b = 0; b <= a; b++) gram[a * d + b] = (gram[a * d + b] as number) + ya * (fixed[base + b] as number);
      }
    }
    const system = new Float64Array(d * d);
    const rhs = new Float64Array(d);
    for (let r = 0; r < rows; r++) {
      const seen = observed(r);
      // No observation: the right-hand side is zero, and so is the solution.
      if (seen.length === 0) {
        solved.fill(0, r * d, (r + 1) * d);
        continue;
      }
      system.set(gram);
      for (let a = 0; a < d; a++) system[a * d + a] = (system[a * d + a] as number) + this.lambda;
      rhs.fill(0);
      const confidence = 1 + this.alpha;
      // Four observations per pass over the triangle quarter its loads and stores; each entry
      // still adds the observations one at a time in order, so the sums are bit for bit the same.
      let p = 0;
      for (; p + 3 < seen.length; p += 4) {
        const base1 = (seen[p] as number) * d;
        const base2 = (seen[p + 1] as number) * d;
        const base3 = (seen[p + 2] as number) * d;
        const base4 = (seen[p + 3] as number) * d;
        for (let a = 0; a < d; a++) {
          const y1 = fixed[base1 + a] as number;
          const y2 = fixed[base2 + a] as number;
          const y3 = fixed[base3 + a] as number;
          const y4 = fixed[base4 + a] as number;
          rhs[a] = (rhs[a] as number) + confidence * y1 + confidence * y2 + confidence * y3 + confidence * y4;
          const s1 = this.alpha * y1;
          const s2 = this.alpha * y2;
          const s3 = this.alpha * y3;
          const s4 = this.alpha * y4;
          const row = a * d;
          for (let b = 0; b <= a; b++) {
            system[row + b] =
              (system[row + b] as number) +
              s1 * (fixed[base1 + b] as number) +
              s2 * (fixed[base2 + b] as number) +
              s3 * (fixed[base3 + b] as number) +
              s4 * (fixed[base4 + b] as number);
          }
        }
      }
      for (; p < seen.length; p++) {
        const base = (seen[p] as number) * d;
        for (let a = 0; a < d; a++) {
          const ya = fixed[base + a] as number;
          rhs[a] = (rhs[a] as number) + confidence * ya;
          const scaled = this.alpha * ya;
          const row = a * d;
          for (let b = 0; b <= a; b++) system[row + b] = (system[row + b] as number) + scaled * (fixed[base + b] as number);
        }
      }
      // lambda > 0 on the diagonal keeps the system positive definite.
      choleskySolveInPlace(system, rhs, d);
      solved.set(rhs, r * d);
    }
  }

  /**
   * The objective the sweeps minimise, summed over every (user, item) pair: O(users x items x d),
   * for diagnostics and tests on small matrices.
   */
  loss(train: UserItemMatrix): number {
    const d = this.factors;
    let total = 0;
    for (const f of [this.userFactors, this.itemFactors]) for (const v of f) total += this.lambda * v * v;
    const rated = new Uint8Array(this.numItems);
    for (let u = 0; u < train.numUsers; u++) {
      const seen = train.itemsOf(u);
      for (const i of seen) rated[i] = 1;
      for (let i = 0; i < this.numItems; i++) {
        let s = 0;
        for (let a = 0; a < d; a++) s += (this.userFactors[u * d + a] as number) * (this.itemFactors[i * d + a] as number);
        total += rated[i] ? (1 + this.alpha) * (1 - s) ** 2 : s * s;
      }
      for (const i of seen) rated[i] = 0;
    }
    return total;
  }

  scoreAll(user: number): Float32Array {
    if (this.buffer.length === 0) throw new RecEvalError("fit", "iALS.scoreAll called before fit");
    for (let i = 0; i < this.numItems; i++) this.buffer[i] = this.score(user, i);
    return this.buffer;
  }

  /**
   * The scores of the listed items only, each written at its item index of `out` (the rest of
   * `out` is left as it was): what a ranker needs for its candidates, d multiply-adds apiece.
   */
  scoreItems(user: number, items: ArrayLike<number>, out: Float32Array = this.buffer): Float32Array {
    if (this.buffer.length === 0) throw new RecEvalError("fit", "iALS.scoreItems called before fit");
    for (let k = 0; k < items.length; k++) out[items[k] as number] = this.score(user, items[k] as number);
    return out;
  }

  private score(user: number, item: number): number {
    const d = this.factors;
    let s = 0;
    for (let a = 0; a < d; a++) s += (this.userFactors[user * d + a] as number) * (this.itemFactors[item * d + a] as number);
    return s;
  }
}

/** The item-major copy of a user-item matrix's pattern: users per item, in CSR form. */
function transpose(train: UserItemMatrix): { indptr: Int32Array; indices: Int32Array } {
  const indptr = new Int32Array(train.numItems + 1);
  for (let p = 0; p < train.nnz; p++) indptr[(train.indices[p] as number) + 1]! += 1;
  for (let i = 0; i < train.numItems; i++) indptr[i + 1] = (indptr[i + 1] as number) + (indptr[i] as number);
  const fill = indptr.slice(0, train.numItems);
  const indices = new Int32Array(train.nnz);
  for (let u = 0; u < train.numUsers; u++) {
    for (let p = train.indptr[u] as number; p < (train.indptr[u + 1] as number); p++) {
      const i = train.indices[p] as number;
      indices[fill[i]!++] = u;
    }
  }
  return { indptr, indices };
}
