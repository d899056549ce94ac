import { TopK } from "./top-k";
import type { ItemId, SearchResult, Vector, VectorIndex } from "./vector-index";
import { checkBatch, checkDim, checkK, checkKnown, checkQuery } from "./vector-index";

/**
 * Brute-force scan shared by the float32 and int8 exact indexes: rows stay dense (deletion moves
 * the last row into the hole) so a query is one pass over contiguous memory. Subclasses own the
 * storage (a JS typed array, or WebAssembly memory for the float32 scan).
 */
export abstract class FlatIndex<Id extends ItemId> implements VectorIndex<Id> {
  protected count = 0;
  private readonly rowIds: Id[] = [];
  private readonly rowOf = new Map<Id, number>();

  protected constructor(readonly dim: number) {
    checkDim(dim);
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the vectors themselves (the part quantisation shrinks). */
  abstract get vectorBytes(): number;

  has(id: Id): boolean {
    return this.rowOf.has(id);
  }

  addItems(vectors: Float32Array, ids: readonly Id[]): void {
    checkBatch(vectors, ids, this.dim, (id) => this.rowOf.has(id));
    this.reserve(this.count + ids.length);
    for (let i = 0; i < ids.length; i++) {
      const row = this.count++;
      this.encodeRow(vectors, i * this.dim, row);
      this.rowIds[row] = ids[i] as Id;
      this.rowOf.set(ids[i] as Id, row);
    }
  }

  markDeleted(ids: readonly Id[]): void {
    checkKnown(ids, (id) => this.rowOf.has(id));
    for (const id of new Set(ids)) {
      const row = this.rowOf.get(id) as number;
      const last = --this.count;
      if (row !== last) {
        this.moveRow(last, row);
        const movedId = this.rowIds[last] as Id;
        this.rowIds[row] = movedId;
        this.rowOf.set(movedId, row);
      }
      this.rowIds.length = last;
      this.rowOf.delete(id);
    }
  }

  search(query: Vector, k: number, _ef?: number): SearchResult<Id> {
    checkQuery(query, this.dim);
    checkK(k);
    const kept = Math.min(k, this.count);
    if (kept === 0) return { ids: [], scores: [] };
    const heap = new TopK(kept);
    this.scan(query, heap);
    const { rows, scores } = heap.drain();
    return { ids: rows.map((row) => this.rowIds[row] as Id), scores };
  }

  /** Makes room for `rows` rows in total. */
  protected abstract reserve(rows: number): void;
  /** Writes row `srcOffset` of a float batch into storage row `row`. */
  protected abstract encodeRow(src: Float32Array, srcOffset: number, row: number): void;
  protected abstract moveRow(from: number, to: number): void;
  /** Offers every row's score to `heap`. */
  protected abstract scan(query: Vector, heap: TopK): void;
}

/** The int8 scan: four accumulators let the adds overlap instead of waiting on one running sum. */
export function scanInt8(data: Int8Array, rows: number, dim: number, q: Float64Array, heap: TopK): void {
  const tail = dim - (dim % 4);
  let floor = heap.threshold;
  for (let row = 0, off = 0; row < rows; row++, off += dim) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let j = 0;
    for (; j < tail; j += 4) {
      s0 += (q[j] as number) * (data[off + j] as number);
      s1 += (q[j + 1] as number) * (data[off + j + 1] as number);
      s2 += (q[j + 2] as number) * (data[off + j + 2] as number);
      s3 += (q[j + 3] as number) * (data[off + j + 3] as number);
    }
    for (; j < dim; j++) s0 += (q[j] as number) * (data[off + j] as number);
    const s = s0 + s1 + (s2 + s3);
    if (s > floor) {
      heap.push(s, row);
      floor = heap.threshold;
    }
  }
}
