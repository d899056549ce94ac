import fs from "node:fs";
import path from "node:path";
import { rankerFeatureSchemaHash, RANKER_FEATURE_NAMES, type RecsFeatureConfig } from "@mlsd/feature-store";
import type { GbdtModel } from "@mlsd/gbdt";
import type { Manifest, ModelRegistry, RegisteredModel } from "@mlsd/model-registry";
import { z } from "zod";
import { GBDT_MODEL_FILE, readGbdt, writeGbdt } from "./gbdt-file";

/** The ranker: a GBDT over the ranker features (the retrieval score first), trained on logged slates. */
export const RANKER_MODEL_NAME = "ranker-gbdt";

export const RankerExtraSchema = z
  .object({
    objective: z.string(),
    k: z.number().int().positive(),
    features: z.array(z.string()),
    /** The retrieval model whose scores the ranker was trained on (its first feature). */
    retrievalScorer: z.string(),
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

export interface PublishRankerModelInput {
  gbdt: GbdtModel;
  featureConfig?: RecsFeatureConfig;
  dataWindow: Record<string, unknown>;
  metrics: Record<string, unknown>;
  extra: Omit<RankerExtra, "features"> & Record<string, unknown>;
  /** Extra files beside the model (e.g. its training report), name -> content. */
  attachments?: Record<string, string>;
  version?: string;
  alias?: string;
}

export async function publishRankerModel(registry: ModelRegistry, input: PublishRankerModelInput): Promise<RegisteredModel> {
  checkFeatures(input.gbdt, "the model to publish");
  return registry.publish(
    {
      model: RANKER_MODEL_NAME,
      ...(input.version ? { version: input.version } : {}),
      dataWindow: input.dataWindow,
      featureSchemaHash: rankerFeatureSchemaHash(input.featureConfig),
      metrics: input.metrics,
      extra: { ...input.extra, features: [...input.gbdt.featureNames], ...(input.featureConfig ? { featureConfig: input.featureConfig } : {}) },
    },
    (dir) => {
      writeGbdt(dir, input.gbdt);
      for (const [name, content] of Object.entries(input.attachments ?? {})) fs.writeFileSync(path.join(dir, name), content);
    },
    { alias: input.alias ?? "current" },
  );
}

/** Opens a ranker for the feature layout `config` describes, refusing one trained on other features. */
export function loadRankerModel(registry: ModelRegistry, aliasOrVersion: string, config?: RecsFeatureConfig): RankerModelArtifact {
  const featureSchemaHash = rankerFeatureSchemaHash(config);
  const entry = registry.open(RANKER_MODEL_NAME, aliasOrVersion, { featureSchemaHash });
  const gbdt = readGbdt(entry.file(GBDT_MODEL_FILE));
  checkFeatures(gbdt, `${RANKER_MODEL_NAME}@${entry.manifest.version}`);
  return { version: entry.manifest.version, manifest: entry.manifest, gbdt, featureSchemaHash, extra: RankerExtraSchema.parse(entry.manifest.extra) };
}

// The schema hash already says the semantics match; this catches a model file that disagrees with its manifest.
function checkFeatures(gbdt: GbdtModel, what: string): void {
  if (gbdt.featureNames.join(",") !== RANKER_FEATURE_NAMES.join(",")) {
    throw new RankerFormatError(`${what} has features [${gbdt.featureNames.join(", ")}], the ranker computes [${RANKER_FEATURE_NAMES.join(", ")}]`);
  }
}
