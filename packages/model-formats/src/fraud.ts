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

/** What serving reads from the manifest's `extra`; training writes more (costs, parameters) beside it. */
export const FraudExtraSchema = z.object({ thresholds: FraudThresholdsSchema }).passthrough();

export interface FraudModelArtifact {
  version: string;
  manifest: Manifest;
  gbdt: GbdtModel;
  thresholds: FraudThresholds;
  /** The schema hash of the features this service computes, which the model was checked against. */
  featureSchemaHash: string;
}

export interface PublishFraudModelInput {
  gbdt: GbdtModel;
  thresholds: FraudThresholds;
  driftReference: DriftReference;
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
  return registry.publish(
    {
      model: FRAUD_MODEL_NAME,
      ...(input.version ? { version: input.version } : {}),
      dataWindow: input.dataWindow,
      featureSchemaHash: fraudFeatureSchemaHash(),
      metrics: input.metrics,
      extra: { ...input.extra, thresholds: FraudThresholdsSchema.parse(input.thresholds) },
    },
    (dir) => {
      writeGbdt(dir, input.gbdt);
      writeDriftReference(dir, input.driftReference);
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
  return { version: entry.manifest.version, manifest: entry.manifest, gbdt, thresholds: extra.thresholds, featureSchemaHash };
}
