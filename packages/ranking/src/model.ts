import { RANKER_FEATURE_NAMES, type RecsFeatureConfig } from "@mlsd/feature-store";
import { Predictor, type GbdtModel } from "@mlsd/gbdt";
import { loadRankerModel as loadRankerArtifact } from "@mlsd/model-formats/ranker";
import type { ModelRegistry } from "@mlsd/model-registry";

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

/** Loads the version `alias` points at through its format, refusing a model trained on other feature semantics. */
export function loadRankerModel(registry: ModelRegistry, alias: string, config?: RecsFeatureConfig): GbdtRankerModel {
  const artifact = loadRankerArtifact(registry, alias, config);
  return new GbdtRankerModel(artifact.gbdt, artifact.version, artifact.featureSchemaHash);
}
