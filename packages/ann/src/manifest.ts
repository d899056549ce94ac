import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AnnError } from "./errors";
import type { ItemId } from "./vector-index";

export const MANIFEST_FILE = "manifest.json";
export const INDEX_FILE = "index.hnsw";
export const MANIFEST_FORMAT = "mlsd-ann-hnsw/1";
export const IVF_INDEX_FILE = "index.ivf";
export const IVF_MANIFEST_FORMAT = "mlsd-ann-ivf/1";

export interface IvfParams {
  /** Coarse cells (k-means centroids); fewer are trained when the first batch is smaller. */
  nlist: number;
  /** Default number of lists a search scans. */
  nprobe: number;
  /** Lloyd iterations of the coarse quantiser. */
  trainIterations: number;
  /** k-means trains on nlist * this sampled rows of the first batch. */
  trainSamplePerList: number;
  /** Seed of the training sample and of restarts of empty clusters. */
  seed: number;
}

export interface IvfManifest {
  format: typeof IVF_MANIFEST_FORMAT;
  modelVersion: string;
  dim: number;
  space: "ip";
  params: IvfParams;
  /** Trained lists. */
  nlist: number;
  /** Live rows per list; the index file holds the centroids, then the rows list by list. */
  listSizes: number[];
  count: number;
  /** Item ids in the order of the rows in the index file. */
  ids: ItemId[];
  createdAt: string;
  indexFile: string;
  checksum: { algorithm: "sha256"; value: string };
}

export interface HnswParams {
  /** Graph out-degree (hnswlib's M); the bottom layer keeps 2M links. */
  M: number;
  /** Candidate-list size while inserting: higher builds slower and a better graph. */
  efConstruction: number;
  /** Default candidate-list size while searching; a search always uses at least k. */
  ef: number;
  /** hnswlib's level-assignment seed, so a build is reproducible. */
  seed: number;
  /**
   * Share of the MIPS-to-nearest-neighbour lift stored as one extra coordinate per item:
   * liftFraction * sqrt(maxNorm^2 - |x|^2). Queries get 0 there, so scores stay exact inner
   * products; only the graph changes. 0 builds the plain inner-product graph, whose links favour
   * long (popular) vectors and strand short ones, so recall@100 stalls; 1 is the full transform
   * (Bachrach et al., 2014), which flattens angular differences and hurts recall@10.
   */
  liftFraction: number;
}

export interface IndexManifest {
  format: typeof MANIFEST_FORMAT;
  modelVersion: string;
  dim: number;
  space: "ip";
  params: HnswParams;
  /** Norm the lift is measured against; null while liftFraction is 0 or before the first item. */
  maxNorm: number | null;
  /** Live items. */
  count: number;
  /** `labels[label]` is the item id stored under hnswlib label `label`. */
  labels: ItemId[];
  /** Labels marked deleted (kept in the graph, never returned). */
  deletedLabels: number[];
  createdAt: string;
  indexFile: string;
  checksum: { algorithm: "sha256"; value: string };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The parsed manifest.json of an index folder (any kind). */
export async function readManifestJson(dir: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(join(dir, MANIFEST_FILE), "utf8"));
  } catch (error) {
    throw new AnnError("corrupt_index", MANIFEST_FILE, `cannot read ${join(dir, MANIFEST_FILE)}: ${(error as Error).message}`);
  }
}

function fail(field: string, message: string): never {
  throw new AnnError("corrupt_index", `manifest.${field}`, message);
}

function positiveInt(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) fail(field, `must be a positive integer, got ${String(value)}`);
  return value;
}

/** Checks the shape of a parsed manifest; every field is named when it is wrong. */
export function parseManifest(raw: unknown): IndexManifest {
  if (typeof raw !== "object" || raw === null) fail("", "is not a JSON object");
  const m = raw as Record<string, unknown>;
  if (m.format !== MANIFEST_FORMAT) fail("format", `expected ${MANIFEST_FORMAT}, got ${String(m.format)}`);
  const common = parseCommon(m);
  const p = m.params as Record<string, unknown> | undefined;
  if (typeof p !== "object" || p === null) fail("params", "is missing");
  const params: HnswParams = {
    M: positiveInt(p.M, "params.M"),
    efConstruction: positiveInt(p.efConstruction, "params.efConstruction"),
    ef: positiveInt(p.ef, "params.ef"),
    seed: typeof p.seed === "number" && Number.isInteger(p.seed) ? p.seed : fail("params.seed", "must be an integer"),
    liftFraction:
      typeof p.liftFraction === "number" && p.liftFraction >= 0 && p.liftFraction <= 1
        ? p.liftFraction
        : fail("params.liftFraction", "must be a number in [0, 1]"),
  };
  if (m.maxNorm !== null && !(typeof m.maxNorm === "number" && m.maxNorm > 0 && Number.isFinite(m.maxNorm))) {
    fail("maxNorm", "must be a positive number or null");
  }
  if (!Array.isArray(m.labels) || !m.labels.every((id) => typeof id === "string" || (typeof id === "number" && Number.isFinite(id)))) {
    fail("labels", "must be an array of string or number ids");
  }
  const labels = m.labels as ItemId[];
  if (!Array.isArray(m.deletedLabels) || !m.deletedLabels.every((l) => Number.isInteger(l) && l >= 0 && l < labels.length)) {
    fail("deletedLabels", "must be an array of label numbers below labels.length");
  }
  const deletedLabels = m.deletedLabels as number[];
  if (typeof m.count !== "number" || m.count !== labels.length - new Set(deletedLabels).size) {
    fail("count", `must equal labels minus deleted labels (${labels.length - new Set(deletedLabels).size}), got ${String(m.count)}`);
  }
  return { format: MANIFEST_FORMAT, ...common, space: "ip", params, maxNorm: m.maxNorm, count: m.count, labels, deletedLabels };
}

function nonNegativeInt(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) fail(field, `must be a non-negative integer, got ${String(value)}`);
  return value;
}

/** Fields both manifest kinds share: model version, dim, space, timestamps, file and checksum. */
function parseCommon(m: Record<string, unknown>): Pick<IndexManifest, "modelVersion" | "dim" | "createdAt" | "indexFile" | "checksum"> {
  if (typeof m.modelVersion !== "string" || m.modelVersion === "") fail("modelVersion", "must be a non-empty string");
  const dim = positiveInt(m.dim, "dim");
  if (m.space !== "ip") fail("space", `only "ip" is supported, got ${String(m.space)}`);
  if (typeof m.createdAt !== "string" || Number.isNaN(Date.parse(m.createdAt))) fail("createdAt", "must be an ISO timestamp");
  if (typeof m.indexFile !== "string" || m.indexFile === "" || /[\\/]/.test(m.indexFile)) {
    fail("indexFile", "must be a plain file name inside the index folder");
  }
  const c = m.checksum as Record<string, unknown> | undefined;
  if (typeof c !== "object" || c === null || c.algorithm !== "sha256" || typeof c.value !== "string" || !/^[0-9a-f]{64}$/.test(c.value)) {
    fail("checksum", "must be { algorithm: 'sha256', value: <64 hex digits> }");
  }
  return { modelVersion: m.modelVersion, dim, createdAt: m.createdAt, indexFile: m.indexFile, checksum: { algorithm: "sha256", value: c.value } };
}

export function parseIvfManifest(raw: unknown): IvfManifest {
  if (typeof raw !== "object" || raw === null) fail("", "is not a JSON object");
  const m = raw as Record<string, unknown>;
  if (m.format !== IVF_MANIFEST_FORMAT) fail("format", `expected ${IVF_MANIFEST_FORMAT}, got ${String(m.format)}`);
  const common = parseCommon(m);
  const p = m.params as Record<string, unknown> | undefined;
  if (typeof p !== "object" || p === null) fail("params", "is missing");
  const params: IvfParams = {
    nlist: positiveInt(p.nlist, "params.nlist"),
    nprobe: positiveInt(p.nprobe, "params.nprobe"),
    trainIterations: positiveInt(p.trainIterations, "params.trainIterations"),
    trainSamplePerList: positiveInt(p.trainSamplePerList, "params.trainSamplePerList"),
    seed: typeof p.seed === "number" && Number.isInteger(p.seed) ? p.seed : fail("params.seed", "must be an integer"),
  };
  const nlist = positiveInt(m.nlist, "nlist");
  if (!Array.isArray(m.listSizes) || m.listSizes.length !== nlist) fail("listSizes", `must be an array of ${nlist} sizes`);
  const listSizes = m.listSizes.map((n, l) => nonNegativeInt(n, `listSizes[${l}]`));
  const count = nonNegativeInt(m.count, "count");
  if (listSizes.reduce((a, b) => a + b, 0) !== count) fail("listSizes", `sizes sum to ${listSizes.reduce((a, b) => a + b, 0)}, count is ${count}`);
  if (!Array.isArray(m.ids) || m.ids.length !== count || !m.ids.every((id) => typeof id === "string" || (typeof id === "number" && Number.isFinite(id)))) {
    fail("ids", `must be an array of ${count} string or number ids`);
  }
  return { format: IVF_MANIFEST_FORMAT, ...common, space: "ip", params, nlist, listSizes, count, ids: m.ids as ItemId[] };
}

/** What a loading service believes it is serving; a saved index that disagrees is refused. */
export interface IndexExpectation {
  modelVersion: string;
  dim: number;
}

/**
 * Writes an index folder: the data file first (via `writeData` to a temporary name), then the
 * manifest carrying its checksum, last, so a reader never trusts a half-written pair.
 */
export async function writeIndexFolder<M>(
  dir: string,
  indexFile: string,
  writeData: (path: string) => Promise<unknown>,
  manifestFor: (checksum: string) => M,
): Promise<M> {
  await mkdir(dir, { recursive: true });
  const indexPath = join(dir, indexFile);
  await writeData(`${indexPath}.tmp`);
  const checksum = await sha256File(`${indexPath}.tmp`);
  await rename(`${indexPath}.tmp`, indexPath);
  const manifest = manifestFor(checksum);
  const manifestPath = join(dir, MANIFEST_FILE);
  await writeFile(`${manifestPath}.tmp`, JSON.stringify(manifest));
  await rename(`${manifestPath}.tmp`, manifestPath);
  return manifest;
}

/**
 * Refuses a manifest built for another model version or dimension, and a data file whose checksum
 * differs from the manifest's; returns the data file's path.
 */
export async function checkIndexFolder(
  dir: string,
  manifest: Pick<IndexManifest, "modelVersion" | "dim" | "indexFile" | "checksum">,
  expected: IndexExpectation,
): Promise<string> {
  if (manifest.modelVersion !== expected.modelVersion) {
    throw new AnnError("model_version_mismatch", "modelVersion", `index in ${dir} was built for model ${manifest.modelVersion}, expected ${expected.modelVersion}`);
  }
  if (manifest.dim !== expected.dim) {
    throw new AnnError("dimension_mismatch", "dim", `index in ${dir} has dim ${manifest.dim}, expected ${expected.dim}`);
  }
  const indexPath = join(dir, manifest.indexFile);
  let checksum: string;
  try {
    checksum = await sha256File(indexPath);
  } catch (error) {
    throw new AnnError("corrupt_index", "indexFile", `cannot read ${indexPath}: ${(error as Error).message}`);
  }
  if (checksum !== manifest.checksum.value) {
    throw new AnnError("corrupt_index", "checksum", `${indexPath} has sha256 ${checksum}, manifest says ${manifest.checksum.value}`);
  }
  return indexPath;
}
