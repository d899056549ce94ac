import { choleskyInverse } from "./cholesky";
import { LinalgError } from "./errors";
import { gemmKernel, type GemmKernel } from "./kernels";

/** Pivot block of the sweep: the rank-b updates do b multiply-adds per loaded element. */
const BLOCK = 64;
/** Columns per pass of an update, so that B's rows (BLOCK x COLUMN_CHUNK doubles, 256 KiB) stay in L2. */
const COLUMN_CHUNK = 512;

/**
 * A dense symmetric n x n matrix in WebAssembly memory that can invert itself in place.
 * Fill the lower triangle (row-major with row stride `stride`, j <= i) through `data`, call
 * `invert()`, and read the inverse from the lower triangle (or `get`). Padding rows up to a
 * multiple of the block size hold the identity.
 *
 * The inverse is a blocked symmetric sweep (Goodnight 1979): for each 64 x 64 pivot block P,
 * the block row becomes A_ik P^-1, P becomes -P^-1 and everything else A_ij - A_ik P^-1 A_kj,
 * a rank-64 update of the lower triangle by the SIMD kernel; after the last block it holds
 * -A^-1. About n^3 / 2 multiply-adds in all, as many as Cholesky + triangular inverse + product
 * (and half of numpy's LU-based inv), with one kernel instead of three.
 */
export class SymmetricWorkspace {
  readonly stride: number;
  /** The matrix, stride x stride row-major; only the lower triangle is read. */
  readonly data: Float64Array;
  private readonly y: Float64Array;
  private readonly yt: Float64Array;
  private readonly w: Float64Array;
  private readonly pivot: Float64Array;
  private readonly offsets: { c: number; y: number; yt: number; w: number; pivot: number };

  private constructor(
    readonly n: number,
    private readonly kernel: GemmKernel,
    stride: number,
  ) {
    this.stride = stride;
    const cBytes = stride * stride * 8;
    const panel = stride * BLOCK * 8;
    this.offsets = { c: 0, y: cBytes, yt: cBytes + panel, w: cBytes + 2 * panel, pivot: cBytes + 3 * panel };
    const buffer = kernel.memory.buffer;
    this.data = new Float64Array(buffer, 0, stride * stride);
    this.y = new Float64Array(buffer, this.offsets.y, stride * BLOCK);
    this.yt = new Float64Array(buffer, this.offsets.yt, stride * BLOCK);
    this.w = new Float64Array(buffer, this.offsets.w, stride * BLOCK);
    this.pivot = new Float64Array(buffer, this.offsets.pivot, BLOCK * BLOCK);
    for (let i = n; i < stride; i++) this.data[i * stride + i] = 1;
  }

  /** Bytes of WebAssembly memory a workspace for n needs (at most 4 GiB: n up to about 22,000). */
  static bytesFor(n: number): number {
    const stride = Math.ceil(n / BLOCK) * BLOCK;
    return stride * stride * 8 + 3 * stride * BLOCK * 8 + BLOCK * BLOCK * 8;
  }

  static async create(n: number): Promise<SymmetricWorkspace> {
    if (!Number.isInteger(n) || n < 1) throw new LinalgError("n", `must be a positive integer, got ${n}`);
    const stride = Math.ceil(n / BLOCK) * BLOCK;
    return new SymmetricWorkspace(n, await gemmKernel(SymmetricWorkspace.bytesFor(n)), stride);
  }

  /** Entry (i, j) of the symmetric matrix, read from the lower triangle. */
  get(i: number, j: number): number {
    return (i >= j ? this.data[i * this.stride + j] : this.data[j * this.stride + i]) as number;
  }

  /** Replaces the matrix (lower triangle) by its inverse. Throws when it is not positive definite. */
  invert(onBlock?: (done: number, total: number) => void): void {
    const s = this.stride;
    const c = this.data;
    const { y, yt, w, pivot } = this;
    const blocks = s / BLOCK;
    for (let kb = 0; kb < s; kb += BLOCK) {
      const ke = kb + BLOCK;
      // The old block column A_ik (rows of the pivot block zeroed, so the update skips them).
      y.fill(0);
      for (let t = 0; t < BLOCK; t++) {
        const row = (kb + t) * s;
        for (let i = 0; i < kb; i++) y[i * BLOCK + t] = c[row + i] as number;
      }
      for (let i = ke; i < s; i++) {
        const row = i * s + kb;
        for (let t = 0; t < BLOCK; t++) y[i * BLOCK + t] = c[row + t] as number;
      }
      for (let i = 0; i < s; i++) for (let t = 0; t < BLOCK; t++) yt[t * s + i] = y[i * BLOCK + t] as number;
      // -P^-1 of the pivot block.
      for (let a = 0; a < BLOCK; a++) for (let b = 0; b <= a; b++) pivot[a * BLOCK + b] = c[(kb + a) * s + kb + b] as number;
      try {
        negatedSmallInverse(pivot, BLOCK);
      } catch (error) {
        if (error instanceof LinalgError) throw new LinalgError("matrix", `not positive definite (pivot block at ${kb}: ${error.message})`);
        throw error;
      }
      // W = Y P^-1, as W -= Y (-P^-1).
      w.fill(0);
      this.kernel.gemmSub(this.offsets.w, BLOCK, 0, s, 0, BLOCK, this.offsets.y, BLOCK, this.offsets.pivot, BLOCK, BLOCK, false);
      // A_ij -= W_i Y_j^T on the lower triangle, a column chunk at a time.
      for (let jc = 0; jc < s; jc += COLUMN_CHUNK) {
        this.kernel.gemmSub(this.offsets.c, s, jc, s, jc, Math.min(s, jc + COLUMN_CHUNK), this.offsets.w, BLOCK, this.offsets.yt, s, BLOCK, true);
      }
      for (let t = 0; t < BLOCK; t++) {
        const row = (kb + t) * s;
        for (let i = 0; i < kb; i++) c[row + i] = w[i * BLOCK + t] as number;
      }
      for (let i = ke; i < s; i++) {
        const row = i * s + kb;
        for (let t = 0; t < BLOCK; t++) c[row + t] = w[i * BLOCK + t] as number;
      }
      for (let a = 0; a < BLOCK; a++) for (let b = 0; b <= a; b++) c[(kb + a) * s + kb + b] = pivot[a * BLOCK + b] as number;
      onBlock?.(kb / BLOCK + 1, blocks);
    }
    for (let i = 0; i < s; i++) {
      const row = i * s;
      for (let j = 0; j <= i; j++) c[row + j] = -(c[row + j] as number);
    }
  }
}

/**
 * Replaces the symmetric positive definite k x k matrix `m` (row-major; the lower triangle is
 * read) by -m^-1 in full, via Cholesky m = L L^T, W = L^-1, m^-1 = W^T W. Scalar code for the
 * small pivot blocks.
 */
function negatedSmallInverse(m: Float64Array, k: number): void {
  const W = choleskyInverse(m, k);
  if (!W) throw new LinalgError("matrix", "a pivot is not positive");
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let v = 0;
      for (let t = i; t < k; t++) v += (W[t * k + i] as number) * (W[t * k + j] as number);
      m[i * k + j] = -v;
      m[j * k + i] = -v;
    }
  }
}

/** The inverse of a symmetric positive definite n x n matrix (row-major, lower triangle read), in full. */
export async function spdInverse(a: Float64Array, n: number): Promise<Float64Array> {
  if (a.length !== n * n) throw new LinalgError("matrix", `expected ${n * n} entries for ${n} x ${n}, got ${a.length}`);
  const ws = await SymmetricWorkspace.create(n);
  const s = ws.stride;
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) ws.data[i * s + j] = a[i * n + j] as number;
  ws.invert();
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = ws.data[i * s + j] as number;
      out[i * n + j] = v;
      out[j * n + i] = v;
    }
  }
  return out;
}
