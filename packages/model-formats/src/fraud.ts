import fs from "node:fs";
import path from "node:path";
import type { DriftReference } from "@mlsd/drift";
import { fraudFeatureSchemaHash } from "@mlsd/feature-store";
import type { GbdtModel } from "@mlsd/gbdt";
import type { Manifest, ModelRegistry, RegisteredModel } from "@mlsd/model-registry";
import { z } from "zod";
import { writeDriftReference } from "./drift-reference";
import { GBDT_MODEL_FILE, readGbdt, writeGbdt } from "./gbdt-file";

/** The fraud model: a GBDT over the fraud features, its decision thresholds, and its drift reference. */
export const FRAUD_MODEL_NAME = "fraud-gbdt";

export const FraudThresholdsSchema = z.object({ review: z.number().min(0).max(1), decline: z.number().min(0).max(1) }).refine((t) => t.review <= t.decline, {
  message: "review must not be above decline",
  path: ["review"],
});
export type FraudThresholds = z.infer<typeof FraudThresholdsSchema>;

/** The fallback model's file: a GBDT over the features a request carries itself, for degraded answers. */
/** The model's trees (the file a reload parses first). */
export const FRAUD_MODEL_FILE = GBDT_MODEL_FILE;
export const FRAUD_FALLBACK_FILE = "fallback.json";

/** What serving reads from the manifest's `extra`; training writes more (costs, parameters) beside it. */
export const FraudExtraSchema = z
  .object({
    thresholds: FraudThresholdsSchema,
    fallback: z.object({ thresholds: FraudThresholdsSchema, features: z.array(z.string()).min(1) }).optional(),
  })
  .passthrough();

export interface FraudFallback {
  gbdt: GbdtModel;
  thresholds: FraudThresholds;
}

export interface FraudModelArtifact {
  version: string;
  manifest: Manifest;
  gbdt: GbdtModel;
  thresholds: FraudThresholds;
  /** The schema hash of the features this service computes, which the model was checked against. */
  featureSchemaHash: string;
  /** The degraded-mode model, when the version has one. */
  fallback: FraudFallback | null;
}

export interface PublishFraudModelInput {
  gbdt: GbdtModel;
  thresholds: FraudThresholds;
  driftReference: DriftReference;
  /** A model over request-only features (a subset of the model's), scored when the feature store is unavailable. */
  fallback?: FraudFallback;
  dataWindow: Record<string, unknown>;
  metrics: Record<string, unknown>;
  /** Recorded beside the thresholds (costs, class weights, training parameters). */
  extra?: Record<string, unknown>;
  version?: string;
  /** Default `current`; the retraining loop publishes `candidate`. */
  alias?: string;
}

export async function publishFraudModel(registry: ModelRegistry, input: PublishFraudModelInput): Promise<RegisteredModel> {
  if (input.gbdt.featureNames.length === 0) throw new RangeError("gbdt: a fraud model needs named features");
  const fallback = input.fallback;
  for (const name of fallback?.gbdt.featureNames ?? []) {
    if (!input.gbdt.featureNames.includes(name)) throw new RangeError(`fallback: uses ${name}, which the model does not compute`);
  }
  return registry.publish(
    {
      model: FRAUD_MODEL_NAME,
      ...(input.version ? { version: input.version } : {}),
      dataWindow: input.dataWindow,
      featureSchemaHash: fraudFeatureSchemaHash(),
      metrics: input.metrics,
      extra: {
        ...input.extra,
        thresholds: FraudThresholdsSchema.parse(input.thresholds),
        ...(fallback ? { fallback: { thresholds: FraudThresholdsSchema.parse(fallback.thresholds), features: [...fallback.gbdt.featureNames] } } : {}),
      },
    },
    (dir) => {
      writeGbdt(dir, input.gbdt);
      writeDriftReference(dir, input.driftReference);
      if (fallback) fs.writeFileSync(path.join(dir, FRAUD_FALLBACK_FILE), JSON.stringify(fallback.gbdt.toJSON()));
    },
    { alias: input.alias ?? "current" },
  );
}

/** Opens the version `aliasOrVersion` names, refusing one built for other features or whose files changed. */
export function loadFraudModel(registry: ModelRegistry, aliasOrVersion: string): FraudModelArtifact {
  const featureSchemaHash = fraudFeatureSchemaHash();
  const entry = registry.open(FRAUD_MODEL_NAME, aliasOrVersion, { featureSchemaHash });
  const gbdt = readGbdt(entry.file(GBDT_MODEL_FILE));
  const extra = FraudExtraSchema.parse(entry.manifest.extra);
  const fallback = extra.fallback ? { gbdt: readGbdt(entry.file(FRAUD_FALLBACK_FILE)), thresholds: extra.fallback.thresholds } : null;
  return { version: entry.manifest.version, manifest: entry.manifest, gbdt, thresholds: extra.thresholds, featureSchemaHash, fallback };
}
