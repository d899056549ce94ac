import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { choleskyFactorInPlace, choleskySolveInPlace, gram as gramMatrix, LinalgError, matmul, matmulTransposedB, spdInverse, symmetricEigen, topEigenGram } from "./index";

/** Bit for bit: Object.is tells -0 from +0 and compares NaN to itself. */
const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));

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

describe("matmul: packed panels, triangular skip and the lower-triangle Gram matrix", () => {
  // Each entry of the kernel's product is one sum over t in order, however B is laid out: the
  // sequential scalar loop gives the same bits (nonzero entries; the kernel negates twice, which is
  // exact). The bit-identity is what lets the trainer's numbers survive a faster kernel.
  const sequential = (a: Float64Array, b: Float64Array, m: number, kd: number, n: number) => {
    const c = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < kd; t++) s += (a[i * kd + t] as number) * (b[t * n + j] as number);
        c[i * n + j] = s;
      }
    }
    return c;
  };
  const random = (length: number, rng: Rng) => Float64Array.from({ length }, () => rng.normal());

  it("equals the sequential sum bit for bit across shapes that are and are not multiples of 4 (B read in panels)", async () => {
    const rng = new Rng(11);
    for (const [m, kd, n] of [[5, 7, 9], [8, 33, 12], [13, 3, 30], [1, 1, 1], [40, 64, 7]] as const) {
      const a = random(m * kd, rng);
      const b = random(kd * n, rng);
      expect(sameBits(await matmul(a, b, m, kd, n), sequential(a, b, m, kd, n))).toBe(true);
    }
  });

  it("lowerTriangularA skips the zeros above A's diagonal and still gives the full product's bits", async () => {
    const rng = new Rng(12);
    for (const [k, n] of [[6, 10], [17, 9], [32, 33]] as const) {
      const a = random(k * k, rng);
      for (let i = 0; i < k; i++) for (let t = i + 1; t < k; t++) a[i * k + t] = 0;
      const b = random(k * n, rng);
      const full = await matmul(a, b, k, k, n);
      expect(sameBits(await matmul(a, b, k, k, n, { lowerTriangularA: true }), full)).toBe(true);
      expect(sameBits(full, sequential(a, b, k, k, n))).toBe(true);
    }
    // Not triangular: the skip reads only the lower part, so it is not the product any more.
    const a = random(8 * 8, rng);
    const b = random(8 * 3, rng);
    expect(sameBits(await matmul(a, b, 8, 8, 3, { lowerTriangularA: true }), await matmul(a, b, 8, 8, 3))).toBe(false);
  });

  it("matmulTransposedB(A, B) is A B^T bit for bit: each entry the sequential dot product of two rows", async () => {
    const rng = new Rng(14);
    for (const [m, kd, n] of [[5, 7, 9], [12, 64, 30], [1, 3, 1], [9, 16, 4]] as const) {
      const a = random(m * kd, rng);
      const b = random(n * kd, rng);
      const bt = new Float64Array(kd * n);
      for (let j = 0; j < n; j++) for (let t = 0; t < kd; t++) bt[t * n + j] = b[j * kd + t] as number;
      expect(sameBits(await matmulTransposedB(a, b, m, kd, n), sequential(a, bt, m, kd, n))).toBe(true);
    }
    await expect(matmulTransposedB(new Float64Array(6), new Float64Array(5), 2, 3, 2)).rejects.toThrow(/^b: expected 6 entries for 2 x 3/);
    await expect(matmulTransposedB(new Float64Array(5), new Float64Array(6), 2, 3, 2)).rejects.toThrow(/^a: expected 6 entries/);
  });

  it("gram(A) is A A^T bit for bit and exactly symmetric, computing only the lower tiles", async () => {
    const rng = new Rng(13);
    for (const [m, kd] of [[7, 50], [12, 5], [33, 20]] as const) {
      const a = random(m * kd, rng);
      const at = new Float64Array(kd * m);
      for (let i = 0; i < m; i++) for (let t = 0; t < kd; t++) at[t * m + i] = a[i * kd + t] as number;
      const g = await gramMatrix(a, m, kd);
      expect(sameBits(g, await matmul(a, at, m, kd, m))).toBe(true);
      for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) expect(Object.is(g[i * m + j], g[j * m + i])).toBe(true);
    }
    await expect(gramMatrix(new Float64Array(5), 2, 3)).rejects.toThrow(/^a: expected 6 entries/);
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
  it("factors bit for bit as the one-row-at-a-time loop does (the four-row loop only shares loads)", () => {
    const rng = new Rng(14);
    const reference = (a: Float64Array, k: number) => {
      for (let j = 0; j < k; j++) {
        let dj = a[j * k + j] as number;
        for (let t = 0; t < j; t++) dj -= (a[j * k + t] as number) * (a[j * k + t] as number);
        const ljj = Math.sqrt(dj);
        a[j * k + j] = ljj;
        for (let i = j + 1; i < k; i++) {
          let v = a[i * k + j] as number;
          for (let t = 0; t < j; t++) v -= (a[i * k + t] as number) * (a[j * k + t] as number);
          a[i * k + j] = v / ljj;
        }
      }
    };
    for (const k of [1, 3, 4, 5, 9, 64, 67]) {
      const x = Float64Array.from({ length: k * (k + 3) }, () => rng.normal());
      const g = new Float64Array(k * k);
      for (let i = 0; i < k; i++) {
        for (let j = 0; j <= i; j++) {
          let s = i === j ? 0.5 : 0;
          for (let t = 0; t < k + 3; t++) s += (x[i * (k + 3) + t] as number) * (x[j * (k + 3) + t] as number);
          g[i * k + j] = s;
        }
      }
      const ours = g.slice();
      const theirs = g.slice();
      expect(choleskyFactorInPlace(ours, k)).toBe(true);
      reference(theirs, k);
      expect(sameBits(ours, theirs)).toBe(true);
    }
  });

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
