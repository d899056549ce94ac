import { Rng } from "@mlsd/random";
import type { Dataset } from "./dataset";
import { GbdtInputError } from "./errors";
import { evaluate, higherIsBetter, type EvalTarget } from "./eval-metrics";
import { GbdtModel } from "./model";
import { createObjective } from "./objectives";
import { resolveParams, type EvalMetricName, type TrainParams, type TrainParamsInput } from "./params";
import type { Tree } from "./tree";
import { predictBinnedRow, TreeBuilder } from "./tree-builder";

export interface EvalRecord {
  /** 0-based boosting round. */
  iteration: number;
  metric: EvalMetricName;
  value: number;
}

export interface TrainOptions {
  /** Binned with `reference: trainingData`; scored after every round. */
  validation?: Dataset;
  onIteration?: (record: EvalRecord) => void;
}

export interface TrainResult {
  model: GbdtModel;
  /** Best round on the validation set (the model keeps trees 0..bestIteration when early stopping), else the last round. */
  bestIteration: number;
  bestScore: number | undefined;
  /** Validation metric per round (empty without a validation set). */
  history: EvalRecord[];
  params: TrainParams;
}

export function train(data: Dataset, paramsInput: TrainParamsInput, options: TrainOptions = {}): TrainResult {
  const params = resolveParams(paramsInput);
  const objective = createObjective(params, data);
  const validation = options.validation;
  const target = validation ? validationTarget(validation, data, params) : undefined;
  if (params.earlyStoppingRounds !== undefined && !validation) {
    throw new GbdtInputError("bad_param", "earlyStoppingRounds", "needs a validation dataset (options.validation)");
  }

  const n = data.numRows;
  const rng = new Rng(params.seed);
  if (validation && Boolean(validation.baseMargin) !== Boolean(data.baseMargin)) {
    throw new GbdtInputError("bad_param", "validation.baseMargin", "training and validation data must both carry a base margin or neither");
  }
  const margins = startMargins(data, objective.baseScore);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const validMargins = validation ? startMargins(validation, objective.baseScore) : undefined;
  const inSample = params.subsample < 1 ? new Uint8Array(n) : undefined;
  const builder = new TreeBuilder(data, params);

  const trees: Tree[] = [];
  const history: EvalRecord[] = [];
  const maximise = higherIsBetter(params.evalMetric);
  let bestIteration = -1;
  let bestScore: number | undefined;

  for (let iteration = 0; iteration < params.numRounds; iteration++) {
    objective.computeGradients(margins, grad, hess);
    const rows = inSample ? sampleRows(data, params.subsample, rng, inSample) : undefined;
    const features = sampleFeatures(data.numFeatures, params.colsampleByTree, rng);
    const built = builder.build(grad, hess, rows, features);
    trees.push(built.tree);
    builder.addLeafValues(margins);
    if (inSample) {
      for (let r = 0; r < n; r++) if (inSample[r] === 0) margins[r] = (margins[r] as number) + predictBinnedRow(built, data, r);
    }
    if (!validation || !validMargins || !target) {
      bestIteration = iteration;
      continue;
    }
    for (let r = 0; r < validation.numRows; r++) validMargins[r] = (validMargins[r] as number) + predictBinnedRow(built, validation, r);
    const value = evaluate(params.evalMetric, validMargins, target, params.ndcgAt);
    const record = { iteration, metric: params.evalMetric, value };
    history.push(record);
    options.onIteration?.(record);
    if (bestScore === undefined || (maximise ? value > bestScore : value < bestScore)) {
      bestScore = value;
      bestIteration = iteration;
    } else if (params.earlyStoppingRounds !== undefined && iteration - bestIteration >= params.earlyStoppingRounds) {
      break;
    }
  }

  const kept = params.earlyStoppingRounds !== undefined ? trees.slice(0, bestIteration + 1) : trees;
  const model = new GbdtModel({
    objective: params.objective,
    // With a base margin the trees are a correction to it: prediction = base margin + predictRaw.
    baseScore: data.baseMargin ? 0 : objective.baseScore,
    featureNames: data.featureNames,
    trees: kept,
    bestIteration: validation ? bestIteration : null,
    params: provenance(params),
  });
  return { model, bestIteration, bestScore, history, params };
}

function validationTarget(validation: Dataset, data: Dataset, params: TrainParams): EvalTarget {
  if (validation.binMapper !== data.binMapper) {
    throw new GbdtInputError("feature_mismatch", "validation", "must be binned with the training edges: Dataset.fromRows(rows, { reference: trainingData })");
  }
  if (!validation.labels) throw new GbdtInputError("bad_label", "validation.labels", "validation data needs labels");
  if (params.evalMetric === "ndcg" && !validation.groupOffsets) {
    throw new GbdtInputError("bad_groups", "validation.groups", "the ndcg metric needs query group sizes");
  }
  if (params.objective === "binary") {
    let positives = 0;
    validation.labels.forEach((y, i) => {
      if (y !== 0 && y !== 1) throw new GbdtInputError("bad_label", `validation.labels[${i}]`, `is ${y}, binary labels must be 0 or 1`);
      positives += y;
    });
    if (params.evalMetric === "auc" && (positives === 0 || positives === validation.numRows)) {
      throw new GbdtInputError("bad_label", "validation.labels", "the auc metric needs both classes in the validation set");
    }
  }
  return { labels: validation.labels, weights: validation.weights, groupOffsets: validation.groupOffsets };
}

/** Each row's raw margin before any tree: its base margin when the data has one, else the objective's base score. */
function startMargins(data: Dataset, baseScore: number): Float64Array {
  return data.baseMargin ? Float64Array.from(data.baseMargin) : new Float64Array(data.numRows).fill(baseScore);
}

/** Bernoulli draw per row, or per query group when groups exist so that lists stay whole. */
function sampleRows(data: Dataset, rate: number, rng: Rng, inSample: Uint8Array): Int32Array {
  const groups = data.groupOffsets;
  let count = 0;
  if (groups) {
    for (let g = 0; g + 1 < groups.length; g++) {
      const take = rng.next() < rate ? 1 : 0;
      for (let r = groups[g] as number; r < (groups[g + 1] as number); r++) inSample[r] = take;
    }
  } else {
    for (let r = 0; r < inSample.length; r++) inSample[r] = rng.next() < rate ? 1 : 0;
  }
  for (let r = 0; r < inSample.length; r++) count += inSample[r] as number;
  if (count === 0) {
    inSample.fill(1);
    count = inSample.length;
  }
  const rows = new Int32Array(count);
  for (let r = 0, k = 0; r < inSample.length; r++) if (inSample[r] === 1) rows[k++] = r;
  return rows;
}

function sampleFeatures(numFeatures: number, rate: number, rng: Rng): Int32Array {
  if (rate >= 1) return Int32Array.from({ length: numFeatures }, (_, i) => i);
  const k = Math.max(1, Math.round(rate * numFeatures));
  return Int32Array.from(rng.sampleIndices(numFeatures, k)).sort();
}

function provenance(params: TrainParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) if (value !== undefined) out[key] = value;
  return out;
}
