import { readFile, writeFile } from "node:fs/promises";
import { Rng } from "@mlsd/random";
import { AnnError } from "./errors";
import { FloatRows } from "./float-rows";
import {
  IVF_INDEX_FILE,
  IVF_MANIFEST_FORMAT,
  checkIndexFolder,
  parseIvfManifest,
  readManifestJson,
  writeIndexFolder,
  type IndexExpectation,
  type IvfManifest,
  type IvfParams,
} from "./manifest";
import { TopK } from "./top-k";
import type { ItemId, SearchResult, Vector, VectorIndex } from "./vector-index";
import { checkBatch, checkDim, checkK, checkKnown, checkQuery } from "./vector-index";

/**
 * From `npm run bench:peers` (packages/ann/README.md): on 200k x 64 with 1024 lists, nprobe 16 is
 * the fastest setting with recall@100 >= 0.95 and 32 reaches 0.99; the default keeps that margin
 * for catalogues larger than the benchmark's.
 */
export const DEFAULT_IVF_PARAMS: Readonly<IvfParams> = Object.freeze({
  nlist: 1024,
  nprobe: 32,
  trainIterations: 10,
  trainSamplePerList: 64,
  seed: 100,
});

export interface IvfIndexOptions {
  dim: number;
  modelVersion: string;
  params?: Partial<IvfParams>;
}

function checkParams(p: IvfParams): void {
  for (const field of ["nlist", "nprobe", "trainIterations", "trainSamplePerList"] as const) {
    if (!Number.isInteger(p[field]) || p[field] < 1) throw new AnnError("invalid_input", `params.${field}`, `must be a positive integer, got ${p[field]}`);
  }
  if (!Number.isInteger(p.seed)) throw new AnnError("invalid_input", "params.seed", `must be an integer, got ${p.seed}`);
}

/**
 * Inverted-file index for maximum inner product: a k-means coarse quantiser (Lloyd on a sample,
 * items go to their nearest centroid by L2), float32 inverted lists, and a search that scans the
 * `nprobe` lists whose centroids have the largest inner product with the query. Lists sit
 * contiguously, with slack, in one WebAssembly row store, so scanning a list is one kernel pass;
 * a list that overflows its slack re-packs the store. The centroids are trained on the first batch
 * added (as HNSW takes its lift norm from it); later items go to the nearest existing centroid.
 */
export class IvfIndex<Id extends ItemId = ItemId> implements VectorIndex<Id> {
  readonly kind = "ivf" as const;
  private centroids: FloatRows | null = null;
  private halfNorms = new Float64Array(0);
  private nlist = 0;
  private store: FloatRows;
  private listStart = new Int32Array(0);
  private listSize = new Int32Array(0);
  private listCap = new Int32Array(0);
  private slotIds: (Id | undefined)[] = [];
  private slotList = new Int32Array(0);
  private readonly slotOf = new Map<Id, number>();
  private centroidScores = new Float64Array(0);
  private saving = false;

  private constructor(
    readonly dim: number,
    readonly modelVersion: string,
    readonly params: Readonly<IvfParams>,
  ) {
    this.store = new FloatRows(dim, 1);
  }

  static create<Id extends ItemId = ItemId>(options: IvfIndexOptions): IvfIndex<Id> {
    checkDim(options.dim);
    if (typeof options.modelVersion !== "string" || options.modelVersion === "") {
      throw new AnnError("invalid_input", "modelVersion", "must be a non-empty string");
    }
    const params: IvfParams = { ...DEFAULT_IVF_PARAMS, ...options.params };
    checkParams(params);
    return new IvfIndex<Id>(options.dim, options.modelVersion, Object.freeze(params));
  }

  static build<Id extends ItemId>(vectors: Float32Array, ids: readonly Id[], options: IvfIndexOptions): IvfIndex<Id> {
    const index = IvfIndex.create<Id>(options);
    index.addItems(vectors, ids);
    return index;
  }

  get size(): number {
    return this.slotOf.size;
  }

  /** Lists actually trained (the configured nlist, or fewer when the first batch was smaller). */
  get numLists(): number {
    return this.nlist;
  }

  /** Bytes of the vectors and centroids (float32, without padding and id maps). */
  get vectorBytes(): number {
    return (this.size + this.nlist) * this.dim * 4;
  }

  has(id: Id): boolean {
    return this.slotOf.has(id);
  }

  /** `nprobe` (the third argument, `ef` in the interface) is the number of lists scanned. */
  search(query: Vector, k: number, nprobe?: number): SearchResult<Id> {
    checkQuery(query, this.dim);
    checkK(k);
    if (nprobe !== undefined && (!Number.isInteger(nprobe) || nprobe < 1)) {
      throw new AnnError("invalid_input", "nprobe", `must be a positive integer, got ${nprobe}`);
    }
    const kept = Math.min(k, this.size);
    if (kept === 0 || !this.centroids) return { ids: [], scores: [] };
    const probes = this.probe(query, Math.min(nprobe ?? this.params.nprobe, this.nlist));
    const heap = new TopK(kept);
    this.store.setQuery(query);
    for (const list of probes) this.store.scanInto(this.listStart[list] as number, this.listSize[list] as number, heap);
    const { rows, scores } = heap.drain();
    return { ids: rows.map((slot) => this.slotIds[slot] as Id), scores };
  }

  addItems(vectors: Float32Array, ids: readonly Id[]): void {
    this.assertNotSaving();
    checkBatch(vectors, ids, this.dim, (id) => this.slotOf.has(id));
    if (ids.length === 0) return;
    if (!this.centroids) this.train(vectors, ids.length);
    const lists = this.assign(vectors, ids.length);
    const needed = Int32Array.from(this.listSize);
    for (const l of lists) needed[l] = (needed[l] as number) + 1;
    if (needed.some((n, l) => n > (this.listCap[l] as number))) this.repack(needed);
    for (let i = 0; i < ids.length; i++) {
      const list = lists[i] as number;
      const slot = (this.listStart[list] as number) + (this.listSize[list] as number);
      this.listSize[list] = (this.listSize[list] as number) + 1;
      this.store.write(slot, vectors, i * this.dim);
      this.slotIds[slot] = ids[i] as Id;
      this.slotList[slot] = list;
      this.slotOf.set(ids[i] as Id, slot);
    }
  }

  markDeleted(ids: readonly Id[]): void {
    this.assertNotSaving();
    checkKnown(ids, (id) => this.slotOf.has(id));
    for (const id of new Set(ids)) {
      const slot = this.slotOf.get(id) as number;
      const list = this.slotList[slot] as number;
      const last = (this.listStart[list] as number) + (this.listSize[list] as number) - 1;
      if (slot !== last) {
        this.store.copyRow(last, slot);
        const moved = this.slotIds[last] as Id;
        this.slotIds[slot] = moved;
        this.slotOf.set(moved, slot);
      }
      this.slotIds[last] = undefined;
      this.listSize[list] = (this.listSize[list] as number) - 1;
      this.slotOf.delete(id);
    }
  }

  /** Writes the centroids and the live vectors in list order into one file, then the manifest. */
  async save(dir: string): Promise<IvfManifest> {
    this.assertNotSaving();
    this.saving = true;
    try {
      const floats = new Float32Array((this.nlist + this.size) * this.dim);
      const ids: Id[] = [];
      for (let c = 0; c < this.nlist; c++) floats.set((this.centroids as FloatRows).row(c), c * this.dim);
      let at = this.nlist;
      for (let l = 0; l < this.nlist; l++) {
        for (let s = this.listStart[l] as number, end = s + (this.listSize[l] as number); s < end; s++, at++) {
          floats.set(this.store.row(s), at * this.dim);
          ids.push(this.slotIds[s] as Id);
        }
      }
      return await writeIndexFolder(
        dir,
        IVF_INDEX_FILE,
        (path) => writeFile(path, new Uint8Array(floats.buffer)),
        (checksum): IvfManifest => ({
          format: IVF_MANIFEST_FORMAT,
          modelVersion: this.modelVersion,
          dim: this.dim,
          space: "ip",
          params: { ...this.params },
          nlist: this.nlist,
          listSizes: Array.from(this.listSize),
          count: this.size,
          ids,
          createdAt: new Date().toISOString(),
          indexFile: IVF_INDEX_FILE,
          checksum: { algorithm: "sha256", value: checksum },
        }),
      );
    } finally {
      this.saving = false;
    }
  }

  static async load<Id extends ItemId = ItemId>(dir: string, expected: IndexExpectation): Promise<IvfIndex<Id>> {
    const manifest = parseIvfManifest(await readManifestJson(dir));
    const indexPath = await checkIndexFolder(dir, manifest, expected);
    const bytes = await readFile(indexPath);
    const expectedBytes = (manifest.nlist + manifest.count) * manifest.dim * 4;
    if (bytes.byteLength !== expectedBytes) throw new AnnError("corrupt_index", "indexFile", `has ${bytes.byteLength} bytes, manifest implies ${expectedBytes}`);
    const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const index = IvfIndex.create<Id>({ dim: manifest.dim, modelVersion: manifest.modelVersion, params: manifest.params });
    index.setCentroids(floats.subarray(0, manifest.nlist * manifest.dim), manifest.nlist);
    index.repack(Int32Array.from(manifest.listSizes));
    let at = 0;
    manifest.listSizes.forEach((size, list) => {
      for (let i = 0; i < size; i++, at++) {
        const slot = (index.listStart[list] as number) + i;
        const id = manifest.ids[at] as Id;
        if (index.slotOf.has(id)) throw new AnnError("corrupt_index", "ids", `id ${JSON.stringify(id)} appears twice`);
        index.store.write(slot, floats, (manifest.nlist + at) * manifest.dim);
        index.slotIds[slot] = id;
        index.slotList[slot] = list;
        index.slotOf.set(id, slot);
      }
      index.listSize[list] = size;
    });
    return index;
  }

  /** Lists whose centroids score highest with the query, best first. */
  private probe(query: Vector, nprobe: number): number[] {
    const centroids = this.centroids as FloatRows;
    centroids.setQuery(query);
    centroids.scoreAll(this.nlist, this.centroidScores);
    const heap = new TopK(nprobe);
    for (let c = 0; c < this.nlist; c++) heap.push(this.centroidScores[c] as number, c);
    return heap.drain().rows;
  }

  /** Nearest centroid (L2) of each row: argmax <x, c> - |c|^2 / 2. */
  private assign(vectors: Float32Array, count: number): Int32Array {
    const centroids = this.centroids as FloatRows;
    const lists = new Int32Array(count);
    const scores = this.centroidScores;
    for (let i = 0; i < count; i++) {
      centroids.setQuery(vectors.subarray(i * this.dim, (i + 1) * this.dim));
      centroids.scoreAll(this.nlist, scores);
      let best = 0;
      let bestScore = -Infinity;
      for (let c = 0; c < this.nlist; c++) {
        const s = (scores[c] as number) - (this.halfNorms[c] as number);
        if (s > bestScore) {
          bestScore = s;
          best = c;
        }
      }
      lists[i] = best;
    }
    return lists;
  }

  /** Lloyd's k-means on a sample of the first batch; an emptied cluster restarts at a random sample point. */
  private train(vectors: Float32Array, count: number): void {
    const { dim } = this;
    const nlist = Math.min(this.params.nlist, count);
    const rng = new Rng(this.params.seed);
    const sampleSize = Math.min(count, nlist * this.params.trainSamplePerList);
    const sample = rng.sampleIndices(count, sampleSize);
    const points = new Float32Array(sampleSize * dim);
    sample.forEach((row, i) => points.set(vectors.subarray(row * dim, (row + 1) * dim), i * dim));
    this.setCentroids(points.subarray(0, nlist * dim), nlist);
    const sums = new Float64Array(nlist * dim);
    const counts = new Int32Array(nlist);
    const next = new Float32Array(nlist * dim);
    for (let iteration = 0; iteration < this.params.trainIterations; iteration++) {
      const lists = this.assign(points, sampleSize);
      sums.fill(0);
      counts.fill(0);
      for (let i = 0; i < sampleSize; i++) {
        const c = lists[i] as number;
        counts[c] = (counts[c] as number) + 1;
        for (let j = 0; j < dim; j++) sums[c * dim + j] = (sums[c * dim + j] as number) + (points[i * dim + j] as number);
      }
      for (let c = 0; c < nlist; c++) {
        const n = counts[c] as number;
        if (n === 0) {
          const donor = rng.int(sampleSize);
          next.set(points.subarray(donor * dim, (donor + 1) * dim), c * dim);
          continue;
        }
        for (let j = 0; j < dim; j++) next[c * dim + j] = (sums[c * dim + j] as number) / n;
      }
      this.setCentroids(next, nlist);
    }
  }

  private setCentroids(centroids: Float32Array, nlist: number): void {
    const rows = new FloatRows(this.dim, nlist);
    this.halfNorms = new Float64Array(nlist);
    for (let c = 0; c < nlist; c++) {
      rows.write(c, centroids, c * this.dim);
      let norm = 0;
      for (let j = 0; j < this.dim; j++) norm += (centroids[c * this.dim + j] as number) ** 2;
      this.halfNorms[c] = norm / 2;
    }
    this.centroids = rows;
    if (this.nlist !== nlist) {
      this.nlist = nlist;
      this.listStart = new Int32Array(nlist);
      this.listSize = new Int32Array(nlist);
      this.listCap = new Int32Array(nlist);
      this.centroidScores = new Float64Array(nlist);
    }
  }

  /** Lays the lists out again with room for `needed[l]` rows each plus a quarter of slack. */
  private repack(needed: Int32Array): void {
    const caps = Int32Array.from(needed, (n) => n + (n >> 2) + 4);
    const starts = new Int32Array(this.nlist);
    let total = 0;
    for (let l = 0; l < this.nlist; l++) {
      starts[l] = total;
      total += caps[l] as number;
    }
    const store = new FloatRows(this.dim, total);
    const slotIds: (Id | undefined)[] = new Array<Id | undefined>(total);
    const slotList = new Int32Array(total);
    for (let l = 0; l < this.nlist; l++) {
      for (let i = 0; i < (this.listSize[l] as number); i++) {
        const from = (this.listStart[l] as number) + i;
        const to = (starts[l] as number) + i;
        store.write(to, this.store.row(from));
        const id = this.slotIds[from] as Id;
        slotIds[to] = id;
        slotList[to] = l;
        this.slotOf.set(id, to);
      }
    }
    this.store = store;
    this.slotIds = slotIds;
    this.slotList = slotList;
    this.listStart = starts;
    this.listCap = caps;
  }

  private assertNotSaving(): void {
    if (this.saving) throw new AnnError("busy", "index", "a save is in progress; wait for it before changing the index");
  }
}
