import { matmulTransposedB, topEigenGram, type SparseRows } from "@mlsd/linalg";
import { writeArtifact, type ArtifactManifest } from "./artifact";
import type { FeatureSchema } from "./data";
import { TwoTowerInputError } from "./errors";
import { DEFAULT_TWO_TOWER_CONFIG, type TwoTowerConfig } from "./model-config";
import { ITEM_EMBEDDINGS_TENSOR } from "./serving";
import { itemInputDim, listWeights, userInputDim, type TwoTowerWeights } from "./weights";

export interface LowRankEaseOptions {
  /** Embedding size: the number of eigen-directions of X^T X kept. */
  dim: number;
  /** EASE's L2 penalty. */
  lambda: number;
  /** Power iterations of the randomized eigensolver. Default 6. */
  iterations?: number;
  seed?: number;
}

/**
 * Towers whose user side is linear in the user's history: user vector = sum of the history
 * vectors of the items the user interacted with; score = <user vector, item vector>.
 */
export interface LinearTowers {
  readonly dim: number;
  readonly numItems: number;
  /** numItems x dim: what one history item adds to a user vector. */
  readonly historyVectors: Float32Array;
  /** numItems x dim: the item side, what the index holds. */
  readonly itemVectors: Float32Array;
  /** The eigenvalues of X^T X behind the directions, descending. */
  readonly eigenvalues: Float64Array;
  readonly lambda: number;
}

/**
 * Low-rank EASE. EASE's weights (Steck 2019) are B = I - P diag(1/diag P), P = (G + lambda I)^-1,
 * G = X^T X. Writing G = V diag(g) V^T gives, for i != j, B_ij = M_ij / (1 - M_jj) with
 * M = V diag(g / (g + lambda)) V^T, so a user's score for an unseen item j is
 * sum over the history of M_ij / (1 - M_jj): an inner product of
 *   user  = sum over history i of V_i diag(g / (g + lambda))   (history vectors)
 *   item  = V_j / (1 - M_jj)                                     (item vectors).
 * Keeping the top `dim` eigen-directions makes it a two-tower model servable by HNSW; with every
 * direction of non-zero g it ranks unseen items exactly as EASE does. Fitting reads X's non-zeros
 * a few times per direction and holds O(numItems x dim) numbers: no item x item matrix.
 */
export async function fitLowRankEase(x: SparseRows, options: LowRankEaseOptions): Promise<LinearTowers> {
  if (!(options.lambda > 0)) throw new TwoTowerInputError("lambda", `must be positive, got ${options.lambda}`);
  const eig = await topEigenGram(x, options.dim, { ...(options.iterations !== undefined ? { iterations: options.iterations } : {}), ...(options.seed !== undefined ? { seed: options.seed } : {}) });
  const d = eig.dim;
  const n = x.numColumns;
  const shrink = Float64Array.from(eig.values, (g) => g / (g + options.lambda));
  const historyVectors = new Float32Array(n * d);
  const itemVectors = new Float32Array(n * d);
  for (let j = 0; j < n; j++) {
    let mjj = 0;
    for (let r = 0; r < d; r++) mjj += (shrink[r] as number) * (eig.vectors[j * d + r] as number) ** 2;
    // mjj < max shrink < 1 for an orthonormal basis; the guard only protects against rounding.
    const scale = 1 / Math.max(1e-9, 1 - mjj);
    for (let r = 0; r < d; r++) {
      const v = eig.vectors[j * d + r] as number;
      historyVectors[j * d + r] = (shrink[r] as number) * v;
      itemVectors[j * d + r] = v * scale;
    }
  }
  return { dim: d, numItems: n, historyVectors, itemVectors, eigenvalues: eig.values, lambda: options.lambda };
}

/** The user vector of a history: the sum of its items' history vectors (ids outside the catalogue skipped). */
export function linearUserVector(towers: LinearTowers, history: ArrayLike<number>, out: Float32Array = new Float32Array(towers.dim)): Float32Array {
  const d = towers.dim;
  out.fill(0);
  for (let h = 0; h < history.length; h++) {
    const i = history[h] as number;
    if (!(i >= 0 && i < towers.numItems)) continue;
    for (let r = 0; r < d; r++) out[r] = (out[r] as number) + (towers.historyVectors[i * d + r] as number);
  }
  return out;
}

/**
 * Exact scores <user vector, item vector> of several users (one history each) over every item,
 * users x numItems row-major: one matrix product on linalg's kernel instead of a dot-product loop
 * per user. Each score is the same sum over the dimensions, in the same order, as the scalar loop
 * `for r: s += q[r] * item[r]` from s = 0, so the two give the same bits.
 */
export async function linearScores(towers: LinearTowers, histories: readonly ArrayLike<number>[]): Promise<Float64Array> {
  const d = towers.dim;
  const queries = new Float64Array(histories.length * d);
  const q = new Float32Array(d);
  histories.forEach((history, u) => queries.set(linearUserVector(towers, history, q), u * d));
  return matmulTransposedB(queries, Float64Array.from(towers.itemVectors), histories.length, d, towers.numItems);
}

export interface LinearTowersArtifactInput {
  /** The user-table schema the retrieval service reads (numeric, categorical, history length). */
  schema: Omit<FeatureSchema, "numItems">;
  /** Every training user's full history (dense item indices), for its stored vector. */
  userHistory: (user: number) => ArrayLike<number>;
  /** The stored recent history per user (numUsers x historyLength, -1 padded) the service pools at request time. */
  recentHistory: Int32Array;
  version?: string;
}

/**
 * Saves linear towers in the two-tower artifact format, so the retrieval service, its user
 * encoder and the HNSW build serve them unchanged. The user tower is one linear layer with no
 * hidden layers: output = user-id row + mean of the request's history rows. Each training user's
 * id row holds its full-history vector minus its stored recent history, scaled so that with the
 * stored history the output is exactly its vector; a request with fresher history adds it; an
 * unknown user (id row zero) is served from the history alone. Only the direction matters: the
 * encoder normalises the output, which leaves each user's ranking unchanged.
 */
export async function saveLinearTowers(dir: string, towers: LinearTowers, input: LinearTowersArtifactInput): Promise<ArtifactManifest> {
  const d = towers.dim;
  const schema: FeatureSchema = { ...input.schema, numItems: towers.numItems };
  const numUsers = schema.numUsers;
  const L = schema.historyLength;
  if (input.recentHistory.length !== numUsers * L) {
    throw new TwoTowerInputError("recentHistory", `has ${input.recentHistory.length} entries, expected numUsers x historyLength = ${numUsers * L}`);
  }
  const config: TwoTowerConfig = { ...DEFAULT_TWO_TOWER_CONFIG, idDim: d, categoricalDim: 1, hiddenDims: [], outputDim: d, epochs: 1 };
  const userId = new Float32Array((numUsers + 1) * d);
  const full = new Float32Array(d);
  const recent = new Float32Array(d);
  for (let u = 0; u < numUsers; u++) {
    linearUserVector(towers, input.userHistory(u), full);
    const row = input.recentHistory.subarray(u * L, (u + 1) * L);
    linearUserVector(towers, row, recent);
    let count = 0;
    for (const i of row) if (i >= 0 && i < towers.numItems) count++;
    const c = Math.max(1, count);
    for (let r = 0; r < d; r++) userId[u * d + r] = ((full[r] as number) - (recent[r] as number)) / c;
  }
  const itemId = new Float32Array((towers.numItems + 1) * d);
  itemId.set(towers.historyVectors);
  const inDim = userInputDim(schema, config);
  const kernel = new Float32Array(inDim * d);
  const poolStart = inDim - d;
  for (let r = 0; r < d; r++) {
    kernel[r * d + r] = 1;
    kernel[(poolStart + r) * d + r] = 1;
  }
  const itemIn = itemInputDim(schema, config);
  const weights: TwoTowerWeights = {
    userId,
    itemId,
    userCategorical: schema.userCategoricalCardinalities.map((c) => new Float32Array(c + 1)),
    itemCategory: new Float32Array(schema.numItemCategories + 1),
    userNumericMean: new Float32Array(schema.userNumericDim),
    userNumericScale: new Float32Array(schema.userNumericDim).fill(1),
    itemScalarMean: new Float32Array(2),
    itemScalarScale: new Float32Array(2).fill(1),
    userLayers: [{ inDim, outDim: d, kernel, bias: new Float32Array(d) }],
    // Serving reads the stored item vectors; the item tower is kept only so the file has every tensor.
    itemLayers: [{ inDim: itemIn, outDim: d, kernel: new Float32Array(itemIn * d), bias: new Float32Array(d) }],
  };
  const arrays = listWeights(weights, schema, config);
  arrays.push({ name: ITEM_EMBEDDINGS_TENSOR, shape: [towers.numItems, d], values: towers.itemVectors });
  return writeArtifact(dir, { schema, config, ...(input.version !== undefined ? { version: input.version } : {}) }, arrays);
}
