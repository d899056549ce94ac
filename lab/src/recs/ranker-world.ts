import { recsFeaturesAsOf, type MemoryRecsFeatureStore } from "@mlsd/feature-store";
import { ndcgAtK } from "@mlsd/ml-metrics";
import { Rng } from "@mlsd/random";
import { createRecWorld, simulateInteractions, type ImpressionLog, type RecWorld } from "@mlsd/synth";
import { trainRanker, type TrainRankerResult } from "@mlsd/trainer/src/recs/ranker";
import { worldCatalogue, worldDayToMs, worldSessions } from "@mlsd/trainer/src/recs/ranker-data";

export interface RankerWorldSize {
  users: number;
  items: number;
  /** Mean logged sessions per user over the world's period (the trainer's presets use 5-10). */
  sessionsPerUser: number;
  /** Standard deviation of the noise added to each coordinate of a taste vector, times sqrt(dim). */
  embeddingNoise: number;
  /** Upper bound on boosting rounds (early stopping on validation NDCG usually stops sooner). */
  rankerRounds: number;
}

/** Retrieval embeddings: the world's taste vectors plus seeded noise, so retrieval is good but not perfect. */
export interface Embeddings {
  dim: number;
  users: Float32Array;
  items: Float32Array;
}

export function noisyEmbeddings(world: RecWorld, noise: number, seed: number): Embeddings {
  if (!(noise >= 0)) throw new RangeError(`embedding noise must be >= 0, got ${noise}`);
  const d = world.options.dim;
  const rng = new Rng(seed * 7_919 + 13);
  const sd = noise / Math.sqrt(d);
  const perturb = (f: Float32Array) => Float32Array.from(f, (x) => x + sd * rng.normal());
  return { dim: d, users: perturb(world.users.factors), items: perturb(world.items.factors) };
}

export function dot(a: Float32Array, aRow: number, b: Float32Array, bRow: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += (a[aRow * dim + j] as number) * (b[bRow * dim + j] as number);
  return s;
}

export interface RankerWorld {
  world: RecWorld;
  impressions: ImpressionLog;
  embeddings: Embeddings;
  /** The trainer's ranker (LambdaRank and pointwise) on the logged slates, retrieval score from the embeddings. */
  ranker: TrainRankerResult;
  /** The online feature store as it stood at the training cut-off: what serving reads at that moment. */
  features: MemoryRecsFeatureStore;
  cutoffMs: number;
}

/**
 * The recommendation world the trainer trains on (@mlsd/synth's world and logged sessions, the
 * trainer's own ranker training and split), with noisy latent vectors standing in for the
 * two-tower model so no TensorFlow training is needed.
 */
export async function rankerWorld(seed: number, size: RankerWorldSize, log: (line: string) => void): Promise<RankerWorld> {
  const world = createRecWorld({ seed, numUsers: size.users, numItems: size.items });
  const impressions = simulateInteractions(world, { seed: seed + 1, sessionsPerUser: size.sessionsPerUser, slateSize: 10 });
  const embeddings = noisyEmbeddings(world, size.embeddingNoise, seed);
  log(`world: ${world.numUsers} users, ${world.numItems} items, ${impressions.length} impressions; training the ranker`);
  const ranker = await trainRanker({
    world,
    impressions,
    scorer: (u, i) => dot(embeddings.users, u, embeddings.items, i, embeddings.dim),
    scorerName: `noisy latent vectors (noise ${size.embeddingNoise})`,
    lambdarank: { numRounds: size.rankerRounds },
    pointwise: { numRounds: size.rankerRounds },
    log,
  });
  const cutoffMs = worldDayToMs(world.options.trainCutoffDay);
  const features = recsFeaturesAsOf(worldSessions(world, impressions), cutoffMs, { catalogue: worldCatalogue(world) });
  return { world, impressions, embeddings, ranker, features, cutoffMs };
}

/** Items released by `day`: what can be recommended then. */
export function releasedItems(world: RecWorld, day: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < world.numItems; i++) if (world.isReleased(i, day)) out.push(i);
  return out;
}

/** Users signed up by `day`, a seeded sample of `count` of them. */
export function sampleUsers(world: RecWorld, day: number, count: number, seed: number): number[] {
  const known: number[] = [];
  for (let u = 0; u < world.numUsers; u++) if ((world.users.signupDay[u] as number) <= day) known.push(u);
  const rng = new Rng(seed);
  return rng.sampleIndices(known.length, Math.min(count, known.length)).map((j) => known[j] as number);
}

/**
 * NDCG@k of a recommended list against the world's true relevance over every candidate item: the
 * ideal list is the k most relevant items of the whole candidate set, not of the list.
 */
export class TrueNdcg {
  private readonly ideal = new Map<number, { items: number[]; gains: number[] }>();

  constructor(
    private readonly world: RecWorld,
    private readonly candidates: readonly number[],
    private readonly k: number,
  ) {}

  of(user: number, ranked: readonly number[]): number {
    const top = this.idealOf(user);
    const gains = new Map<number, number>();
    top.items.forEach((item, j) => gains.set(item, top.gains[j] as number));
    for (const item of ranked.slice(0, this.k)) gains.set(item, this.world.relevanceUnchecked(user, item));
    return ndcgAtK(ranked, gains, this.k);
  }

  /** The k most relevant candidates for the user. */
  idealItems(user: number): number[] {
    return this.idealOf(user).items;
  }

  private idealOf(user: number): { items: number[]; gains: number[] } {
    let top = this.ideal.get(user);
    if (!top) {
      const scored = this.candidates.map((i) => [this.world.relevanceUnchecked(user, i), i] as const);
      scored.sort((a, b) => b[0] - a[0]);
      top = { items: scored.slice(0, this.k).map(([, i]) => i), gains: scored.slice(0, this.k).map(([g]) => g) };
      this.ideal.set(user, top);
    }
    return top;
  }
}
