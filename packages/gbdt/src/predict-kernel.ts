import { ensureMemory, instantiateBase64, type WasmMemory } from "@mlsd/wasm";
import { WASM_BASE64 } from "./wasm/predict-wasm";

interface PredictExports {
  memory: WasmMemory;
  predictBlock(
    nodes: number, thresholds: number, leaves: number, roots: number, groupDepth: number, numTrees: number,
    x: number, width: number, rows: number, out: number,
  ): void;
}

/** Rows per kernel call: a tree group stays in cache while it passes over them. */
export const PREDICT_BLOCK_ROWS = 64;

/**
 * The flattened forest (Predictor's arrays) in WebAssembly memory, walked by wasm/predict.wat.
 * Layout: nodes (4 x i32 each) | thresholds | leaf values | roots | group depths | row block |
 * outputs. Sized once; the memory never grows afterwards, so the views stay valid.
 */
export class ForestKernel {
  private readonly kernel: PredictExports;
  private readonly f64: Float64Array;
  private readonly nodesPtr = 0;
  private readonly thresholdsPtr: number;
  private readonly leavesPtr: number;
  private readonly rootsPtr: number;
  private readonly depthPtr: number;
  private readonly xPtr: number;
  private readonly outPtr: number;
  private readonly numTrees: number;

  constructor(
    nodes: Int32Array,
    thresholds: Float64Array,
    leaves: Float64Array,
    roots: Int32Array,
    groupDepth: Int32Array,
    private readonly width: number,
  ) {
    const align = (n: number): number => (n + 15) & ~15;
    this.thresholdsPtr = align(nodes.byteLength);
    this.leavesPtr = this.thresholdsPtr + align(thresholds.byteLength);
    this.rootsPtr = this.leavesPtr + align(leaves.byteLength);
    this.depthPtr = this.rootsPtr + align(roots.byteLength);
    this.xPtr = this.depthPtr + align(groupDepth.byteLength);
    this.outPtr = this.xPtr + align(PREDICT_BLOCK_ROWS * width * 8);
    this.kernel = instantiateBase64<PredictExports>(WASM_BASE64);
    ensureMemory(this.kernel.memory, this.outPtr + PREDICT_BLOCK_ROWS * 8);
    const buffer = this.kernel.memory.buffer;
    new Int32Array(buffer, this.nodesPtr, nodes.length).set(nodes);
    new Float64Array(buffer, this.thresholdsPtr, thresholds.length).set(thresholds);
    new Float64Array(buffer, this.leavesPtr, leaves.length).set(leaves);
    new Int32Array(buffer, this.rootsPtr, roots.length).set(roots);
    new Int32Array(buffer, this.depthPtr, groupDepth.length).set(groupDepth);
    this.f64 = new Float64Array(buffer);
    this.numTrees = roots.length;
  }

  /**
   * out[outOffset + i] = base + sum of leaf values, for rows [start, start + count) of the
   * row-major `x` (count <= PREDICT_BLOCK_ROWS).
   */
  predict(x: Float64Array, start: number, count: number, base: number, out: Float64Array, outOffset: number): void {
    const { f64, width } = this;
    f64.set(x.subarray(start * width, (start + count) * width), this.xPtr / 8);
    const o = this.outPtr / 8;
    f64.fill(base, o, o + count);
    this.kernel.predictBlock(this.nodesPtr, this.thresholdsPtr, this.leavesPtr, this.rootsPtr, this.depthPtr, this.numTrees, this.xPtr, width, count, this.outPtr);
    out.set(f64.subarray(o, o + count), outOffset);
  }
}
