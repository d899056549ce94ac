import fs from "node:fs";
import path from "node:path";
import type { DriftReference } from "@mlsd/drift";
import { rankerFeatureSchemaHash, RANKER_FEATURE_NAMES, type RecsFeatureConfig } from "@mlsd/feature-store";
import type { GbdtModel } from "@mlsd/gbdt";
import type { Manifest, ModelRegistry, RegisteredModel } from "@mlsd/model-registry";
import { z } from "zod";
import { writeDriftReference } from "./drift-reference";
import { GBDT_MODEL_FILE, readGbdt, writeGbdt } from "./gbdt-file";
import { RETRIEVAL_MODEL_NAME } from "./retrieval-id";

/** The ranker: a GBDT over the ranker features (the retrieval score first), trained on logged slates. */
export const RANKER_MODEL_NAME = "ranker-gbdt";

export const RankerExtraSchema = z
  .object({
    objective: z.string(),
    k: z.number().int().positive(),
    features: z.array(z.string()),
    /** The retrieval model whose scores the ranker was trained on (its first feature), in words. */
    retrievalScorer: z.string(),
    /**
     * The registry versions of other models whose outputs the ranker was trained on, by model:
     * `{ retrieval: ["<version>", ...] }`. Its first feature is the retrieval score, whose scale and
     * meaning change with every two-tower model, so it serves only beside one of these.
     */
    requires: z.record(z.array(z.string())).optional(),
    /**
     * What serving does beside a retrieval version not in `requires`, stated by the trainer (e.g.
     * "any retrieval: the retrieval score feature is dropped"). Absent: there is none, and such a
     * pairing is refused. No trainer writes one yet: it needs a ranker trained to do without.
     */
    fallback: z.string().min(1).optional(),
  })
  .passthrough();
export type RankerExtra = z.infer<typeof RankerExtraSchema>;

export interface RankerModelArtifact {
  version: string;
  manifest: Manifest;
  gbdt: GbdtModel;
  featureSchemaHash: string;
  extra: RankerExtra;
}

export class RankerFormatError extends Error {
  override readonly name = "RankerFormatError";
}

/**
 * A ranker's inputs other than the online recommendation features (feature-store's
 * RANKER_FEATURE_NAMES): a name, the ordered feature names and a hash of their semantics.
 * The MovieLens two-stage ranker is one; a loader must ask for the same set to open it.
 */
export interface RankerFeatureSet {
  name: string;
  names: readonly string[];
  schemaHash: string;
}

export interface PublishRankerModelInput {
  gbdt: GbdtModel;
  featureConfig?: RecsFeatureConfig;
  /** Default: the online recommendation features. */
  featureSet?: RankerFeatureSet;
  dataWindow: Record<string, unknown>;
  metrics: Record<string, unknown>;
  extra: Omit<RankerExtra, "features" | "requires"> & Record<string, unknown>;
  /** The retrieval versions whose scores the training rows carry (recorded as `extra.requires`). */
  retrievalVersions?: readonly string[];
  /** Extra files beside the model (e.g. its training report), name -> content. */
  attachments?: Record<string, string>;
  /** The training distribution of its inputs and scores, for the drift monitor. */
  driftReference?: DriftReference;
  version?: string;
  alias?: string;
}

export async function publishRankerModel(registry: ModelRegistry, input: PublishRankerModelInput): Promise<RegisteredModel> {
  checkFeatures(input.gbdt, "the model to publish", input.featureSet);
  return registry.publish(
    {
      model: RANKER_MODEL_NAME,
      ...(input.version ? { version: input.version } : {}),
      dataWindow: input.dataWindow,
      featureSchemaHash: input.featureSet ? input.featureSet.schemaHash : rankerFeatureSchemaHash(input.featureConfig),
      metrics: input.metrics,
      extra: {
        ...input.extra,
        features: [...input.gbdt.featureNames],
        ...(input.featureConfig ? { featureConfig: input.featureConfig } : {}),
        ...(input.retrievalVersions ? { requires: { [RETRIEVAL_MODEL_NAME]: [...new Set(input.retrievalVersions)].sort() } } : {}),
        ...(input.featureSet ? { featureSet: input.featureSet.name } : {}),
      },
    },
    (dir) => {
      writeGbdt(dir, input.gbdt);
      if (input.driftReference) writeDriftReference(dir, input.driftReference);
      for (const [name, content] of Object.entries(input.attachments ?? {})) fs.writeFileSync(path.join(dir, name), content);
    },
    { alias: input.alias ?? "current" },
  );
}

/**
 * Opens a ranker for the feature layout `config` describes (or the feature set named), refusing
 * one trained on other features.
 */
export function loadRankerModel(registry: ModelRegistry, aliasOrVersion: string, config?: RecsFeatureConfig, featureSet?: RankerFeatureSet): RankerModelArtifact {
  const featureSchemaHash = featureSet ? featureSet.schemaHash : rankerFeatureSchemaHash(config);
  const entry = registry.open(RANKER_MODEL_NAME, aliasOrVersion, { featureSchemaHash });
  const gbdt = readGbdt(entry.file(GBDT_MODEL_FILE));
  checkFeatures(gbdt, `${RANKER_MODEL_NAME}@${entry.manifest.version}`, featureSet);
  return { version: entry.manifest.version, manifest: entry.manifest, gbdt, featureSchemaHash, extra: RankerExtraSchema.parse(entry.manifest.extra) };
}

// The schema hash already says the semantics match; this catches a model file that disagrees with its manifest.
function checkFeatures(gbdt: GbdtModel, what: string, featureSet?: RankerFeatureSet): void {
  const expected = featureSet ? featureSet.names : RANKER_FEATURE_NAMES;
  if (gbdt.featureNames.join(",") !== expected.join(",")) {
    throw new RankerFormatError(`${what} has features [${gbdt.featureNames.join(", ")}], the ranker computes [${expected.join(", ")}]`);
  }
}
