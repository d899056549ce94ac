import { RecEvalError } from "./matrix";

/**
 * Inverse of a symmetric positive definite n x n matrix (row-major), by Cholesky A = L L^T,
 * W = L^-1, A^-1 = W^T W. Every inner loop runs along a row, which is what makes the 1,682 x
 * 1,682 inverse EASE needs take seconds rather than minutes in JavaScript. About n^3 / 2
 * multiply-adds. Reads only the lower triangle of `a`.
 */
export function spdInverse(a: Float64Array, n: number): Float64Array {
  if (a.length !== n * n) throw new RecEvalError("matrix", `expected ${n * n} entries for ${n} x ${n}, got ${a.length}`);
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = a[rj + j] as number;
    for (let k = 0; k < j; k++) d -= (L[rj + k] as number) * (L[rj + k] as number);
    if (!(d > 0)) throw new RecEvalError("matrix", `not positive definite (pivot ${j} is ${d})`);
    const ljj = Math.sqrt(d);
    L[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = a[ri + j] as number;
      for (let k = 0; k < j; k++) s -= (L[ri + k] as number) * (L[rj + k] as number);
      L[ri + j] = s / ljj;
    }
  }

  // W = L^-1, lower triangular, built row by row: W[i][j] = -(sum_{j<=k<i} L[i][k] W[k][j]) / L[i][i].
  const W = new Float64Array(n * n);
  const acc = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    acc.fill(0, 0, i);
    for (let k = 0; k < i; k++) {
      const lik = L[ri + k] as number;
      if (lik === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) acc[j] = (acc[j] as number) + lik * (W[rk + j] as number);
    }
    const inv = 1 / (L[ri + i] as number);
    for (let j = 0; j < i; j++) W[ri + j] = -(acc[j] as number) * inv;
    W[ri + i] = inv;
  }

  // A^-1 = W^T W as a sum of outer products of W's rows (row k is nonzero in columns 0..k).
  const P = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    for (let i = 0; i <= k; i++) {
      const wki = W[rk + i] as number;
      if (wki === 0) continue;
      const ri = i * n;
      for (let j = 0; j <= i; j++) P[ri + j] = (P[ri + j] as number) + wki * (W[rk + j] as number);
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) P[j * n + i] = P[i * n + j] as number;
  return P;
}
