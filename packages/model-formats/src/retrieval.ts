import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { INDEX_FILE, IVF_INDEX_FILE, openIndex, type IndexKind, type SavedIndex } from "@mlsd/ann";
import type { ModelRegistry, RegisteredModel } from "@mlsd/model-registry";
import { loadItemEmbeddings, loadUserEncoder, type UserEncoder } from "@mlsd/two-tower/serving";
import { z } from "zod";
import { RETRIEVAL_FEATURE_SCHEMA, RETRIEVAL_MODEL_NAME } from "./retrieval-id";

/**
 * The retrieval model as one registry folder: the two-tower model (whose weights carry the
 * catalogue's item embeddings), the nearest-neighbour index (HNSW or IVF) built from those
 * embeddings for the same version, and the per-user table the user tower reads when a request
 * brings no features of its own.
 *
 *   tower.json  weights.bin    the two-tower artifact (its manifest, renamed)
 *   index.json  index.hnsw     the HNSW graph and its manifest (renamed), or
 *   index.json  index.ivf      the IVF lists and their manifest: the manifest's format says which
 *   users.bin                  numeric f32 | categorical i32 | history i32 | known u8, user-major
 *   items.bin                  category i32 per item (-1 unknown): answers carry it, for diversity
 *   retrieval.json             format, version, sizes, feature names, external ids
 *
 * The registry hashes a flat folder, and both libraries name their manifest `manifest.json`, so
 * the two are stored renamed side by side and put back under their own names (symlinks in a
 * scratch folder) only while loading.
 */
export { RETRIEVAL_FEATURE_SCHEMA, RETRIEVAL_MODEL_NAME } from "./retrieval-id";
export const RETRIEVAL_FORMAT = "mlsd-retrieval/1";

export const RETRIEVAL_FILES = {
  towerManifest: "tower.json",
  weights: "weights.bin",
  indexManifest: "index.json",
  users: "users.bin",
  items: "items.bin",
  description: "retrieval.json",
} as const;

/** The index's data file, stored under the library's own name. */
export const RETRIEVAL_INDEX_FILES: Readonly<Record<IndexKind, string>> = Object.freeze({ hnsw: INDEX_FILE, ivf: IVF_INDEX_FILE });

/** Every file of a retrieval folder whose index is of `kind`. */
export function retrievalFiles(kind: IndexKind): string[] {
  return [...Object.values(RETRIEVAL_FILES), RETRIEVAL_INDEX_FILES[kind]];
}

const LIBRARY_MANIFEST = "manifest.json";

/**
 * The mean of the item embeddings. Trained towers put every item in a narrow cone (on the 1M-item
 * world the mean embedding has norm 0.96), and HNSW on such vectors loses its way for queries
 * pointing away from the cone (recall@100 0.79 at ef 400 on 200k of them). Subtracting one vector
 * from every item changes each query's scores by the same constant, <q, c>, so the ranking is
 * unchanged; indexed centred, the same graph reaches recall 1.0. The service adds <q, c> back.
 */
export function embeddingCenter(embeddings: Float32Array, dim: number): Float32Array {
  const n = embeddings.length / dim;
  const sum = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) sum[j] = (sum[j] as number) + (embeddings[i * dim + j] as number);
  return Float32Array.from(sum, (s) => (n > 0 ? s / n : 0));
}

export function centeredEmbeddings(embeddings: Float32Array, center: Float32Array): Float32Array {
  const dim = center.length;
  return Float32Array.from(embeddings, (x, k) => x - (center[k % dim] as number));
}

/** What the user tower knows about each training user, as of the end of the training data. */
export interface UserTable {
  /** numUsers x numericNames.length. */
  numeric: Float32Array;
  numericNames: string[];
  /** numUsers x categoricalNames.length; -1 = unknown. */
  categorical: Int32Array;
  categoricalNames: string[];
  cardinalities: number[];
  /** numUsers x historyLength item indices, most recent first, -1 padded. */
  history: Int32Array;
  historyLength: number;
  /** 1 when the user tower was trained on the user; others are served by its unknown-user row. */
  known: Uint8Array;
}

const DescriptionSchema = z.object({
  format: z.literal(RETRIEVAL_FORMAT),
  modelVersion: z.string().min(1),
  numUsers: z.number().int().nonnegative(),
  numItems: z.number().int().positive(),
  numericNames: z.array(z.string()),
  categoricalNames: z.array(z.string()),
  cardinalities: z.array(z.number().int().positive()),
  historyLength: z.number().int().positive(),
  /** What was subtracted from every item embedding before indexing (see embeddingCenter). */
  center: z.array(z.number().finite()),
  /** External ids by dense index; absent means the decimal index itself ("0", "1", ...). */
  userIds: z.array(z.string()).optional(),
  itemIds: z.array(z.string()).optional(),
});
type Description = z.infer<typeof DescriptionSchema>;

export class RetrievalArtifactError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = "RetrievalArtifactError";
  }
}

export interface RetrievalArtifactInput {
  /** The registry version; the tower and the index must carry it too. */
  version: string;
  /** Writes the two-tower artifact (manifest.json + weights.bin) into a folder, e.g. `model.save(dir, { version })`. */
  saveTower: (dir: string) => Promise<unknown>;
  /** Built over the item embeddings minus `center`: HNSW or IVF. */
  index: SavedIndex<string>;
  center: Float32Array;
  users: UserTable;
  /** Category of each item (-1 unknown), returned with the candidates. */
  itemCategories: Int32Array;
  userIds?: readonly string[];
  itemIds?: readonly string[];
}

function moveUp(from: string, to: string): void {
  fs.renameSync(from, to);
}

/** Writes every file of the retrieval model flat into `dir` (a registry version folder being published). */
export async function writeRetrievalArtifact(dir: string, input: RetrievalArtifactInput): Promise<void> {
  if (input.index.modelVersion !== input.version) {
    throw new RetrievalArtifactError("index", `was built for ${input.index.modelVersion}, not ${input.version}`);
  }
  const u = input.users;
  const numUsers = u.known.length;
  const towerDir = path.join(dir, "tower.tmp");
  const indexDir = path.join(dir, "index.tmp");
  await input.saveTower(towerDir);
  const tower = JSON.parse(fs.readFileSync(path.join(towerDir, LIBRARY_MANIFEST), "utf8")) as { modelVersion: string; schema: { numItems: number } };
  if (tower.modelVersion !== input.version) throw new RetrievalArtifactError("tower", `was saved as ${tower.modelVersion}, not ${input.version}`);
  moveUp(path.join(towerDir, LIBRARY_MANIFEST), path.join(dir, RETRIEVAL_FILES.towerManifest));
  moveUp(path.join(towerDir, RETRIEVAL_FILES.weights), path.join(dir, RETRIEVAL_FILES.weights));
  fs.rmSync(towerDir, { recursive: true });
  await input.index.save(indexDir);
  moveUp(path.join(indexDir, LIBRARY_MANIFEST), path.join(dir, RETRIEVAL_FILES.indexManifest));
  const indexFile = RETRIEVAL_INDEX_FILES[input.index.kind];
  moveUp(path.join(indexDir, indexFile), path.join(dir, indexFile));
  fs.rmSync(indexDir, { recursive: true });

  const sections = [u.numeric, u.categorical, u.history, u.known];
  const expected = [numUsers * u.numericNames.length, numUsers * u.categoricalNames.length, numUsers * u.historyLength, numUsers];
  sections.forEach((s, i) => {
    if (s.length !== expected[i]) throw new RetrievalArtifactError("users", `section ${i} has ${s.length} values, expected ${expected[i]}`);
  });
  const fd = fs.openSync(path.join(dir, RETRIEVAL_FILES.users), "w");
  try {
    for (const s of sections) fs.writeSync(fd, new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
  } finally {
    fs.closeSync(fd);
  }
  if (input.itemCategories.length !== tower.schema.numItems) {
    throw new RetrievalArtifactError("items", `has ${input.itemCategories.length} categories for ${tower.schema.numItems} items`);
  }
  fs.writeFileSync(path.join(dir, RETRIEVAL_FILES.items), new Uint8Array(input.itemCategories.buffer, input.itemCategories.byteOffset, input.itemCategories.byteLength));
  const description: Description = {
    format: RETRIEVAL_FORMAT,
    modelVersion: input.version,
    numUsers,
    numItems: tower.schema.numItems,
    numericNames: u.numericNames,
    categoricalNames: u.categoricalNames,
    cardinalities: u.cardinalities,
    historyLength: u.historyLength,
    center: Array.from(input.center),
    ...(input.userIds ? { userIds: [...input.userIds] } : {}),
    ...(input.itemIds ? { itemIds: [...input.itemIds] } : {}),
  };
  fs.writeFileSync(path.join(dir, RETRIEVAL_FILES.description), JSON.stringify(description));
}

/** External id <-> dense index: decimal ids need no table, listed ids a map. */
export interface IdMap {
  readonly size: number;
  indexOf(id: string): number;
  idOf(index: number): string;
}

const DECIMAL = /^(0|[1-9]\d{0,9})$/;

export function denseIds(size: number): IdMap {
  return {
    size,
    indexOf: (id) => {
      if (!DECIMAL.test(id)) return -1;
      const i = Number(id);
      return i < size ? i : -1;
    },
    idOf: (i) => String(i),
  };
}

export function listedIds(ids: readonly string[]): IdMap {
  const index = new Map<string, number>();
  ids.forEach((id, i) => index.set(id, i));
  return { size: ids.length, indexOf: (id) => index.get(id) ?? -1, idOf: (i) => ids[i] as string };
}

export interface RetrievalArtifact {
  version: string;
  encoder: UserEncoder;
  /** numItems x dim, row i = item i: what the index was built from, and the exact fallback's data. */
  embeddings: Float32Array;
  dim: number;
  /** Over the embeddings minus `center`, HNSW or IVF (`index.kind`); null when it could not be loaded (`indexError` says why, exact search serves). */
  index: SavedIndex<string> | null;
  center: Float32Array;
  indexError: string | null;
  users: UserTable;
  /** Category of each item, -1 when unknown. */
  itemCategories: Int32Array;
  userIds: IdMap;
  itemIds: IdMap;
}

function sectionView<T extends Float32Array | Int32Array | Uint8Array>(
  Ctor: { new (buffer: ArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number },
  buffer: ArrayBuffer,
  offset: { at: number },
  length: number,
): T {
  const view = new Ctor(buffer, offset.at, length);
  offset.at += length * Ctor.BYTES_PER_ELEMENT;
  return view;
}

function readUsers(file: string, d: Description): UserTable {
  const bytes = fs.readFileSync(file);
  // A fresh, aligned buffer: Node may hand back a slice of a shared pool at any offset.
  const buffer = new Uint8Array(bytes).buffer;
  const n = d.numUsers;
  const expected = 4 * n * (d.numericNames.length + d.categoricalNames.length + d.historyLength) + n;
  if (bytes.length !== expected) throw new RetrievalArtifactError(file, `has ${bytes.length} bytes, expected ${expected}`);
  const at = { at: 0 };
  return {
    numeric: sectionView(Float32Array, buffer, at, n * d.numericNames.length),
    numericNames: d.numericNames,
    categorical: sectionView(Int32Array, buffer, at, n * d.categoricalNames.length),
    categoricalNames: d.categoricalNames,
    cardinalities: d.cardinalities,
    history: sectionView(Int32Array, buffer, at, n * d.historyLength),
    historyLength: d.historyLength,
    known: sectionView(Uint8Array, buffer, at, n),
  };
}

/** Symlinks `files` (stored name -> library name) into a scratch folder for a library that wants its own layout. */
function stage(dir: string, files: Record<string, string>): string {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "mlsd-retrieval-"));
  for (const [stored, name] of Object.entries(files)) fs.symlinkSync(path.resolve(dir, stored), path.join(scratch, name));
  return scratch;
}

export interface LoadRetrievalOptions {
  /** Refuse (as `indexError`) an index of the other kind: a service configured for IVF does not silently serve HNSW. */
  indexKind?: IndexKind;
}

/**
 * Loads a retrieval folder written by writeRetrievalArtifact. No tfjs: the user tower runs as plain
 * loops. The index is opened by whichever kind its manifest names, with its own model-version,
 * dimension and checksum checks.
 */
export async function loadRetrievalArtifact(dir: string, options: LoadRetrievalOptions = {}): Promise<RetrievalArtifact> {
  const descriptionFile = path.join(dir, RETRIEVAL_FILES.description);
  let description: Description;
  try {
    description = DescriptionSchema.parse(JSON.parse(fs.readFileSync(descriptionFile, "utf8")));
  } catch (error) {
    throw new RetrievalArtifactError(descriptionFile, `unreadable (${(error as Error).message})`);
  }
  const version = description.modelVersion;
  const towerDir = stage(dir, { [RETRIEVAL_FILES.towerManifest]: LIBRARY_MANIFEST, [RETRIEVAL_FILES.weights]: RETRIEVAL_FILES.weights });
  const indexFiles: Record<string, string> = { [RETRIEVAL_FILES.indexManifest]: LIBRARY_MANIFEST };
  for (const file of Object.values(RETRIEVAL_INDEX_FILES)) if (fs.existsSync(path.join(dir, file))) indexFiles[file] = file;
  const indexDir = stage(dir, indexFiles);
  try {
    const { encoder, version: towerVersion } = await loadUserEncoder(towerDir);
    if (towerVersion !== version) throw new RetrievalArtifactError(RETRIEVAL_FILES.towerManifest, `holds model ${towerVersion}, expected ${version}`);
    const { embeddings, numItems, dim } = await loadItemEmbeddings(towerDir);
    if (numItems !== description.numItems) throw new RetrievalArtifactError(RETRIEVAL_FILES.weights, `holds ${numItems} items, expected ${description.numItems}`);
    let index: SavedIndex<string> | null = null;
    let indexError: string | null = null;
    try {
      index = await openIndex<string>(indexDir, { modelVersion: version, dim, ...(options.indexKind ? { kind: options.indexKind } : {}) });
    } catch (error) {
      // Exact search answers from the embeddings while the index is missing or refused.
      indexError = (error as Error).message.replaceAll(indexDir, RETRIEVAL_FILES.indexManifest);
    }
    if (description.center.length !== dim) throw new RetrievalArtifactError(RETRIEVAL_FILES.description, `center has ${description.center.length} values, the embeddings ${dim}`);
    const users = readUsers(path.join(dir, RETRIEVAL_FILES.users), description);
    const itemBytes = fs.readFileSync(path.join(dir, RETRIEVAL_FILES.items));
    if (itemBytes.length !== 4 * numItems) throw new RetrievalArtifactError(RETRIEVAL_FILES.items, `has ${itemBytes.length} bytes, expected ${4 * numItems}`);
    if (users.historyLength !== encoder.weights.schema.historyLength) {
      throw new RetrievalArtifactError(RETRIEVAL_FILES.description, `historyLength ${users.historyLength} differs from the tower's ${encoder.weights.schema.historyLength}`);
    }
    return {
      version,
      encoder,
      embeddings,
      dim,
      index,
      indexError,
      center: Float32Array.from(description.center),
      users,
      itemCategories: new Int32Array(new Uint8Array(itemBytes).buffer),
      userIds: description.userIds ? listedIds(description.userIds) : denseIds(description.numUsers),
      itemIds: description.itemIds ? listedIds(description.itemIds) : denseIds(description.numItems),
    };
  } finally {
    fs.rmSync(towerDir, { recursive: true, force: true });
    fs.rmSync(indexDir, { recursive: true, force: true });
  }
}

export interface PublishRetrievalModelInput extends RetrievalArtifactInput {
  dataWindow: Record<string, unknown>;
  metrics: Record<string, unknown>;
  alias?: string;
}

/** Publishes the retrieval model (tower, index, user table, catalogue) as one registry version. */
export function publishRetrievalModel(registry: ModelRegistry, input: PublishRetrievalModelInput): Promise<RegisteredModel> {
  return registry.publish(
    { model: RETRIEVAL_MODEL_NAME, version: input.version, dataWindow: input.dataWindow, featureSchemaHash: RETRIEVAL_FEATURE_SCHEMA, metrics: input.metrics, extra: { index: { kind: input.index.kind, params: input.index.params } } },
    (dir) => writeRetrievalArtifact(dir, input),
    { alias: input.alias ?? "current" },
  );
}

/** Opens the version `aliasOrVersion` names (every file checked against its manifest) and loads it. */
export async function loadRetrievalModel(registry: ModelRegistry, aliasOrVersion: string, options: LoadRetrievalOptions = {}): Promise<RetrievalArtifact> {
  const entry = registry.open(RETRIEVAL_MODEL_NAME, aliasOrVersion, { featureSchemaHash: RETRIEVAL_FEATURE_SCHEMA });
  return loadRetrievalArtifact(entry.dir, options);
}
