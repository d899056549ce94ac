import { AnnError } from "./errors";
import type { ItemId, Vector, VectorIndex } from "./vector-index";
import { checkK } from "./vector-index";

/** Share of the reference ids that the approximate answer found (1 when the reference is empty). */
export function recallOfIds<Id extends ItemId>(approx: readonly Id[], reference: readonly Id[]): number {
  if (reference.length === 0) return 1;
  const found = new Set(approx);
  let hits = 0;
  for (const id of reference) if (found.has(id)) hits++;
  return hits / reference.length;
}

/** Splits a row-major query matrix into views, or passes a list of vectors through. */
export function queryRows(queries: Float32Array | readonly Vector[], dim: number): Vector[] {
  if (!(queries instanceof Float32Array)) return [...queries];
  if (queries.length % dim !== 0) {
    throw new AnnError("dimension_mismatch", "queries", `length ${queries.length} is not a multiple of dim ${dim}`);
  }
  const rows: Vector[] = [];
  for (let off = 0; off < queries.length; off += dim) rows.push(queries.subarray(off, off + dim));
  return rows;
}

/**
 * Mean recall@k of `approx` against `exact` over `queries` (a row-major matrix or a list of
 * vectors): for each query, the share of the exact top-k that the approximate top-k contains.
 */
export function recallAtK<Id extends ItemId>(
  approx: VectorIndex<Id>,
  exact: VectorIndex<Id>,
  queries: Float32Array | readonly Vector[],
  k: number,
  ef?: number,
): number {
  checkK(k);
  if (approx.dim !== exact.dim) {
    throw new AnnError("dimension_mismatch", "approx", `approx has dim ${approx.dim}, exact has dim ${exact.dim}`);
  }
  const rows = queryRows(queries, exact.dim);
  if (rows.length === 0) throw new AnnError("invalid_input", "queries", "needs at least one query");
  let total = 0;
  for (const q of rows) total += recallOfIds(approx.search(q, k, ef).ids, exact.search(q, k).ids);
  return total / rows.length;
}
