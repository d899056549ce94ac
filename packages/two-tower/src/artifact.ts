import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FeatureSchema } from "./data";
import { ModelArtifactError } from "./errors";
import type { TwoTowerConfig } from "./model-config";
import type { NamedArray } from "./weights";

export const ARTIFACT_FORMAT = "mlsd.two-tower";
export const ARTIFACT_FORMAT_VERSION = 1;
export const MANIFEST_FILE = "manifest.json";
export const WEIGHTS_FILE = "weights.bin";

export interface TensorEntry {
  readonly name: string;
  readonly shape: readonly number[];
  /** Byte offset in the weights file; little-endian float32. */
  readonly byteOffset: number;
}

export interface ArtifactManifest {
  readonly format: typeof ARTIFACT_FORMAT;
  readonly formatVersion: number;
  /** The caller's version, or "sha256:<16 hex>" of the weights file when none is given. */
  readonly modelVersion: string;
  readonly schema: FeatureSchema;
  readonly config: TwoTowerConfig;
  readonly weightsFile: string;
  readonly weightsBytes: number;
  readonly weightsSha256: string;
  readonly tensors: readonly TensorEntry[];
}

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export async function writeArtifact(
  dir: string,
  meta: { schema: FeatureSchema; config: TwoTowerConfig; version?: string },
  arrays: readonly NamedArray[],
): Promise<ArtifactManifest> {
  const tensors: TensorEntry[] = [];
  let bytes = 0;
  for (const a of arrays) {
    if (a.values.length !== count(a.shape)) throw new Error(`${a.name}: ${a.values.length} values for shape [${a.shape.join(", ")}]`);
    tensors.push({ name: a.name, shape: [...a.shape], byteOffset: bytes });
    bytes += a.values.byteLength;
  }
  const blob = new Uint8Array(bytes);
  arrays.forEach((a, i) => blob.set(new Uint8Array(a.values.buffer, a.values.byteOffset, a.values.byteLength), (tensors[i] as TensorEntry).byteOffset));
  const sha = createHash("sha256").update(blob).digest("hex");
  const manifest: ArtifactManifest = {
    format: ARTIFACT_FORMAT,
    formatVersion: ARTIFACT_FORMAT_VERSION,
    modelVersion: meta.version ?? `sha256:${sha.slice(0, 16)}`,
    schema: meta.schema,
    config: meta.config,
    weightsFile: WEIGHTS_FILE,
    weightsBytes: bytes,
    weightsSha256: sha,
    tensors,
  };
  await mkdir(dir, { recursive: true });
  // Weights first and the manifest last, each renamed into place, so a reader never sees a
  // manifest that points at a half-written weights file.
  await writeFile(join(dir, `${WEIGHTS_FILE}.tmp`), blob);
  await rename(join(dir, `${WEIGHTS_FILE}.tmp`), join(dir, WEIGHTS_FILE));
  await writeFile(join(dir, `${MANIFEST_FILE}.tmp`), `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(join(dir, `${MANIFEST_FILE}.tmp`), join(dir, MANIFEST_FILE));
  return manifest;
}

export interface LoadedArtifact {
  readonly manifest: ArtifactManifest;
  /** The named array; throws ModelArtifactError when it is absent. */
  get(name: string): Float32Array;
  has(name: string): boolean;
}

export async function readArtifact(dir: string): Promise<LoadedArtifact> {
  const manifestPath = join(dir, MANIFEST_FILE);
  let manifest: ArtifactManifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, "utf8")) as ArtifactManifest;
  } catch (err) {
    throw new ModelArtifactError(manifestPath, `cannot read the manifest (${(err as Error).message})`);
  }
  if (manifest.format !== ARTIFACT_FORMAT) throw new ModelArtifactError(manifestPath, `format is ${String(manifest.format)}, expected ${ARTIFACT_FORMAT}`);
  if (manifest.formatVersion !== ARTIFACT_FORMAT_VERSION) {
    throw new ModelArtifactError(manifestPath, `formatVersion ${manifest.formatVersion} is not supported (expected ${ARTIFACT_FORMAT_VERSION})`);
  }
  if (!Array.isArray(manifest.tensors) || typeof manifest.modelVersion !== "string") {
    throw new ModelArtifactError(manifestPath, "tensors or modelVersion missing");
  }
  const weightsPath = join(dir, manifest.weightsFile);
  let bytes: Buffer;
  try {
    bytes = await readFile(weightsPath);
  } catch (err) {
    throw new ModelArtifactError(weightsPath, `cannot read the weights (${(err as Error).message})`);
  }
  if (bytes.length !== manifest.weightsBytes) throw new ModelArtifactError(weightsPath, `has ${bytes.length} bytes, manifest says ${manifest.weightsBytes}`);
  const sha = createHash("sha256").update(bytes).digest("hex");
  if (sha !== manifest.weightsSha256) throw new ModelArtifactError(weightsPath, "sha256 does not match the manifest (corrupt or mixed versions)");
  const entries = new Map(manifest.tensors.map((t) => [t.name, t]));
  return {
    manifest,
    has: (name) => entries.has(name),
    get(name) {
      const t = entries.get(name);
      if (t === undefined) throw new ModelArtifactError(manifestPath, `no tensor named ${name}`);
      const n = count(t.shape);
      if (t.byteOffset < 0 || t.byteOffset + 4 * n > bytes.length) throw new ModelArtifactError(manifestPath, `${name} lies outside the weights file`);
      // Copy into a fresh buffer: a Buffer's byteOffset need not be 4-aligned.
      const out = new Float32Array(n);
      new Uint8Array(out.buffer).set(bytes.subarray(t.byteOffset, t.byteOffset + 4 * n));
      return out;
    },
  };
}
