import { readArtifact } from "./artifact";
import type { UserQuery } from "./data";
import { TwoTowerInputError } from "./errors";
import { tableRow } from "./features";
import { weightsFromLookup, userInputDim, type UserTowerWeights } from "./weights";

/** Matches the tfjs towers' epsilon so both paths normalise identically. */
const NORM_EPSILON = 1e-12;

/**
 * The user tower as a few loops over typed arrays: no tfjs at request time. Reuses its scratch
 * buffers, so one instance must not be shared by concurrent callers on worker threads.
 */
export class UserEncoder {
  readonly dim: number;
  private readonly input: Float64Array;
  private readonly activations: Float64Array[];

  constructor(readonly weights: UserTowerWeights) {
    const { schema, architecture: arch } = weights;
    const inDim = userInputDim(schema, arch);
    const first = weights.userLayers[0];
    if (first === undefined || first.inDim !== inDim) throw new TwoTowerInputError("weights.userLayers", `first layer must take ${inDim} inputs`);
    if (weights.userId.length !== (schema.numUsers + 1) * arch.idDim) throw new TwoTowerInputError("weights.userId", "size does not match the schema");
    if (weights.itemId.length !== (schema.numItems + 1) * arch.idDim) throw new TwoTowerInputError("weights.itemId", "size does not match the schema");
    this.dim = arch.outputDim;
    this.input = new Float64Array(inDim);
    this.activations = weights.userLayers.map((l) => new Float64Array(l.outDim));
  }

  encode(query: UserQuery, out: Float32Array = new Float32Array(this.dim)): Float32Array {
    const { schema, architecture: arch } = this.weights;
    const w = this.weights;
    const x = this.input;
    const idDim = arch.idDim;
    const catDim = arch.categoricalDim;
    const nNum = schema.userNumericDim;
    const cards = schema.userCategoricalCardinalities;
    if (query.numeric.length !== nNum) throw new TwoTowerInputError("numeric", `has ${query.numeric.length} values, expected ${nNum}`);
    if (query.categorical.length !== cards.length) {
      throw new TwoTowerInputError("categorical", `has ${query.categorical.length} values, expected ${cards.length}`);
    }
    let p = 0;
    const userBase = tableRow(query.userId, schema.numUsers) * idDim;
    for (let j = 0; j < idDim; j++) x[p++] = w.userId[userBase + j] as number;
    for (let j = 0; j < nNum; j++) {
      const v = query.numeric[j] as number;
      if (!Number.isFinite(v)) throw new TwoTowerInputError(`numeric[${j}]`, `is ${v}, not a finite number`);
      x[p++] = (v - (w.userNumericMean[j] as number)) / (w.userNumericScale[j] as number);
    }
    for (let k = 0; k < cards.length; k++) {
      const table = w.userCategorical[k] as Float32Array;
      const base = tableRow(query.categorical[k] as number, cards[k] as number) * catDim;
      for (let j = 0; j < catDim; j++) x[p++] = table[base + j] as number;
    }
    const poolStart = p;
    for (let j = 0; j < idDim; j++) x[poolStart + j] = 0;
    let count = 0;
    const limit = Math.min(query.history.length, schema.historyLength);
    // Same rule as training: the first historyLength entries, invalid ids skipped, not replaced.
    for (let h = 0; h < limit; h++) {
      const item = query.history[h] as number;
      if (!(item >= 0 && item < schema.numItems && Number.isInteger(item))) continue;
      const base = item * idDim;
      for (let j = 0; j < idDim; j++) x[poolStart + j] = (x[poolStart + j] as number) + (w.itemId[base + j] as number);
      count++;
    }
    if (count > 0) for (let j = 0; j < idDim; j++) x[poolStart + j] = (x[poolStart + j] as number) / count;

    let h: Float64Array = x;
    const layers = w.userLayers;
    for (let l = 0; l < layers.length; l++) {
      const layer = layers[l]!;
      const y = this.activations[l] as Float64Array;
      const { inDim, outDim, kernel, bias } = layer;
      for (let j = 0; j < outDim; j++) y[j] = bias[j] as number;
      for (let i = 0; i < inDim; i++) {
        const xi = h[i] as number;
        if (xi === 0) continue;
        const row = i * outDim;
        for (let j = 0; j < outDim; j++) y[j] = (y[j] as number) + xi * (kernel[row + j] as number);
      }
      if (l + 1 < layers.length) for (let j = 0; j < outDim; j++) if ((y[j] as number) < 0) y[j] = 0;
      h = y;
    }
    let ss = 0;
    for (let j = 0; j < this.dim; j++) ss += (h[j] as number) ** 2;
    const inv = 1 / Math.sqrt(ss + NORM_EPSILON);
    for (let j = 0; j < this.dim; j++) out[j] = (h[j] as number) * inv;
    return out;
  }
}

/** The user tower of a saved model, without tfjs. */
export async function loadUserEncoder(dir: string): Promise<{ encoder: UserEncoder; version: string }> {
  const artifact = await readArtifact(dir);
  const { schema, config } = artifact.manifest;
  const w = weightsFromLookup((name) => artifact.get(name), schema, config);
  const encoder = new UserEncoder({
    schema,
    architecture: config,
    userId: w.userId,
    itemId: w.itemId,
    userCategorical: w.userCategorical,
    userNumericMean: w.userNumericMean,
    userNumericScale: w.userNumericScale,
    userLayers: w.userLayers,
  });
  return { encoder, version: artifact.manifest.modelVersion };
}

export const ITEM_EMBEDDINGS_TENSOR = "item.output_embedding";

/** The catalogue's item-tower outputs stored with a saved model (numItems x dim), without tfjs. */
export async function loadItemEmbeddings(dir: string): Promise<{ embeddings: Float32Array; numItems: number; dim: number; version: string }> {
  const artifact = await readArtifact(dir);
  const { schema, config } = artifact.manifest;
  return { embeddings: artifact.get(ITEM_EMBEDDINGS_TENSOR), numItems: schema.numItems, dim: config.outputDim, version: artifact.manifest.modelVersion };
}
