import fs from "node:fs";
import path from "node:path";
import { parseDriftReference, serializeDriftReference, type DriftReference } from "@mlsd/drift";
import type { ModelRegistry } from "@mlsd/model-registry";

/**
 * The training distribution of a model's inputs and scores, stored beside the model in its
 * registry version: the drift monitor compares live traffic with the version it serves.
 */
export const DRIFT_REFERENCE_FILE = "drift-reference.json";

export function writeDriftReference(dir: string, reference: DriftReference): void {
  fs.writeFileSync(path.join(dir, DRIFT_REFERENCE_FILE), serializeDriftReference(reference));
}

export class DriftReferenceError extends Error {
  override readonly name = "DriftReferenceError";
  constructor(
    /** The setting or file at fault, e.g. `MODEL_REGISTRY_DIR` or `drift-reference.json`. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export interface LoadedDriftReference {
  /** `<model>@<version>`. */
  id: string;
  version: string;
  reference: DriftReference;
}

/** The drift reference of the version `alias` points at; the error names what is missing or invalid. */
export function loadDriftReference(registry: ModelRegistry, model: string, alias: string): LoadedDriftReference {
  let opened;
  try {
    opened = registry.open(model, alias);
  } catch (error) {
    throw new DriftReferenceError("MODEL_REGISTRY_DIR", (error as Error).message);
  }
  const version = opened.manifest.version;
  const file = opened.file(DRIFT_REFERENCE_FILE);
  if (!fs.existsSync(file)) {
    throw new DriftReferenceError(DRIFT_REFERENCE_FILE, `${model}@${version} has no ${DRIFT_REFERENCE_FILE} (${file}); retrain with a trainer that writes one`);
  }
  try {
    return { id: `${model}@${version}`, version, reference: parseDriftReference(fs.readFileSync(file, "utf8")) };
  } catch (error) {
    throw new DriftReferenceError(DRIFT_REFERENCE_FILE, `${model}@${version}: ${(error as Error).message}`);
  }
}
