import { describe, expect, it } from "vitest";
import { buildHistories, itemCounts, itemsSeenByUser, validateTrainingData, type TrainingData } from "./data";
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
