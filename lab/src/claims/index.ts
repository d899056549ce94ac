import type { AnyClaimExperiment } from "../harness/experiment";
import supervisedVsAnomaly from "./6-supervised-vs-anomaly";
import labelLeakage from "./10-label-leakage";
import timeSplit from "./11-time-split";
import imbalance from "./12-imbalance";
import driftLead from "./13-drift-lead";
import featureStoreSkew from "./14-feature-store-skew";
import gbdtVsMlp from "./15-gbdt-vs-mlp";
import distillation from "./25-distillation";
import calibrationDrift from "./30-calibration-drift";
import retrainPolicy from "./32-retrain-policy";
import sizePareto from "./34-size-pareto";
import costThresholds from "./35-cost-thresholds";
import streamingFeatures from "./37-streaming-features";
import adversarialAdaptation from "./40-adversarial-adaptation";
import calibrationMoney from "./47-calibration-money";
import offlineVsOnline from "./x2-offline-vs-online";
import precisionFloor from "./x6-precision-floor";
import twoStage from "./18-two-stage";
import logqCorrection from "./19-logq-correction";
import coldStart from "./20-cold-start";
import int8Embeddings from "./24-int8-embeddings";
import hnswVsExact from "./26-hnsw-vs-exact";
import hardNegatives from "./x3-hard-negatives";
import rankingObjectives from "./9-ranking-objectives";
import positionBias from "./x1-position-bias";
import feedbackLoops from "./33-feedback-loops";
import diversityLoop from "./x4-diversity-loop";
import precomputeVsOnline from "./21-precompute-vs-online";
import featureLookup from "./22-feature-lookup";
import resultCache from "./23-result-cache";
import fanoutTail from "./27-fanout-tail";
import rolloutModes from "./31-rollout-modes";
import rollback from "./38-rollback";
import fallbacks from "./39-fallbacks";
import ctrGuardrail from "./x5-ctr-guardrail";

/** Every claim of the lab, in catalogue order. */
export const CLAIMS: readonly AnyClaimExperiment[] = [
  supervisedVsAnomaly,
  rankingObjectives,
  labelLeakage,
  timeSplit,
  imbalance,
  driftLead,
  featureStoreSkew,
  gbdtVsMlp,
  twoStage,
  logqCorrection,
  coldStart,
  precomputeVsOnline,
  featureLookup,
  resultCache,
  int8Embeddings,
  distillation,
  hnswVsExact,
  fanoutTail,
  calibrationDrift,
  rolloutModes,
  retrainPolicy,
  feedbackLoops,
  sizePareto,
  costThresholds,
  streamingFeatures,
  rollback,
  fallbacks,
  adversarialAdaptation,
  calibrationMoney,
  positionBias,
  offlineVsOnline,
  hardNegatives,
  diversityLoop,
  ctrGuardrail,
  precisionFloor,
];

export function findClaim(id: string): AnyClaimExperiment | undefined {
  const key = id.trim().toLowerCase();
  return CLAIMS.find((c) => [c.id, ...c.aliases].some((i) => i.toLowerCase() === key));
}
