import { FlatIndex, scanFloat32 } from "./flat-index";
import type { TopK } from "./top-k";
import type { ItemId, Vector } from "./vector-index";

export interface ExactIndexOptions {
  dim: number;
  /** Rows to allocate up front; storage grows by half when full. */
  initialCapacity?: number;
}

/** Exact maximum-inner-product search over float32 rows: the reference every approximation is measured against. */
export class ExactIndex<Id extends ItemId = ItemId> extends FlatIndex<Id, Float32Array> {
  constructor(options: ExactIndexOptions) {
    super(options.dim, options.initialCapacity ?? 1024);
  }

  static build<Id extends ItemId>(vectors: Float32Array, ids: readonly Id[], options: ExactIndexOptions): ExactIndex<Id> {
    const index = new ExactIndex<Id>({ initialCapacity: ids.length, ...options });
    index.addItems(vectors, ids);
    return index;
  }

  protected allocate(length: number): Float32Array {
    return new Float32Array(length);
  }

  protected encodeRow(src: Float32Array, srcOffset: number, dstOffset: number): void {
    this.data.set(src.subarray(srcOffset, srcOffset + this.dim), dstOffset);
  }

  protected prepareQuery(query: Vector): Float64Array {
    return Float64Array.from(query);
  }

  protected scan(query: Float64Array, heap: TopK): void {
    scanFloat32(this.data, this.count, this.dim, query, heap);
  }
}
