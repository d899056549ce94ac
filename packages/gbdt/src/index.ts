export { Dataset, BinMapper, type DatasetOptions, type DenseMatrix, type FeatureRows } from "./dataset";
export { GbdtInputError, GbdtModelFormatError, type GbdtInputErrorCode, type GbdtModelFormatErrorCode } from "./errors";
export { contributions, featureImportance, topReasons, type FeatureImportance, type ImportanceKind, type Reason } from "./explain";
export { GbdtModel, MODEL_FORMAT, MODEL_FORMAT_VERSION, type GbdtModelInit, type GbdtModelJson, type TreeJson } from "./model";
export { sigmoid, transformMargin } from "./objectives";
export { resolveParams, type EvalMetricName, type ObjectiveName, type TrainParams, type TrainParamsInput } from "./params";
export { Predictor } from "./predictor";
export { train, type EvalRecord, type TrainOptions, type TrainResult } from "./train";
export type { Tree } from "./tree";
