import * as tf from "@tensorflow/tfjs";
import type { KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs";

/**
 * Scatter-add replacement for the cpu backend's UnsortedSegmentSum. The stock kernel loops over
 * every segment and runs equal/cast/multiply/sum over all rows for each one: O(segments x rows x
 * dim), which is what makes the gradient of `tf.gather` into a large embedding table take
 * hundreds of milliseconds. This one walks the rows once: O(rows x dim + segments x dim).
 * Same semantics as TensorFlow: ids outside [0, numSegments) are dropped.
 */
export const fastUnsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs["x"] as TensorInfo;
  const segmentIds = inputs["segmentIds"] as TensorInfo;
  const numSegments = (attrs as NamedAttrMap)["numSegments"] as number;
  const cpu = backend as KernelBackend;
  if (x.dtype !== "float32" && x.dtype !== "int32") {
    throw new TypeError(`unsortedSegmentSum: x must be float32 or int32, got ${x.dtype}`);
  }
  const rows = segmentIds.shape.reduce((a, b) => a * b, 1);
  const innerShape = x.shape.slice(segmentIds.shape.length);
  const inner = innerShape.reduce((a, b) => a * b, 1);
  const values = cpu.readSync(x.dataId) as Float32Array | Int32Array;
  const ids = cpu.readSync(segmentIds.dataId) as Int32Array;
  const out = x.dtype === "float32" ? new Float32Array(numSegments * inner) : new Int32Array(numSegments * inner);
  for (let r = 0; r < rows; r++) {
    const s = ids[r] as number;
    if (s < 0 || s >= numSegments) continue;
    const src = r * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] = (out[dst + j] as number) + (values[src + j] as number);
  }
  const shape = [numSegments, ...innerShape];
  return { dataId: cpu.write(out, shape, x.dtype), shape, dtype: x.dtype };
};

const KERNEL = "UnsortedSegmentSum";
let stockCpuKernel: KernelConfig | undefined;

function swapCpuKernel(config: KernelConfig): void {
  // registerKernel overwrites silently apart from a console warning; unregistering first keeps
  // the log clean. The engine looks kernels up on every call, so a swap takes effect at once.
  if (tf.getKernel(KERNEL, "cpu") !== undefined) tf.unregisterKernel(KERNEL, "cpu");
  tf.registerKernel(config);
}

/** Installs the scatter-add kernel for the cpu backend (idempotent). */
export function useFastSegmentSum(): void {
  const current = tf.getKernel(KERNEL, "cpu");
  if (current?.kernelFunc === fastUnsortedSegmentSum) return;
  stockCpuKernel ??= current;
  swapCpuKernel({ kernelName: KERNEL, backendName: "cpu", kernelFunc: fastUnsortedSegmentSum });
}

/** Puts tfjs's own cpu kernel back (benchmarks and the equivalence test compare the two). */
export function useStockSegmentSum(): void {
  const current = tf.getKernel(KERNEL, "cpu");
  if (current === undefined || current.kernelFunc !== fastUnsortedSegmentSum) return;
  if (stockCpuKernel === undefined) throw new Error("the stock UnsortedSegmentSum kernel was never seen");
  swapCpuKernel(stockCpuKernel);
}

export function isFastSegmentSumActive(): boolean {
  return tf.getKernel(KERNEL, "cpu")?.kernelFunc === fastUnsortedSegmentSum;
}
