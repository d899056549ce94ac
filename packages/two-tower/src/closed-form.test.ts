import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spdInverse } from "@mlsd/linalg";
import { Rng } from "@mlsd/random";
import { afterAll, describe, expect, it } from "vitest";
import { fitLowRankEase, linearScores, linearUserVector, saveLinearTowers } from "./closed-form";
import { loadItemEmbeddings, loadUserEncoder } from "./serving";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "linear-towers-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const numUsers = 40;
const numItems = 18;
const rng = new Rng(11);
const histories = Array.from({ length: numUsers }, () => Array.from({ length: numItems }, (_, i) => i).filter(() => rng.bernoulli(0.3)));
const indptr = new Int32Array(numUsers + 1);
histories.forEach((h, u) => (indptr[u + 1] = (indptr[u] as number) + h.length));
const x = { numRows: numUsers, numColumns: numItems, indptr, indices: Int32Array.from(histories.flat()) };

describe("low-rank EASE", () => {
  it("scores many users in one product with the same bits as the dot-product loop per user", async () => {
    const towers = await fitLowRankEase(x, { dim: 6, lambda: 3, seed: 4 });
    const users = [0, 7, 23, 39, 12];
    const scores = await linearScores(towers, users.map((u) => histories[u] as number[]));
    expect(scores).toHaveLength(users.length * numItems);
    let same = 0;
    users.forEach((u, k) => {
      const q = linearUserVector(towers, histories[u] as number[]);
      for (let j = 0; j < numItems; j++) {
        let dot = 0;
        for (let r = 0; r < towers.dim; r++) dot += (q[r] as number) * (towers.itemVectors[j * towers.dim + r] as number);
        if (Object.is(scores[k * numItems + j], dot)) same++;
      }
    });
    expect(same).toBe(users.length * numItems);
    expect(await linearScores(towers, [])).toHaveLength(0);
  });

  it("with every direction kept, scores unseen items exactly as dense EASE", async () => {
    const lambda = 3;
    const g = new Float64Array(numItems * numItems);
    for (const h of histories) for (const i of h) for (const j of h) g[i * numItems + j]! += 1;
    for (let i = 0; i < numItems; i++) g[i * numItems + i]! += lambda;
    const p = await spdInverse(g, numItems);
    const towers = await fitLowRankEase(x, { dim: numItems, lambda, iterations: 20 });
    for (const u of [0, 7, 23]) {
      const q = linearUserVector(towers, histories[u] as number[]);
      for (let j = 0; j < numItems; j++) {
        if ((histories[u] as number[]).includes(j)) continue;
        let ease = 0;
        for (const i of histories[u] as number[]) ease += -(p[i * numItems + j] as number) / (p[j * numItems + j] as number);
        let dot = 0;
        for (let r = 0; r < towers.dim; r++) dot += (q[r] as number) * (towers.itemVectors[j * towers.dim + r] as number);
        expect(dot).toBeCloseTo(ease, 6);
      }
    }
  });

  it("saves as a two-tower artifact whose user encoder points where the full history does", async () => {
    const towers = await fitLowRankEase(x, { dim: 6, lambda: 3 });
    const L = 3;
    // The stored recent history: each user's last three items.
    const recent = new Int32Array(numUsers * L).fill(-1);
    histories.forEach((h, u) => h.slice(-L).reverse().forEach((i, k) => (recent[u * L + k] = i)));
    const dir = path.join(tmp, "towers");
    const manifest = await saveLinearTowers(dir, towers, {
      schema: { numUsers, userNumericDim: 1, userCategoricalCardinalities: [2], numItemCategories: 2, numTags: 2, historyLength: L },
      userHistory: (u) => histories[u] as number[],
      recentHistory: recent,
      version: "lr-1",
    });
    expect(manifest.modelVersion).toBe("lr-1");
    const { encoder } = await loadUserEncoder(dir);
    const items = await loadItemEmbeddings(dir);
    expect(Array.from(items.embeddings)).toEqual(Array.from(towers.itemVectors));
    const cosine = (a: Float32Array, b: Float32Array) => {
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let r = 0; r < a.length; r++) {
        ab += (a[r] as number) * (b[r] as number);
        aa += (a[r] as number) ** 2;
        bb += (b[r] as number) ** 2;
      }
      return ab / Math.sqrt(aa * bb);
    };
    for (const u of [1, 9, 30]) {
      const served = encoder.encode({ userId: u, numeric: [0], categorical: [0], history: recent.subarray(u * L, (u + 1) * L) });
      expect(cosine(served, linearUserVector(towers, histories[u] as number[]))).toBeCloseTo(1, 5);
    }
    // An unknown user is served from the history the request brings.
    const fresh = [2, 5];
    const served = encoder.encode({ userId: -1, numeric: [0], categorical: [-1], history: fresh });
    expect(cosine(served, linearUserVector(towers, fresh))).toBeCloseTo(1, 5);
  });
});
