import { LinalgError } from "./errors";
import { gemmKernel } from "./kernels";

const pad4 = (x: number) => (x + 3) & ~3;

export interface MatmulOptions {
  /**
   * A is lower triangular (A[i][t] = 0 for t > i): each 4-row tile of C sums only over t < i + 4.
   * The skipped terms are exact zeros, and an accumulator that starts at +0 is unchanged by adding
   * a zero, so the product is bit for bit the full one at about half the work.
   */
  lowerTriangularA?: boolean;
}

/**
 * The operands in one WebAssembly memory: A row-major (m padded to a multiple of 4, negated: the
 * kernel subtracts, C = 0 - (-A) B), then B packed in panels of 4 columns (panel p holds columns
 * 4p..4p+3 as kd rows of 4 contiguous doubles), then C row-major (padded to multiples of 4).
 *
 * Why panels: the kernel walks t down B for every 4 x 4 tile. Row-major, that is one 32-byte
 * read per row of B, a whole row apart (a page apart at thousands of columns), so a tall product
 * was bound by the memory system; packed, it reads each panel front to back. Every entry of C is
 * still the same products summed over t in the same order, so the result is bit for bit the same.
 */
async function loadOperands(a: Float64Array, b: Float64Array | { transposed: Float64Array }, m: number, kd: number, n: number) {
  const mp = pad4(m);
  const np = pad4(n);
  const aBytes = mp * kd * 8;
  const bBytes = kd * np * 8;
  const kernel = await gemmKernel(aBytes + bBytes + mp * np * 8);
  const buffer = kernel.memory.buffer;
  const A = new Float64Array(buffer, 0, mp * kd);
  const B = new Float64Array(buffer, aBytes, kd * np);
  for (let i = 0; i < m * kd; i++) A[i] = -(a[i] as number);
  if (b instanceof Float64Array) {
    // Sixteen rows of B at a time: the reads run along B's rows and each panel gets 64
    // contiguous doubles, instead of one side of the copy striding a row or a panel per element.
    for (let t0 = 0; t0 < kd; t0 += 16) {
      const t1 = Math.min(kd, t0 + 16);
      for (let j = 0; j < n; j++) {
        const base = (j >> 2) * kd * 4 + (j & 3);
        for (let t = t0; t < t1; t++) B[base + t * 4] = b[t * n + j] as number;
      }
    }
  } else {
    // B given as its transpose (n x kd): panel p is rows 4p..4p+3 of it, read front to back.
    const bt = b.transposed;
    for (let j = 0; j < n; j++) {
      const base = (j >> 2) * kd * 4 + (j & 3);
      const row = j * kd;
      for (let t = 0; t < kd; t++) B[base + t * 4] = bt[row + t] as number;
    }
  }
  const cOffset = aBytes + bBytes;
  /** Rows [i0, i1) of C's column panel p, summing over t < depth. */
  const panel = (p: number, i0: number, i1: number, depth: number) => kernel.gemmSub(cOffset + p * 32, np, i0, i1, 0, 4, 0, kd, aBytes + p * kd * 32, 4, depth, false);
  return { mp, np, panel, C: new Float64Array(buffer, cOffset, mp * np) };
}

function checkA(a: Float64Array, m: number, kd: number): void {
  if (a.length !== m * kd) throw new LinalgError("a", `expected ${m * kd} entries for ${m} x ${kd}, got ${a.length}`);
}

/** C (m x n) from loaded operands: every 4-column panel, or only what a lower-triangular A needs. */
async function multiply(a: Float64Array, b: Float64Array | { transposed: Float64Array }, m: number, kd: number, n: number, options: MatmulOptions): Promise<Float64Array> {
  const { mp, np, panel, C } = await loadOperands(a, b, m, kd, n);
  for (let p = 0; p < np / 4; p++) {
    if (options.lowerTriangularA) {
      for (let i = 0; i < mp; i += 4) panel(p, i, i + 4, Math.min(kd, i + 4));
    } else {
      panel(p, 0, mp, kd);
    }
  }
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) out.set(C.subarray(i * np, i * np + n), i * n);
  return out;
}

/**
 * C = A B for row-major A (m x kd) and B (kd x n), on the SIMD kernel: operands are copied into
 * one WebAssembly memory, padded to multiples of 4, and the product comes back as a fresh m x n.
 */
export async function matmul(a: Float64Array, b: Float64Array, m: number, kd: number, n: number, options: MatmulOptions = {}): Promise<Float64Array> {
  checkA(a, m, kd);
  if (b.length !== kd * n) throw new LinalgError("b", `expected ${kd * n} entries for ${kd} x ${n}, got ${b.length}`);
  return multiply(a, b, m, kd, n, options);
}

/**
 * C = A B^T for row-major A (m x kd) and B (n x kd): entry (i, j) is the dot product of row i of
 * A and row j of B, its products summed over t from 0 in order, as a scalar loop sums them (and
 * as `matmul(a, transpose(b))` does). What scoring many queries against row-major vectors needs.
 */
export async function matmulTransposedB(a: Float64Array, b: Float64Array, m: number, kd: number, n: number, options: MatmulOptions = {}): Promise<Float64Array> {
  checkA(a, m, kd);
  if (b.length !== n * kd) throw new LinalgError("b", `expected ${n * kd} entries for ${n} x ${kd}, got ${b.length}`);
  return multiply(a, { transposed: b }, m, kd, n, options);
}

/**
 * G = A A^T for row-major A (m x kd). Only the tiles on and below the diagonal are computed and
 * mirrored: each entry is the same sequence of products summed in the same order as in
 * `matmul(a, transpose(a))`, so the result is bit for bit that one at about half the work.
 */
export async function gram(a: Float64Array, m: number, kd: number): Promise<Float64Array> {
  checkA(a, m, kd);
  const { mp, panel, C } = await loadOperands(a, { transposed: a }, m, kd, m);
  for (let p = 0; p < mp / 4; p++) panel(p, 4 * p, mp, kd);
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      const v = C[i * mp + j] as number;
      out[i * m + j] = v;
      out[j * m + i] = v;
    }
  }
  return out;
}
