import { connectRedisCluster, startRedis, startRedisCluster, type RedisClusterHandle, type RedisHandle } from "@mlsd/testkit";
import { Redis, type Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { primaryOf, replicateAll, untilItWorks } from "../cluster.test-helper";
import type { RedisClient } from "../redis-client";
import { CachedRecsFeatureStore } from "./cached-store";
import { RedisUserHistory } from "./history";
import { userHistoryContract } from "./history.contract";
import { RedisServedImpressions } from "./served";
import { servedImpressionContract } from "./served.contract";
import { assembleRankerRows, parseAppliedOffsets, RANKER_FEATURE_COUNT, RANKER_FEATURE_NAMES, rankerContext, recsStreamId } from "./definitions";
import { MemoryRecsFeatureStore } from "./memory-store";
import { buildRankerFeaturesOffline, materializeRecsFeatures, sessionEvents, type RecsSession } from "./offline";
import { itemBucket, recsKeys, RedisRecsFeatureStore } from "./redis-store";
import type { RecsEvent, RecsFeatureStore } from "./store";
import { recsTestHistory, T0, withLogPositions } from "./test-fixtures";

let handle: RedisHandle;
let redis: Redis;
let clusterHandle: RedisClusterHandle;
let cluster: Cluster;

beforeAll(async () => {
  [handle, clusterHandle] = await Promise.all([startRedis(), startRedisCluster()]);
  redis = new Redis(handle.url, { maxRetriesPerRequest: 1 });
  cluster = connectRedisCluster(clusterHandle);
});

afterAll(async () => {
  redis?.disconnect();
  cluster?.disconnect();
  await Promise.all([handle?.stop(), clusterHandle?.stop()]);
});

/** Every suite runs on one Redis and on a Redis Cluster of 3 primaries + 3 replicas. */
const targets: { name: string; client: () => RedisClient }[] = [
  { name: "one Redis", client: () => redis },
  { name: "a Redis Cluster", client: () => cluster },
];

const retrievalScore = (s: number, p: number) => Math.sin(31 * s + p);

/** Serves the sessions the way the ranker sees them: fetch, assemble, then the session's events arrive. */
async function serve(store: RecsFeatureStore, sessions: readonly RecsSession[], firstIndex: number): Promise<Float64Array[]> {
  const rows: Float64Array[] = [];
  for (let k = 0; k < sessions.length; k++) {
    const session = sessions[k] as RecsSession;
    const s = firstIndex + k;
    const { user, items } = await store.fetch(session.userId, session.items);
    const scores = session.items.map((_, p) => retrievalScore(s, p));
    rows.push(assembleRankerRows(user, items, scores, rankerContext({ timeMs: session.timeMs, device: session.device }), store.config));
    await store.apply(sessionEvents(session));
  }
  return rows;
}

function mismatches(served: Float64Array[], offline: Float64Array, firstRow: number): number {
  let bad = 0;
  let row = firstRow;
  for (const block of served) {
    const expected = offline.subarray(row * RANKER_FEATURE_COUNT, row * RANKER_FEATURE_COUNT + block.length);
    if (!block.every((v, j) => Object.is(v, expected[j]))) bad++;
    row += block.length / RANKER_FEATURE_COUNT;
  }
  return bad;
}

describe.each(targets)("recs features on $name: Redis, the in-memory twin and the offline replay give identical ranker rows", ({ client }) => {
  const history = recsTestHistory(17, { sessions: 600 });
  const offline = buildRankerFeaturesOffline(history.sessions, { catalogue: history.catalogue, retrievalScore });

  it("streams every session through Redis and the twin and matches the offline rows bit for bit", async () => {
    const online = new RedisRecsFeatureStore(client(), { prefix: `rx-stream-${Date.now()}:` });
    await online.writeProfiles({ users: history.users, items: history.items });
    const twin = new MemoryRecsFeatureStore({ catalogue: history.catalogue });
    const fromRedis = await serve(online, history.sessions, 0);
    const fromTwin = await serve(twin, history.sessions, 0);
    expect(mismatches(fromRedis, offline.values, 0)).toBe(0);
    expect(mismatches(fromTwin, offline.values, 0)).toBe(0);

    // The comparison means something only if histories, counters and unknown items all showed up.
    const col = (name: (typeof RANKER_FEATURE_NAMES)[number]) => RANKER_FEATURE_NAMES.indexOf(name);
    let affinity = 0;
    let clicked = 0;
    let unknownItems = 0;
    for (let r = 0; r < offline.rows; r++) {
      const v = (name: (typeof RANKER_FEATURE_NAMES)[number]) => offline.values[r * RANKER_FEATURE_COUNT + col(name)] as number;
      if (v("user_item_category_affinity") > 0) affinity++;
      if (v("item_log_clicks") > 0) clicked++;
      if (Number.isNaN(v("item_category"))) unknownItems++;
    }
    expect(affinity).toBeGreaterThan(500);
    expect(clicked).toBeGreaterThan(2000);
    expect(unknownItems).toBeGreaterThan(50);
  });

  it("materialises the offline state as of a time, then streams the rest, matching offline", async () => {
    const cutIndex = 350;
    const cut = history.sessions[cutIndex]!.timeMs;
    const online = new RedisRecsFeatureStore(client(), { prefix: `rx-mat-${Date.now()}:` });
    // Profiles as one-shot generators and no catalogue, the way a trainer streams a big world.
    const profiles = { users: (function* () { yield* history.users; })(), items: (function* () { yield* history.items; })() };
    const written = await materializeRecsFeatures(online, { profiles, sessions: history.sessions, asOfMs: cut });
    expect(written.users).toBeGreaterThan(30);
    const rest = history.sessions.slice(cutIndex);
    const served = await serve(online, rest, cutIndex);
    expect(mismatches(served, offline.values, cutIndex * 8)).toBe(0);
  });

  it("ignores redelivered events and keeps counters when profiles are rewritten", async () => {
    const online = new RedisRecsFeatureStore(client(), { prefix: `rx-idem-${Date.now()}:` });
    await online.writeProfiles({ items: [["a", { category: 3, tags: [1, 2], releaseMs: T0 }]] });
    const batch = sessionEvents({ sessionId: "s", userId: "u", timeMs: T0, device: 0, items: ["a", "b"], clicked: [1, 0] });
    await online.apply(batch);
    await online.apply(batch);
    await online.writeProfiles({ items: [["a", { category: 4, tags: [5], releaseMs: T0 }]], users: [["u", { signupMs: T0, homeCategory: null, ageBucket: 1 }]] });
    const { user, items } = await online.fetch("u", ["a", "b", "never"]);
    expect(user).toEqual({ profile: { signupMs: T0, homeCategory: null, ageBucket: 1 }, impressions: 2, clicks: 1, recent: [{ category: 3, tags: [1, 2] }] });
    expect(items).toEqual([
      { profile: { category: 4, tags: [5], releaseMs: T0 }, impressions: 1, clicks: 1, examinedMicros: 1_000_000 },
      { profile: null, impressions: 1, clicks: 0, examinedMicros: 500_000 },
      null,
    ]);
    const ttl = await client().pttl(recsKeys.itemEvent(online.prefix, itemBucket("a", online.itemBuckets), "a", "s:0:i"));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10 * 60_000);
  });

  it("records the log offsets each entity applied with its counters, as the twin does, and skips a redelivery by offset", async () => {
    // No event-id deduplication: only the offsets can tell a redelivery.
    const online = new RedisRecsFeatureStore(client(), { prefix: `rx-applied-${Date.now()}:`, dedupTtlMs: 0 });
    const twin = new MemoryRecsFeatureStore({ dedupTtlMs: 0 });
    const sessions = history.sessions.slice(0, 120);
    await online.writeProfiles({ users: history.users, items: history.items });
    await twin.writeProfiles({ users: history.users, items: history.items });
    const events = withLogPositions(sessions.flatMap(sessionEvents), 3);
    // Six streams, applied in batches that interleave them out of time order; each stream stays in offset order.
    const byStream = [0, 1, 2].flatMap((p) => ["impression", "click"].map((kind) => events.filter((e) => e.kind === kind && e.source?.partition === p)));
    for (let round = 0; byStream.some((list) => list.length > 0); round++) {
      for (const list of byStream) {
        const batch = list.splice(0, 7 + ((round * 5) % 11));
        await online.apply(batch);
        await twin.apply(batch);
      }
    }
    const items = [...new Set(sessions.flatMap((s) => s.items))];
    const users = [...new Set(sessions.map((s) => s.userId))];
    for (const userId of users) expect(await online.fetch(userId, items)).toEqual(await twin.fetch(userId, items));
    const before = await online.fetch(users[0]!, items);
    // Every item shown got its impressions' offsets, and several streams reached the popular ones.
    expect(before.items.filter((i) => i?.applied).length).toBe(items.length);
    expect(Math.max(...before.items.map((i) => Object.keys(parseAppliedOffsets(i?.applied)).length))).toBe(6);
    const userEvents = events.filter((e) => e.userId === users[0]);
    expect(parseAppliedOffsets(before.user?.applied)).toEqual(
      Object.fromEntries(["impression", "click"].flatMap((kind) => {
        const own = userEvents.filter((e) => e.kind === kind);
        return own.length === 0 ? [] : [[recsStreamId(kind as RecsEvent["kind"], own[0]!.source!.partition), Math.max(...own.map((e) => e.source!.offset))]];
      })),
    );
    // Kafka redelivers a batch after a rebalance: nothing moves.
    await online.apply(events.slice(100, 180));
    expect(await online.fetch(users[0]!, items)).toEqual(before);
    // A new event changes the counters and raises one offset.
    const next: RecsEvent = { ...events[0]!, eventId: "new", source: { partition: events[0]!.source!.partition, offset: 10_000 } };
    await online.apply([next]);
    const after = await online.fetch(next.userId, [next.itemId]);
    expect(parseAppliedOffsets(after.items[0]?.applied)[recsStreamId(next.kind, next.source!.partition)]).toBe(10_000);
  });

  it("leaves the offset at the first copy of an event id: a producer's retry at a later offset is not applied and not recorded", async () => {
    const online = new RedisRecsFeatureStore(client(), { prefix: `rx-retry-${Date.now()}:` });
    const twin = new MemoryRecsFeatureStore();
    const first: RecsEvent = { kind: "impression", eventId: "e1", userId: "u1", itemId: "a", position: 0, timeMs: T0, source: { partition: 1, offset: 5 } };
    const retry: RecsEvent = { ...first, source: { partition: 1, offset: 9 } };
    for (const store of [online, twin]) await store.apply([first, retry]);
    const read = await online.fetch("u1", ["a"]);
    expect(read).toEqual(await twin.fetch("u1", ["a"]));
    expect([read.user?.impressions, read.user?.applied, read.items[0]?.impressions, read.items[0]?.applied]).toEqual([1, "i1:5", 1, "i1:5"]);
  });

  it("keeps a stored profile when a snapshot state has none, and replaces counters and history", async () => {
    const online = new RedisRecsFeatureStore(client(), { prefix: `rx-snap-${Date.now()}:` });
    const item = { category: 2, tags: [4], releaseMs: T0 };
    const user = { signupMs: T0, homeCategory: 1, ageBucket: null };
    await online.writeProfiles({ users: [["u", user]], items: [["a", item]] });
    await online.apply(sessionEvents({ sessionId: "s", userId: "u", timeMs: T0, device: 0, items: ["a"], clicked: [1] }));
    await online.writeSnapshot({
      users: [["u", { profile: null, impressions: 7, clicks: 2, recent: [{ category: 9, tags: [] }] }]],
      items: [["a", { profile: null, impressions: 5, clicks: 1, examinedMicros: 42 }]],
    });
    const { user: u, items } = await online.fetch("u", ["a"]);
    expect(u).toEqual({ profile: user, impressions: 7, clicks: 2, recent: [{ category: 9, tags: [] }] });
    expect(items[0]).toEqual({ profile: item, impressions: 5, clicks: 1, examinedMicros: 42 });
    const twin = new MemoryRecsFeatureStore();
    await twin.writeProfiles({ users: [["u", user]], items: [["a", item]] });
    await twin.writeSnapshot({
      users: [["u", { profile: null, impressions: 7, clicks: 2, recent: [{ category: 9, tags: [] }] }]],
      items: [["a", { profile: null, impressions: 5, clicks: 1, examinedMicros: 42 }]],
    });
    expect(await twin.fetch("u", ["a"])).toEqual(await online.fetch("u", ["a"]));
  });

  it("records its layout, and a reader with other item buckets finds out instead of reading nothing", async () => {
    const prefix = `rx-layout-${Date.now()}:`;
    const writer = new RedisRecsFeatureStore(client(), { prefix, itemBuckets: 8 });
    expect(await writer.checkLayout()).toBeNull();
    await writer.writeProfiles({ items: [["a", { category: 1, tags: [], releaseMs: T0 }]] });
    expect(await writer.checkLayout()).toBeNull();
    expect((await writer.fetch("u", ["a"])).items[0]?.profile?.category).toBe(1);
    const reader = new RedisRecsFeatureStore(client(), { prefix });
    expect(await reader.checkLayout()).toMatch(/written with layout \{"version":2,"itemBuckets":8\}, this reader expects \{"version":2,"itemBuckets":32\}/);
    // Layout 1 (before applied offsets) is read as states that applied none.
    await client().set(recsKeys.layout(prefix), JSON.stringify({ version: 1, itemBuckets: 8 }));
    await client().hset(recsKeys.bucket(prefix, itemBucket("old", 8)), "old", "2|5|17|4|1|1500000");
    expect(await writer.checkLayout()).toBeNull();
    expect((await writer.fetch("u", ["old"])).items[0]).toEqual({ profile: { category: 2, tags: [5], releaseMs: 17 }, impressions: 4, clicks: 1, examinedMicros: 1_500_000 });
    expect(() => new RedisRecsFeatureStore(client(), { itemBuckets: 0 })).toThrow(/^itemBuckets: /);
  });

  it("serves the same rows through the local item cache, with one round trip for the misses", async () => {
    const online = new RedisRecsFeatureStore(client(), { prefix: `rx-cache-${Date.now()}:` });
    await online.writeProfiles({ users: history.users, items: history.items });
    const cached = new CachedRecsFeatureStore(online, { maxItems: 1000, ttlMs: 60_000 });
    const ids = [...history.items.keys()];
    const first = await cached.fetch("u3", ids);
    const second = await cached.fetch("u3", ids);
    expect(second).toEqual(first);
    expect(second).toEqual(await online.fetch("u3", ids));
    expect(cached.hits).toBe(ids.length);
  });
});

describe.each(targets)("RedisUserHistory on $name", ({ client }) => {
  let n = 0;
  userHistoryContract("RedisUserHistory", (maxLength) => new RedisUserHistory(client(), { prefix: `rh-contract-${Date.now()}-${n++}:`, maxLength }));
});

describe.each(targets)("RedisServedImpressions on $name", ({ client }) => {
  let n = 0;
  servedImpressionContract("RedisServedImpressions", () => new RedisServedImpressions(client(), { prefix: `rs-contract-${Date.now()}-${n++}:`, ttlMs: 60_000 }));
});

describe("recs features on a Redis Cluster", () => {
  const history = recsTestHistory(23, { sessions: 300, items: 240 });
  const userIds = [...history.users.keys()];
  const itemIds = [...history.items.keys()];

  /** Profiles, a snapshot of counters and histories, then a stream of impressions and clicks. */
  async function fill(store: RecsFeatureStore): Promise<void> {
    await store.writeProfiles({ users: history.users, items: history.items });
    await store.writeSnapshot({
      users: userIds.slice(0, 20).map((id, k) => [id, { profile: null, impressions: 10 + k, clicks: k % 4, recent: [{ category: k % 7, tags: [k, k + 1] }] }]),
      items: itemIds.slice(0, 50).map((id, k) => [id, { profile: null, impressions: 100 + k, clicks: k % 9, examinedMicros: 1_000 * k }]),
    });
    const events = withLogPositions(history.sessions.flatMap(sessionEvents), 3);
    for (let k = 0; k < events.length; k += 40) await store.apply(events.slice(k, k + 40));
  }

  it("fetches 1 user + 200 items identically to one Redis and the twin, after a snapshot and a stream of events", async () => {
    const prefix = `rx-same-${Date.now()}:`;
    const single = new RedisRecsFeatureStore(redis, { prefix });
    const clustered = new RedisRecsFeatureStore(cluster, { prefix });
    const twin = new MemoryRecsFeatureStore({ catalogue: history.catalogue });
    await Promise.all([fill(single), fill(clustered), fill(twin)]);
    // Catalogue items, items shown but never in the catalogue (every tenth), and items never seen.
    const candidates = [...itemIds.slice(0, 190), "i9", "i19", "i29", "i39", "i49", "never-1", "never-2", "never-3", "never-4", "never-5"];
    expect(candidates).toHaveLength(200);
    let withClicks = 0;
    for (const userId of userIds.slice(0, 25)) {
      const fromCluster = await clustered.fetch(userId, candidates);
      expect(fromCluster).toEqual(await single.fetch(userId, candidates));
      expect(fromCluster).toEqual(await twin.fetch(userId, candidates));
      if ((fromCluster.user?.clicks ?? 0) > 0) withClicks++;
    }
    expect(withClicks).toBeGreaterThan(5);
    // The 200 items' buckets are served by all three primaries: the fetch really crossed nodes.
    const ports = new Set(await Promise.all(Array.from({ length: clustered.itemBuckets }, (_, b) => primaryOf(cluster, recsKeys.bucket(prefix, b)))));
    expect(ports.size).toBe(3);
  });

  // Last in the file: it kills a primary of the shared cluster.
  it("keeps answering after a primary dies, once its replica is promoted, with every replicated write kept", async () => {
    const prefix = `rx-failover-${Date.now()}:`;
    const store = new RedisRecsFeatureStore(cluster, { prefix });
    const twin = new MemoryRecsFeatureStore({ catalogue: history.catalogue });
    await Promise.all([fill(store), fill(twin)]);
    await replicateAll(cluster);
    const userId = userIds[0] as string;
    const victim = await primaryOf(cluster, recsKeys.user(prefix, userId));
    await clusterHandle.kill(victim);
    const { value, ms } = await untilItWorks(() => store.fetch(userId, itemIds), 30_000);
    console.info(`recs store: primary ${victim} killed; the fetch of 1 user + ${itemIds.length} items answered again after ${ms} ms`);
    expect(value).toEqual(await twin.fetch(userId, itemIds));
    // Writes go on, on the promoted replica, and read back like the twin's.
    const more = recsTestHistory(29, { sessions: 40 }).sessions.map((s) => ({ ...s, userId }));
    for (const session of more) {
      await store.apply(sessionEvents(session));
      await twin.apply(sessionEvents(session));
    }
    for (const id of userIds.slice(0, 10)) expect(await store.fetch(id, itemIds)).toEqual(await twin.fetch(id, itemIds));
  }, 90_000);
});
