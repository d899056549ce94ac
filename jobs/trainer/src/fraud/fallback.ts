import type { FraudFeatureMatrix } from "@mlsd/feature-store";
import { Dataset, Predictor, train, type GbdtModel, type TrainParamsInput } from "@mlsd/gbdt";
import { averagePrecision, rocAuc } from "@mlsd/ml-metrics";
import type { FraudFallback } from "@mlsd/model-formats/fraud";
import { chooseThresholds, type DecisionCosts } from "@mlsd/decisions";
import { selectFeatureRows as selectRows } from "@mlsd/feature-store";

/** The features a transaction request carries by itself: what is left when the feature store is down. */
export const REQUEST_FEATURES = ["TX_AMOUNT", "TX_DURING_WEEKEND", "TX_DURING_NIGHT"] as const;

/** Test-window quality of the three ways to answer: in full, degraded through the main model, degraded through the fallback. */
export interface DegradedQuality {
  rows: number;
  full: { rocAuc: number; averagePrecision: number };
  /** The main model given the request features only (the store's features missing). */
  mainWithoutStore: { rocAuc: number; averagePrecision: number };
  fallback: { rocAuc: number; averagePrecision: number };
}

export interface FallbackInput {
  matrix: FraudFeatureMatrix;
  rows: { train: Int32Array; valid: Int32Array; test: Int32Array };
  labels: { train: ArrayLike<number>; valid: ArrayLike<number>; test: ArrayLike<number> };
  /** The validation rows as costed rows (amounts, days), for thresholds chosen as the main model's are. */
  costRows: (rows: Int32Array, scores: Float64Array) => Parameters<typeof chooseThresholds>[0];
  costs: DecisionCosts;
  main: GbdtModel;
  params: TrainParamsInput;
  /** As the main model's training data: bin edges the labels place (`@mlsd/gbdt`'s `labelEdges`). */
  labelEdges?: number;
}

/**
 * The degraded mode's model, and the measure of what degrading costs. When Redis is down the
 * service knows only the request: scoring it with the main model leaves every other feature missing
 * (a vector the trees never saw in training, routed by default directions); a small GBDT trained
 * on exactly the request features is the alternative. Both are measured on the test window next
 * to the full model, and the fallback's thresholds are chosen on validation like the main model's.
 */
export function trainFallback(input: FallbackInput): { fallback: FraudFallback; quality: DegradedQuality } {
  const { matrix, rows, labels } = input;
  const columns = REQUEST_FEATURES.map((name) => {
    const i = matrix.names.indexOf(name);
    if (i < 0) throw new RangeError(`the feature matrix has no ${name}`);
    return i;
  });
  const project = (selected: Int32Array) => {
    const width = matrix.names.length;
    const data = new Float64Array(selected.length * columns.length);
    for (let r = 0; r < selected.length; r++) {
      const at = (selected[r] as number) * width;
      for (let j = 0; j < columns.length; j++) data[r * columns.length + j] = matrix.values[at + (columns[j] as number)] as number;
    }
    return { data, numRows: selected.length, numColumns: columns.length };
  };
  const trainData = Dataset.fromRows(project(rows.train), { labels: labels.train, featureNames: [...REQUEST_FEATURES], seed: 7, labelEdges: input.labelEdges ?? 0 });
  const validData = Dataset.fromRows(project(rows.valid), { labels: labels.valid, reference: trainData });
  // Three features need few, shallow trees.
  const result = train(trainData, { ...input.params, numRounds: 150, maxDepth: 4, colsampleByTree: 1 }, { validation: validData });
  const fallbackPredictor = new Predictor(result.model);
  const validScores = fallbackPredictor.predictBatch(project(rows.valid));
  const thresholds = chooseThresholds(input.costRows(rows.valid, validScores), input.costs).thresholds;

  const mainPredictor = new Predictor(input.main);
  const testFull = selectRows(matrix, rows.test);
  const withoutStore = { ...testFull, data: testFull.data.slice() };
  const keep = new Set(columns);
  for (let r = 0; r < withoutStore.numRows; r++) {
    for (let j = 0; j < withoutStore.numColumns; j++) if (!keep.has(j)) withoutStore.data[r * withoutStore.numColumns + j] = Number.NaN;
  }
  const quality = (scores: Float64Array) => ({ rocAuc: rocAuc(labels.test, scores), averagePrecision: averagePrecision(labels.test, scores) });
  return {
    fallback: { gbdt: result.model, thresholds },
    quality: {
      rows: rows.test.length,
      full: quality(mainPredictor.predictBatch(testFull)),
      mainWithoutStore: quality(mainPredictor.predictBatch(withoutStore)),
      fallback: quality(fallbackPredictor.predictBatch(project(rows.test))),
    },
  };
}
