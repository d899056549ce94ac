/**
 * A seeded synthetic feature world for tests and the benchmark: standard-normal numeric features
 * `x0..`, categorical features `c0..` over five categories with fixed skewed weights, and a model
 * score in (0, 1). Shifts are opt-in per feature.
 */
import type { Rng } from "@mlsd/random";
import { buildReference, createDriftReference, type DriftEvent, type DriftReference, type FeatureReference } from "../src/index";

export const CATEGORIES = ["a", "b", "c", "d", "e"] as const;
export const CATEGORY_WEIGHTS = [0.4, 0.25, 0.15, 0.12, 0.08] as const;

export interface Shift {
  /** Added to the mean of these numeric features (in standard deviations). */
  meanShift?: Record<string, number>;
  /** Replacement category weights for these categorical features. */
  categoryWeights?: Record<string, readonly number[]>;
}

export class World {
  readonly numeric: string[];
  readonly categorical: string[];

  constructor(numericCount: number, categoricalCount: number) {
    this.numeric = Array.from({ length: numericCount }, (_, i) => `x${i}`);
    this.categorical = Array.from({ length: categoricalCount }, (_, i) => `c${i}`);
  }

  get featureCount(): number {
    return this.numeric.length + this.categorical.length;
  }

  pickCategory(rng: Rng, weights: readonly number[] = CATEGORY_WEIGHTS): string {
    let u = rng.next();
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i] as number;
      if (u < 0) return CATEGORIES[i] as string;
    }
    return CATEGORIES[CATEGORIES.length - 1] as string;
  }

  event(rng: Rng, time: number, shift: Shift = {}): DriftEvent {
    const features: Record<string, number | string> = {};
    for (const name of this.numeric) features[name] = rng.normal(shift.meanShift?.[name] ?? 0, 1);
    for (const name of this.categorical) features[name] = this.pickCategory(rng, shift.categoryWeights?.[name]);
    return { time, features, score: 1 / (1 + Math.exp(-rng.normal(-1, 1))) };
  }

  reference(rng: Rng, size: number, withScore = false): DriftReference {
    const events = Array.from({ length: size }, (_, i) => this.event(rng, i));
    const features: FeatureReference[] = [
      ...this.numeric.map((name) => buildReference(name, events.map((e) => e.features[name]), { kind: "numeric" })),
      ...this.categorical.map((name) => buildReference(name, events.map((e) => e.features[name]), { kind: "categorical" })),
    ];
    const score = withScore ? buildReference("score", events.map((e) => e.score), { kind: "numeric" }) : null;
    return createDriftReference({ features, score, createdAt: "2025-01-01T00:00:00.000Z" });
  }
}
