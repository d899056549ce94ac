import { describe, expect, it } from "vitest";
import { buildHistories, itemCounts, itemsSeenByUser, sampleHistories, validateTrainingData, type TrainingData } from "./data";
import { TwoTowerInputError } from "./errors";
import { makeClusteredWorld } from "./testing/clustered-world";

describe("buildHistories", () => {
  it("gives each row the user's earlier items, most recent first, padded with -1", () => {
    // Rows out of time order, two users, a time tie broken by row order.
    const log = {
      user: Int32Array.from([0, 1, 0, 0, 1, 0]),
      item: Int32Array.from([10, 20, 11, 12, 21, 13]),
      time: [5, 1, 1, 3, 2, 3],
    };
    const h = buildHistories(log, 2);
    const row = (r: number) => Array.from(h.items.subarray(r * 2, r * 2 + 2));
    expect(row(2)).toEqual([-1, -1]); // user 0 at t=1: nothing before
    expect(row(3)).toEqual([11, -1]); // t=3, first of the tie
    expect(row(5)).toEqual([12, 11]); // t=3, after row 3
    expect(row(0)).toEqual([13, 12]); // t=5: the last two only
    expect(row(1)).toEqual([-1, -1]);
    expect(row(4)).toEqual([20, -1]);
  });

  it("rejects a non-positive length", () => {
    expect(() => buildHistories({ user: new Int32Array(1), item: new Int32Array(1), time: [0] }, 0)).toThrow(TwoTowerInputError);
  });
});

describe("sampleHistories", () => {
  // User 0 rated items 10..15 (rows interleaved with user 1's), user 1 rated 20 and 21, user 2 only 30.
  const log = {
    user: Int32Array.from([0, 1, 0, 0, 2, 0, 1, 0, 0]),
    item: Int32Array.from([10, 20, 11, 12, 30, 13, 21, 14, 15]),
  };
  const rowOf = (h: { length: number; items: Int32Array }, r: number) => Array.from(h.items.subarray(r * h.length, (r + 1) * h.length));

  it("gives each row distinct other items of the same user, never its own, padded with -1", () => {
    const h = sampleHistories(log, 3, 1);
    expect(h.length).toBe(3);
    for (let r = 0; r < log.user.length; r++) {
      const own = log.item[r] as number;
      const sameUser = [...log.item].filter((_, s) => log.user[s] === log.user[r] && s !== r);
      const drawn = rowOf(h, r).filter((i) => i >= 0);
      expect(drawn.length).toBe(Math.min(3, sameUser.length));
      expect(new Set(drawn).size).toBe(drawn.length);
      expect(drawn).not.toContain(own);
      for (const i of drawn) expect(sameUser).toContain(i);
    }
    expect(rowOf(h, 1)).toEqual([21, -1, -1]);
    expect(rowOf(h, 4)).toEqual([-1, -1, -1]);
  });

  it("is reproducible for a seed and draws every other item about equally often", () => {
    expect(Array.from(sampleHistories(log, 2, 7).items)).toEqual(Array.from(sampleHistories(log, 2, 7).items));
    const counts = new Map<number, number>();
    const seeds = 3000;
    for (let seed = 0; seed < seeds; seed++) {
      const first = sampleHistories(log, 1, seed).items[0] as number;
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    // Row 0 (item 10) draws one of user 0's five other items, each with chance 1/5.
    expect([...counts.keys()].sort()).toEqual([11, 12, 13, 14, 15]);
    for (const c of counts.values()) expect(c / seeds).toBeCloseTo(0.2, 1);
  });

  it("names a bad length or seed", () => {
    expect(() => sampleHistories(log, 0, 1)).toThrow(/length/);
    expect(() => sampleHistories(log, 2, 0.5)).toThrow(/seed/);
  });
});

describe("validateTrainingData", () => {
  const { train } = makeClusteredWorld({ numUsers: 20, numItems: 12, interactionsPerUser: 4 });

  it("accepts the synthetic world", () => {
    expect(() => validateTrainingData(train)).not.toThrow();
  });

  const broken: [string, (d: TrainingData) => TrainingData, string][] = [
    ["an item id past the catalogue", (d) => ({ ...d, interactions: { ...d.interactions, item: Int32Array.from(d.interactions.item, (v, i) => (i === 3 ? 99 : v)) } }), "interactions.item[3]"],
    ["a short time column", (d) => ({ ...d, interactions: { ...d.interactions, time: [1, 2] } }), "interactions.time"],
    ["a categorical past its cardinality", (d) => ({ ...d, userFeatures: { ...d.userFeatures, categorical: Int32Array.from(d.userFeatures.categorical, (v, i) => (i === 0 ? 4 : v)) } }), "userFeatures.categorical[0]"],
    ["a NaN numeric feature", (d) => ({ ...d, userFeatures: { ...d.userFeatures, numeric: Float32Array.from(d.userFeatures.numeric, (v, i) => (i === 5 ? NaN : v)) } }), "userFeatures.numeric[5]"],
    ["a tag value of 2", (d) => ({ ...d, itemFeatures: { ...d.itemFeatures, tags: Uint8Array.from(d.itemFeatures.tags, (v, i) => (i === 7 ? 2 : v)) } }), "itemFeatures.tags[7]"],
    ["histories of the wrong size", (d) => ({ ...d, histories: { length: d.histories.length, items: new Int32Array(3) } }), "histories.items"],
    ["a history item past the catalogue", (d) => ({ ...d, histories: { ...d.histories, items: Int32Array.from(d.histories.items, (v, i) => (i === 2 ? 12 : v)) } }), "histories.items[2]"],
  ];
  it.each(broken)("names the field for %s", (_label, breakIt, field) => {
    let error: unknown;
    try {
      validateTrainingData(breakIt(train));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TwoTowerInputError);
    expect((error as TwoTowerInputError).field).toBe(field);
    expect((error as Error).message).toContain(field);
  });
});

describe("counts", () => {
  it("counts items and collects each user's distinct items", () => {
    const log = { user: Int32Array.from([0, 0, 1, 0]), item: Int32Array.from([2, 1, 2, 2]) };
    expect(Array.from(itemCounts(log, 3))).toEqual([0, 1, 3]);
    const seen = itemsSeenByUser(log, 3);
    expect(Array.from(seen[0]!).sort()).toEqual([1, 2]);
    expect(Array.from(seen[1]!)).toEqual([2]);
    expect(seen[2]!.length).toBe(0);
  });
});
