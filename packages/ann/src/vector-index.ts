import { AnnError } from "./errors";

/** Item ids as the catalogue knows them; indexes map them to dense internal rows or labels. */
export type ItemId = string | number;

export type Vector = Float32Array | readonly number[];

export interface SearchResult<Id extends ItemId = ItemId> {
  /** Best first. */
  ids: Id[];
  /** Inner products with the query, aligned with `ids`, descending. */
  scores: number[];
}

/**
 * Maximum-inner-product search over item embeddings. Implemented by the exact baseline, its int8
 * twin and the HNSW index, and checked by one contract suite so they cannot drift apart.
 */
export interface VectorIndex<Id extends ItemId = ItemId> {
  readonly dim: number;
  /** Live (not deleted) items. */
  readonly size: number;
  /**
   * Top `k` items by inner product. `ef` is the HNSW candidate-list size; exact indexes ignore it.
   * Returns fewer than `k` results when the index holds fewer items.
   */
  search(query: Vector, k: number, ef?: number): SearchResult<Id>;
  /** `vectors` is row-major, `ids.length` rows of `dim` values. Ids must be new or deleted before. */
  addItems(vectors: Float32Array, ids: readonly Id[]): void;
  markDeleted(ids: readonly Id[]): void;
  has(id: Id): boolean;
}

export function checkDim(dim: number, field = "dim"): void {
  if (!Number.isInteger(dim) || dim < 1) {
    throw new AnnError("invalid_input", field, `must be a positive integer, got ${dim}`);
  }
}

export function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new AnnError("invalid_input", "k", `must be a positive integer, got ${k}`);
}

export function checkQuery(query: Vector, dim: number): void {
  if (query.length !== dim) {
    throw new AnnError("dimension_mismatch", "query", `expected ${dim} values, got ${query.length}`);
  }
  for (let i = 0; i < dim; i++) {
    if (!Number.isFinite(query[i])) throw new AnnError("invalid_input", "query", `value ${i} is not finite`);
  }
}

/**
 * Validates a whole batch before anything is inserted, so a bad row never leaves an index half
 * updated. `isLive` reports ids already present.
 */
export function checkBatch<Id extends ItemId>(
  vectors: Float32Array,
  ids: readonly Id[],
  dim: number,
  isLive: (id: Id) => boolean,
): void {
  if (!(vectors instanceof Float32Array)) {
    throw new AnnError("invalid_input", "vectors", "must be a Float32Array (row-major, n x dim)");
  }
  if (vectors.length !== ids.length * dim) {
    throw new AnnError(
      "dimension_mismatch",
      "vectors",
      `expected ${ids.length} rows x ${dim} = ${ids.length * dim} values, got ${vectors.length}`,
    );
  }
  for (let i = 0; i < vectors.length; i++) {
    if (!Number.isFinite(vectors[i])) {
      throw new AnnError("invalid_input", "vectors", `row ${Math.floor(i / dim)} has a non-finite value`);
    }
  }
  const seen = new Set<Id>();
  for (const id of ids) {
    if (typeof id === "number" ? !Number.isFinite(id) : typeof id !== "string") {
      throw new AnnError("invalid_input", "ids", `ids must be strings or finite numbers, got ${String(id)}`);
    }
    if (seen.has(id) || isLive(id)) throw new AnnError("duplicate_id", "ids", `id ${JSON.stringify(id)} is already indexed`);
    seen.add(id);
  }
}

export function checkKnown<Id extends ItemId>(ids: readonly Id[], isLive: (id: Id) => boolean): void {
  for (const id of ids) {
    if (!isLive(id)) throw new AnnError("unknown_id", "ids", `id ${JSON.stringify(id)} is not in the index`);
  }
}
