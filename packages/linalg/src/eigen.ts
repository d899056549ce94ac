import { Rng } from "@mlsd/random";
import { LinalgError } from "./errors";

export interface SymmetricEigen {
  /** Descending. */
  values: Float64Array;
  /** Row r (k values) is the unit eigenvector of values[r]. */
  vectors: Float64Array;
}

/**
 * Eigenvalues and eigenvectors of a symmetric k x k matrix (row-major; both triangles are read)
 * by cyclic Jacobi rotations: O(k^3) per sweep, a handful of sweeps, accurate to rounding. Meant
 * for the small projected matrices of `topEigenGram` (k up to a few hundred).
 */
export function symmetricEigen(matrix: Float64Array, k: number): SymmetricEigen {
  if (matrix.length !== k * k) throw new LinalgError("matrix", `expected ${k * k} entries for ${k} x ${k}, got ${matrix.length}`);
  const a = Float64Array.from(matrix);
  const vt = new Float64Array(k * k);
  for (let i = 0; i < k; i++) vt[i * k + i] = 1;
  let scale = 0;
  for (let i = 0; i < k * k; i++) scale += (a[i] as number) ** 2;
  const tolerance = 1e-30 * Math.max(scale, Number.MIN_VALUE);
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += (a[p * k + q] as number) ** 2;
    if (off <= tolerance) break;
    for (let p = 0; p < k; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = a[p * k + q] as number;
        if (apq === 0 || apq * apq <= tolerance / (k * k)) continue;
        const theta = ((a[q * k + q] as number) - (a[p * k + p] as number)) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < k; r++) {
          const rp = a[r * k + p] as number;
          const rq = a[r * k + q] as number;
          a[r * k + p] = c * rp - s * rq;
          a[r * k + q] = s * rp + c * rq;
        }
        const pk = p * k;
        const qk = q * k;
        for (let r = 0; r < k; r++) {
          const pr = a[pk + r] as number;
          const qr = a[qk + r] as number;
          a[pk + r] = c * pr - s * qr;
          a[qk + r] = s * pr + c * qr;
          const vp = vt[pk + r] as number;
          const vq = vt[qk + r] as number;
          vt[pk + r] = c * vp - s * vq;
          vt[qk + r] = s * vp + c * vq;
        }
      }
    }
  }
  const order = Array.from({ length: k }, (_, i) => i).sort((x, y) => (a[y * k + y] as number) - (a[x * k + x] as number));
  const values = Float64Array.from(order, (i) => a[i * k + i] as number);
  const vectors = new Float64Array(k * k);
  order.forEach((i, r) => vectors.set(vt.subarray(i * k, (i + 1) * k), r * k));
  return { values, vectors };
}

/** Rows of a binary sparse matrix X (e.g. users x items): the columns of row r are indices[indptr[r] .. indptr[r+1]). */
export interface SparseRows {
  readonly numRows: number;
  readonly numColumns: number;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
}

export interface TopEigenOptions {
  /** Extra directions carried along for accuracy (Halko et al.'s oversampling). Default 16. */
  oversample?: number;
  /** Power iterations. Default 6. */
  iterations?: number;
  seed?: number;
}

export interface TopEigen {
  /** The d largest eigenvalues of X^T X, descending. */
  values: Float64Array;
  /** numColumns x d, row-major: row j holds column j's coordinates on the d eigenvectors. */
  vectors: Float64Array;
  dim: number;
}

/**
 * The top `dim` eigenpairs of the Gram matrix G = X^T X of a binary sparse X without forming G:
 * randomized subspace iteration (Halko, Martinsson & Tropp 2011) with `iterations` power steps,
 * each one pass over X's non-zeros per direction, then Rayleigh-Ritz. Memory is O(numColumns x
 * (dim + oversample)): a 100,000-item catalogue needs no item x item matrix.
 */
export function topEigenGram(x: SparseRows, dim: number, options: TopEigenOptions = {}): TopEigen {
  const n = x.numColumns;
  if (!Number.isInteger(dim) || dim < 1) throw new LinalgError("dim", `must be a positive integer, got ${dim}`);
  if (x.indptr.length !== x.numRows + 1) throw new LinalgError("indptr", `length ${x.indptr.length} does not match numRows + 1 = ${x.numRows + 1}`);
  const k = Math.min(n, dim + (options.oversample ?? 16));
  const d = Math.min(dim, k);
  const rng = new Rng(options.seed ?? 1);
  // Directions are stored k x n (each contiguous) for orthonormalisation, n x k for products.
  let basis: Float64Array = new Float64Array(k * n);
  for (let i = 0; i < basis.length; i++) basis[i] = rng.normal();
  orthonormalizeRows(basis, k, n);
  const iterations = options.iterations ?? 6;
  for (let it = 0; it < iterations; it++) {
    basis = transpose(gramTimes(x, transpose(basis, k, n), k), n, k);
    orthonormalizeRows(basis, k, n);
  }
  const gq = transpose(gramTimes(x, transpose(basis, k, n), k), n, k);
  const projected = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = a; b < k; b++) {
      let s = 0;
      const ra = a * n;
      const rb = b * n;
      for (let j = 0; j < n; j++) s += (basis[ra + j] as number) * (gq[rb + j] as number);
      projected[a * k + b] = s;
      projected[b * k + a] = s;
    }
  }
  const eig = symmetricEigen(projected, k);
  const vectors = new Float64Array(n * d);
  for (let r = 0; r < d; r++) {
    for (let a = 0; a < k; a++) {
      const w = eig.vectors[r * k + a] as number;
      if (w === 0) continue;
      const ra = a * n;
      for (let j = 0; j < n; j++) vectors[j * d + r] = (vectors[j * d + r] as number) + w * (basis[ra + j] as number);
    }
  }
  return { values: Float64Array.from(eig.values.subarray(0, d), (v) => Math.max(0, v)), vectors, dim: d };
}

/** X^T X Q for Q numColumns x k (row-major), through the rows of X. */
function gramTimes(x: SparseRows, q: Float64Array, k: number): Float64Array {
  const out = new Float64Array(x.numColumns * k);
  const y = new Float64Array(k);
  for (let r = 0; r < x.numRows; r++) {
    const start = x.indptr[r] as number;
    const end = x.indptr[r + 1] as number;
    if (start === end) continue;
    y.fill(0);
    for (let p = start; p < end; p++) {
      const base = (x.indices[p] as number) * k;
      for (let c = 0; c < k; c++) y[c] = (y[c] as number) + (q[base + c] as number);
    }
    for (let p = start; p < end; p++) {
      const base = (x.indices[p] as number) * k;
      for (let c = 0; c < k; c++) out[base + c] = (out[base + c] as number) + (y[c] as number);
    }
  }
  return out;
}

function transpose(m: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c] as number;
  return out;
}

/**
 * Modified Gram-Schmidt on the k rows (length n) of `m`, twice ("twice is enough"), so the rows
 * come out orthonormal even from the nearly parallel directions power iteration makes. A row
 * that vanishes is replaced by a fresh unit vector orthogonal to the others.
 */
export function orthonormalizeRows(m: Float64Array, k: number, n: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let a = 0; a < k; a++) {
      const ra = a * n;
      for (let b = 0; b < a; b++) {
        const rb = b * n;
        let dot = 0;
        for (let j = 0; j < n; j++) dot += (m[ra + j] as number) * (m[rb + j] as number);
        for (let j = 0; j < n; j++) m[ra + j] = (m[ra + j] as number) - dot * (m[rb + j] as number);
      }
      let norm = 0;
      for (let j = 0; j < n; j++) norm += (m[ra + j] as number) ** 2;
      norm = Math.sqrt(norm);
      if (norm < 1e-300) {
        // Rank deficiency: a coordinate vector stands in; the second pass makes it orthogonal.
        m.fill(0, ra, ra + n);
        m[ra + (a % n)] = 1;
        continue;
      }
      for (let j = 0; j < n; j++) m[ra + j] = (m[ra + j] as number) / norm;
    }
  }
}
