export { initBackend, backendName, type BackendLog } from "./backend";
export { fastUnsortedSegmentSum, useFastSegmentSum, useStockSegmentSum, isFastSegmentSumActive } from "./segment-sum";
export {
  buildHistories,
  itemCounts,
  itemsSeenByUser,
  sampleHistories,
  schemaOf,
  validateTrainingData,
  type EvalSet,
  type FeatureSchema,
  type Histories,
  type InteractionLog,
  type ItemContent,
  type ItemFeatures,
  type TrainingData,
  type UserFeatures,
  type UserQuery,
} from "./data";
export { TwoTowerInputError, ModelArtifactError } from "./errors";
export { DEFAULT_TWO_TOWER_CONFIG, resolveConfig, type NegativeMining, type TwoTowerConfig } from "./model-config";
export { TwoTowerModel, type FitOptions, type FitReport } from "./model";
export type { ItemRows, UserRows } from "./features";
export type { Architecture, DenseLayer, TwoTowerWeights, UserTowerWeights } from "./weights";
export { UserEncoder, loadUserEncoder, loadItemEmbeddings } from "./serving";
export { fitLowRankEase, linearScores, linearUserVector, saveLinearTowers, type LinearTowers, type LinearTowersArtifactInput, type LowRankEaseOptions } from "./closed-form";
export { ARTIFACT_FORMAT, ARTIFACT_FORMAT_VERSION, readArtifact, type ArtifactManifest } from "./artifact";
export {
  recallAtK,
  recommendForEvalSet,
  topKByDot,
  hitRate,
  popularityRanks,
  meanPopularityRank,
  mostPopularLists,
  type ExcludeFn,
  type RecallOptions,
} from "./evaluate";
