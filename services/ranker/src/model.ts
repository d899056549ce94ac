import fs from "node:fs";
import { RANKER_FEATURE_NAMES, rankerFeatureSchemaHash, type RecsFeatureConfig } from "@mlsd/feature-store";
import { GbdtModel, Predictor } from "@mlsd/gbdt";
import type { ModelRegistry } from "@mlsd/model-registry";

export const RANKER_MODEL_NAME = "ranker-gbdt";
export const RANKER_MODEL_FILE = "model.json";

/** What the ranking path needs from a model; the GBDT adapter and test doubles implement it. */
export interface RankerModel {
  readonly version: string;
  readonly featureSchemaHash: string;
  readonly featureNames: readonly string[];
  readonly objective: string;
  readonly trees: number;
  /** One score per row of a row-major `numRows x featureNames.length` matrix; higher ranks first. */
  score(rows: Float64Array, numRows: number): Float64Array;
}

export class RankerModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RankerModelError";
  }
}

export class GbdtRankerModel implements RankerModel {
  private readonly predictor: Predictor;
  readonly featureNames: readonly string[];
  readonly objective: string;
  readonly trees: number;

  constructor(
    gbdt: GbdtModel,
    readonly version: string,
    readonly featureSchemaHash: string,
  ) {
    // The schema hash already says the semantics match; this catches a model file that disagrees with its manifest.
    if (gbdt.featureNames.join(",") !== RANKER_FEATURE_NAMES.join(",")) {
      throw new RankerModelError(`model ${version} has features [${gbdt.featureNames.join(", ")}], the service computes [${RANKER_FEATURE_NAMES.join(", ")}]`);
    }
    this.predictor = new Predictor(gbdt);
    this.featureNames = gbdt.featureNames;
    this.objective = gbdt.objective;
    this.trees = gbdt.trees.length;
  }

  score(rows: Float64Array, numRows: number): Float64Array {
    return this.predictor.predictBatchRaw({ data: rows, numRows, numColumns: this.featureNames.length });
  }
}

/** Loads the version `alias` points at, refusing a model trained on other feature semantics. */
export function loadRankerModel(registry: ModelRegistry, alias: string, config?: RecsFeatureConfig): GbdtRankerModel {
  const schemaHash = rankerFeatureSchemaHash(config);
  const entry = registry.open(RANKER_MODEL_NAME, alias, schemaHash);
  const gbdt = GbdtModel.parse(fs.readFileSync(entry.file(RANKER_MODEL_FILE), "utf8"));
  return new GbdtRankerModel(gbdt, entry.manifest.version, schemaHash);
}
