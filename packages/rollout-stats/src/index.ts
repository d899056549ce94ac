export { normalCdf, normalDensity, normalQuantile, normalSurvival } from "./normal";
export { checkMoments, MeanStat, ProportionStat, RatioStat, type Moments } from "./accumulators";
export { LatencyStat, type LatencyStatJson, type LatencyStatOptions, type LatencySummary, type QuantileSource } from "./latency";
export {
  contrastVariance,
  horizonTau2Factor,
  mixtureHalfWidth,
  mixtureLogLikelihoodRatio,
  sequentialTest,
  sequentialZBoundary,
  tau2ForHorizon,
  type Direction,
  type SequentialResult,
  type SequentialTestInput,
  type Tau2ForHorizonInput,
  type Verdict,
} from "./sequential";
export {
  mdeForSampleSize,
  sampleSizeForMde,
  sampleSizeForMeanMde,
  twoProportionPower,
  twoProportionZTest,
  type Alternative,
  type Counts,
  type PlannedTest,
  type SampleSizeInput,
  type SampleSizeResult,
  type ZTestResult,
} from "./fixed-horizon";
export {
  evaluateGuardrails,
  type ArmHealth,
  type ErrorRateGuardrailSpec,
  type EvaluateGuardrailsInput,
  type GuardrailName,
  type GuardrailResult,
  type GuardrailSpec,
  type GuardrailStatus,
  type LatencyGuardrailSpec,
  type PrimaryDropGuardrailSpec,
} from "./guardrails";
export { decideStage, DEFAULT_STAGES, type BudgetPolicy, type Stage, type StageAction, type StageDecision, type StageDecisionInput } from "./decide";
