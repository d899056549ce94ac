import { ensureMemory, instantiateBase64, type WasmMemory } from "@mlsd/wasm";
import { AnnError } from "./errors";
import { FlatIndex } from "./flat-index";
import type { TopK } from "./top-k";
import type { ItemId, Vector } from "./vector-index";
import { WASM_BASE64 } from "./wasm/scan-wasm";

export interface ExactIndexOptions {
  dim: number;
  /** Rows to allocate up front; storage grows by half when full. */
  initialCapacity?: number;
}

interface ScanExports {
  memory: WasmMemory;
  scoreRows(data: number, rows: number, stride: number, q: number, out: number): void;
}

/** Rows scored per kernel call: their scores (8 bytes each) stay in L1 until the top-k pass reads them. */
const CHUNK_ROWS = 2048;

/**
 * Exact maximum-inner-product search over float32 rows: the reference every approximation is
 * measured against. Rows live in WebAssembly memory, padded to a multiple of four floats; the
 * scan kernel (wasm/scan.wat) scores a chunk of rows with SIMD float64 products, then a JS pass
 * offers the chunk's scores to the top-k heap. Memory layout: query (float64, padded) | chunk
 * scores | rows.
 */
export class ExactIndex<Id extends ItemId = ItemId> extends FlatIndex<Id> {
  private readonly kernel: ScanExports;
  private readonly stride: number;
  private readonly queryPtr = 0;
  private readonly scoresPtr: number;
  private readonly rowsPtr: number;
  private capacity = 0;
  private f32!: Float32Array;
  private f64!: Float64Array;

  constructor(options: ExactIndexOptions) {
    super(options.dim);
    const initialCapacity = options.initialCapacity ?? 1024;
    if (!Number.isInteger(initialCapacity) || initialCapacity < 0) {
      throw new AnnError("invalid_input", "initialCapacity", `must be a non-negative integer, got ${initialCapacity}`);
    }
    this.stride = Math.ceil(this.dim / 4) * 4;
    this.scoresPtr = this.stride * 8;
    this.rowsPtr = this.scoresPtr + CHUNK_ROWS * 8;
    this.kernel = instantiateBase64<ScanExports>(WASM_BASE64);
    this.reserve(Math.max(1, initialCapacity));
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
    if (rows <= this.capacity) return;
    const capacity = Math.max(rows, Math.ceil(this.capacity * 1.5));
    ensureMemory(this.kernel.memory, this.rowsPtr + capacity * this.stride * 4);
    this.capacity = capacity;
    this.f32 = new Float32Array(this.kernel.memory.buffer);
    this.f64 = new Float64Array(this.kernel.memory.buffer);
  }

  protected encodeRow(src: Float32Array, srcOffset: number, row: number): void {
    const at = this.rowsPtr / 4 + row * this.stride;
    this.f32.set(src.subarray(srcOffset, srcOffset + this.dim), at);
    this.f32.fill(0, at + this.dim, at + this.stride);
  }

  protected moveRow(from: number, to: number): void {
    const base = this.rowsPtr / 4;
    this.f32.copyWithin(base + to * this.stride, base + from * this.stride, base + (from + 1) * this.stride);
  }

  protected scan(query: Vector, heap: TopK): void {
    const { f64, stride, count } = this;
    const q = this.queryPtr / 8;
    for (let j = 0; j < stride; j++) f64[q + j] = j < this.dim ? (query[j] as number) : 0;
    const scores = this.scoresPtr / 8;
    let floor = heap.threshold;
    for (let start = 0; start < count; start += CHUNK_ROWS) {
      const rows = Math.min(CHUNK_ROWS, count - start);
      this.kernel.scoreRows(this.rowsPtr + start * stride * 4, rows, stride, this.queryPtr, this.scoresPtr);
      for (let i = 0; i < rows; i++) {
        const s = f64[scores + i] as number;
        if (s > floor) {
          heap.push(s, start + i);
          floor = heap.threshold;
        }
      }
    }
  }
}
