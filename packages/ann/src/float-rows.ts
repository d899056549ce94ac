import { ensureMemory, instantiateBase64, type WasmMemory } from "@mlsd/wasm";
import type { TopK } from "./top-k";
import type { Vector } from "./vector-index";
import { WASM_BASE64 } from "./wasm/scan-wasm";

interface ScanExports {
  memory: WasmMemory;
  scoreRows(data: number, rows: number, stride: number, q: number, out: number): void;
  scoreRows32(data: number, rows: number, stride: number, q: number, out: number): void;
}

/** Rows scored per kernel call: their scores (8 bytes each) stay in L1 until JS reads them. */
const CHUNK_ROWS = 2048;

/**
 * Float32 rows in WebAssembly memory, padded to a multiple of four values, with the SIMD
 * inner-product kernels of wasm/scan.wat. A scan scores rows in float32 (f32x4), and rescores in
 * float64 only the rows whose float32 score is within the rounding bound of the current top-k
 * threshold: the answer is exactly what a float64 scan gives, at about the float32 scan's cost.
 * Layout: query float64 | query float32 | chunk scores float64 | chunk scores float32 | rows.
 * The exact index, the IVF lists and the IVF centroids all scan through it.
 */
export class FloatRows {
  readonly stride: number;
  private readonly kernel: ScanExports;
  private readonly query32Ptr: number;
  private readonly scoresPtr: number;
  private readonly scores32Ptr: number;
  private readonly rowsPtr: number;
  private rowCapacity = 0;
  private maxNormSquared = 0;
  /** Largest possible |float32 score - float64 score| for the current query and any stored row. */
  private errorBound = 0;
  private f32!: Float32Array;
  private f64!: Float64Array;

  constructor(
    readonly dim: number,
    capacity: number,
  ) {
    this.stride = Math.ceil(dim / 4) * 4;
    this.query32Ptr = this.stride * 8;
    this.scoresPtr = this.query32Ptr + this.stride * 4;
    this.scores32Ptr = this.scoresPtr + CHUNK_ROWS * 8;
    this.rowsPtr = this.scores32Ptr + CHUNK_ROWS * 4;
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
    let squared = 0;
    for (let j = 0; j < this.dim; j++) {
      const x = Math.fround(src[offset + j] as number);
      this.f32[at + j] = x;
      squared += x * x;
    }
    this.f32.fill(0, at + this.dim, at + this.stride);
    if (squared > this.maxNormSquared) this.maxNormSquared = squared;
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
    const q64 = 0;
    const q32 = this.query32Ptr / 4;
    let squared = 0;
    for (let j = 0; j < this.stride; j++) {
      const x = j < this.dim ? (query[j] as number) : 0;
      this.f64[q64 + j] = x;
      this.f32[q32 + j] = x;
      squared += x * x;
    }
    // Float32 rounding of the query (1), of each product (1), and of a lane's running sum plus the
    // final horizontal adds (stride / 4 + 2): relative 2^-24 each on sum |q_j x_j| <= |q| |x|.
    // Doubled for safety; it only decides which rows are rescored exactly.
    const steps = this.stride / 4 + 4;
    this.errorBound = 2 * steps * 2 ** -24 * Math.sqrt(squared) * Math.sqrt(this.maxNormSquared) + 1e-300;
  }

  /** Offers rows [start, start + count) to `heap` under their exact score with the query. */
  scanInto(start: number, count: number, heap: TopK): void {
    const { f32, f64, errorBound } = this;
    const scores32 = this.scores32Ptr / 4;
    const exact = this.scoresPtr / 8;
    const rowBytes = this.stride * 4;
    let floor = heap.threshold;
    for (let done = 0; done < count; done += CHUNK_ROWS) {
      const rows = Math.min(CHUNK_ROWS, count - done);
      const first = this.rowsPtr + (start + done) * rowBytes;
      this.kernel.scoreRows32(first, rows, this.stride, this.query32Ptr, this.scores32Ptr);
      for (let i = 0; i < rows; i++) {
        if ((f32[scores32 + i] as number) + errorBound <= floor) continue;
        this.kernel.scoreRows(first + i * rowBytes, 1, this.stride, 0, this.scoresPtr);
        const s = f64[exact] as number;
        if (s > floor) {
          heap.push(s, start + done + i);
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
