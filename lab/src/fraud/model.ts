import type { FraudFeatureMatrix } from "@mlsd/feature-store";
import { Dataset, Predictor, train, type GbdtModel, type TrainParamsInput } from "@mlsd/gbdt";
import { matrixRows } from "./data";

/**
 * The lab's fraud GBDT: the trainer's recipe (binary log-loss, row and column subsampling) with
 * fewer, shallower trees so that a claim trains several models per seed in seconds.
 */
export const LAB_GBDT: Readonly<TrainParamsInput> = Object.freeze({
  objective: "binary",
  numRounds: 150,
  learningRate: 0.1,
  maxDepth: 5,
  lambda: 1,
  minChildWeight: 1,
  subsample: 0.8,
  colsampleByTree: 0.8,
  seed: 7,
});

export interface TrainedModel {
  model: GbdtModel;
  predictor: Predictor;
  seconds: number;
}

export interface TrainInput {
  matrix: FraudFeatureMatrix;
  rows: ArrayLike<number>;
  labels: ArrayLike<number>;
  weights?: ArrayLike<number>;
  params?: Partial<TrainParamsInput>;
  /** With it, training stops early on validation log-loss. */
  validation?: { rows: ArrayLike<number>; labels: ArrayLike<number> };
  /** Another matrix for the validation rows (default: the training matrix). */
  validationMatrix?: FraudFeatureMatrix;
}

export function trainGbdt(input: TrainInput): TrainedModel {
  const params: TrainParamsInput = { ...LAB_GBDT, ...input.params } as TrainParamsInput;
  const data = Dataset.fromRows(matrixRows(input.matrix, input.rows), {
    labels: input.labels,
    ...(input.weights ? { weights: input.weights } : {}),
    featureNames: input.matrix.names,
    seed: 7,
  });
  const v = input.validation;
  const validation = v ? Dataset.fromRows(matrixRows(input.validationMatrix ?? input.matrix, v.rows), { labels: v.labels, reference: data }) : undefined;
  const t0 = performance.now();
  const result = train(data, validation ? { earlyStoppingRounds: 20, ...params } : params, validation ? { validation } : {});
  const seconds = (performance.now() - t0) / 1000;
  return { model: result.model, predictor: new Predictor(result.model), seconds };
}

export function scoreRows(predictor: Predictor, matrix: FraudFeatureMatrix, rows: ArrayLike<number>): Float64Array {
  return predictor.predictBatch(matrixRows(matrix, rows));
}
