/**
 * Factors a symmetric positive definite k x k matrix in place: its lower triangle (row-major, the
 * only part read) becomes the Cholesky factor L, G = L L'. False when a pivot is not positive
 * (relative to `tolerance` x its diagonal entry); the triangle is then partly overwritten.
 */
export function choleskyFactorInPlace(a: Float64Array, k: number, tolerance = 0): boolean {
  for (let j = 0; j < k; j++) {
    const rj = j * k;
    const gjj = a[rj + j] as number;
    let dj = gjj;
    for (let t = 0; t < j; t++) {
      const x = a[rj + t] as number;
      dj -= x * x;
    }
    if (!(dj > tolerance * gjj) || !(dj > 0)) return false;
    const ljj = Math.sqrt(dj);
    a[rj + j] = ljj;
    // Four rows at a time share each load of row j; every entry is still its own sum over t in
    // order, so the factor is bit for bit the one-row loop's (about 1.4x faster at k = 64).
    let i = j + 1;
    for (; i + 3 < k; i += 4) {
      const r0 = i * k;
      const r1 = r0 + k;
      const r2 = r1 + k;
      const r3 = r2 + k;
      let v0 = a[r0 + j] as number;
      let v1 = a[r1 + j] as number;
      let v2 = a[r2 + j] as number;
      let v3 = a[r3 + j] as number;
      for (let t = 0; t < j; t++) {
        const y = a[rj + t] as number;
        v0 -= (a[r0 + t] as number) * y;
        v1 -= (a[r1 + t] as number) * y;
        v2 -= (a[r2 + t] as number) * y;
        v3 -= (a[r3 + t] as number) * y;
      }
      a[r0 + j] = v0 / ljj;
      a[r1 + j] = v1 / ljj;
      a[r2 + j] = v2 / ljj;
      a[r3 + j] = v3 / ljj;
    }
    for (; i < k; i++) {
      const ri = i * k;
      let v = a[ri + j] as number;
      for (let t = 0; t < j; t++) v -= (a[ri + t] as number) * (a[rj + t] as number);
      a[ri + j] = v / ljj;
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
    const ri = i * k;
    let v = b[i] as number;
    for (let t = 0; t < i; t++) v -= (g[ri + t] as number) * (b[t] as number);
    b[i] = v / (g[ri + i] as number);
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
