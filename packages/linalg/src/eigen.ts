import { Rng } from "@mlsd/random";
import { choleskyInverse } from "./cholesky";
import { LinalgError } from "./errors";
import { gram as gramOf, matmul } from "./matmul";

export interface SymmetricEigen {
  /** Descending. */
  values: Float64Array;
  /** Row r (k values) is the unit eigenvector of values[r]. */
  vectors: Float64Array;
}

/**
 * Eigenvalues and eigenvectors of a symmetric k x k matrix (row-major; the lower triangle is
 * read): Householder reduction to tridiagonal form, then the implicit QL algorithm (tred2 and
 * tql2 of EISPACK, as in JAMA). About 4k^3 flops, accurate to rounding.
 */
export function symmetricEigen(matrix: Float64Array, k: number): SymmetricEigen {
  if (matrix.length !== k * k) throw new LinalgError("matrix", `expected ${k * k} entries for ${k} x ${k}, got ${matrix.length}`);
  const n = k;
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) V[i * n + j] = V[j * n + i] = matrix[i * n + j] as number;
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalize(V, d, e, n);
  diagonalize(V, d, e, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (d[b] as number) - (d[a] as number));
  const values = Float64Array.from(order, (i) => d[i] as number);
  const vectors = new Float64Array(n * n);
  order.forEach((col, r) => {
    for (let i = 0; i < n; i++) vectors[r * n + i] = V[i * n + col] as number;
  });
  return { values, vectors };
}

/** Householder tridiagonalisation (tred2): V holds the transformation, d the diagonal, e the sub-diagonal. */
function tridiagonalize(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j] as number;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k] as number);
    if (scale === 0) {
      e[i] = d[i - 1] as number;
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j] as number;
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = (d[k] as number) / scale;
        h += (d[k] as number) ** 2;
      }
      let f = d[i - 1] as number;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j] as number;
        V[j * n + i] = f;
        g = (e[j] as number) + (V[j * n + j] as number) * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += (V[k * n + j] as number) * (d[k] as number);
          e[k] = (e[k] as number) + (V[k * n + j] as number) * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = (e[j] as number) / h;
        f += (e[j] as number) * (d[j] as number);
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = (e[j] as number) - hh * (d[j] as number);
      for (let j = 0; j < i; j++) {
        f = d[j] as number;
        g = e[j] as number;
        for (let k = j; k <= i - 1; k++) V[k * n + j] = (V[k * n + j] as number) - (f * (e[k] as number) + g * (d[k] as number));
        d[j] = V[(i - 1) * n + j] as number;
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i] as number;
    V[i * n + i] = 1;
    const h = d[i + 1] as number;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = (V[k * n + i + 1] as number) / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += (V[k * n + i + 1] as number) * (V[k * n + j] as number);
        for (let k = 0; k <= i; k++) V[k * n + j] = (V[k * n + j] as number) - g * (d[k] as number);
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j] as number;
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (tql2): d becomes the eigenvalues, V's columns the eigenvectors. */
function diagonalize(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i] as number;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l] as number) + Math.abs(e[l] as number));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m] as number) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > 100) throw new LinalgError("matrix", "QL iteration did not converge");
        let g = d[l] as number;
        let p = ((d[l + 1] as number) - g) / (2 * (e[l] as number));
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = (e[l] as number) / (p + r);
        d[l + 1] = (e[l] as number) * (p + r);
        const dl1 = d[l + 1] as number;
        let h = g - (d[l] as number);
        for (let i = l + 2; i < n; i++) d[i] = (d[i] as number) - h;
        f += h;
        p = d[m] as number;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1] as number;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * (e[i] as number);
          h = c * p;
          r = Math.hypot(p, e[i] as number);
          e[i + 1] = s * r;
          s = (e[i] as number) / r;
          c = p / r;
          p = c * (d[i] as number) - s * g;
          d[i + 1] = h + s * (c * g + s * (d[i] as number));
          for (let k = 0; k < n; k++) {
            const vk = k * n;
            h = V[vk + i + 1] as number;
            V[vk + i + 1] = s * (V[vk + i] as number) + c * h;
            V[vk + i] = c * (V[vk + i] as number) - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * (e[l] as number)) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l] as number) > eps * tst1);
    }
    d[l] = (d[l] as number) + f;
    e[l] = 0;
  }
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
export async function topEigenGram(x: SparseRows, dim: number, options: TopEigenOptions = {}): Promise<TopEigen> {
  const n = x.numColumns;
  if (!Number.isInteger(dim) || dim < 1) throw new LinalgError("dim", `must be a positive integer, got ${dim}`);
  if (x.indptr.length !== x.numRows + 1) throw new LinalgError("indptr", `length ${x.indptr.length} does not match numRows + 1 = ${x.numRows + 1}`);
  const k = Math.min(n, dim + (options.oversample ?? 16));
  const d = Math.min(dim, k);
  const rng = new Rng(options.seed ?? 1);
  // Directions are stored k x n (each contiguous) for orthonormalisation, n x k for products.
  let basis: Float64Array = new Float64Array(k * n);
  for (let i = 0; i < basis.length; i++) basis[i] = rng.normal();
  await orthonormalizeRowsFast(basis, k, n);
  const iterations = options.iterations ?? 6;
  for (let it = 0; it < iterations; it++) {
    basis = transpose(gramTimes(x, transpose(basis, k, n), k), n, k);
    await orthonormalizeRowsFast(basis, k, n);
  }
  const gq = gramTimes(x, transpose(basis, k, n), k);
  const projected = await matmul(basis, gq, k, n, k);
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < a; b++) {
      const v = 0.5 * ((projected[a * k + b] as number) + (projected[b * k + a] as number));
      projected[a * k + b] = v;
      projected[b * k + a] = v;
    }
  }
  const eig = symmetricEigen(projected, k);
  // Ritz vectors: the leading d eigenvectors of the projection, mapped back through the basis.
  const byDirection = await matmul(eig.vectors.subarray(0, d * k), basis, d, k, n);
  return { values: Float64Array.from(eig.values.subarray(0, d), (v) => Math.max(0, v)), vectors: transpose(byDirection, d, n), dim: d };
}

/**
 * Orthonormal rows by CholeskyQR2 on the SIMD kernel (Gram matrix, Cholesky, triangular
 * solve, twice), falling back to modified Gram-Schmidt when the Gram matrix is too ill-
 * conditioned for its Cholesky factor.
 */
async function orthonormalizeRowsFast(m: Float64Array, k: number, n: number): Promise<void> {
  for (let a = 0; a < k; a++) {
    let norm = 0;
    for (let j = 0; j < n; j++) norm += (m[a * n + j] as number) ** 2;
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let j = 0; j < n; j++) m[a * n + j] = (m[a * n + j] as number) * inv;
  }
  for (let pass = 0; pass < 2; pass++) {
    const factor = choleskyInverse(await gramOf(m, k, n), k, 1e-12);
    if (!factor) {
      orthonormalizeRows(m, k, n);
      return;
    }
    // The factor is L^-1, lower triangular.
    m.set(await matmul(factor, m, k, k, n, { lowerTriangularA: true }));
  }
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
    // Four rows of Q per pass over y: each y[c] still adds them one at a time in order.
    let p = start;
    for (; p + 3 < end; p += 4) {
      const b1 = (x.indices[p] as number) * k;
      const b2 = (x.indices[p + 1] as number) * k;
      const b3 = (x.indices[p + 2] as number) * k;
      const b4 = (x.indices[p + 3] as number) * k;
      for (let c = 0; c < k; c++) y[c] = (y[c] as number) + (q[b1 + c] as number) + (q[b2 + c] as number) + (q[b3 + c] as number) + (q[b4 + c] as number);
    }
    for (; p < end; p++) {
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
