import type { FeatureVector } from "@mlsd/contracts";
import { buildReference, createDriftReference } from "@mlsd/drift";
import type { LoadedReference } from "./monitor";

/**
 * A baseline taken from the first predictions a model version serves, for models whose training
 * data does not look like what they serve: the ranker is trained on slates a logging policy chose,
 * but serves the top of its own ranking, so its training distribution would raise an alarm on the
 * first normal minute. Drift is then measured against the model's own first window of traffic.
 */
export class LiveReferenceBuilder {
  private readonly rows: FeatureVector[] = [];
  private readonly scores: number[] = [];

  constructor(
    readonly model: string,
    /** Predictions collected before the reference is built. */
    readonly size: number,
  ) {
    if (!(size >= 100)) throw new RangeError(`a live reference needs at least 100 predictions, got ${size}`);
  }

  get collected(): number {
    return this.rows.length;
  }

  /** Adds one prediction; returns the reference once `size` have been seen. */
  add(features: FeatureVector, score: number): LoadedReference | null {
    if (this.rows.length >= this.size) return null;
    this.rows.push(features);
    this.scores.push(score);
    if (this.rows.length < this.size) return null;
    // A feature null in every row of the window (e.g. a profile field no user of the first answers
    // had) has no distribution to compare against: it is left out, not allowed to fail the build,
    // which used to leave the builder full and the model unwatched for good.
    const names = [...new Set(this.rows.flatMap((r) => Object.keys(r)))].filter((name) => this.rows.some((r) => Number.isFinite(r[name]))).sort();
    const reference = createDriftReference({
      features: names.map((name) => buildReference(name, this.rows.map((r) => r[name] ?? null), { kind: "numeric", bins: 10 })),
      score: buildReference("score", this.scores, { kind: "numeric", bins: 10 }),
    });
    return { id: `${this.model}@live`, version: "live", reference };
  }
}
