import { describe, expect, it } from "vitest";
import { addItemBatch, shiftPreferences } from "./drift";
import { createRecWorld, RecWorldOptionsError } from "./world";

const world = createRecWorld({ preset: "small", numUsers: 1_000, numItems: 2_000, seed: 4 });
const d = world.options.dim;
const vector = (f: Float32Array, i: number) => Array.from(f.subarray(i * d, (i + 1) * d));
const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * (b[k] as number), 0);

describe("shiftPreferences", () => {
  it("turns a share of the users by the angle toward another category, keeping norms and the given world", () => {
    const before = Float32Array.from(world.users.factors);
    const { world: shifted, shifted: who } = shiftPreferences(world, { share: 0.4, angleDegrees: 60, seed: 1 });
    expect(world.users.factors).toEqual(before);
    expect(who.length).toBeGreaterThan(340);
    expect(who.length).toBeLessThan(460);
    const moved = new Set(who);
    for (let u = 0; u < world.numUsers; u++) {
      const a = vector(world.users.factors, u);
      const b = vector(shifted.users.factors, u);
      if (!moved.has(u)) {
        expect(b).toEqual(a);
        continue;
      }
      const na = Math.sqrt(dot(a, a));
      const nb = Math.sqrt(dot(b, b));
      expect(nb).toBeCloseTo(na, 4);
      expect(dot(a, b) / (na * nb)).toBeCloseTo(0.5, 4);
    }
    expect(shifted.users.homeCategory).toEqual(world.users.homeCategory);
    expect(shifted.items).toBe(world.items);
  });

  it("moves the shifted users' liking away from their home category", () => {
    const { world: shifted, shifted: who } = shiftPreferences(world, { share: 1, angleDegrees: 90, seed: 2 });
    const homeRelevance = (w: typeof world) => {
      let sum = 0;
      let n = 0;
      for (const u of who.slice(0, 200)) {
        for (let i = 0; i < w.numItems; i += 7) {
          if (w.items.category[i] !== w.users.homeCategory[u]) continue;
          sum += w.trueRelevance(u, i);
          n++;
        }
      }
      return sum / n;
    };
    expect(homeRelevance(shifted)).toBeLessThan(homeRelevance(world) * 0.6);
  });

  it("is a function of its seed and changes nothing at share 0", () => {
    expect(shiftPreferences(world, { seed: 3 }).world.users.factors).toEqual(shiftPreferences(world, { seed: 3 }).world.users.factors);
    expect(shiftPreferences(world, { share: 0 }).world.users.factors).toEqual(world.users.factors);
    expect(() => shiftPreferences(world, { share: 2 })).toThrow(RecWorldOptionsError);
  });
});

describe("addItemBatch", () => {
  it("appends released-together items, better on average, last in popularity, and keeps the catalogue", () => {
    const grown = addItemBatch(world, { count: 500, releaseDay: 33, qualityShift: 1, seed: 8 });
    expect(grown.numItems).toBe(2_500);
    expect(world.numItems).toBe(2_000);
    expect(grown.items.factors.subarray(0, 2_000 * d)).toEqual(world.items.factors);
    expect(grown.items.quality.subarray(0, 2_000)).toEqual(world.items.quality);
    expect(grown.items.popularity.subarray(0, 2_000)).toEqual(world.items.popularity);
    const fresh = Array.from({ length: 500 }, (_, k) => 2_000 + k);
    for (const i of fresh) {
      expect(grown.items.releaseDay[i]).toBe(33);
      expect(grown.items.popularityRank[i]).toBeGreaterThanOrEqual(2_000);
      expect(grown.isReleased(i, 32.9)).toBe(false);
      expect(grown.isReleased(i, 33)).toBe(true);
    }
    expect(new Set(fresh.map((i) => grown.items.popularityRank[i])).size).toBe(500);
    const meanQuality = fresh.reduce((s, i) => s + (grown.items.quality[i] as number), 0) / 500;
    expect(meanQuality).toBeGreaterThan(0.85);
    expect(meanQuality).toBeLessThan(1.15);
    // Drawn around the same centroids: an item likes its own category's centroid.
    let own = 0;
    for (const i of fresh) {
      const c = grown.items.category[i] as number;
      own += dot(vector(grown.items.factors, i), Array.from(grown.categoryCentroids.subarray(c * d, (c + 1) * d)));
    }
    expect(own / 500).toBeGreaterThan(0.6);
    expect(grown.trueRelevance(0, 2_499)).toBeGreaterThan(0);
  });

  it("refuses an empty batch", () => {
    expect(() => addItemBatch(world, { count: 0, releaseDay: 1 })).toThrow(RecWorldOptionsError);
  });
});
