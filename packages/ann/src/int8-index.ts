import { AnnError } from "./errors";
import { FlatIndex, scanInt8 } from "./flat-index";
import type { TopK } from "./top-k";
import type { ItemId, Vector } from "./vector-index";
import { checkDim } from "./vector-index";

export interface Int8IndexOptions {
  dim: number;
  /** Per-dimension step: stored value = round(x / scale), clipped to [-127, 127]. */
  scales: Float32Array;
  initialCapacity?: number;
}

/**
 * Symmetric per-dimension scales that map the largest magnitude seen in each dimension to 127.
 * A dimension that is zero everywhere gets scale 1 so it stays representable.
 */
export function fitInt8Scales(vectors: Float32Array, dim: number): Float32Array {
  checkDim(dim);
  if (vectors.length % dim !== 0) {
    throw new AnnError("dimension_mismatch", "vectors", `length ${vectors.length} is not a multiple of dim ${dim}`);
  }
  const maxAbs = new Float64Array(dim);
  for (let i = 0; i < vectors.length; i++) {
    const j = i % dim;
    const a = Math.abs(vectors[i] as number);
    if (a > (maxAbs[j] as number)) maxAbs[j] = a;
  }
  return Float32Array.from(maxAbs, (m) => (m > 0 ? m / 127 : 1));
}

/**
 * Exact scan over int8-quantised rows: a quarter of the float32 memory, at the cost of rounding
 * error in the scores. The query stays float; the scales are folded into it once per search.
 */
export class Int8ExactIndex<Id extends ItemId = ItemId> extends FlatIndex<Id> {
  readonly scales: Float32Array;
  private readonly inverseScales: Float64Array;
  private clipped = 0;

  private data: Int8Array;

  constructor(options: Int8IndexOptions) {
    super(options.dim);
    const initialCapacity = options.initialCapacity ?? 1024;
    if (!Number.isInteger(initialCapacity) || initialCapacity < 0) {
      throw new AnnError("invalid_input", "initialCapacity", `must be a non-negative integer, got ${initialCapacity}`);
    }
    this.data = new Int8Array(Math.max(1, initialCapacity) * options.dim);
    if (options.scales.length !== options.dim) {
      throw new AnnError("dimension_mismatch", "scales", `expected ${options.dim} scales, got ${options.scales.length}`);
    }
    options.scales.forEach((s, j) => {
      if (!(s > 0) || !Number.isFinite(s)) throw new AnnError("invalid_input", "scales", `scale ${j} must be positive, got ${s}`);
    });
    this.scales = Float32Array.from(options.scales);
    this.inverseScales = Float64Array.from(this.scales, (s) => 1 / s);
  }

  /** Fits the scales on `vectors` and indexes them. */
  static build<Id extends ItemId>(
    vectors: Float32Array,
    ids: readonly Id[],
    options: { dim: number; initialCapacity?: number },
  ): Int8ExactIndex<Id> {
    const index = new Int8ExactIndex<Id>({
      initialCapacity: ids.length,
      ...options,
      scales: fitInt8Scales(vectors, options.dim),
    });
    index.addItems(vectors, ids);
    return index;
  }

  /** Values that fell outside the fitted range and were clipped (items added after fitting). */
  get clippedValues(): number {
    return this.clipped;
  }

  /** Vectors plus the per-dimension scales. */
  get vectorBytes(): number {
    return this.count * this.dim + this.scales.byteLength;
  }

  protected reserve(rows: number): void {
    if (rows * this.dim <= this.data.length) return;
    const grown = new Int8Array(Math.max(rows, Math.ceil((this.data.length / this.dim) * 1.5)) * this.dim);
    grown.set(this.data.subarray(0, this.count * this.dim));
    this.data = grown;
  }

  protected moveRow(from: number, to: number): void {
    this.data.copyWithin(to * this.dim, from * this.dim, (from + 1) * this.dim);
  }

  protected encodeRow(src: Float32Array, srcOffset: number, row: number): void {
    const dstOffset = row * this.dim;
    for (let j = 0; j < this.dim; j++) {
      let v = Math.round((src[srcOffset + j] as number) * (this.inverseScales[j] as number));
      if (v > 127 || v < -127) {
        this.clipped++;
        v = v > 0 ? 127 : -127;
      }
      this.data[dstOffset + j] = v;
    }
  }

  protected scan(query: Vector, heap: TopK): void {
    // The scales are folded into the query once per search.
    const q = Float64Array.from(query, (x, j) => x * (this.scales[j] as number));
    scanInt8(this.data, this.count, this.dim, q, heap);
  }
}
