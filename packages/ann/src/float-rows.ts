import { ensureMemory, instantiateBase64, type WasmMemory } from "@mlsd/wasm";
import type { TopK } from "./top-k";
import type { Vector } from "./vector-index";
import { WASM_BASE64 } from "./wasm/scan-wasm";

interface ScanExports {
  memory: WasmMemory;
  scoreRows(data: number, rows: number, stride: number, q: number, out: number): void;
}

/** Rows scored per kernel call: their scores (8 bytes each) stay in L1 until JS reads them. */
const CHUNK_ROWS = 2048;

/**
 * Float32 rows in WebAssembly memory, padded to a multiple of four values, with the SIMD
 * inner-product kernel (wasm/scan.wat: float64 products, as exact as a float64 JS loop). Layout:
 * query (float64, padded) | chunk scores | rows. The exact index, the IVF lists and the IVF
 * centroids all scan through it.
 */
export class FloatRows {
  readonly stride: number;
  private readonly kernel: ScanExports;
  private readonly scoresPtr: number;
  private readonly rowsPtr: number;
  private rowCapacity = 0;
  private f32!: Float32Array;
  private f64!: Float64Array;

  constructor(
    readonly dim: number,
    capacity: number,
  ) {
    this.stride = Math.ceil(dim / 4) * 4;
    this.scoresPtr = this.stride * 8;
    this.rowsPtr = this.scoresPtr + CHUNK_ROWS * 8;
    this.kernel = instantiateBase64<ScanExports>(WASM_BASE64);
    this.reserve(Math.max(1, capacity));
  }

  get capacity(): number {
    return this.rowCapacity;
  }

  /** Makes room for `rows` rows (growing by half at least); existing rows keep their place. */
  reserve(rows: number): void {
    if (rows <= this.rowCapacity) return;
    const capacity = Math.max(rows, Math.ceil(this.rowCapacity * 1.5));
    ensureMemory(this.kernel.memory, this.rowsPtr + capacity * this.stride * 4);
    this.rowCapacity = capacity;
    this.f32 = new Float32Array(this.kernel.memory.buffer);
    this.f64 = new Float64Array(this.kernel.memory.buffer);
  }

  /** Writes `dim` values of `src` from `offset` into row `row`. */
  write(row: number, src: ArrayLike<number>, offset = 0): void {
    const at = this.rowsPtr / 4 + row * this.stride;
    for (let j = 0; j < this.dim; j++) this.f32[at + j] = src[offset + j] as number;
    this.f32.fill(0, at + this.dim, at + this.stride);
  }

  /** Row `row` as a view (valid until the next reserve). */
  row(row: number): Float32Array {
    const at = this.rowsPtr / 4 + row * this.stride;
    return this.f32.subarray(at, at + this.dim);
  }

  copyRow(from: number, to: number): void {
    const base = this.rowsPtr / 4;
    this.f32.copyWithin(base + to * this.stride, base + from * this.stride, base + (from + 1) * this.stride);
  }

  /** Sets the query the next `score*` calls use. */
  setQuery(query: Vector): void {
    const q = 0;
    for (let j = 0; j < this.stride; j++) this.f64[q + j] = j < this.dim ? (query[j] as number) : 0;
  }

  /** Offers rows [start, start + count) to `heap` under their score with the query, as `label(row)`. */
  scanInto(start: number, count: number, heap: TopK, labelOffset = 0): void {
    const f64 = this.f64;
    const scores = this.scoresPtr / 8;
    let floor = heap.threshold;
    for (let done = 0; done < count; done += CHUNK_ROWS) {
      const rows = Math.min(CHUNK_ROWS, count - done);
      this.kernel.scoreRows(this.rowsPtr + (start + done) * this.stride * 4, rows, this.stride, 0, this.scoresPtr);
      for (let i = 0; i < rows; i++) {
        const s = f64[scores + i] as number;
        if (s > floor) {
          heap.push(s, labelOffset + start + done + i);
          floor = heap.threshold;
        }
      }
    }
  }

  /** Scores of rows [0, count) with the query, into `out`. */
  scoreAll(count: number, out: Float64Array): void {
    const f64 = this.f64;
    const scores = this.scoresPtr / 8;
    for (let done = 0; done < count; done += CHUNK_ROWS) {
      const rows = Math.min(CHUNK_ROWS, count - done);
      this.kernel.scoreRows(this.rowsPtr + done * this.stride * 4, rows, this.stride, 0, this.scoresPtr);
      out.set(f64.subarray(scores, scores + rows), done);
    }
  }
}
