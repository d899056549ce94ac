import { createRecWorld, simulateInteractions } from "@mlsd/synth";
import { buildHistories, validateTrainingData } from "@mlsd/two-tower";
import { describe, expect, it } from "vitest";
import { clickHistories } from "./materialize";
import { clicksBefore, clicksOf, HISTORY_LENGTH, latestHistories, PointInTimeQueries, seenItems, worldTrainingData, worldUserTable, type ClickLog } from "./world-data";

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

describe("the user tower's input as of a moment (the ranker's training sessions)", () => {
  // User 0 clicks 5, 6, 7 on days 1, 2, 3; user 1 clicks 9 on day 1.5.
  const log: ClickLog = { user: Int32Array.of(0, 1, 0, 0), item: Int32Array.of(5, 9, 6, 7), day: Float64Array.of(1, 1.5, 2, 3) };
  const histories = buildHistories({ user: log.user, item: log.item, time: log.day }, 4);
  const queries = new PointInTimeQueries(2, log, histories, 4);
  const categorical = Int32Array.of(1, 2);

  it("sees only the clicks before the moment, most recent first", () => {
    const q = queries.query(0, clicksBefore(log, 2.5), true, categorical);
    expect(Array.from(q.history)).toEqual([6, 5, -1, -1]);
    expect(q.numeric[0]).toBeCloseTo(Math.log1p(2), 6);
    expect(q.userId).toBe(0);
    expect(q.categorical).toBe(categorical);
    // A session on day 3 itself does not see its own click (day 3): the leak this prevents.
    expect(Array.from(queries.query(0, clicksBefore(log, 3), true, categorical).history)).toEqual([6, 5, -1, -1]);
    expect(Array.from(queries.query(0, clicksBefore(log, 4), true, categorical).history)).toEqual([7, 6, 5, -1]);
  });

  it("before a user's first click: no history, no count, and the unknown-user row", () => {
    const q = queries.query(0, clicksBefore(log, 0.5), true, categorical);
    expect(Array.from(q.history)).toEqual([-1, -1, -1, -1]);
    expect(q.numeric[0]).toBe(0);
    expect(q.userId).toBe(-1);
    expect(queries.clicksBefore(1, clicksBefore(log, 1.6))).toBe(1);
    expect(queries.clicksBefore(1, clicksBefore(log, 1.4))).toBe(0);
  });
});
