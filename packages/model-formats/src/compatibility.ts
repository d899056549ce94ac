import { fraudFeatureSchemaHash, rankerFeatureSchemaHash } from "@mlsd/feature-store";
import { ModelRegistry, RegistryError, type CompatibilityCheck, type CompatibilityReport, type Manifest, type RegistryOptions } from "@mlsd/model-registry";
import { FRAUD_MODEL_NAME } from "./fraud";
import { POPULARITY_FEATURE_SCHEMA, POPULARITY_MODEL_NAME } from "./popularity";
import { RANKER_MODEL_NAME, RankerExtraSchema } from "./ranker";
import { RETRIEVAL_FEATURE_SCHEMA, RETRIEVAL_MODEL_NAME } from "./retrieval-id";

/**
 * Whether a model version may serve, checked from the manifests alone (no artifact is loaded, so
 * a controller can run it without hnswlib or TensorFlow.js):
 *
 * - its feature schema is the one serving computes (each format's default, or the hash given);
 * - a ranker serves only beside a retrieval model whose scores it was trained on (its first
 *   feature is the retrieval score), or one its manifest states a fallback for;
 * - symmetrically, a retrieval model serves only under a ranker trained on its scores.
 *
 * The other models are looked up under `against.alias` (default `current`): promoting a ranker to
 * current checks it against the current retrieval model.
 */
export interface CompatibilityOptions {
  against?: { alias: string };
  /** The schema hash the serving side computes, when it is not the format's default. */
  featureSchemaHash?: string;
}

/** The feature schema each format's serving side computes by default; null for a model no format owns. */
export function servingFeatureSchemaHash(model: string): string | null {
  switch (model) {
    case FRAUD_MODEL_NAME:
      return fraudFeatureSchemaHash();
    case RANKER_MODEL_NAME:
      return rankerFeatureSchemaHash();
    case RETRIEVAL_MODEL_NAME:
      return RETRIEVAL_FEATURE_SCHEMA;
    case POPULARITY_MODEL_NAME:
      return POPULARITY_FEATURE_SCHEMA;
    default:
      return null;
  }
}

export function checkCompatibility(registry: ModelRegistry, model: string, version: string, options: CompatibilityOptions = {}): CompatibilityReport {
  const alias = options.against?.alias ?? "current";
  const reasons: string[] = [];
  const notes: string[] = [];
  let manifest: Manifest;
  try {
    manifest = registry.manifest(model, version);
  } catch (error) {
    return { ok: false, reasons: [(error as Error).message], notes };
  }
  const expected = options.featureSchemaHash ?? servingFeatureSchemaHash(model);
  if (expected === null) notes.push(`no format owns ${model}: only its files are checked`);
  else if (manifest.featureSchemaHash !== expected) reasons.push(`${model}@${version} was trained on feature schema ${manifest.featureSchemaHash}; serving computes ${expected}`);

  if (model === RANKER_MODEL_NAME) {
    const retrieval = versionAt(registry, RETRIEVAL_MODEL_NAME, alias);
    if (retrieval === null) notes.push(`no ${RETRIEVAL_MODEL_NAME} under "${alias}" to check the ranker against`);
    else pairing(manifest, retrieval, alias, reasons, notes);
  } else if (model === RETRIEVAL_MODEL_NAME) {
    const ranker = versionAt(registry, RANKER_MODEL_NAME, alias);
    if (ranker === null) notes.push(`no ${RANKER_MODEL_NAME} under "${alias}" to check the retrieval model against`);
    else {
      try {
        pairing(registry.manifest(RANKER_MODEL_NAME, ranker), version, alias, reasons, notes);
      } catch (error) {
        reasons.push(`the ${RANKER_MODEL_NAME} under "${alias}": ${(error as Error).message}`);
      }
    }
  }
  return { ok: reasons.length === 0, reasons, notes };
}

/** The check the registry runs on promotion (see `openModelRegistry`). */
export const formatCompatibility: CompatibilityCheck = (registry, model, version, against) => checkCompatibility(registry, model, version, { against });

/** A registry whose promotions run `checkCompatibility`: what controllers and the admin API use. */
export function openModelRegistry(root: string, options: Omit<RegistryOptions, "compatibility"> = {}): ModelRegistry {
  return new ModelRegistry(root, { ...options, compatibility: formatCompatibility });
}

function versionAt(registry: ModelRegistry, model: string, alias: string): string | null {
  try {
    return registry.aliases(model)[alias] ?? null;
  } catch (error) {
    if (error instanceof RegistryError) return null;
    throw error;
  }
}

/** Whether the ranker `ranker` was trained on the scores of retrieval@`retrieval`, or states a fallback. */
function pairing(ranker: Manifest, retrieval: string, alias: string, reasons: string[], notes: string[]): void {
  const extra = RankerExtraSchema.safeParse(ranker.extra);
  const accepted = extra.success ? extra.data.requires?.[RETRIEVAL_MODEL_NAME] : undefined;
  const fallback = extra.success ? extra.data.fallback : undefined;
  const ref = `${RANKER_MODEL_NAME}@${ranker.version}`;
  if (accepted?.includes(retrieval)) return;
  const mismatch =
    accepted === undefined
      ? `${ref} records no ${RETRIEVAL_MODEL_NAME} version it was trained with (scorer: ${extra.success ? extra.data.retrievalScorer : "unknown"})`
      : `${ref} was trained on the scores of ${RETRIEVAL_MODEL_NAME} ${accepted.length ? accepted.join(", ") : "(none recorded)"}, not ${retrieval} (under "${alias}")`;
  if (fallback) notes.push(`${mismatch}; its stated fallback: ${fallback}`);
  else reasons.push(mismatch);
}
