import { GbdtInputError } from "./errors";

/** Pairwise is RankNet: every pair with different labels counts the same; lambdarank weighs each by its NDCG change. */
export type ObjectiveName = "binary" | "regression" | "lambdarank" | "pairwise";

export const RANKING_OBJECTIVES: readonly ObjectiveName[] = ["lambdarank", "pairwise"];
export type EvalMetricName = "logloss" | "auc" | "ndcg" | "rmse";

export interface TrainParams {
  objective: ObjectiveName;
  /** Boosting rounds (trees). */
  numRounds: number;
  learningRate: number;
  /** Depth limit; the root is depth 0, so depth 6 gives at most 64 leaves. */
  maxDepth: number;
  /** Leaf limit for best-first growth; defaults to 2^maxDepth (then it grows the same tree as depth-wise). */
  maxLeaves: number;
  /** L2 penalty on leaf values. */
  lambda: number;
  /** Minimum hessian sum in a child. */
  minChildWeight: number;
  /** Minimum loss reduction to make a split (XGBoost's gamma). */
  minSplitGain: number;
  /** Fraction of rows (of query groups for the ranking objectives) drawn for each tree. */
  subsample: number;
  /** Fraction of features drawn for each tree. */
  colsampleByTree: number;
  /** Weight multiplier for positive rows (binary). */
  scalePosWeight: number;
  /** Raw margin every prediction starts from; by default estimated from the labels. */
  baseScore: number | undefined;
  seed: number;
  /** Stop when the validation metric has not improved for this many rounds (needs a validation set). */
  earlyStoppingRounds: number | undefined;
  evalMetric: EvalMetricName;
  /** k for the ndcg metric and the lambdarank pair truncation. */
  ndcgAt: number;
  /** Lambdarank considers pairs whose higher-ranked item sits in this many top positions. */
  lambdarankTruncation: number;
}

export type TrainParamsInput = Partial<TrainParams> & Pick<TrainParams, "objective">;

const DEFAULT_METRIC: Record<ObjectiveName, EvalMetricName> = { binary: "logloss", regression: "rmse", lambdarank: "ndcg", pairwise: "ndcg" };
const METRICS_FOR: Record<ObjectiveName, readonly EvalMetricName[]> = {
  binary: ["logloss", "auc"],
  regression: ["rmse"],
  lambdarank: ["ndcg"],
  pairwise: ["ndcg"],
};

export function resolveParams(input: TrainParamsInput): TrainParams {
  if (input === null || typeof input !== "object") throw new GbdtInputError("bad_param", "params", "must be an object");
  const objective = input.objective;
  if (objective !== "binary" && objective !== "regression" && objective !== "lambdarank" && objective !== "pairwise") {
    throw new GbdtInputError("bad_param", "objective", `is ${String(objective)}, expected binary, regression, lambdarank or pairwise`);
  }
  const maxDepth = int(input.maxDepth, "maxDepth", 6, 1, 30);
  const params: TrainParams = {
    objective,
    numRounds: int(input.numRounds, "numRounds", 100, 1, 1_000_000),
    learningRate: num(input.learningRate, "learningRate", 0.1, 0, Infinity, true),
    maxDepth,
    maxLeaves: int(input.maxLeaves, "maxLeaves", Math.min(2 ** maxDepth, 65_536), 2, 65_536),
    lambda: num(input.lambda, "lambda", 1, 0, Infinity),
    minChildWeight: num(input.minChildWeight, "minChildWeight", 1, 0, Infinity),
    minSplitGain: num(input.minSplitGain, "minSplitGain", 0, 0, Infinity),
    subsample: num(input.subsample, "subsample", 1, 0, 1, true),
    colsampleByTree: num(input.colsampleByTree, "colsampleByTree", 1, 0, 1, true),
    scalePosWeight: num(input.scalePosWeight, "scalePosWeight", 1, 0, Infinity, true),
    baseScore: input.baseScore === undefined ? undefined : num(input.baseScore, "baseScore", 0, -Infinity, Infinity),
    seed: int(input.seed, "seed", 0, 0, 2 ** 32 - 1),
    earlyStoppingRounds:
      input.earlyStoppingRounds === undefined ? undefined : int(input.earlyStoppingRounds, "earlyStoppingRounds", 0, 1, 1_000_000),
    evalMetric: input.evalMetric ?? DEFAULT_METRIC[objective],
    ndcgAt: int(input.ndcgAt, "ndcgAt", 10, 1, 1_000_000),
    lambdarankTruncation: int(input.lambdarankTruncation, "lambdarankTruncation", 30, 1, 1_000_000),
  };
  if (!METRICS_FOR[objective].includes(params.evalMetric)) {
    throw new GbdtInputError(
      "bad_param",
      "evalMetric",
      `${String(params.evalMetric)} does not fit objective ${objective}; use one of ${METRICS_FOR[objective].join(", ")}`,
    );
  }
  return params;
}

function num(value: unknown, field: string, fallback: number, min: number, max: number, exclusiveMin = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new GbdtInputError("bad_param", field, `is ${String(value)}, expected a finite number`);
  }
  if (value < min || value > max || (exclusiveMin && value === min)) {
    throw new GbdtInputError("bad_param", field, `is ${value}, expected a number in ${exclusiveMin ? "(" : "["}${min}, ${max}]`);
  }
  return value;
}

function int(value: unknown, field: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new GbdtInputError("bad_param", field, `is ${String(value)}, expected an integer in [${min}, ${max}]`);
  }
  return value;
}
