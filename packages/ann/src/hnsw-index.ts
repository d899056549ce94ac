import { AnnError } from "./errors";
import { HierarchicalNSW } from "./hnswlib";
import type { HnswParams, IndexManifest } from "./manifest";
import { INDEX_FILE, MANIFEST_FORMAT, checkIndexFolder, parseManifest, readManifestJson, writeIndexFolder, type IndexExpectation } from "./manifest";
export type { IndexExpectation } from "./manifest";
import type { ItemId, SearchResult, Vector, VectorIndex } from "./vector-index";
import { checkBatch, checkDim, checkK, checkKnown, checkQuery } from "./vector-index";

/**
 * From `npm run bench` (packages/ann/README.md). M=32 with lift 0.5 is the fastest graph that
 * reaches recall@100 >= 0.95 against exact search; on 200k items ef=200 would do, but the
 * 1M-item catalogue the latency budget names needs ef=400 (recall@100 0.965; 0.931 at 200).
 */
export const DEFAULT_HNSW_PARAMS: Readonly<HnswParams> = Object.freeze({
  M: 32,
  efConstruction: 200,
  ef: 400,
  seed: 100,
  liftFraction: 0.5,
});

export interface HnswIndexOptions {
  dim: number;
  /** Version of the model whose item tower produced the embeddings; checked again on load. */
  modelVersion: string;
  params?: Partial<HnswParams>;
  /** Slots to allocate up front; the graph is resized by half again when it fills. */
  initialCapacity?: number;
  /**
   * Norm the lift coordinate is measured against (see HnswParams.liftFraction). Defaults to the
   * largest norm in the first batch added; later items longer than it get no lift, which costs
   * graph quality for them but never score accuracy.
   */
  maxNorm?: number;
}


function checkParams(params: HnswParams): void {
  // M = 1 makes hnswlib's level multiplier 1/ln(1) infinite.
  if (!Number.isInteger(params.M) || params.M < 2) throw new AnnError("invalid_input", "params.M", `must be an integer >= 2, got ${params.M}`);
  for (const field of ["efConstruction", "ef"] as const) {
    const v = params[field];
    if (!Number.isInteger(v) || v < 1) throw new AnnError("invalid_input", `params.${field}`, `must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(params.seed)) throw new AnnError("invalid_input", "params.seed", `must be an integer, got ${params.seed}`);
  if (!(params.liftFraction >= 0 && params.liftFraction <= 1)) {
    throw new AnnError("invalid_input", "params.liftFraction", `must be in [0, 1], got ${params.liftFraction}`);
  }
}

const lifted = (params: HnswParams): boolean => params.liftFraction > 0;

/**
 * Approximate maximum-inner-product search with hnswlib's HNSW graph. Item ids map to dense
 * hnswlib labels that are never reused: deleting an item marks its label, re-adding the same id
 * later gives it a fresh label.
 */
export class HnswIndex<Id extends ItemId = ItemId> implements VectorIndex<Id> {
  readonly kind = "hnsw" as const;
  private readonly labelOf = new Map<Id, number>();
  private readonly deleted: Set<number>;
  // hnswlib-node copies plain arrays only; one reused buffer avoids an allocation per call.
  private readonly row: number[];
  private currentEf = -1;
  private saving = false;

  private constructor(
    private readonly native: HierarchicalNSW,
    readonly dim: number,
    readonly modelVersion: string,
    readonly params: Readonly<HnswParams>,
    private maxNorm: number | null,
    private readonly labels: Id[],
    deletedLabels: Iterable<number>,
  ) {
    this.deleted = new Set(deletedLabels);
    this.row = new Array<number>(dim + (lifted(params) ? 1 : 0)).fill(0);
    labels.forEach((id, label) => {
      if (this.deleted.has(label)) return;
      if (this.labelOf.has(id)) throw new AnnError("corrupt_index", "labels", `live id ${JSON.stringify(id)} appears twice`);
      this.labelOf.set(id, label);
    });
  }

  static create<Id extends ItemId = ItemId>(options: HnswIndexOptions): HnswIndex<Id> {
    checkDim(options.dim);
    if (typeof options.modelVersion !== "string" || options.modelVersion === "") {
      throw new AnnError("invalid_input", "modelVersion", "must be a non-empty string");
    }
    const params: HnswParams = { ...DEFAULT_HNSW_PARAMS, ...options.params };
    checkParams(params);
    const capacity = options.initialCapacity ?? 1024;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new AnnError("invalid_input", "initialCapacity", `must be a positive integer, got ${capacity}`);
    }
    if (options.maxNorm !== undefined && !(options.maxNorm > 0 && Number.isFinite(options.maxNorm))) {
      throw new AnnError("invalid_input", "maxNorm", `must be a positive number, got ${options.maxNorm}`);
    }
    const native = new HierarchicalNSW("ip", options.dim + (lifted(params) ? 1 : 0));
    native.initIndex(capacity, params.M, params.efConstruction, params.seed);
    const maxNorm = lifted(params) ? (options.maxNorm ?? null) : null;
    return new HnswIndex<Id>(native, options.dim, options.modelVersion, Object.freeze(params), maxNorm, [], []);
  }

  /** Inserts `ids.length` rows of `vectors` (row-major, n x dim) into a new index. */
  static build<Id extends ItemId>(vectors: Float32Array, ids: readonly Id[], options: HnswIndexOptions): HnswIndex<Id> {
    const index = HnswIndex.create<Id>({ initialCapacity: Math.max(1, ids.length), ...options });
    index.addItems(vectors, ids);
    return index;
  }

  /**
   * Loads an index written by `save`, after checking that it was built for `expected` and that the
   * graph file is the one the manifest describes.
   */
  static async load<Id extends ItemId = ItemId>(dir: string, expected: IndexExpectation): Promise<HnswIndex<Id>> {
    const manifest = parseManifest(await readManifestJson(dir));
    const indexPath = await checkIndexFolder(dir, manifest, expected);
    const nativeDim = manifest.dim + (lifted(manifest.params) ? 1 : 0);
    const native = new HierarchicalNSW("ip", nativeDim);
    await native.readIndex(indexPath);
    if (native.getNumDimensions() !== nativeDim) {
      throw new AnnError("corrupt_index", "dim", `graph has ${native.getNumDimensions()} dimensions, manifest implies ${nativeDim}`);
    }
    if (native.getCurrentCount() !== manifest.labels.length) {
      throw new AnnError("corrupt_index", "labels", `graph holds ${native.getCurrentCount()} labels, manifest lists ${manifest.labels.length}`);
    }
    return new HnswIndex<Id>(
      native,
      manifest.dim,
      manifest.modelVersion,
      Object.freeze(manifest.params),
      manifest.maxNorm,
      manifest.labels as Id[],
      manifest.deletedLabels,
    );
  }

  get size(): number {
    return this.labelOf.size;
  }

  /** Slots allocated in the graph (live + deleted + free). */
  get capacity(): number {
    return this.native.getMaxElements();
  }

  has(id: Id): boolean {
    return this.labelOf.has(id);
  }

  search(query: Vector, k: number, ef?: number): SearchResult<Id> {
    checkQuery(query, this.dim);
    checkK(k);
    if (ef !== undefined && (!Number.isInteger(ef) || ef < 1)) throw new AnnError("invalid_input", "ef", `must be a positive integer, got ${ef}`);
    const wanted = Math.min(k, this.size);
    if (wanted === 0) return { ids: [], scores: [] };
    // hnswlib needs a candidate list at least as long as the answer.
    const effectiveEf = Math.max(ef ?? this.params.ef, wanted);
    if (effectiveEf !== this.currentEf) {
      this.native.setEf(effectiveEf);
      this.currentEf = effectiveEf;
    }
    const { neighbors, distances } = this.native.searchKnn(this.queryRow(query), wanted);
    const n = neighbors.length;
    const ids = new Array<Id>(n);
    const scores = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      ids[i] = this.labels[neighbors[i] as number] as Id;
      // The 'ip' space returns 1 - <q, x>.
      scores[i] = 1 - (distances[i] as number);
    }
    return { ids, scores };
  }

  addItems(vectors: Float32Array, ids: readonly Id[]): void {
    this.assertNotSaving();
    checkBatch(vectors, ids, this.dim, (id) => this.labelOf.has(id));
    const needed = this.labels.length + ids.length;
    if (needed > this.capacity) this.native.resizeIndex(Math.max(needed, Math.ceil(this.capacity * 1.5)));
    if (lifted(this.params) && this.maxNorm === null && ids.length > 0) this.maxNorm = largestNorm(vectors, this.dim);
    for (let i = 0; i < ids.length; i++) {
      const label = this.labels.length;
      this.native.addPoint(this.itemRow(vectors, i * this.dim), label);
      const id = ids[i] as Id;
      this.labels.push(id);
      this.labelOf.set(id, label);
    }
  }

  markDeleted(ids: readonly Id[]): void {
    this.assertNotSaving();
    checkKnown(ids, (id) => this.labelOf.has(id));
    for (const id of new Set(ids)) {
      const label = this.labelOf.get(id) as number;
      this.native.markDelete(label);
      this.deleted.add(label);
      this.labelOf.delete(id);
    }
  }

  /**
   * Writes the hnswlib graph and a manifest into `dir`. The graph goes first and the manifest,
   * which carries the graph's checksum, last, so a reader never trusts a half-written pair.
   */
  async save(dir: string): Promise<IndexManifest> {
    this.assertNotSaving();
    this.saving = true;
    try {
      return await writeIndexFolder(
        dir,
        INDEX_FILE,
        (path) => this.native.writeIndex(path),
        (checksum): IndexManifest => ({
          format: MANIFEST_FORMAT,
          modelVersion: this.modelVersion,
          dim: this.dim,
          space: "ip",
          params: { ...this.params },
          maxNorm: this.maxNorm,
          count: this.size,
          labels: [...this.labels],
          deletedLabels: [...this.deleted].sort((a, b) => a - b),
          createdAt: new Date().toISOString(),
          indexFile: INDEX_FILE,
          checksum: { algorithm: "sha256", value: checksum },
        }),
      );
    } finally {
      this.saving = false;
    }
  }

  private queryRow(query: Vector): number[] {
    const row = this.row;
    for (let j = 0; j < this.dim; j++) row[j] = query[j] as number;
    if (row.length > this.dim) row[this.dim] = 0;
    return row;
  }

  private itemRow(vectors: Float32Array, offset: number): number[] {
    const row = this.row;
    let squaredNorm = 0;
    for (let j = 0; j < this.dim; j++) {
      const x = vectors[offset + j] as number;
      row[j] = x;
      squaredNorm += x * x;
    }
    if (row.length > this.dim) {
      const maxNorm = this.maxNorm as number;
      row[this.dim] = this.params.liftFraction * Math.sqrt(Math.max(0, maxNorm * maxNorm - squaredNorm));
    }
    return row;
  }

  private assertNotSaving(): void {
    // hnswlib writes the graph from a worker thread; mutating it meanwhile would tear the file.
    if (this.saving) throw new AnnError("busy", "index", "a save is in progress; wait for it before changing the index");
  }
}

function largestNorm(vectors: Float32Array, dim: number): number {
  let largest = 0;
  for (let off = 0; off < vectors.length; off += dim) {
    let squared = 0;
    for (let j = 0; j < dim; j++) squared += (vectors[off + j] as number) ** 2;
    if (squared > largest) largest = squared;
  }
  // An all-zero first batch still needs a positive reference norm.
  return Math.sqrt(largest) || 1;
}
