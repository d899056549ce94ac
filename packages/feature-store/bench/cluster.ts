// Issue 19: what a Redis Cluster (3 primaries + 3 replicas, one machine) costs the online stores
// against one Redis, measured side by side in one run, interleaved in blocks so machine noise hits
// all alike:
//   recs fetch     RedisRecsFeatureStore.fetch of 1 user + 200 items (32 item buckets)
//   fraud round    claim of the transaction id, then observe (customer + terminal scripts)
// On the cluster the stores send one pipeline per node, in parallel (NodePipelines). The peer is
// the other way to get one round trip per node: ioredis `enableAutoPipelining` on the cluster
// client with the same commands issued as parallel calls. Client CPU per request is printed beside
// wall time: on a shared 2-core machine wall time includes waiting for a core.
// Run: npm run bench:cluster -w @mlsd/feature-store -- [rounds=20] [scale=1]
import os from "node:os";
import { Rng } from "@mlsd/random";
import { startRedis, startRedisCluster } from "@mlsd/testkit";
import { Cluster, Redis } from "ioredis";
import { RedisFraudFeatureStore, toCents, type TransactionInput } from "../src/fraud/index";
import { itemBucket, parsePackedItem, parseUser, recsKeys, RedisRecsFeatureStore, USER_FIELDS, type ItemState, type RecsFetchResult } from "../src/recs/index";
import type { RedisClient } from "../src/redis-client";
import { recsBenchWorld } from "./recs-data";
import { deleteByPrefix } from "./redis-cleanup";
import { percentile, printTable } from "./table";

const ROUNDS = Number(process.argv[2] ?? 20);
/** Data size as a fraction of the default (a smoke run of the script itself: 0.02). */
const SCALE = Number(process.argv[3] ?? 1);
const USERS = Math.ceil(10_000 * SCALE);
const ITEMS = Math.max(400, Math.ceil(50_000 * SCALE));
const CANDIDATES = 200;
const CUSTOMERS = Math.ceil(5_000 * SCALE);
const TERMINALS = Math.ceil(2_000 * SCALE);
const WARM_TRANSACTIONS = Math.ceil(30_000 * SCALE / 200) * 200;
const BLOCK = 50;
const T0 = Date.UTC(2024, 0, 1);

interface Strategy {
  name: string;
  run: (k: number) => Promise<unknown>;
  samples: number[];
  cpuMicros: number;
}

function clusterClient(nodes: { host: string; port: number }[], autoPipelining: boolean): Cluster {
  const client = new Cluster(nodes, { enableAutoPipelining: autoPipelining, redisOptions: { maxRetriesPerRequest: 1 } });
  client.on("error", (error) => process.stderr.write(`cluster client: ${String(error)}\n`));
  return client;
}

async function main(): Promise<void> {
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`rounds must be a positive integer, got ${process.argv[2]}`);
  if (!(SCALE > 0 && SCALE <= 10)) throw new Error(`scale must be in (0, 10], got ${process.argv[3]}`);
  const [single, clusterHandle] = await Promise.all([startRedis(), startRedisCluster()]);
  const redis = new Redis(single.url, { maxRetriesPerRequest: 1 });
  const cluster = clusterClient(clusterHandle.nodes, false);
  const autoCluster = clusterClient(clusterHandle.nodes, true);
  try {
    const rng = new Rng(19);
    const prefix = `bench-cluster-${Date.now()}:`;

    // Recs: the same snapshot on both.
    const { users, items, requests } = recsBenchWorld(rng, USERS, ITEMS, CANDIDATES);
    const recsOn = (client: RedisClient) => new RedisRecsFeatureStore(client, { prefix });
    const recsSingle = recsOn(redis);
    const recsCluster = recsOn(cluster);
    let t0 = performance.now();
    await Promise.all([recsSingle.writeSnapshot({ users, items }), recsCluster.writeSnapshot({ users, items })]);
    process.stderr.write(`materialised ${USERS} users and ${ITEMS} items on both in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    // The store's commands issued directly: as parallel calls (the peer on an auto-pipelining
    // cluster client), or as one plain pipeline (the single-node path before NodePipelines).
    const bucketsOf = (itemIds: readonly string[]) => {
      const byBucket = new Map<number, string[]>();
      for (const id of itemIds) {
        const b = itemBucket(id, recsCluster.itemBuckets);
        const list = byBucket.get(b);
        if (list) list.push(id);
        else byBucket.set(b, [id]);
      }
      return byBucket;
    };
    const assemble = (itemIds: readonly string[], byBucket: Map<number, string[]>, user: unknown, recent: unknown, packed: unknown[]): RecsFetchResult => {
      const found = new Map<string, ItemState | null>();
      [...byBucket.values()].forEach((ids, j) => ids.forEach((id, k) => found.set(id, parsePackedItem((packed[j] as (string | null)[])[k] ?? null))));
      return { user: parseUser(user as (string | null)[], recent as string[]), items: itemIds.map((id) => found.get(id) ?? null) };
    };
    const recentClicks = recsCluster.config.recentClicks;
    const autoFetch = async (userId: string, itemIds: readonly string[]): Promise<RecsFetchResult> => {
      const byBucket = bucketsOf(itemIds);
      const [user, recent, ...packed] = await Promise.all([
        autoCluster.hmget(recsKeys.user(prefix, userId), ...USER_FIELDS),
        autoCluster.lrange(recsKeys.recent(prefix, userId), 0, recentClicks - 1),
        ...[...byBucket].map(([b, ids]) => autoCluster.hmget(recsKeys.bucket(prefix, b), ...ids)),
      ]);
      return assemble(itemIds, byBucket, user, recent, packed);
    };
    const rawPipelineFetch = async (userId: string, itemIds: readonly string[]): Promise<RecsFetchResult> => {
      const byBucket = bucketsOf(itemIds);
      const pipeline = redis.pipeline().hmget(recsKeys.user(prefix, userId), ...USER_FIELDS).lrange(recsKeys.recent(prefix, userId), 0, recentClicks - 1);
      for (const [b, ids] of byBucket) pipeline.hmget(recsKeys.bucket(prefix, b), ...ids);
      const [user, recent, ...packed] = (await pipeline.exec())!.map(([error, value]) => {
        if (error) throw error;
        return value;
      });
      return assemble(itemIds, byBucket, user, recent, packed);
    };
    const check = JSON.stringify(await recsCluster.fetch(requests[0]!.userId, requests[0]!.itemIds));
    if (check !== JSON.stringify(await recsSingle.fetch(requests[0]!.userId, requests[0]!.itemIds)) || check !== JSON.stringify(await autoFetch(requests[0]!.userId, requests[0]!.itemIds)) || check !== JSON.stringify(await rawPipelineFetch(requests[0]!.userId, requests[0]!.itemIds))) {
      throw new Error("the cluster and the single node disagree on a fetch: the benchmark would compare different work");
    }

    // Fraud: a warm history on both, then each scoring round is a new transaction.
    const fraudSingle = new RedisFraudFeatureStore(redis, undefined, prefix);
    const fraudCluster = new RedisFraudFeatureStore(cluster, undefined, prefix);
    let clock = T0;
    let txCount = 0;
    const nextTx = (): TransactionInput => {
      clock += 1 + rng.int(60_000);
      return { transactionId: `tx${txCount++}`, customerId: `c${rng.int(CUSTOMERS)}`, terminalId: `t${rng.int(TERMINALS)}`, timeMs: clock, amount: Math.round(rng.uniform(1, 300) * 100) / 100 };
    };
    t0 = performance.now();
    for (let i = 0; i < WARM_TRANSACTIONS; i += 200) {
      const batch = Array.from({ length: 200 }, nextTx);
      await Promise.all(batch.flatMap((tx) => [fraudSingle.observe(tx), fraudCluster.observe(tx)]));
    }
    process.stderr.write(`warmed both with ${WARM_TRANSACTIONS} transactions in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    const rounds = Array.from({ length: ROUNDS * BLOCK + 100 }, nextTx);
    const score = (store: RedisFraudFeatureStore, suffix: string) => async (k: number) => {
      const tx = rounds[k % rounds.length]!;
      const id = `${tx.transactionId}${suffix}`;
      await store.claim(id, { customerId: tx.customerId, terminalId: tx.terminalId, timeMs: tx.timeMs, cents: toCents(tx.amount) });
      return store.observe({ ...tx, transactionId: id });
    };

    const fetchWith = (fetch: (u: string, i: readonly string[]) => Promise<RecsFetchResult>) => (k: number) => {
      const req = requests[k % requests.length]!;
      return fetch(req.userId, req.itemIds);
    };
    const strategies: Strategy[] = [
      { name: "recs fetch, one Redis", run: fetchWith((u, i) => recsSingle.fetch(u, i)), samples: [], cpuMicros: 0 },
      { name: "recs fetch, one Redis, plain pipeline", run: fetchWith(rawPipelineFetch), samples: [], cpuMicros: 0 },
      { name: "recs fetch, cluster (pipeline per node)", run: fetchWith((u, i) => recsCluster.fetch(u, i)), samples: [], cpuMicros: 0 },
      { name: "recs fetch, cluster (auto-pipelining)", run: fetchWith(autoFetch), samples: [], cpuMicros: 0 },
      { name: "fraud round, one Redis", run: score(fraudSingle, "s"), samples: [], cpuMicros: 0 },
      { name: "fraud round, cluster", run: score(fraudCluster, "c"), samples: [], cpuMicros: 0 },
    ];
    for (const s of strategies) for (let k = 0; k < 50; k++) await s.run(ROUNDS * BLOCK + (k % 100)); // warm-up: JIT, connections
    let k = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of strategies) {
        const cpu0 = process.cpuUsage();
        for (let j = 0; j < BLOCK; j++) {
          const a = performance.now();
          await s.run(k + j);
          s.samples.push(performance.now() - a);
        }
        const cpu = process.cpuUsage(cpu0);
        s.cpuMicros += cpu.user + cpu.system;
      }
      k += BLOCK;
      process.stderr.write(`\rround ${round + 1}/${ROUNDS}`);
    }
    process.stderr.write("\n");

    const fmt = (x: number) => x.toFixed(3);
    const p50 = new Map<string, number>();
    const rows: string[][] = [["operation", "requests", "p50 ms", "p90 ms", "p99 ms", "client CPU ms", "p50 vs one Redis"]];
    for (const s of strategies) {
      const sorted = [...s.samples].sort((a, b) => a - b);
      p50.set(s.name, percentile(sorted, 0.5));
      const base = p50.get(s.name.startsWith("recs") ? "recs fetch, one Redis" : "fraud round, one Redis")!;
      rows.push([s.name, String(sorted.length), fmt(percentile(sorted, 0.5)), fmt(percentile(sorted, 0.9)), fmt(percentile(sorted, 0.99)), fmt(s.cpuMicros / 1000 / sorted.length), `${(percentile(sorted, 0.5) / base).toFixed(2)}x`]);
    }
    printTable(rows);
    console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)} at the end of the run; cluster of 3 primaries + 3 replicas on the same machine`);
    await deleteByPrefix(redis, prefix); // the cluster is ours and goes away with its data
  } finally {
    redis.disconnect();
    cluster.disconnect();
    autoCluster.disconnect();
    await Promise.all([single.stop(), clusterHandle.stop()]);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
