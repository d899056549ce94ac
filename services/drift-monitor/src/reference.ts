import { readFile } from "node:fs/promises";
import { parseDriftReference } from "@mlsd/drift";
import { ModelRegistry } from "@mlsd/model-registry";
import type { LoadedReference } from "./monitor";

/** The file the trainer writes next to the model (jobs/trainer/src/fraud/pipeline.ts). */
export const DRIFT_REFERENCE_FILE = "drift-reference.json";

export class ReferenceLoadError extends Error {
  override readonly name = "ReferenceLoadError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/**
 * Loads the drift reference of the version `alias` points at. Throws ReferenceLoadError naming
 * what is missing or invalid (no such model, no reference file, a reference that fails validation).
 */
export async function loadReference(registryDir: string, model: string, alias: string): Promise<LoadedReference> {
  let registered;
  try {
    registered = new ModelRegistry(registryDir).open(model, alias);
  } catch (error) {
    throw new ReferenceLoadError("MODEL_REGISTRY_DIR", (error as Error).message);
  }
  const version = registered.manifest.version;
  const path = registered.file(DRIFT_REFERENCE_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new ReferenceLoadError(DRIFT_REFERENCE_FILE, `${model}@${version} has no ${DRIFT_REFERENCE_FILE} (${path}); retrain with a trainer that writes one`);
  }
  try {
    return { id: `${model}@${version}`, version, reference: parseDriftReference(text) };
  } catch (error) {
    throw new ReferenceLoadError(DRIFT_REFERENCE_FILE, `${model}@${version}: ${(error as Error).message}`);
  }
}
