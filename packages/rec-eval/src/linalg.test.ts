import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { spdInverse } from "./linalg";
import { RecEvalError } from "./matrix";

describe("spdInverse", () => {
  it("inverts a hand-checked 2 x 2", () => {
    // [[4, 2], [2, 3]]^-1 = [[3, -2], [-2, 4]] / 8.
    const inv = spdInverse(Float64Array.of(4, 2, 2, 3), 2);
    expect(Array.from(inv).map((v) => v * 8)).toEqual([3, -2, -2, 4].map((v) => expect.closeTo(v, 12)));
  });

  it("A times its inverse is the identity for a random 60 x 60 Gram matrix", () => {
    const n = 60;
    const rng = new Rng(2);
    const x = Float64Array.from({ length: 80 * n }, () => (rng.bernoulli(0.1) ? 1 : 0));
    const a = new Float64Array(n * n);
    for (let r = 0; r < 80; r++) {
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = (a[i * n + j] as number) + (x[r * n + i] as number) * (x[r * n + j] as number);
    }
    for (let i = 0; i < n; i++) a[i * n + i] = (a[i * n + i] as number) + 2;
    const inv = spdInverse(a, n);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += (a[i * n + k] as number) * (inv[k * n + j] as number);
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
      }
    }
    expect(worst).toBeLessThan(1e-10);
  });

  it("rejects a matrix that is not positive definite", () => {
    expect(() => spdInverse(Float64Array.of(1, 2, 2, 1), 2)).toThrow(RecEvalError);
    expect(() => spdInverse(new Float64Array(3), 2)).toThrow(/^matrix: expected 4 entries/);
  });
});
