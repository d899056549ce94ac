import { AnnError } from "./errors";
import { FlatIndex } from "./flat-index";
import { FloatRows } from "./float-rows";
import type { TopK } from "./top-k";
import type { ItemId, Vector } from "./vector-index";

export interface ExactIndexOptions {
  dim: number;
  /** Rows to allocate up front; storage grows by half when full. */
  initialCapacity?: number;
}

/**
 * Exact maximum-inner-product search over float32 rows: the reference every approximation is
 * measured against. The scan runs in WebAssembly (FloatRows: SIMD float64 products over padded
 * float32 rows, scores offered to the top-k heap chunk by chunk).
 */
export class ExactIndex<Id extends ItemId = ItemId> extends FlatIndex<Id> {
  private readonly rows: FloatRows;

  constructor(options: ExactIndexOptions) {
    super(options.dim);
    const initialCapacity = options.initialCapacity ?? 1024;
    if (!Number.isInteger(initialCapacity) || initialCapacity < 0) {
      throw new AnnError("invalid_input", "initialCapacity", `must be a non-negative integer, got ${initialCapacity}`);
    }
    this.rows = new FloatRows(this.dim, initialCapacity);
  }

  static build<Id extends ItemId>(vectors: Float32Array, ids: readonly Id[], options: ExactIndexOptions): ExactIndex<Id> {
    const index = new ExactIndex<Id>({ initialCapacity: ids.length, ...options });
    index.addItems(vectors, ids);
    return index;
  }

  get vectorBytes(): number {
    return this.count * this.dim * 4;
  }

  protected reserve(rows: number): void {
    this.rows.reserve(rows);
  }

  protected encodeRow(src: Float32Array, srcOffset: number, row: number): void {
    this.rows.write(row, src, srcOffset);
  }

  protected moveRow(from: number, to: number): void {
    this.rows.copyRow(from, to);
  }

  protected scan(query: Vector, heap: TopK): void {
    this.rows.setQuery(query);
    this.rows.scanInto(0, this.count, heap);
  }
}
