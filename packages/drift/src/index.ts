export { DriftError, type DriftErrorCode } from "./errors";
export {
  buildReference,
  createDriftReference,
  parseDriftReference,
  serializeDriftReference,
  DRIFT_REFERENCE_FORMAT,
  DRIFT_REFERENCE_VERSION,
  type BuildReferenceOptions,
  type CategoricalFeatureReference,
  type DriftReference,
  type DriftReferenceInput,
  type FeatureKind,
  type FeatureReference,
  type NumericFeatureReference,
  type RawValue,
} from "./reference";
export { createBinner, type FeatureBinner } from "./binner";
export {
  populationStabilityIndex,
  psiBand,
  jensenShannonDivergence,
  chiSquareHomogeneity,
  ksStatistic,
  ksFromHistograms,
  ksPValue,
  DEFAULT_PSI_BANDS,
  DEFAULT_PSI_EPSILON,
  type ChiSquareResult,
  type PsiBand,
  type PsiBands,
} from "./statistics";
export { chiSquareSurvival, kolmogorovSurvival, logGamma, regularizedGammaP, regularizedGammaQ } from "./special-functions";
export { MultinomialSampler, sampleBinomial } from "./sampling";
export { PsiNullCache, PsiNullDistribution, type PsiNullCacheOptions } from "./null-distribution";
export { adjustPValues, bonferroniAdjust, holmAdjust, type Correction } from "./multiple-testing";
export { CountWindow, TimeWindow, type BinnedWindow } from "./windows";
export {
  DriftDetector,
  type AlertTransition,
  type DriftDetectorOptions,
  type DriftEvaluation,
  type DriftEvent,
  type FeatureDriftResult,
  type WindowSpec,
} from "./detector";
export { DelayedLabelTracker, type BucketReport, type DelayedLabelOptions, type DelayedLabelStats } from "./delayed-labels";
