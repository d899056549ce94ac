// Claim 22: "feature lookup dominates latency if not cached". Fetches one user plus 200 candidate
// items from real Redis (testkit) four ways, interleaved in blocks so machine noise hits all alike:
//   per-key, sequential   one await per key (HMGET of each item's hash): 202 round trips
//   per-key, concurrent   the same 202 commands issued at once without an explicit pipeline
//   pipelined, per item   the same 202 commands in one pipeline: one round trip
//   pipelined, bucketed   RedisRecsFeatureStore.fetch: one HMGET per item bucket touched (32 buckets)
//   bucketed + cache      a local LRU of 50,000 item features (TTL 5 s) in front of the store
//   bucketed, no offsets  the store's read as it was before applied offsets: HMGET + LRANGE of the
//                         user and the bucket HMGETs, over the same world written without offsets
//                         (the store reads every entity with the log offsets it applied, 2 per user
//                         and 12 per item here: 6 partitions x 2 topics, the most an item can have)
// plus the in-memory twin (no network) as the floor, and the time to assemble the ranker rows.
// Client CPU per request (process.cpuUsage) is printed beside wall time: on a shared machine wall
// time includes waiting for a core, CPU time does not.
// Budget: one user + 200 items p99 <= 2 ms.
// Run: npm run bench -w @mlsd/feature-store  (REDIS_URL=redis://... to use a running Redis)
import os from "node:os";
import { Rng } from "@mlsd/random";
import { startRedis } from "@mlsd/testkit";
import { Redis } from "ioredis";
import {
  assembleRankerRows,
  CachedRecsFeatureStore,
  ITEM_FIELDS,
  MemoryRecsFeatureStore,
  parseItem,
  itemBucket,
  parsePackedItem,
  parseUser,
  rankerContext,
  recsKeys,
  RedisRecsFeatureStore,
  USER_FIELDS,
  type ItemState,
  type RecsFetchResult,
  type UserState,
} from "../src/recs/index";
import { recsBenchWorld } from "./recs-data";
import { deleteByPrefix } from "./redis-cleanup";
import { percentile, printTable } from "./table";

const USERS = 10_000;
const ITEMS = 100_000;
const CANDIDATES = 200;
const BLOCK = 50;
const ROUNDS = Number(process.argv[2] ?? 20);
const T0 = Date.UTC(2024, 0, 1);

async function main(): Promise<void> {
  const handle = await startRedis();
  const redis = new Redis(handle.url, { maxRetriesPerRequest: 1 });
  const prefix = `rx-bench-${Date.now()}:`;
  const store = new RedisRecsFeatureStore(redis, { prefix });
  const twin = new MemoryRecsFeatureStore();
  const rng = new Rng(22);

  const world = recsBenchWorld(rng, USERS, ITEMS, CANDIDATES);
  const { requests } = world;
  // Offsets of a few million events per partition, as a long-running stream would have applied.
  const offset = () => 1_000_000 + rng.int(9_000_000);
  const users = world.users.map(([id, s]) => [id, { ...s, applied: `i${rng.int(6)}:${offset()},c${rng.int(6)}:${offset()}` }] as [string, UserState]);
  const items = world.items.map(([id, s]) => [id, { ...s, applied: Array.from({ length: 12 }, (_, k) => `${k < 6 ? "i" : "c"}${k % 6}:${offset()}`).join(",") }] as [string, ItemState]);
  const bare = `${prefix}bare:`;
  const before = new RedisRecsFeatureStore(redis, { prefix: bare });
  const t0 = performance.now();
  await store.writeSnapshot({ users, items });
  await before.writeSnapshot({ users: world.users, items: world.items });
  await twin.writeSnapshot({ users, items });
  process.stderr.write(`materialised ${USERS} users and ${ITEMS} items in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

  const itemKey = (id: string) => recsKeys.item(prefix, itemBucket(id, store.itemBuckets), id);
  const perKeySequential = async (userId: string, itemIds: readonly string[]): Promise<RecsFetchResult> => {
    const u = await redis.hmget(recsKeys.user(prefix, userId), ...USER_FIELDS);
    const recent = await redis.lrange(recsKeys.recent(prefix, userId), 0, 19);
    const out: (ItemState | null)[] = [];
    for (const id of itemIds) out.push(parseItem(await redis.hmget(itemKey(id), ...ITEM_FIELDS)));
    return { user: parseUser(u, recent), items: out };
  };
  const perKeyConcurrent = async (userId: string, itemIds: readonly string[]): Promise<RecsFetchResult> => {
    const [u, recent, ...rows] = await Promise.all([
      redis.hmget(recsKeys.user(prefix, userId), ...USER_FIELDS),
      redis.lrange(recsKeys.recent(prefix, userId), 0, 19),
      ...itemIds.map((id) => redis.hmget(itemKey(id), ...ITEM_FIELDS)),
    ]);
    return { user: parseUser(u as (string | null)[], recent as string[]), items: (rows as (string | null)[][]).map(parseItem) };
  };
  const pipelinedFields = async (userId: string, itemIds: readonly string[]): Promise<RecsFetchResult> => {
    const pipeline = redis.pipeline();
    pipeline.hmget(recsKeys.user(prefix, userId), ...USER_FIELDS);
    pipeline.lrange(recsKeys.recent(prefix, userId), 0, 19);
    for (const id of itemIds) pipeline.hmget(itemKey(id), ...ITEM_FIELDS);
    const results = (await pipeline.exec())!.map(([error, value]) => {
      if (error) throw error;
      return value;
    });
    return { user: parseUser(results[0] as (string | null)[], results[1] as string[]), items: results.slice(2).map((r) => parseItem(r as (string | null)[])) };
  };
  const cached = new CachedRecsFeatureStore(store, { maxItems: 50_000, ttlMs: 5_000 });
  const withoutOffsets = async (userId: string, itemIds: readonly string[]): Promise<RecsFetchResult> => {
    const byBucket = new Map<number, number[]>();
    itemIds.forEach((id, i) => {
      const b = itemBucket(id, before.itemBuckets);
      byBucket.set(b, [...(byBucket.get(b) ?? []), i]);
    });
    const pipeline = redis.pipeline();
    pipeline.hmget(recsKeys.user(bare, userId), ...USER_FIELDS.filter((f) => f !== "ap"));
    pipeline.lrange(recsKeys.recent(bare, userId), 0, 19);
    for (const [b, list] of byBucket) pipeline.hmget(recsKeys.bucket(bare, b), ...list.map((i) => itemIds[i]!));
    const results = (await pipeline.exec())!.map(([error, value]) => {
      if (error) throw error;
      return value;
    });
    const out = new Array<ItemState | null>(itemIds.length);
    let r = 2;
    for (const list of byBucket.values()) {
      const packed = results[r++] as (string | null)[];
      list.forEach((i, j) => (out[i] = parsePackedItem(packed[j] ?? null)));
    }
    return { user: parseUser(results[0] as (string | null)[], results[1] as string[]), items: out };
  };

  const strategies: { name: string; trips: string; fetch: (u: string, i: readonly string[]) => Promise<RecsFetchResult>; rounds: number; assemble?: boolean }[] = [
    { name: "per-key HMGET, sequential", trips: `${CANDIDATES + 2}`, fetch: perKeySequential, rounds: Math.max(2, Math.ceil(ROUNDS / 5)) },
    { name: "per-key HMGET, concurrent", trips: `${CANDIDATES + 2} in flight`, fetch: perKeyConcurrent, rounds: ROUNDS },
    { name: "pipelined, one HMGET per item", trips: `1 (${CANDIDATES + 2} cmds)`, fetch: pipelinedFields, rounds: ROUNDS },
    { name: "pipelined, bucketed (store)", trips: "1 (<= 34 cmds)", fetch: (u, i) => store.fetch(u, i), rounds: ROUNDS, assemble: true },
    { name: "bucketed + local item cache", trips: "1 (misses)", fetch: (u, i) => cached.fetch(u, i), rounds: ROUNDS },
    { name: "bucketed, no applied offsets", trips: "1 (<= 34 cmds)", fetch: withoutOffsets, rounds: ROUNDS },
    { name: "in-memory twin (no network)", trips: "0", fetch: (u, i) => twin.fetch(u, i), rounds: ROUNDS },
  ];
  const samples = new Map<string, number[]>(strategies.map((s) => [s.name, []]));
  const cpuMicros = new Map<string, number>(strategies.map((s) => [s.name, 0]));
  const assemble: number[] = [];
  let next = 0;
  const scores = new Float64Array(CANDIDATES).fill(0.5);
  // Warm-up: JIT, connection, cache.
  for (const s of strategies) for (let k = 0; k < 20; k++) await s.fetch(requests[k]!.userId, requests[k]!.itemIds);
  cached.hits = 0;
  cached.misses = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of strategies) {
      if (round >= s.rounds) continue;
      const out = samples.get(s.name)!;
      const cpu0 = process.cpuUsage();
      for (let k = 0; k < BLOCK; k++) {
        const req = requests[next++ % requests.length]!;
        const a = performance.now();
        const result = await s.fetch(req.userId, req.itemIds);
        const b = performance.now();
        out.push(b - a);
        if (s.assemble) {
          assembleRankerRows(result.user, result.items, scores, rankerContext({ timeMs: T0 }));
          assemble.push(performance.now() - b);
        }
      }
      const cpu = process.cpuUsage(cpu0);
      cpuMicros.set(s.name, cpuMicros.get(s.name)! + cpu.user + cpu.system);
    }
  }

  const rows: string[][] = [["strategy (1 user + 200 items)", "round trips", "requests", "p50 ms", "p90 ms", "p99 ms", "mean ms", "client CPU ms"]];
  const fmt = (x: number) => x.toFixed(3);
  const summary = (name: string, trips: string, xs: number[], cpu?: number) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const cpuPerRequest = cpu === undefined ? "-" : fmt(cpu / 1000 / xs.length);
    rows.push([name, trips, String(xs.length), fmt(percentile(sorted, 0.5)), fmt(percentile(sorted, 0.9)), fmt(percentile(sorted, 0.99)), fmt(mean), cpuPerRequest]);
    return percentile(sorted, 0.99);
  };
  const p99 = new Map<string, number>();
  for (const s of strategies) p99.set(s.name, summary(s.name, s.trips, samples.get(s.name)!, cpuMicros.get(s.name)));
  summary("assemble 200 ranker rows (CPU)", "-", assemble);
  printTable(rows);
  const hitRate = cached.hits / (cached.hits + cached.misses);
  console.log(`local cache: hit rate ${(100 * hitRate).toFixed(1)} % (50,000 items, TTL 5 s, Zipf 0.8 candidates over ${ITEMS} items)`);
  console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)} at the end of the run`);
  const median = (name: string) => percentile([...samples.get(name)!].sort((a, b) => a - b), 0.5);
  const cpuOf = (name: string) => cpuMicros.get(name)! / samples.get(name)!.length;
  console.log(
    `applied offsets (2 per user, 12 per item, read with the features): store p50 ${(median("pipelined, bucketed (store)") / median("bucketed, no applied offsets")).toFixed(2)}x, ` +
      `client CPU ${(cpuOf("pipelined, bucketed (store)") / cpuOf("bucketed, no applied offsets")).toFixed(2)}x the same read without them, in this run`,
  );
  const pipelined = p99.get("pipelined, bucketed (store)")!;
  const withCache = p99.get("bucketed + local item cache")!;
  console.log(
    `budget p99 <= 2 ms: bucketed ${pipelined.toFixed(3)} ms (${pipelined <= 2 ? "holds" : "misses"}), with cache ${withCache.toFixed(3)} ms (${withCache <= 2 ? "holds" : "misses"}); ` +
      `per-key sequential p99 is ${(p99.get("per-key HMGET, sequential")! / pipelined).toFixed(1)}x the bucketed p99`,
  );

  await deleteByPrefix(redis, prefix);
  redis.disconnect();
  await handle.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
