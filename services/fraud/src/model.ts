import type { ReasonCode } from "@mlsd/contracts";

export interface DecisionThresholds {
  /** Scores at or above this go to manual review. */
  review: number;
  /** Scores at or above this are declined. */
  decline: number;
}

export interface ScoredTransaction {
  probability: number;
  /** The features that pushed the score most toward fraud, strongest first. */
  reasons: ReasonCode[];
}

/** What the scoring path needs from a model; the GBDT adapter and test doubles implement it. */
export interface FraudModel {
  readonly version: string;
  readonly featureNames: readonly string[];
  readonly featureSchemaHash: string;
  readonly thresholds: DecisionThresholds;
  score(features: Float64Array, reasonCount: number): ScoredTransaction;
}

export function decide(probability: number, thresholds: DecisionThresholds): "approve" | "review" | "decline" {
  if (probability >= thresholds.decline) return "decline";
  if (probability >= thresholds.review) return "review";
  return "approve";
}
