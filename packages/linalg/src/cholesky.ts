/**
 * L^-1 for the Cholesky factor L of a symmetric positive definite k x k matrix (row-major, lower
 * triangle read; so L^-1 G L^-T = I and G^-1 = L^-T L^-1), or null when a pivot is not positive
 * (relative to `tolerance` x its diagonal entry). Scalar code for small matrices.
 */
export function choleskyInverse(g: Float64Array, k: number, tolerance = 0): Float64Array | null {
  const L = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    let dj = g[j * k + j] as number;
    for (let t = 0; t < j; t++) dj -= (L[j * k + t] as number) ** 2;
    if (!(dj > tolerance * (g[j * k + j] as number)) || !(dj > 0)) return null;
    const ljj = Math.sqrt(dj);
    L[j * k + j] = ljj;
    for (let i = j + 1; i < k; i++) {
      let v = g[i * k + j] as number;
      for (let t = 0; t < j; t++) v -= (L[i * k + t] as number) * (L[j * k + t] as number);
      L[i * k + j] = v / ljj;
    }
  }
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
