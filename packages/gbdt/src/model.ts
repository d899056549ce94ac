import { GbdtInputError, GbdtModelFormatError } from "./errors";
import { transformMargin } from "./objectives";
import type { ObjectiveName } from "./params";
import { leafIndex, type Tree } from "./tree";

export const MODEL_FORMAT = "mlsd-gbdt";
export const MODEL_FORMAT_VERSION = 1;

export interface TreeJson {
  left: number[];
  right: number[];
  feature: number[];
  threshold: number[];
  defaultLeft: boolean[];
  value: number[];
  gain: number[];
  cover: number[];
  count: number[];
}

/** The stored model. Thresholds are raw feature values: prediction needs no bin edges. */
export interface GbdtModelJson {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  objective: ObjectiveName;
  /** Raw margin added to the sum of tree outputs. */
  baseScore: number;
  featureNames: string[];
  /** Best round on the validation set (trees after it were dropped if early stopping was on), or null. */
  bestIteration: number | null;
  /** Training parameters, for provenance. */
  params: Record<string, unknown>;
  trees: TreeJson[];
}

export interface GbdtModelInit {
  objective: ObjectiveName;
  baseScore: number;
  featureNames: readonly string[];
  trees: readonly Tree[];
  bestIteration?: number | null;
  params?: Record<string, unknown>;
}

export class GbdtModel {
  readonly objective: ObjectiveName;
  readonly baseScore: number;
  readonly featureNames: readonly string[];
  readonly trees: readonly Tree[];
  readonly bestIteration: number | null;
  readonly params: Readonly<Record<string, unknown>>;

  constructor(init: GbdtModelInit) {
    this.objective = init.objective;
    this.baseScore = init.baseScore;
    this.featureNames = [...init.featureNames];
    this.trees = [...init.trees];
    this.bestIteration = init.bestIteration ?? null;
    this.params = { ...(init.params ?? {}) };
  }

  get numFeatures(): number {
    return this.featureNames.length;
  }

  /** Raw margin by walking every tree (the reference the flattened Predictor is tested against). */
  predictRaw(row: ArrayLike<number>): number {
    if (row.length !== this.featureNames.length) {
      throw new GbdtInputError("feature_mismatch", "row", `has ${row.length} values, the model has ${this.featureNames.length} features`);
    }
    let margin = this.baseScore;
    for (const tree of this.trees) margin += tree.value[leafIndex(tree, row)] as number;
    return margin;
  }

  /** Probability for binary, the raw score otherwise. */
  predict(row: ArrayLike<number>): number {
    return transformMargin(this.objective, this.predictRaw(row));
  }

  toJSON(): GbdtModelJson {
    return {
      format: MODEL_FORMAT,
      formatVersion: MODEL_FORMAT_VERSION,
      objective: this.objective,
      baseScore: this.baseScore,
      featureNames: [...this.featureNames],
      bestIteration: this.bestIteration,
      params: { ...this.params },
      trees: this.trees.map((t) => ({
        left: Array.from(t.left),
        right: Array.from(t.right),
        feature: Array.from(t.feature),
        threshold: Array.from(t.threshold),
        defaultLeft: Array.from(t.defaultLeft, (d) => d === 1),
        value: Array.from(t.value),
        gain: Array.from(t.gain),
        cover: Array.from(t.cover),
        count: Array.from(t.count),
      })),
    };
  }

  /** Parses a model file's text; syntax errors become GbdtModelFormatError too. */
  static parse(text: string): GbdtModel {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new GbdtModelFormatError("bad_format", "$", `not JSON: ${(err as Error).message}`);
    }
    return GbdtModel.fromJSON(json);
  }

  static fromJSON(json: unknown): GbdtModel {
    const root = asObject(json, "$");
    if (root.format !== MODEL_FORMAT) fail("$.format", `is ${JSON.stringify(root.format)}, expected "${MODEL_FORMAT}"`);
    const version = root.formatVersion;
    if (typeof version !== "number" || !Number.isInteger(version) || version < 1) fail("$.formatVersion", "must be a positive integer");
    if (version > MODEL_FORMAT_VERSION) {
      throw new GbdtModelFormatError(
        "unsupported_version",
        "$.formatVersion",
        `is ${version}; this code reads format versions up to ${MODEL_FORMAT_VERSION}`,
      );
    }
    const objective = root.objective;
    if (objective !== "binary" && objective !== "regression" && objective !== "lambdarank" && objective !== "pairwise") {
      fail("$.objective", `is ${JSON.stringify(objective)}, expected binary, regression, lambdarank or pairwise`);
    }
    const baseScore = finite(root.baseScore, "$.baseScore");
    if (!Array.isArray(root.featureNames) || root.featureNames.length === 0) fail("$.featureNames", "must be a non-empty array");
    const featureNames = root.featureNames.map((name, i) => {
      if (typeof name !== "string") fail(`$.featureNames[${i}]`, "must be a string");
      return name;
    });
    const bestIteration = root.bestIteration ?? null;
    if (bestIteration !== null && (typeof bestIteration !== "number" || !Number.isInteger(bestIteration) || bestIteration < 0)) {
      fail("$.bestIteration", "must be null or a non-negative integer");
    }
    const params = root.params === undefined ? {} : asObject(root.params, "$.params");
    if (!Array.isArray(root.trees)) fail("$.trees", "must be an array");
    const trees = root.trees.map((t, i) => parseTree(t, `$.trees[${i}]`, featureNames.length));
    return new GbdtModel({ objective, baseScore, featureNames, trees, bestIteration, params });
  }
}

function fail(path: string, message: string): never {
  throw new GbdtModelFormatError("bad_format", path, message);
}

function asObject(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail(path, "must be an object");
  return value as Record<string, unknown>;
}

function finite(value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) fail(path, `is ${JSON.stringify(value)}, expected a finite number`);
  return value;
}

function numbers(obj: Record<string, unknown>, key: string, path: string, length: number | undefined): number[] {
  const value = obj[key];
  if (!Array.isArray(value)) fail(`${path}.${key}`, "must be an array");
  if (length !== undefined && value.length !== length) fail(`${path}.${key}`, `has ${value.length} entries, expected ${length}`);
  return value.map((v, i) => finite(v, `${path}.${key}[${i}]`));
}

function parseTree(json: unknown, path: string, numFeatures: number): Tree {
  const obj = asObject(json, path);
  const left = numbers(obj, "left", path, undefined);
  const n = left.length;
  if (n === 0) fail(`${path}.left`, "a tree needs at least one node");
  const right = numbers(obj, "right", path, n);
  const feature = numbers(obj, "feature", path, n);
  const threshold = numbers(obj, "threshold", path, n);
  const value = numbers(obj, "value", path, n);
  const gain = numbers(obj, "gain", path, n);
  const cover = numbers(obj, "cover", path, n);
  const count = numbers(obj, "count", path, n);
  const defaultLeftRaw = obj.defaultLeft;
  if (!Array.isArray(defaultLeftRaw) || defaultLeftRaw.length !== n) fail(`${path}.defaultLeft`, `must be an array of ${n} booleans`);
  const defaultLeft = defaultLeftRaw.map((d, i) => {
    if (typeof d !== "boolean") fail(`${path}.defaultLeft[${i}]`, "must be a boolean");
    return d ? 1 : 0;
  });
  // Children always have larger ids than their parent and each node but the root has one parent,
  // so the arrays form a single tree and a walk from the root always ends at a leaf.
  const parents = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = left[i] as number;
    const r = right[i] as number;
    if (l === -1 && r === -1) {
      if (feature[i] !== -1) fail(`${path}.feature[${i}]`, "a leaf must have feature -1");
      continue;
    }
    for (const [child, key] of [
      [l, "left"],
      [r, "right"],
    ] as const) {
      if (!Number.isInteger(child) || child <= i || child >= n) fail(`${path}.${key}[${i}]`, `child ${child} must be a node id in (${i}, ${n})`);
      parents[child] = (parents[child] as number) + 1;
    }
    const f = feature[i] as number;
    if (!Number.isInteger(f) || f < 0 || f >= numFeatures) fail(`${path}.feature[${i}]`, `is ${f}, expected a feature id in [0, ${numFeatures})`);
  }
  for (let i = 1; i < n; i++) if (parents[i] !== 1) fail(path, `node ${i} has ${parents[i]} parents, expected 1`);
  return {
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    defaultLeft: Uint8Array.from(defaultLeft),
    value: Float64Array.from(value),
    gain: Float64Array.from(gain),
    cover: Float64Array.from(cover),
    count: Float64Array.from(count),
  };
}

/**
 * One model whose raw margin is the mean of the given models' raw margins (a bag): every tree of
 * every model, its leaf values divided by the bag size, and the mean base score. Serving it needs
 * nothing new: it is an ordinary model with more trees. The margins are averaged, so for a binary
 * objective the probability is sigmoid(mean margin), not the mean probability.
 */
export function averageModels(models: readonly GbdtModel[]): GbdtModel {
  const first = models[0];
  if (!first) throw new GbdtInputError("empty_data", "models", "needs at least one model to average");
  models.forEach((m, k) => {
    if (m.objective !== first.objective) throw new GbdtInputError("bad_param", `models[${k}].objective`, `is ${m.objective}, models[0] is ${first.objective}`);
    if (m.featureNames.length !== first.featureNames.length || m.featureNames.some((f, c) => f !== first.featureNames[c])) {
      throw new GbdtInputError("feature_mismatch", `models[${k}].featureNames`, "differ from models[0]'s (names and order must match)");
    }
  });
  const share = 1 / models.length;
  return new GbdtModel({
    objective: first.objective,
    baseScore: models.reduce((s, m) => s + m.baseScore, 0) * share,
    featureNames: first.featureNames,
    trees: models.flatMap((m) => m.trees.map((t) => ({ ...t, value: Float64Array.from(t.value, (v) => v * share) }))),
    bestIteration: null,
    params: { ...first.params, bag: models.length },
  });
}

