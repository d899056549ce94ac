import { LinalgError } from "./errors";
import { gemmKernel } from "./kernels";

const pad4 = (x: number) => (x + 3) & ~3;

/**
 * C = A B for row-major A (m x kd) and B (kd x n), on the SIMD kernel: operands are copied into
 * one WebAssembly memory, padded to multiples of 4, and the product comes back as a fresh m x n.
 */
export async function matmul(a: Float64Array, b: Float64Array, m: number, kd: number, n: number): Promise<Float64Array> {
  if (a.length !== m * kd) throw new LinalgError("a", `expected ${m * kd} entries for ${m} x ${kd}, got ${a.length}`);
  if (b.length !== kd * n) throw new LinalgError("b", `expected ${kd * n} entries for ${kd} x ${n}, got ${b.length}`);
  const mp = pad4(m);
  const np = pad4(n);
  const aBytes = mp * kd * 8;
  const bBytes = kd * np * 8;
  const kernel = await gemmKernel(aBytes + bBytes + mp * np * 8);
  const buffer = kernel.memory.buffer;
  const A = new Float64Array(buffer, 0, mp * kd);
  const B = new Float64Array(buffer, aBytes, kd * np);
  const C = new Float64Array(buffer, aBytes + bBytes, mp * np);
  // The kernel subtracts: C = 0 - (-A) B.
  for (let i = 0; i < m * kd; i++) A[i] = -(a[i] as number);
  for (let t = 0; t < kd; t++) B.set(b.subarray(t * n, (t + 1) * n), t * np);
  kernel.gemmSub(aBytes + bBytes, np, 0, mp, 0, np, 0, kd, aBytes, np, kd, false);
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) out.set(C.subarray(i * np, i * np + n), i * n);
  return out;
}
