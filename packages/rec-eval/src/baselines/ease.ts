import type { Recommender } from "../evaluate";
import { spdInverse } from "../linalg";
import type { UserItemMatrix } from "../matrix";
import { RecEvalError } from "../matrix";
import { checkDenseSize, cooccurrence, scoreByRows } from "./item-item";

export interface EaseOptions {
  /** L2 penalty on the item-item weights. Default 500, fixed before looking at test data. */
  lambda?: number;
}

/**
 * EASE (Steck 2019): the item-item weight matrix B minimising ||X - XB||^2 + lambda ||B||^2
 * with diag(B) = 0 has the closed form B = I - P diag(1 / diag(P)), P = (X^T X + lambda I)^-1.
 */
export class Ease implements Recommender {
  readonly name: string;
  private readonly lambda: number;
  private weights = new Float32Array(0);
  private numItems = 0;
  private train: UserItemMatrix | undefined;
  private buffer = new Float32Array(0);

  constructor(options: EaseOptions = {}) {
    this.lambda = options.lambda ?? 500;
    if (!(this.lambda > 0)) throw new RecEvalError("lambda", `must be positive, got ${this.lambda}`);
    this.name = `EASE(lambda=${this.lambda})`;
  }

  fit(train: UserItemMatrix): void {
    const n = train.numItems;
    checkDenseSize("EASE", n);
    const g = cooccurrence(train);
    for (let i = 0; i < n; i++) g[i * n + i] = (g[i * n + i] as number) + this.lambda;
    const p = spdInverse(g, n);
    const w = new Float32Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i !== j) w[i * n + j] = -(p[i * n + j] as number) / (p[j * n + j] as number);
      }
    }
    this.weights = w;
    this.numItems = n;
    this.train = train;
    this.buffer = new Float32Array(n);
  }

  scoreAll(user: number): Float32Array {
    if (!this.train) throw new RecEvalError("fit", "EASE.scoreAll called before fit");
    return scoreByRows(this.weights, this.numItems, this.train.itemsOf(user), this.buffer);
  }
}
