import { createRecWorld, simulateInteractions } from "@mlsd/synth";
import { validateTrainingData } from "@mlsd/two-tower";
import { describe, expect, it } from "vitest";
import { clickHistories } from "./materialize";
import { clicksBefore, clicksOf, HISTORY_LENGTH, latestHistories, seenItems, worldTrainingData, worldUserTable, type ClickLog } from "./world-data";

const world = createRecWorld({ preset: "small", seed: 4, numUsers: 60, numItems: 200 });
const log = simulateInteractions(world, { seed: 5, sessionsPerUser: 8, slateSize: 8 });
const clicks = clicksOf(log);

describe("two-tower data from the synthetic world", () => {
  it("keeps the clicks of the impression log, in time order", () => {
    let expected = 0;
    for (let r = 0; r < log.length; r++) expected += log.clicked[r] as number;
    expect(clicks.user.length).toBe(expected);
    expect(expected).toBeGreaterThan(50);
    for (let c = 1; c < clicks.day.length; c++) expect(clicks.day[c]).toBeGreaterThanOrEqual(clicks.day[c - 1]!);
    const cut = clicksBefore(clicks, 24);
    expect(clicks.day[cut - 1]).toBeLessThan(24);
    expect(clicks.day[cut]).toBeGreaterThanOrEqual(24);
    expect(clicksBefore(clicks, -1)).toBe(0);
    expect(clicksBefore(clicks, 1000)).toBe(clicks.user.length);
  });

  it("trains on the clicks before the cut-off, with content the catalogue knows and point-in-time histories", () => {
    const { data, trainRows } = worldTrainingData(world, clicks, 24);
    expect(() => validateTrainingData(data)).not.toThrow();
    expect(data.interactions.user.length).toBe(trainRows);
    expect(trainRows).toBe(clicksBefore(clicks, 24));
    // Category and tags from the world; the popularity scalar counts training clicks only.
    const i = data.interactions.item[0]!;
    expect(data.itemFeatures.category[i]).toBe(world.items.category[i]);
    const tags = Array.from(world.items.tags.subarray(i * 3, i * 3 + 3));
    for (const t of tags) expect(data.itemFeatures.tags[i * world.options.numTags + t]).toBe(1);
    let count = 0;
    for (let r = 0; r < trainRows; r++) if (data.interactions.item[r] === i) count++;
    expect(data.itemFeatures.quality[i]).toBeCloseTo(Math.log1p(count), 6);
    expect(data.itemFeatures.freshness[i]).toBeCloseTo(24 - world.items.releaseDay[i]!, 4);
    // Row r's history holds the same user's earlier clicks, most recent first.
    const r = Array.from(data.interactions.user.keys()).findLast((row) => data.histories.items[row * HISTORY_LENGTH + 1]! >= 0)!;
    const u = data.interactions.user[r]!;
    const earlier = [];
    for (let q = r - 1; q >= 0 && earlier.length < 2; q--) if (data.interactions.user[q] === u) earlier.push(data.interactions.item[q]);
    expect(Array.from(data.histories.items.subarray(r * HISTORY_LENGTH, r * HISTORY_LENGTH + 2))).toEqual(earlier);
    // The user tower's categoricals are the world's demographics and home category.
    expect(Array.from(data.userFeatures.categorical.subarray(u * 4, u * 4 + 4))).toEqual([world.users.ageBucket[u], world.users.region[u], world.users.device[u], world.users.homeCategory[u]]);
  });

  it("builds the serving user table as of the end of the log, flagging users the tower never saw", () => {
    const { trainRows } = worldTrainingData(world, clicks, 24);
    const table = worldUserTable(world, clicks, clicks.user.length, trainRows);
    const trained = new Set(Array.from(clicks.user.subarray(0, trainRows)));
    for (let u = 0; u < world.numUsers; u++) expect(table.known[u]).toBe(trained.has(u) ? 1 : 0);
    const u = clicks.user[clicks.user.length - 1]!;
    expect(table.history[u * HISTORY_LENGTH]).toBe(clicks.item[clicks.item.length - 1]);
    let userClicks = 0;
    for (const x of clicks.user) if (x === u) userClicks++;
    expect(table.numeric[u]).toBeCloseTo(Math.log1p(userClicks), 6);
    expect(table.categoricalNames).toEqual(["age_bucket", "region", "device", "home_category"]);
  });
});

describe("histories and seen items", () => {
  const tiny: ClickLog = { user: Int32Array.of(0, 1, 0, 0, 1, 0), item: Int32Array.of(5, 6, 7, 5, 8, 9), day: Float64Array.of(0, 1, 2, 3, 4, 5) };

  it("lists each user's latest clicks, most recent first, with repeats as they happened", () => {
    expect(Array.from(latestHistories(3, tiny, 6, 3))).toEqual([9, 5, 7, 8, 6, -1, -1, -1, -1]);
    expect(Array.from(latestHistories(2, tiny, 3, 2))).toEqual([7, 5, 6, -1]);
    expect(seenItems(2, tiny, 6).map((s) => [...s].sort())).toEqual([[5, 7, 9], [6, 8]]);
  });

  it("turns clicks into the recommender's history lists with external ids", () => {
    const lists = clickHistories(tiny, (u) => `u${u}`, (i) => `m${i}`);
    expect(lists.get("u0")).toEqual(["m9", "m5", "m7", "m5"]);
    expect(lists.get("u1")).toEqual(["m8", "m6"]);
  });
});
