import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { loadMovieLens, type RatingsDataset } from "./movielens";

// The real release lives outside the repo (its licence forbids redistribution): ../shared/datasets
// beside the checkout, as CI has it, or MOVIELENS_100K_DIR. An integration test: it reads a file
// the repository does not hold.
const ML100K_DIR =
  process.env.MOVIELENS_100K_DIR ?? fileURLToPath(new URL("../../../../shared/datasets/ml-100k", import.meta.url));

describe("MovieLens 100K (real data)", () => {
  let ml: RatingsDataset;
  beforeAll(async () => {
    ml = await loadMovieLens(ML100K_DIR);
  });

  it("has the published sizes and rating distribution", () => {
    expect(ml.format).toBe("ml-100k");
    expect([ml.numUsers, ml.numItems, ml.numRatings]).toEqual([943, 1682, 100_000]);
    let sum = 0;
    let fives = 0;
    for (const v of ml.ratings.values) {
      sum += v;
      if (v === 5) fives++;
    }
    expect(sum / ml.numRatings).toBeCloseTo(3.52986, 5);
    expect(fives).toBe(21_201);
    expect(ml.ratings.timestamps.reduce((a, b) => Math.min(a, b))).toBe(874_724_710);
  });

  it("maps original ids to dense indices and back", () => {
    // First line of u.data: 196 242 3 881250949.
    const u = ml.ratings.users[0] as number;
    const i = ml.ratings.items[0] as number;
    expect(ml.userIds[u]).toBe(196);
    expect(ml.itemIds[i]).toBe(242);
    expect(ml.userIndex.get(196)).toBe(u);
    expect(ml.itemIndex.get(242)).toBe(i);
    expect(ml.ratings.values[0]).toBe(3);
    expect(ml.ratings.timestamps[0]).toBe(881_250_949);
    const perUser = new Int32Array(ml.numUsers);
    for (const x of ml.ratings.users) perUser[x] = (perUser[x] as number) + 1;
    expect(Math.min(...perUser)).toBe(20);
  });

  it("reads items as latin1 with genres and release years", () => {
    const toyStory = ml.itemIndex.get(1) as number;
    expect(ml.items.titles[toyStory]).toBe("Toy Story (1995)");
    expect(ml.items.releaseYears[toyStory]).toBe(1995);
    expect(ml.items.genres[toyStory]?.map((g) => ml.items.genreNames[g])).toEqual(["Animation", "Children's", "Comedy"]);
    expect(ml.items.titles[ml.itemIndex.get(1322) as number]).toBe("Metisse (Café au Lait) (1993)");
    const unknown = ml.itemIndex.get(267) as number;
    expect(ml.items.genres[unknown]).toEqual([]);
    expect(ml.items.releaseYears[unknown]).toBe(0);
  });

  it("reads user demographics", () => {
    const users = ml.users;
    expect(users).toBeDefined();
    const first = ml.userIndex.get(1) as number;
    expect(users?.ages[first]).toBe(24);
    expect(users?.genders[first]).toBe("M");
    expect(users?.occupations[first]).toBe("technician");
    expect(users?.zipCodes[first]).toBe("85711");
  });
});

