/**
 * Factors a symmetric positive definite k x k matrix in place: its lower triangle (row-major, the
 * only part read) becomes the Cholesky factor L, G = L L'. False when a pivot is not positive
 * (relative to `tolerance` x its diagonal entry); the triangle is then partly overwritten.
 */
export function choleskyFactorInPlace(a: Float64Array, k: number, tolerance = 0): boolean {
  for (let j = 0; j < k; j++) {
    const gjj = a[j * k + j] as number;
    let dj = gjj;
    for (let t = 0; t < j; t++) dj -= (a[j * k + t] as number) ** 2;
    if (!(dj > tolerance * gjj) || !(dj > 0)) return false;
    const ljj = Math.sqrt(dj);
    a[j * k + j] = ljj;
    for (let i = j + 1; i < k; i++) {
      let v = a[i * k + j] as number;
      for (let t = 0; t < j; t++) v -= (a[i * k + t] as number) * (a[j * k + t] as number);
      a[i * k + j] = v / ljj;
    }
  }
  return true;
}

/**
 * Solves G x = b for a symmetric positive definite k x k G (lower triangle read and overwritten by
 * its Cholesky factor); x replaces b. False, with b unchanged, when G is not positive definite.
 */
export function choleskySolveInPlace(g: Float64Array, b: Float64Array, k: number): boolean {
  if (!choleskyFactorInPlace(g, k)) return false;
  for (let i = 0; i < k; i++) {
    let v = b[i] as number;
    for (let t = 0; t < i; t++) v -= (g[i * k + t] as number) * (b[t] as number);
    b[i] = v / (g[i * k + i] as number);
  }
  for (let i = k - 1; i >= 0; i--) {
    let v = b[i] as number;
    for (let t = i + 1; t < k; t++) v -= (g[t * k + i] as number) * (b[t] as number);
    b[i] = v / (g[i * k + i] as number);
  }
  return true;
}

/**
 * L^-1 for the Cholesky factor L of a symmetric positive definite k x k matrix (row-major, lower
 * triangle read; so L^-1 G L^-T = I and G^-1 = L^-T L^-1), or null when a pivot is not positive
 * (relative to `tolerance` x its diagonal entry). Scalar code for small matrices.
 */
export function choleskyInverse(g: Float64Array, k: number, tolerance = 0): Float64Array | null {
  const L = new Float64Array(k * k);
  for (let i = 0; i < k; i++) L.set(g.subarray(i * k, i * k + i + 1), i * k);
  if (!choleskyFactorInPlace(L, k, tolerance)) return null;
  const W = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    const inv = 1 / (L[i * k + i] as number);
    W[i * k + i] = inv;
    for (let j = 0; j < i; j++) {
      let v = 0;
      for (let t = j; t < i; t++) v += (L[i * k + t] as number) * (W[t * k + j] as number);
      W[i * k + j] = -v * inv;
    }
  }
  return W;
}
