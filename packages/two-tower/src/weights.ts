import type { FeatureSchema } from "./data";
import type { Rng } from "@mlsd/random";

export interface Architecture {
  readonly idDim: number;
  readonly categoricalDim: number;
  readonly hiddenDims: readonly number[];
  readonly outputDim: number;
}

/** y = x W + b, W row-major inDim x outDim. ReLU after every layer but the last. */
export interface DenseLayer {
  readonly inDim: number;
  readonly outDim: number;
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
}

/**
 * Every number of the model as plain typed arrays: what training updates, what is saved, what
 * the pure-JS serving path reads. Each embedding table has one extra last row for "unknown"
 * (new user, new item, missing category).
 */
export interface TwoTowerWeights {
  readonly userId: Float32Array;
  /** Item-id embeddings, shared by the item tower and the user tower's history pooling. */
  readonly itemId: Float32Array;
  readonly userCategorical: readonly Float32Array[];
  readonly itemCategory: Float32Array;
  /** Standardisation of user numeric features, fitted on the training data. */
  readonly userNumericMean: Float32Array;
  readonly userNumericScale: Float32Array;
  /** Standardisation of item quality and freshness. */
  readonly itemScalarMean: Float32Array;
  readonly itemScalarScale: Float32Array;
  readonly userLayers: readonly DenseLayer[];
  readonly itemLayers: readonly DenseLayer[];
}

/** The part of the model a request-time user encoder needs. */
export interface UserTowerWeights {
  readonly schema: FeatureSchema;
  readonly architecture: Architecture;
  readonly userId: Float32Array;
  readonly itemId: Float32Array;
  readonly userCategorical: readonly Float32Array[];
  readonly userNumericMean: Float32Array;
  readonly userNumericScale: Float32Array;
  readonly userLayers: readonly DenseLayer[];
}

export function userInputDim(schema: FeatureSchema, arch: Architecture): number {
  return 2 * arch.idDim + schema.userNumericDim + schema.userCategoricalCardinalities.length * arch.categoricalDim;
}

export const ITEM_SCALARS = 2;

export function itemInputDim(schema: FeatureSchema, arch: Architecture): number {
  return arch.idDim + arch.categoricalDim + schema.numTags + ITEM_SCALARS;
}

function uniform(rng: Rng, size: number, limit: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniform(-limit, limit);
  return out;
}

function mlp(rng: Rng, inDim: number, arch: Architecture): DenseLayer[] {
  const dims = [inDim, ...arch.hiddenDims, arch.outputDim];
  const layers: DenseLayer[] = [];
  for (let l = 0; l + 1 < dims.length; l++) {
    const a = dims[l] as number;
    const b = dims[l + 1] as number;
    // Glorot uniform: keeps activations' variance steady through the layers.
    layers.push({ inDim: a, outDim: b, kernel: uniform(rng, a * b, Math.sqrt(6 / (a + b))), bias: new Float32Array(b) });
  }
  return layers;
}

const EMBEDDING_INIT = 0.05;

export function initWeights(
  schema: FeatureSchema,
  arch: Architecture,
  rng: Rng,
  stats: Pick<TwoTowerWeights, "userNumericMean" | "userNumericScale" | "itemScalarMean" | "itemScalarScale">,
): TwoTowerWeights {
  return {
    userId: uniform(rng, (schema.numUsers + 1) * arch.idDim, EMBEDDING_INIT),
    itemId: uniform(rng, (schema.numItems + 1) * arch.idDim, EMBEDDING_INIT),
    userCategorical: schema.userCategoricalCardinalities.map((c) => uniform(rng, (c + 1) * arch.categoricalDim, EMBEDDING_INIT)),
    itemCategory: uniform(rng, (schema.numItemCategories + 1) * arch.categoricalDim, EMBEDDING_INIT),
    ...stats,
    userLayers: mlp(rng, userInputDim(schema, arch), arch),
    itemLayers: mlp(rng, itemInputDim(schema, arch), arch),
  };
}

export interface NamedArray {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** A stable flat listing, the order of the saved weights file. */
export function listWeights(w: TwoTowerWeights, schema: FeatureSchema, arch: Architecture): NamedArray[] {
  const out: NamedArray[] = [
    { name: "user.id_embedding", shape: [schema.numUsers + 1, arch.idDim], values: w.userId },
    { name: "item.id_embedding", shape: [schema.numItems + 1, arch.idDim], values: w.itemId },
  ];
  w.userCategorical.forEach((t, k) =>
    out.push({ name: `user.categorical_${k}`, shape: [(schema.userCategoricalCardinalities[k] as number) + 1, arch.categoricalDim], values: t }),
  );
  out.push(
    { name: "item.category_embedding", shape: [schema.numItemCategories + 1, arch.categoricalDim], values: w.itemCategory },
    { name: "user.numeric_mean", shape: [schema.userNumericDim], values: w.userNumericMean },
    { name: "user.numeric_scale", shape: [schema.userNumericDim], values: w.userNumericScale },
    { name: "item.scalar_mean", shape: [ITEM_SCALARS], values: w.itemScalarMean },
    { name: "item.scalar_scale", shape: [ITEM_SCALARS], values: w.itemScalarScale },
  );
  const dense = (tower: string, layers: readonly DenseLayer[]) =>
    layers.forEach((l, i) =>
      out.push(
        { name: `${tower}.dense_${i}.kernel`, shape: [l.inDim, l.outDim], values: l.kernel },
        { name: `${tower}.dense_${i}.bias`, shape: [l.outDim], values: l.bias },
      ),
    );
  dense("user", w.userLayers);
  dense("item", w.itemLayers);
  return out;
}

/** Inverse of listWeights: rebuilds the structure from arrays looked up by name. */
export function weightsFromLookup(lookup: (name: string) => Float32Array, schema: FeatureSchema, arch: Architecture): TwoTowerWeights {
  const layers = (tower: string, inDim: number): DenseLayer[] => {
    const dims = [inDim, ...arch.hiddenDims, arch.outputDim];
    return dims.slice(1).map((outDim, i) => ({
      inDim: dims[i] as number,
      outDim,
      kernel: lookup(`${tower}.dense_${i}.kernel`),
      bias: lookup(`${tower}.dense_${i}.bias`),
    }));
  };
  return {
    userId: lookup("user.id_embedding"),
    itemId: lookup("item.id_embedding"),
    userCategorical: schema.userCategoricalCardinalities.map((_, k) => lookup(`user.categorical_${k}`)),
    itemCategory: lookup("item.category_embedding"),
    userNumericMean: lookup("user.numeric_mean"),
    userNumericScale: lookup("user.numeric_scale"),
    itemScalarMean: lookup("item.scalar_mean"),
    itemScalarScale: lookup("item.scalar_scale"),
    userLayers: layers("user", userInputDim(schema, arch)),
    itemLayers: layers("item", itemInputDim(schema, arch)),
  };
}
