import { ensureMemory, instantiateBase64, type WasmMemory } from "@mlsd/wasm";
import { WASM_BASE64 } from "./wasm/histogram-wasm";

interface HistogramExports {
  memory: WasmMemory;
  histCol4(rows: number, gh: number, m: number, c0: number, h0: number, c1: number, h1: number, c2: number, h2: number, c3: number, h3: number): void;
  histCol1(rows: number, gh: number, m: number, c0: number, h0: number): void;
  subtract(target: number, other: number, bins: number): void;
  partition(rows: number, m: number, col: number, table: number, scratch: number): number;
  gather(rows: number, m: number, gh: number, ordered: number): void;
}

const align16 = (bytes: number): number => (bytes + 15) & ~15;

/**
 * The histogram kernel's WebAssembly memory: the training bins (column-major, copied once), the
 * current leaf's row ids and interleaved (gradient, hessian) pairs, and a pool of histograms, one
 * f64x2 per bin. Histograms are named by slot; the memory grows when the pool does, which detaches
 * old views, so callers read through `f64` after each `acquire`.
 */
export class HistogramArena {
  private readonly exports: HistogramExports;
  private readonly binsPtr: number;
  private readonly rowsPtr: number;
  private readonly scratchPtr: number;
  private readonly tablePtr: number;
  private readonly ghPtr: number;
  private readonly orderedPtr: number;
  private readonly slotBytes: number;
  private readonly slotPtrs: number[] = [];
  private readonly freeSlots: number[] = [];
  private end: number;
  /** The whole memory as float64; re-created after growth. */
  f64!: Float64Array;
  private i32!: Int32Array;

  constructor(
    bins: Uint8Array,
    private readonly numRows: number,
    /** Bins of one histogram (all features, each with its missing bin). */
    readonly histBins: number,
  ) {
    this.exports = instantiateBase64<HistogramExports>(WASM_BASE64);
    this.binsPtr = 0;
    this.rowsPtr = align16(bins.length);
    this.scratchPtr = this.rowsPtr + align16(numRows * 4);
    this.tablePtr = this.scratchPtr + align16(numRows * 4);
    this.ghPtr = this.tablePtr + 256;
    this.orderedPtr = this.ghPtr + numRows * 16;
    this.end = this.orderedPtr + numRows * 16;
    this.slotBytes = histBins * 16;
    this.reserve(this.end + 4 * this.slotBytes);
    new Uint8Array(this.exports.memory.buffer).set(bins, this.binsPtr);
  }

  /** A histogram slot (contents undefined until the caller zeroes the bins it uses). */
  acquire(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;
    this.reserve(this.end + this.slotBytes);
    this.slotPtrs.push(this.end);
    this.end += this.slotBytes;
    return this.slotPtrs.length - 1;
  }

  release(slot: number): void {
    this.freeSlots.push(slot);
  }

  /** Index into `f64` of the slot's first value (bin b of the slot: gradient at +2b, hessian at +2b+1). */
  base(slot: number): number {
    return (this.slotPtrs[slot] as number) / 8;
  }

  /** Interleaves this tree's gradients into the arena (once per tree; leaves read them by row id). */
  setGradients(grad: Float64Array, hess: Float64Array): void {
    const f64 = this.f64;
    const n = this.numRows;
    for (let r = 0, o = this.ghPtr >> 3; r < n; r++, o += 2) {
      f64[o] = grad[r] as number;
      f64[o + 1] = hess[r] as number;
    }
  }

  /** Adds the (grad, hess) of the leaf's `rows` into the histograms of `features`. */
  accumulate(slot: number, rows: Int32Array, features: Int32Array, binOffsets: Int32Array): void {
    const m = rows.length;
    const numRows = this.numRows;
    this.i32.set(rows, this.rowsPtr >> 2);
    this.exports.gather(this.rowsPtr, m, this.ghPtr, this.orderedPtr);
    const hist = this.slotPtrs[slot] as number;
    const { histCol4, histCol1 } = this.exports;
    const col = (f: number): number => this.binsPtr + f * numRows;
    const at = (f: number): number => hist + (binOffsets[f] as number) * 16;
    let fi = 0;
    for (; fi + 4 <= features.length; fi += 4) {
      const f0 = features[fi] as number;
      const f1 = features[fi + 1] as number;
      const f2 = features[fi + 2] as number;
      const f3 = features[fi + 3] as number;
      histCol4(this.rowsPtr, this.orderedPtr, m, col(f0), at(f0), col(f1), at(f1), col(f2), at(f2), col(f3), at(f3));
    }
    for (; fi < features.length; fi++) {
      const f = features[fi] as number;
      histCol1(this.rowsPtr, this.orderedPtr, m, col(f), at(f));
    }
  }

  /**
   * Stable partition of `rows` (a leaf's row ids, rewritten in place) by `goesLeft[bin]` of
   * feature `feature`'s bins; returns how many went left.
   */
  partition(rows: Int32Array, feature: number, goesLeft: Uint8Array): number {
    const u8 = new Uint8Array(this.f64.buffer);
    u8.set(goesLeft, this.tablePtr);
    this.i32.set(rows, this.rowsPtr >> 2);
    const left = this.exports.partition(this.rowsPtr, rows.length, this.binsPtr + feature * this.numRows, this.tablePtr, this.scratchPtr);
    rows.set(this.i32.subarray(this.rowsPtr >> 2, (this.rowsPtr >> 2) + rows.length));
    return left;
  }

  /** target -= other over `count` bins starting at bin `from` (one feature's range). */
  subtract(target: number, other: number, from: number, count: number): void {
    this.exports.subtract((this.slotPtrs[target] as number) + from * 16, (this.slotPtrs[other] as number) + from * 16, count);
  }

  private reserve(bytes: number): void {
    const memory = this.exports.memory;
    ensureMemory(memory, bytes);
    if (this.f64?.buffer !== memory.buffer) {
      this.f64 = new Float64Array(memory.buffer);
      this.i32 = new Int32Array(memory.buffer);
    }
  }
}
