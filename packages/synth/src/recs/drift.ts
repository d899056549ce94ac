import { Rng } from "@mlsd/random";
import { createItems, recWorldPriors, RecWorld, RecWorldOptionsError, type RecItems } from "./world";

/**
 * Drift hooks: each returns a new world that differs from the given one in one way, leaving the
 * given world untouched (a live simulation swaps worlds at the drift's time). Their random draws
 * come from their own seed, so the rest of a simulation keeps its stream.
 */

export interface PreferenceShiftOptions {
  /** Share of users whose taste moves (default 0.5). */
  share?: number;
  /**
   * How far each moving taste vector turns toward another category's centroid, in degrees
   * (default 60; 90 leaves nothing of the old direction).
   */
  angleDegrees?: number;
  seed?: number;
}

export interface PreferenceShift {
  world: RecWorld;
  /** Users whose taste moved, ascending. */
  shifted: Int32Array;
}

/**
 * Tastes rotate: a share of the users turn toward a category other than their home one (their
 * declared profile stays the same, so nothing the system stores says it happened). The norm of
 * each taste vector is kept, so only the direction, not the overall click propensity, changes.
 */
export function shiftPreferences(world: RecWorld, options: PreferenceShiftOptions = {}): PreferenceShift {
  const share = options.share ?? 0.5;
  const angle = ((options.angleDegrees ?? 60) * Math.PI) / 180;
  if (!(share >= 0 && share <= 1)) throw new RecWorldOptionsError("share", `must be in [0, 1], got ${share}`);
  if (!(angle >= 0 && angle <= Math.PI)) throw new RecWorldOptionsError("angleDegrees", `must be in [0, 180], got ${options.angleDegrees}`);
  const o = world.options;
  if (o.numCategories < 2) throw new RecWorldOptionsError("numCategories", "a preference shift needs at least two categories");
  const rng = new Rng(options.seed ?? o.seed + 0x5eed);
  const d = o.dim;
  const factors = Float32Array.from(world.users.factors);
  const centroids = world.categoryCentroids;
  const shifted: number[] = [];
  const unit = new Float64Array(d);
  const toward = new Float64Array(d);
  for (let u = 0; u < world.numUsers; u++) {
    if (!rng.bernoulli(share)) continue;
    const home = world.users.homeCategory[u] as number;
    const target = (home + 1 + rng.int(o.numCategories - 1)) % o.numCategories;
    let norm = 0;
    for (let k = 0; k < d; k++) norm += (factors[u * d + k] as number) ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    let along = 0;
    for (let k = 0; k < d; k++) {
      unit[k] = (factors[u * d + k] as number) / norm;
      along += (centroids[target * d + k] as number) * (unit[k] as number);
    }
    // The part of the target centroid orthogonal to the current taste: the plane of the rotation.
    let orthNorm = 0;
    for (let k = 0; k < d; k++) {
      toward[k] = (centroids[target * d + k] as number) - along * (unit[k] as number);
      orthNorm += (toward[k] as number) ** 2;
    }
    orthNorm = Math.sqrt(orthNorm);
    if (orthNorm < 1e-9) continue;
    for (let k = 0; k < d; k++) {
      factors[u * d + k] = norm * (Math.cos(angle) * (unit[k] as number) + (Math.sin(angle) * (toward[k] as number)) / orthNorm);
    }
    shifted.push(u);
  }
  return { world: new RecWorld(o, centroids, world.items, { ...world.users, factors }), shifted: Int32Array.from(shifted) };
}

export interface ItemBatchOptions {
  /** Items added; they get the next ids (numItems, numItems + 1, ...). */
  count: number;
  /** When they are released (world day). */
  releaseDay: number;
  /** Added to the batch's quality (standard normal before): a batch of fresh hits when positive (default 0.5). */
  qualityShift?: number;
  seed?: number;
}

/**
 * A new batch of items arrives: drawn like the catalogue (categories, tags, taste vectors around
 * the same centroids), released together, ranked after every existing item in popularity (nobody
 * has clicked them yet), and better on average when `qualityShift` is positive.
 */
export function addItemBatch(world: RecWorld, options: ItemBatchOptions): RecWorld {
  const { count, releaseDay } = options;
  const shift = options.qualityShift ?? 0.5;
  if (!Number.isInteger(count) || count < 1) throw new RecWorldOptionsError("count", `must be a positive integer, got ${count}`);
  if (!Number.isFinite(releaseDay)) throw new RecWorldOptionsError("releaseDay", `must be finite, got ${releaseDay}`);
  if (!Number.isFinite(shift)) throw new RecWorldOptionsError("qualityShift", `must be finite, got ${options.qualityShift}`);
  const o = world.options;
  const n = world.numItems;
  const priors = recWorldPriors(o);
  const batch = createItems({ ...o, numItems: count }, new Rng(options.seed ?? o.seed + 0xba7c), priors.centroids, priors.tagPools, priors.categoryTable);
  const concat = <A extends Float32Array | Uint16Array | Uint32Array>(a: A, b: A, make: (size: number) => A): A => {
    const out = make(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  };
  const popularityRank = concat(world.items.popularityRank, batch.popularityRank.map((r) => n + r), (s) => new Uint32Array(s));
  const items: RecItems = {
    factors: concat(world.items.factors, batch.factors, (s) => new Float32Array(s)),
    category: concat(world.items.category, batch.category, (s) => new Uint16Array(s)),
    tags: concat(world.items.tags, batch.tags, (s) => new Uint16Array(s)),
    quality: concat(world.items.quality, batch.quality.map((q) => q + shift), (s) => new Float32Array(s)),
    releaseDay: concat(world.items.releaseDay, new Float32Array(count).fill(releaseDay), (s) => new Float32Array(s)),
    popularityRank,
    popularity: Float32Array.from(popularityRank, (r) => 1 / (r + 1) ** o.zipfExponent),
  };
  return new RecWorld(Object.freeze({ ...o, numItems: n + count }), world.categoryCentroids, items, world.users);
}
