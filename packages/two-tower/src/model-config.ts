import { TwoTowerInputError } from "./errors";
import type { Architecture } from "./weights";

/**
 * Both towers end in an L2 normalisation, so a score is a cosine in [-1, 1]; training divides it
 * by `temperature` before the softmax (serving ranks by the plain dot product).
 */
export interface TwoTowerConfig extends Architecture {
  readonly temperature: number;
  /** Subtract log(sampling probability) of each in-batch item from its logit (Yi et al. 2019). */
  readonly logQCorrection: boolean;
  /** Mask other rows of the batch that hold the same item as the row's positive. */
  readonly removeAccidentalHits: boolean;
  /**
   * Negatives per step beyond the batch's own positives, shared by every row of the batch
   * (0 = in-batch negatives only). Drawn from a pool of `negativePool` catalogue items sampled
   * uniformly: "random" keeps the first of them, "hard" keeps the ones the current towers score
   * highest for some row of the batch (excluding that row's positive), i.e. the items the model
   * currently confuses with positives.
   */
  readonly extraNegatives: number;
  readonly negativeMining: NegativeMining;
  readonly negativePool: number;
  /** Share of training positives whose id is replaced by the unknown row, so content alone must carry them. */
  readonly itemIdDropout: number;
  readonly userIdDropout: number;
  readonly learningRate: number;
  readonly batchSize: number;
  readonly epochs: number;
  readonly seed: number;
}

export type NegativeMining = "random" | "hard";

export const DEFAULT_TWO_TOWER_CONFIG: TwoTowerConfig = {
  idDim: 32,
  categoricalDim: 8,
  hiddenDims: [64],
  outputDim: 32,
  temperature: 0.1,
  logQCorrection: true,
  removeAccidentalHits: true,
  extraNegatives: 0,
  negativeMining: "random",
  negativePool: 1024,
  itemIdDropout: 0.1,
  userIdDropout: 0.05,
  learningRate: 0.005,
  batchSize: 256,
  epochs: 5,
  seed: 1,
};

export function resolveConfig(partial: Partial<TwoTowerConfig> = {}): TwoTowerConfig {
  const c: TwoTowerConfig = { ...DEFAULT_TWO_TOWER_CONFIG, ...partial, hiddenDims: [...(partial.hiddenDims ?? DEFAULT_TWO_TOWER_CONFIG.hiddenDims)] };
  const positiveInt = (field: keyof TwoTowerConfig, v: number) => {
    if (!Number.isInteger(v) || v <= 0) throw new TwoTowerInputError(`config.${field}`, `must be a positive integer, got ${v}`);
  };
  positiveInt("idDim", c.idDim);
  positiveInt("categoricalDim", c.categoricalDim);
  positiveInt("outputDim", c.outputDim);
  positiveInt("epochs", c.epochs);
  positiveInt("batchSize", c.batchSize);
  if (c.batchSize < 2) throw new TwoTowerInputError("config.batchSize", "in-batch negatives need at least 2 rows");
  c.hiddenDims.forEach((h, i) => {
    if (!Number.isInteger(h) || h <= 0) throw new TwoTowerInputError(`config.hiddenDims[${i}]`, `must be a positive integer, got ${h}`);
  });
  if (!(c.temperature > 0)) throw new TwoTowerInputError("config.temperature", `must be > 0, got ${c.temperature}`);
  if (!(c.learningRate > 0)) throw new TwoTowerInputError("config.learningRate", `must be > 0, got ${c.learningRate}`);
  for (const field of ["itemIdDropout", "userIdDropout"] as const) {
    if (!(c[field] >= 0 && c[field] < 1)) throw new TwoTowerInputError(`config.${field}`, `must be in [0, 1), got ${c[field]}`);
  }
  if (!Number.isInteger(c.extraNegatives) || c.extraNegatives < 0) throw new TwoTowerInputError("config.extraNegatives", `must be a non-negative integer, got ${c.extraNegatives}`);
  positiveInt("negativePool", c.negativePool);
  if (c.extraNegatives > c.negativePool) throw new TwoTowerInputError("config.extraNegatives", `${c.extraNegatives} exceeds negativePool ${c.negativePool}`);
  if (c.negativeMining !== "random" && c.negativeMining !== "hard") throw new TwoTowerInputError("config.negativeMining", `must be "random" or "hard", got ${String(c.negativeMining)}`);
  if (!Number.isInteger(c.seed)) throw new TwoTowerInputError("config.seed", `must be an integer, got ${c.seed}`);
  return c;
}
