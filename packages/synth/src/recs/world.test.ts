import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { REC_WORLD_PRESETS, RecWorldOptionsError, createRecWorld, resolveRecWorldOptions } from "./world";

const small = { preset: "small" as const, numUsers: 600, numItems: 2_000 };

describe("createRecWorld", () => {
  it("is a function of the seed", () => {
    const a = createRecWorld({ ...small, seed: 9 });
    const b = createRecWorld({ ...small, seed: 9 });
    const c = createRecWorld({ ...small, seed: 10 });
    expect(a.items.factors).toEqual(b.items.factors);
    expect(a.users.signupDay).toEqual(b.users.signupDay);
    expect(a.items.popularityRank).toEqual(b.items.popularityRank);
    expect(a.items.factors).not.toEqual(c.items.factors);
  });

  it("keeps items unchanged when only the number of users changes", () => {
    const a = createRecWorld({ ...small, seed: 3 });
    const b = createRecWorld({ ...small, seed: 3, numUsers: 50 });
    expect(b.items.factors).toEqual(a.items.factors);
    expect(b.users.factors).toEqual(a.users.factors.subarray(0, 50 * a.options.dim));
  });

  it("clusters taste by category: users like their home category far more", () => {
    const w = createRecWorld({ ...small, seed: 1 });
    let home = 0;
    let nHome = 0;
    let other = 0;
    let nOther = 0;
    for (let u = 0; u < 200; u++) {
      for (let i = 0; i < w.numItems; i += 3) {
        const r = w.trueRelevance(u, i);
        if (w.items.category[i] === w.users.homeCategory[u]) {
          home += r;
          nHome++;
        } else {
          other += r;
          nOther++;
        }
      }
    }
    expect(home / nHome).toBeGreaterThan(3 * (other / nOther));
    expect(other / nOther).toBeGreaterThan(0.01);
  });

  it("raises relevance with quality and ranks popularity by noisy quality", () => {
    const w = createRecWorld({ ...small, seed: 2 });
    const n = w.numItems;
    // Spearman-style check: mean quality of the top popularity decile vs the bottom one.
    let top = 0;
    let bottom = 0;
    for (let i = 0; i < n; i++) {
      const r = w.items.popularityRank[i] as number;
      if (r < n / 10) top += w.items.quality[i] as number;
      else if (r >= n - n / 10) bottom += w.items.quality[i] as number;
    }
    expect((top - bottom) / (n / 10)).toBeGreaterThan(1.5);
    expect(w.items.popularity[w.items.popularityRank.indexOf(0)]).toBe(1);
    expect(w.items.popularity[w.items.popularityRank.indexOf(9)]).toBeCloseTo(1 / 10, 6);
  });

  it("releases items over the period, some after the training cut-off", () => {
    const w = createRecWorld({ ...small, seed: 4 });
    let before = 0;
    let cold = 0;
    for (let i = 0; i < w.numItems; i++) {
      const day = w.items.releaseDay[i] as number;
      if (day < 0) before++;
      if (w.isCold(i)) {
        cold++;
        expect(day).toBeGreaterThan(w.options.trainCutoffDay);
        expect(w.isReleased(i, w.options.trainCutoffDay)).toBe(false);
      }
    }
    // 70 % before day 0; of the 30 % arriving over 30 days, the last 6 days are after the cut-off.
    expect(before / w.numItems).toBeCloseTo(0.7, 1);
    expect(cold / w.numItems).toBeGreaterThan(0.04);
    expect(cold / w.numItems).toBeLessThan(0.08);
  });

  it("gives users demographic features that predict their home category", () => {
    const w = createRecWorld({ preset: "small", seed: 5 });
    // Compare the home-category distribution of two age buckets: they must differ.
    const k = w.options.numCategories;
    const hist = [new Float64Array(k), new Float64Array(k)];
    const size = [0, 0];
    for (let u = 0; u < w.numUsers; u++) {
      const a = w.users.ageBucket[u] as number;
      if (a === 1 || a === 2) {
        (hist[a - 1] as Float64Array)[w.users.homeCategory[u] as number]! += 1;
        size[a - 1]! += 1;
      }
    }
    let tv = 0;
    for (let c = 0; c < k; c++) tv += Math.abs((hist[0]![c]! / size[0]!) - (hist[1]![c]! / size[1]!)) / 2;
    expect(tv).toBeGreaterThan(0.1);
    let meanActivity = 0;
    for (const a of w.users.activity) meanActivity += a;
    expect(meanActivity / w.numUsers).toBeCloseTo(1, 1);
  });

  it("validates options by field and relevance arguments by name", () => {
    expect(() => resolveRecWorldOptions({ numItems: 0 })).toThrow(RecWorldOptionsError);
    expect(() => resolveRecWorldOptions({ trainCutoffDay: 40 })).toThrow(/^trainCutoffDay: /);
    expect(() => resolveRecWorldOptions({ preset: "huge" as "small" })).toThrow(/^preset: /);
    expect(resolveRecWorldOptions({ preset: "benchmark" }).numItems).toBe(REC_WORLD_PRESETS.benchmark.numItems);
    const w = createRecWorld({ numUsers: 5, numItems: 10 });
    expect(() => w.trueRelevance(5, 0)).toThrow(/^user: /);
    expect(() => w.trueRelevance(0, -1)).toThrow(/^item: /);
  });

  it("samples items in proportion to their Zipf weight", () => {
    const w = createRecWorld({ ...small, seed: 6 });
    const rng = new Rng(1);
    const byRank = new Float64Array(w.numItems);
    const draws = 200_000;
    for (let d = 0; d < draws; d++) byRank[w.items.popularityRank[w.samplePopularItem(rng)] as number]! += 1;
    // Weight of rank 0 over the sum of 1/(r+1) for 2,000 items (H_2000 = 8.178).
    expect(byRank[0]! / draws).toBeCloseTo(1 / 8.178, 2);
    expect(byRank[0]! / byRank[1]!).toBeCloseTo(2, 0);
  });
});
