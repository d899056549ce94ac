import { SymmetricWorkspace } from "@mlsd/linalg";
import type { Recommender } from "../evaluate";
import type { UserItemMatrix } from "../matrix";
import { RecEvalError } from "../matrix";
import { scoreByRows } from "./item-item";

export interface EaseOptions {
  /** L2 penalty on the item-item weights. Default 500, fixed before looking at test data. */
  lambda?: number;
  /** Called after each pivot block of the inverse (for a progress bar on large catalogues). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * EASE's weight matrix is dense: 8 n^2 bytes for the inverse in WebAssembly memory (at most
 * 4 GiB) plus 4 n^2 for the weights. 20,000 items need 3.2 + 1.6 GB; beyond that use a sparse
 * item-item model (ItemKnn) or low-rank EASE (@mlsd/two-tower's fitLowRankEase).
 */
export const EASE_MAX_ITEMS = 20_000;

/**
 * EASE (Steck 2019): the item-item weight matrix B minimising ||X - XB||^2 + lambda ||B||^2
 * with diag(B) = 0 has the closed form B = I - P diag(1 / diag(P)), P = (X^T X + lambda I)^-1.
 * X^T X is accumulated straight into the inverse's workspace (lower triangle only).
 */
export class Ease implements Recommender {
  readonly name: string;
  private readonly lambda: number;
  private weights = new Float32Array(0);
  private numItems = 0;
  private train: UserItemMatrix | undefined;
  private buffer = new Float32Array(0);

  constructor(private readonly options: EaseOptions = {}) {
    this.lambda = options.lambda ?? 500;
    if (!(this.lambda > 0)) throw new RecEvalError("lambda", `must be positive, got ${this.lambda}`);
    this.name = `EASE(lambda=${this.lambda})`;
  }

  async fit(train: UserItemMatrix): Promise<void> {
    const n = train.numItems;
    if (n > EASE_MAX_ITEMS) {
      throw new RecEvalError("numItems", `EASE keeps a dense ${n} x ${n} matrix; at most ${EASE_MAX_ITEMS} items (use ItemKnn or low-rank EASE beyond)`);
    }
    const ws = await SymmetricWorkspace.create(n);
    const s = ws.stride;
    const g = ws.data;
    for (let u = 0; u < train.numUsers; u++) {
      const items = train.itemsOf(u);
      // Items are sorted per user, so items[a] >= items[b] for b <= a: the lower triangle.
      for (let a = 0; a < items.length; a++) {
        const row = (items[a] as number) * s;
        for (let b = 0; b <= a; b++) g[row + (items[b] as number)]! += 1;
      }
    }
    for (let i = 0; i < n; i++) g[i * s + i]! += this.lambda;
    ws.invert(this.options.onProgress);
    const w = new Float32Array(n * n);
    for (let i = 0; i < n; i++) {
      const pii = g[i * s + i] as number;
      for (let j = 0; j < i; j++) {
        const p = g[i * s + j] as number;
        w[i * n + j] = -p / (g[j * s + j] as number);
        w[j * n + i] = -p / pii;
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

  /** B[i][j], the weight of history item i for item j (0 on the diagonal). */
  weight(i: number, j: number): number {
    return this.weights[i * this.numItems + j] as number;
  }
}
