import { createRecWorld, type RecWorld } from "@mlsd/synth";

export interface EmbeddingWorldSize {
  items: number;
  /** Users whose taste vectors are the queries. */
  queries: number;
  dim: number;
}

export interface EmbeddingWorld {
  world: RecWorld;
  dim: number;
  /** numItems x dim, row-major: the items' latent taste vectors. */
  items: Float32Array;
  ids: number[];
  /** queries x dim, row-major: the first `queries` users' taste vectors. */
  queries: Float32Array;
}

/**
 * The recs world's own latent vectors as retrieval embeddings: what a perfectly trained two-tower
 * model would output (the world's true affinity is their dot product). Items cluster around
 * category centroids and popular categories hold more items, which is what makes ANN search hard.
 */
export function worldEmbeddings(seed: number, size: EmbeddingWorldSize): EmbeddingWorld {
  if (!(size.queries > 0 && size.items > 0)) throw new RangeError(`embedding world: items and queries must be positive, got ${size.items} and ${size.queries}`);
  const world = createRecWorld({ seed, numItems: size.items, numUsers: size.queries, dim: size.dim });
  return {
    world,
    dim: size.dim,
    items: world.items.factors,
    ids: Array.from({ length: size.items }, (_, i) => i),
    queries: world.users.factors,
  };
}
