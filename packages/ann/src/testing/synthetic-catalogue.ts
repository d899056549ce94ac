import { AliasTable, Rng } from "@mlsd/random";

export interface ClusteredWorldOptions {
  items: number;
  queries: number;
  dim: number;
  seed: number;
  /** Topic clusters; sizes follow a Zipf-like law so a few topics dominate. */
  clusters?: number;
  /** Within-cluster spread relative to the unit-length cluster centre. */
  spread?: number;
  /** Log-normal sigma of item norms: popular items get longer vectors, so inner product != cosine. */
  normSigma?: number;
}

export interface ClusteredWorld {
  dim: number;
  /** Row-major items x dim. */
  items: Float32Array;
  ids: number[];
  /** Row-major queries x dim, user-like mixtures of two topics. */
  queries: Float32Array;
}

function normaliseInto(out: Float32Array, offset: number, v: Float64Array, length: number): void {
  let norm = 0;
  for (const x of v) norm += x * x;
  const scale = length / Math.sqrt(norm);
  for (let j = 0; j < v.length; j++) out[offset + j] = (v[j] as number) * scale;
}

/**
 * Seeded stand-in for two-tower embeddings: a mixture of Gaussians on the sphere, item norms with a
 * popularity-like spread, and queries that mix two topics the way a user's history does.
 */
export function clusteredWorld(options: ClusteredWorldOptions): ClusteredWorld {
  const { items, queries, dim, seed } = options;
  const clusters = options.clusters ?? 100;
  const spread = options.spread ?? 0.7;
  const normSigma = options.normSigma ?? 0.4;
  const rng = new Rng(seed);
  const noise = spread / Math.sqrt(dim);

  const centres: Float64Array[] = [];
  for (let c = 0; c < clusters; c++) {
    const v = Float64Array.from({ length: dim }, () => rng.normal());
    const n = Math.hypot(...v);
    centres.push(v.map((x) => x / n));
  }
  const topic = new AliasTable(Array.from({ length: clusters }, (_, c) => 1 / (c + 1) ** 0.8));

  const itemVectors = new Float32Array(items * dim);
  const v = new Float64Array(dim);
  for (let i = 0; i < items; i++) {
    const centre = centres[topic.sample(rng)] as Float64Array;
    for (let j = 0; j < dim; j++) v[j] = (centre[j] as number) + noise * rng.normal();
    normaliseInto(itemVectors, i * dim, v, Math.exp(normSigma * rng.normal()));
  }

  const queryVectors = new Float32Array(queries * dim);
  for (let q = 0; q < queries; q++) {
    const a = centres[topic.sample(rng)] as Float64Array;
    const b = centres[topic.sample(rng)] as Float64Array;
    const w = rng.uniform(0.5, 1);
    for (let j = 0; j < dim; j++) v[j] = w * (a[j] as number) + (1 - w) * (b[j] as number) + noise * rng.normal();
    normaliseInto(queryVectors, q * dim, v, 1);
  }

  return { dim, items: itemVectors, ids: Array.from({ length: items }, (_, i) => i), queries: queryVectors };
}
