import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { choleskySolveInPlace, LinalgError, matmul, spdInverse, symmetricEigen, topEigenGram } from "./index";

/** X^T X + ridge I of a random binary users x n matrix, and X as sparse rows. */
function gram(users: number, n: number, p: number, ridge: number, seed: number) {
  const rng = new Rng(seed);
  const rows: number[][] = Array.from({ length: users }, () => Array.from({ length: n }, (_, i) => i).filter(() => rng.bernoulli(p)));
  const a = new Float64Array(n * n);
  for (const r of rows) for (const i of r) for (const j of r) a[i * n + j] = (a[i * n + j] as number) + 1;
  for (let i = 0; i < n; i++) a[i * n + i] = (a[i * n + i] as number) + ridge;
  const indptr = new Int32Array(users + 1);
  rows.forEach((r, u) => (indptr[u + 1] = (indptr[u] as number) + r.length));
  return { a, x: { numRows: users, numColumns: n, indptr, indices: Int32Array.from(rows.flat()) } };
}

function worstIdentityError(a: Float64Array, inv: Float64Array, n: number): number {
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (a[i * n + k] as number) * (inv[k * n + j] as number);
      worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
    }
  }
  return worst;
}

describe("spdInverse (blocked sweep, WebAssembly SIMD kernel)", () => {
  it("inverts a hand-checked 2 x 2", async () => {
    // [[4, 2], [2, 3]]^-1 = [[3, -2], [-2, 4]] / 8.
    const inv = await spdInverse(Float64Array.of(4, 2, 2, 3), 2);
    expect(Array.from(inv).map((v) => v * 8)).toEqual([3, -2, -2, 4].map((v) => expect.closeTo(v, 12)));
  });

  it("A times its inverse is the identity across several pivot blocks and a padded edge (n = 150)", async () => {
    const n = 150;
    const { a } = gram(120, n, 0.1, 2, 2);
    const inv = await spdInverse(a, n);
    expect(worstIdentityError(a, inv, n)).toBeLessThan(1e-10);
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(inv[i * n + j]).toBe(inv[j * n + i]);
  });

  it("rejects a matrix that is not positive definite, and a wrong size, by name", async () => {
    await expect(spdInverse(Float64Array.of(1, 2, 2, 1), 2)).rejects.toThrow(LinalgError);
    await expect(spdInverse(Float64Array.of(1, 2, 2, 1), 2)).rejects.toThrow(/^matrix: not positive definite/);
    await expect(spdInverse(new Float64Array(3), 2)).rejects.toThrow(/^matrix: expected 4 entries/);
  });
});

describe("matmul", () => {
  it("multiplies a hand-checked 2 x 3 by 3 x 2, and odd sizes through the padding", async () => {
    expect(Array.from(await matmul(Float64Array.of(1, 2, 3, 4, 5, 6), Float64Array.of(7, 8, 9, 10, 11, 12), 2, 3, 2))).toEqual([58, 64, 139, 154]);
    const rng = new Rng(4);
    const a = Float64Array.from({ length: 5 * 7 }, () => rng.normal());
    const b = Float64Array.from({ length: 7 * 9 }, () => rng.normal());
    const c = await matmul(a, b, 5, 7, 9);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 9; j++) {
        let s = 0;
        for (let t = 0; t < 7; t++) s += (a[i * 7 + t] as number) * (b[t * 9 + j] as number);
        expect(c[i * 9 + j]).toBeCloseTo(s, 12);
      }
    }
  });
});

describe("symmetricEigen", () => {
  it("reconstructs A = V diag(values) V^T with orthonormal rows, values descending", () => {
    const { a } = gram(30, 12, 0.3, 0.5, 3);
    const { values, vectors } = symmetricEigen(a, 12);
    for (let r = 1; r < 12; r++) expect(values[r]).toBeLessThanOrEqual(values[r - 1] as number);
    for (let i = 0; i < 12; i++) {
      for (let j = 0; j < 12; j++) {
        let s = 0;
        let dot = 0;
        for (let r = 0; r < 12; r++) {
          s += (values[r] as number) * (vectors[r * 12 + i] as number) * (vectors[r * 12 + j] as number);
          dot += (vectors[i * 12 + r] as number) * (vectors[j * 12 + r] as number);
        }
        expect(s).toBeCloseTo(a[i * 12 + j] as number, 9);
        expect(dot).toBeCloseTo(i === j ? 1 : 0, 9);
      }
    }
  });

  it("knows the eigenvalues of a hand-checked 2 x 2", () => {
    // [[2, 1], [1, 2]]: 3 along (1, 1), 1 along (1, -1).
    const { values, vectors } = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2);
    expect(Array.from(values)).toEqual([expect.closeTo(3, 12), expect.closeTo(1, 12)]);
    expect(Math.abs(vectors[0] as number)).toBeCloseTo(Math.SQRT1_2, 12);
  });
});

describe("topEigenGram", () => {
  it("finds the leading eigenpairs of X^T X without forming it", async () => {
    const n = 40;
    const { a, x } = gram(200, n, 0.15, 0, 5);
    const exact = symmetricEigen(a, n);
    const top = await topEigenGram(x, 6, { seed: 3, iterations: 30 });
    expect(top.dim).toBe(6);
    for (let r = 0; r < 6; r++) {
      expect(top.values[r]).toBeCloseTo(exact.values[r] as number, 4);
      // Same direction up to sign.
      let dot = 0;
      for (let j = 0; j < n; j++) dot += (top.vectors[j * 6 + r] as number) * (exact.vectors[r * n + j] as number);
      expect(Math.abs(dot)).toBeCloseTo(1, 4);
    }
  });
});

describe("choleskySolveInPlace", () => {
  it("solves G x = b for a positive definite G, reading only its lower triangle", () => {
    const n = 24;
    const { a } = gram(40, n, 0.3, 2, 11);
    const rng = new Rng(12);
    const x = Float64Array.from({ length: n }, () => rng.normal());
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b[i] = (b[i] as number) + (a[i * n + j] as number) * (x[j] as number);
    const lower = Float64Array.from(a, (v, p) => (p % n <= Math.floor(p / n) ? v : Number.NaN));
    expect(choleskySolveInPlace(lower, b, n)).toBe(true);
    for (let i = 0; i < n; i++) expect(b[i]).toBeCloseTo(x[i] as number, 9);
  });

  it("refuses a matrix that is not positive definite and leaves b alone", () => {
    const g = Float64Array.from([1, 0, 2, 1]); // [[1, 2], [2, 1]]: eigenvalues 3 and -1
    const b = Float64Array.from([1, 1]);
    expect(choleskySolveInPlace(g, b, 2)).toBe(false);
    expect(Array.from(b)).toEqual([1, 1]);
  });
});
