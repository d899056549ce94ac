import { describe, expect, it } from "vitest";
import { CachedRecsFeatureStore } from "./cached-store";
import {
  assembleRankerRows,
  DEFAULT_RECS_FEATURE_CONFIG,
  emptyItemState,
  examinationMicros,
  itemFeatures,
  RANKER_FEATURE_COUNT,
  RANKER_FEATURE_NAMES,
  rankerContext,
  rankerFeatureSchemaHash,
  rankerRowByName,
  userFeatures,
  type ItemState,
  type RankerFeatureName,
  type UserState,
} from "./definitions";
import { MemoryRecsFeatureStore } from "./memory-store";
import { buildRankerFeaturesOffline, recsFeaturesAsOf, replayRecsSessions, sessionEvents, type RecsSession } from "./offline";
import { encodeRecentClick, itemBucket, packItem, parseItem, parsePackedItem, parseRecentClick, parseUser } from "./redis-store";
import { recsTestHistory, T0 } from "./test-fixtures";

const DAY = 86_400_000;
const config = DEFAULT_RECS_FEATURE_CONFIG;

function row(user: UserState | null, item: ItemState | null, score = 0.5, timeMs = T0, device: number | null = 1): Record<RankerFeatureName, number> {
  const values = assembleRankerRows(user, [item], [score], rankerContext({ timeMs, device }));
  return Object.fromEntries(RANKER_FEATURE_NAMES.map((n, j) => [n, values[j] as number])) as Record<RankerFeatureName, number>;
}

const alice: UserState = {
  profile: { signupMs: T0 - 10 * DAY, homeCategory: 2, ageBucket: 3 },
  impressions: 99,
  clicks: 4,
  recent: [
    { category: 2, tags: [1, 2] },
    { category: 2, tags: [3] },
    { category: 5, tags: [2, 9] },
    { category: 7, tags: [8] },
  ],
};
const film: ItemState = { profile: { category: 2, tags: [2, 4], releaseMs: T0 - 36 * 3_600_000 }, impressions: 180, clicks: 9, examinedMicros: 60_000_000 };

describe("ranker feature definitions", () => {
  it("names 16 position-free features with a schema hash that follows the config", () => {
    expect(RANKER_FEATURE_NAMES).toHaveLength(16);
    expect(RANKER_FEATURE_NAMES.some((n) => n.includes("position"))).toBe(false);
    expect(rankerFeatureSchemaHash()).toMatch(/^[0-9a-f]{16}$/);
    expect(rankerFeatureSchemaHash({ ...config, recentClicks: 10 })).not.toBe(rankerFeatureSchemaHash());
  });

  it("computes affinities, popularity, CTRs with the prior, freshness and context", () => {
    const r = row(alice, film, 0.75, T0, 2);
    expect(r.retrieval_score).toBe(0.75);
    expect(r.user_item_category_affinity).toBe(2 / 4); // two of four recent clicks in category 2
    expect(r.user_item_tag_affinity).toBe(2 / 4); // clicks 0 and 2 share tag 2; none has tag 4
    expect(r.user_home_category_match).toBe(1);
    expect(r.item_category).toBe(2);
    expect(r.item_log_clicks).toBeCloseTo(Math.log(10), 12);
    expect(r.item_log_impressions).toBeCloseTo(Math.log(181), 12);
    expect(r.item_ctr).toBeCloseTo((9 + 20 * 0.03) / (180 + 20), 12);
    expect(r.item_examined_ctr).toBeCloseTo((9 + 0.6) / (60 + 20), 12);
    expect(r.item_age_days).toBe(1.5);
    expect(r.user_activity).toBeCloseTo(Math.log(100), 12);
    expect(r.user_log_clicks).toBeCloseTo(Math.log(5), 12);
    expect(r.user_ctr).toBeCloseTo((4 + 0.6) / (99 + 20), 12);
    expect(r.user_days_since_signup).toBe(10);
    expect(r.context_hour).toBe(0);
    expect(r.context_device).toBe(2);
  });

  it("gives unknown users and items the defaults of a new entity and NaN where only a profile could tell", () => {
    const r = row(null, null);
    expect(r.item_ctr).toBeCloseTo(0.03, 12);
    expect(r.user_ctr).toBeCloseTo(0.03, 12);
    expect(r.item_log_clicks).toBe(0);
    for (const name of ["user_item_category_affinity", "user_item_tag_affinity", "user_home_category_match", "item_category", "item_age_days", "user_days_since_signup"] as const) {
      expect(r[name]).toBeNaN();
    }
    // A known item for a user without history: no affinity, but the home category still matches.
    const fresh = row({ ...alice, recent: [] }, film);
    expect(fresh.user_item_category_affinity).toBeNaN();
    expect(fresh.user_home_category_match).toBe(1);
    expect(row({ ...alice, profile: { ...alice.profile!, homeCategory: null } }, film).user_home_category_match).toBeNaN();
  });

  it("reads the hour from the request time in UTC unless the context gives one, and maps device names", () => {
    expect(rankerContext({ timeMs: Date.UTC(2024, 0, 1, 17, 30) })).toEqual({ timeMs: Date.UTC(2024, 0, 1, 17, 30), hour: 17, device: null });
    expect(rankerContext({ timeMs: T0, hour: 9, device: "tablet" })).toEqual({ timeMs: T0, hour: 9, device: 2 });
    expect(() => assembleRankerRows(null, [null, null], [1], rankerContext({ timeMs: T0 }))).toThrow(/^retrievalScores: /);
  });

  it("describes users and items by name, and rows with NaN as null", () => {
    const ctx = rankerContext({ timeMs: T0 });
    const u = userFeatures(alice, ctx);
    expect(u.user_recent_clicks).toBe(4);
    expect(u.user_recent_category_2).toBe(0.5);
    expect(u.user_recent_category_7).toBe(0.25);
    expect(u.user_home_category).toBe(2);
    expect(itemFeatures(film, ctx).item_age_days).toBe(1.5);
    expect(itemFeatures(null, ctx).item_category).toBeNull();
    const named = rankerRowByName(assembleRankerRows(null, [film], [0.1], ctx));
    expect(named.user_days_since_signup).toBeNull();
    expect(named.item_category).toBe(2);
  });
});

describe("in-memory recs store", () => {
  const profile = { category: 4, tags: [1, 7], releaseMs: T0 };
  const events = (kind: "impression" | "click", id: string, position = 0) => ({ kind, eventId: id, userId: "u", itemId: "i", position, timeMs: T0 });

  it("counts impressions with their examination weight, clicks, and keeps the newest clicks first, capped", async () => {
    const store = new MemoryRecsFeatureStore({ config: { ...config, recentClicks: 3 } });
    await store.writeProfiles({ items: [["i", profile], ["j", { category: 9, tags: [], releaseMs: T0 }]] });
    await store.apply([events("impression", "a", 0), events("impression", "b", 3), events("click", "c", 3)]);
    await store.apply([{ ...events("click", "d"), itemId: "j" }, events("click", "e"), events("click", "f")]);
    const { user, items } = await store.fetch("u", ["i", "j", "nobody"]);
    expect(items[0]).toEqual({ profile, impressions: 2, clicks: 3, examinedMicros: 1_000_000 + 250_000 });
    expect(examinationMicros(2, config)).toBe(333_333);
    expect(items[2]).toBeNull();
    expect(user?.profile).toBeNull();
    expect(user?.impressions).toBe(2);
    expect(user?.clicks).toBe(4);
    expect(user?.recent.map((r) => r.category)).toEqual([4, 4, 9]);
  });

  it("ignores a redelivered event, and forgets event ids after the TTL", async () => {
    const store = new MemoryRecsFeatureStore({ dedupTtlMs: 60_000 });
    await store.apply([events("click", "x"), events("click", "x")]);
    await store.apply([{ ...events("click", "x"), timeMs: T0 + 30_000 }]);
    expect((await store.fetch("u", ["i"])).items[0]?.clicks).toBe(1);
    await store.apply([{ ...events("impression", "y"), timeMs: T0 + 120_000 }, { ...events("click", "x"), timeMs: T0 + 120_000 }]);
    expect((await store.fetch("u", ["i"])).items[0]?.clicks).toBe(2);
  });

  it("does not put a click on an item without a profile into the history, and rejects bad events by field", async () => {
    const store = new MemoryRecsFeatureStore();
    await store.apply([events("click", "a")]);
    const { user } = await store.fetch("u", []);
    expect(user?.clicks).toBe(1);
    expect(user?.recent).toEqual([]);
    await expect(store.apply([{ ...events("click", "b"), position: -1 }])).rejects.toThrow(/^events\[0\]\.position: /);
    await expect(store.apply([{ ...events("click", "b"), userId: "" }])).rejects.toThrow(/^events\[0\]\.userId: /);
  });

  it("returns copies: a caller mutating a fetched state changes nothing", async () => {
    const store = new MemoryRecsFeatureStore();
    await store.writeProfiles({ items: [["i", profile]] });
    await store.apply([events("click", "a")]);
    const first = await store.fetch("u", ["i"]);
    first.user!.recent.length = 0;
    first.items[0]!.clicks = 100;
    const second = await store.fetch("u", ["i"]);
    expect(second.user?.recent).toHaveLength(1);
    expect(second.items[0]?.clicks).toBe(1);
  });
});

describe("offline replay", () => {
  const history = recsTestHistory(3);

  it("builds each session's rows from the state before its own events", () => {
    const sessions: RecsSession[] = [
      { sessionId: "a", userId: "u1", timeMs: T0, device: 0, items: ["i0", "i1"], clicked: [1, 0] },
      { sessionId: "b", userId: "u1", timeMs: T0 + 1000, device: 0, items: ["i0", "i2"], clicked: [1, 1] },
    ];
    const m = buildRankerFeaturesOffline(sessions, { catalogue: history.catalogue, retrievalScore: (s, p) => s * 10 + p });
    const at = (r: number, name: RankerFeatureName) => m.values[r * RANKER_FEATURE_COUNT + RANKER_FEATURE_NAMES.indexOf(name)];
    expect(Array.from(m.groups)).toEqual([2, 2]);
    expect(at(0, "item_log_clicks")).toBe(0);
    expect(at(0, "user_log_clicks")).toBe(0);
    expect(at(2, "item_log_clicks")).toBeCloseTo(Math.log(2), 12); // i0 was clicked in session a
    expect(at(2, "item_log_impressions")).toBeCloseTo(Math.log(2), 12);
    expect(at(3, "item_log_impressions")).toBe(0); // i2 never shown before
    expect(at(3, "retrieval_score")).toBe(11);
    expect(at(2, "user_item_category_affinity")).toBe(1);
  });

  it("only turns included sessions into rows, but replays all of them", () => {
    const all = buildRankerFeaturesOffline(history.sessions, { catalogue: history.catalogue, retrievalScore: () => 0 });
    const late = buildRankerFeaturesOffline(history.sessions, {
      catalogue: history.catalogue,
      retrievalScore: () => 0,
      include: (_s, i) => i >= 300,
    });
    expect(late.groups.length).toBe(100);
    expect(late.groupSessions[0]).toBe(300);
    const offset = 300 * 8 * RANKER_FEATURE_COUNT;
    expect(Array.from(late.values)).toEqual(Array.from(all.values.subarray(offset)));
    expect(all.rows).toBe(3200);
  });

  it("materialises the state as of a time, equal to the replay up to that time", async () => {
    const cut = history.sessions[250]!.timeMs;
    const asOf = recsFeaturesAsOf(history.sessions, cut, { catalogue: history.catalogue });
    const stream = new MemoryRecsFeatureStore({ catalogue: history.catalogue });
    for (const s of history.sessions.slice(0, 250)) await stream.apply(sessionEvents(s));
    const ids = [...history.items.keys(), "i9", "i19"];
    for (const userId of ["u0", "u1", "u7", "u39"]) {
      expect(await asOf.fetch(userId, ids)).toEqual(await stream.fetch(userId, ids));
    }
    const copy = new MemoryRecsFeatureStore();
    await copy.writeProfiles({ users: history.users, items: history.items });
    await copy.writeSnapshot(asOf.snapshot());
    expect(await copy.fetch("u1", ids)).toEqual(await asOf.fetch("u1", ids));
    expect(() => replayRecsSessions([history.sessions[1]!, history.sessions[0]!])).toThrow(/^sessions\[1\]\.timeMs: /);
  });
});

describe("Redis value encoding", () => {
  it("round-trips recent clicks and parses absent hashes as unknown", () => {
    expect(parseRecentClick(encodeRecentClick({ category: 12, tags: [3, 40] }))).toEqual({ category: 12, tags: [3, 40] });
    expect(parseRecentClick(encodeRecentClick({ category: 0, tags: [] }))).toEqual({ category: 0, tags: [] });
    expect(parseUser([null, null, null, null, null], [])).toBeNull();
    expect(parseItem([null, null, null, null, null, null])).toBeNull();
    expect(parseUser(["5", null, "2", "3", null], [])).toEqual({ profile: { signupMs: 5, homeCategory: null, ageBucket: 2 }, impressions: 3, clicks: 0, recent: [] });
    expect(parseItem([null, null, null, "4", "1", "1500000"])).toEqual({ profile: null, impressions: 4, clicks: 1, examinedMicros: 1_500_000 });
    expect(parsePackedItem(packItem(film))).toEqual(film);
    expect(parsePackedItem(packItem(emptyItemState()))).toEqual(emptyItemState());
    expect(parsePackedItem("|||4|1|1500000")).toEqual({ profile: null, impressions: 4, clicks: 1, examinedMicros: 1_500_000 });
    expect(parsePackedItem(null)).toBeNull();
    expect(parsePackedItem("3||17|0|0|0")).toEqual({ profile: { category: 3, tags: [], releaseMs: 17 }, impressions: 0, clicks: 0, examinedMicros: 0 });
    expect(() => parsePackedItem("3|1,2|17")).toThrow(/^item: malformed packed item/);
  });

  it("spreads items evenly over the buckets, the same way every time", () => {
    const counts = new Array<number>(32).fill(0);
    for (let i = 0; i < 32_000; i++) counts[itemBucket(String(i), 32)]! += 1;
    expect(Math.min(...counts)).toBeGreaterThan(850);
    expect(Math.max(...counts)).toBeLessThan(1150);
    expect(itemBucket("item-42", 32)).toBe(itemBucket("item-42", 32));
    expect(itemBucket("", 5)).toBe(0x811c9dc5 % 5);
  });
});

describe("local item cache", () => {
  it("serves items from the cache until the TTL, never caches the user, and evicts the least recently used", async () => {
    let now = 0;
    const inner = new MemoryRecsFeatureStore();
    await inner.writeProfiles({ items: ["a", "b", "c"].map((id, k) => [id, { category: k, tags: [], releaseMs: T0 }] as const) });
    const cached = new CachedRecsFeatureStore(inner, { maxItems: 2, ttlMs: 1000, now: () => now });
    await cached.fetch("u", ["a", "b"]);
    await inner.apply([{ kind: "click", eventId: "1", userId: "u", itemId: "a", position: 0, timeMs: T0 }]);
    const hit = await cached.fetch("u", ["a", "b"]);
    expect(hit.items[0]?.clicks).toBe(0); // stale within the TTL
    expect(hit.user?.clicks).toBe(1); // the user is always fresh
    expect([cached.hits, cached.misses]).toEqual([2, 2]);
    now = 1500;
    expect((await cached.fetch("u", ["a"])).items[0]?.clicks).toBe(1);
    await cached.fetch("u", ["c"]); // evicts b, the least recently used
    expect(cached.size).toBe(2);
    const missesBefore = cached.misses;
    await cached.fetch("u", ["b", "x"]);
    expect(cached.misses - missesBefore).toBe(2);
    expect((await cached.fetch("u", ["x"])).items[0]).toBeNull(); // unknown items are cached as unknown
    expect(emptyItemState().impressions).toBe(0);
  });
});
