import { connectRedisCluster, startRedis, startRedisCluster, type RedisClusterHandle, type RedisHandle } from "@mlsd/testkit";
import { Rng } from "@mlsd/random";
import { Redis, type Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { primaryOf, replicateAll, untilItWorks } from "../cluster.test-helper";
import type { RedisClient } from "../redis-client";
import { assembleFraudFeatures, DAY_MS, type LabelInput, type TransactionInput } from "./definitions";
import { MemoryFraudFeatureStore } from "./memory-store";
import { buildFraudFeaturesOffline } from "./offline";
import { RedisFraudFeatureStore } from "./redis-store";
import type { FraudFeatureStore } from "./store";
import { fraudRecordContract } from "./store.contract";

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

/** A small, dense history: few cards and terminals so windows overlap and labels matter. */
function history(seed: number, n: number) {
  const rng = new Rng(seed);
  const start = Date.UTC(2018, 3, 1);
  const txs: TransactionInput[] = [];
  const labels: LabelInput[] = [];
  let t = start;
  for (let i = 0; i < n; i++) {
    t += Math.floor(rng.exponential(1 / (40 * 60_000))); // ~one every 40 minutes over ~40 days
    const tx = {
      transactionId: `tx-${seed}-${i}`,
      customerId: `c${rng.int(25)}`,
      terminalId: `t${rng.int(15)}`,
      timeMs: t,
      amount: Math.round(rng.uniform(1, 300) * 100) / 100,
    };
    txs.push(tx);
    if (rng.bernoulli(0.08)) {
      labels.push({
        transactionId: tx.transactionId,
        terminalId: tx.terminalId,
        transactionTimeMs: t,
        knownAtMs: t + Math.floor(rng.uniform(0.5, 9) * DAY_MS),
      });
    }
  }
  return { txs, labels };
}

/** Replays the history the way the service sees it: labels arrive when they become known. */
async function serve(store: FraudFeatureStore, txs: TransactionInput[], labels: LabelInput[]) {
  const pending = [...labels].sort((a, b) => a.knownAtMs - b.knownAtMs);
  let next = 0;
  const rows: Float64Array[] = [];
  for (const tx of txs) {
    while (next < pending.length && pending[next]!.knownAtMs <= tx.timeMs) {
      const label = pending[next++]!;
      await store.applyKnownLabel(label);
    }
    rows.push(assembleFraudFeatures(tx, await store.observe(tx)));
  }
  return rows;
}

describe.each(targets)("fraud features on $name: Redis and the in-memory twin agree, and online equals offline", ({ client }) => {
  it("produces identical feature vectors online (Redis), in memory and offline (training)", async () => {
    const { txs, labels } = history(11, 1500);
    const prefix = `fx-test-${Date.now()}:`;
    const online = await serve(new RedisFraudFeatureStore(client(), undefined, prefix), txs, labels);
    const twin = await serve(new MemoryFraudFeatureStore(), txs, labels);
    const offline = buildFraudFeaturesOffline(txs, labels);

    let mismatches = 0;
    let nonZeroRisk = 0;
    const width = offline.names.length;
    for (let i = 0; i < txs.length; i++) {
      const o = offline.values.subarray(i * width, (i + 1) * width);
      if (!online[i]!.every((v, j) => Object.is(v, o[j])) || !twin[i]!.every((v, j) => Object.is(v, o[j]))) mismatches++;
      if ((o[offline.names.indexOf("TERMINAL_ID_RISK_7DAY_WINDOW")] as number) > 0) nonZeroRisk++;
    }
    expect(mismatches).toBe(0);
    // The comparison means something only if labels reached the terminal risk features.
    expect(nonZeroRisk).toBeGreaterThan(100);
  });

  it("records idempotently and keeps keys bounded by a TTL", async () => {
    const prefix = `fx-idem-${Date.now()}:`;
    const store = new RedisFraudFeatureStore(client(), undefined, prefix);
    const tx = { transactionId: "a", customerId: "c1", terminalId: "t1", timeMs: Date.UTC(2018, 4, 1), amount: 12.34 };
    const first = await store.observe(tx);
    const retry = await store.observe(tx);
    expect(retry).toEqual(first);
    expect(first.customerCents).toEqual([1234, 1234, 1234]);
    const ttl = await client().pttl(`${prefix}{c:c1}:tx`);
    expect(ttl).toBeGreaterThan(30 * DAY_MS);
    expect(ttl).toBeLessThanOrEqual(39 * DAY_MS);
  });
});

let contractRun = 0;
for (const { name, client } of targets) {
  fraudRecordContract(`RedisFraudFeatureStore on ${name}`, () => new RedisFraudFeatureStore(client(), undefined, `fx-contract-${Date.now()}-${contractRun++}:`));
}

describe("fraud features on a Redis Cluster", () => {
  it("gives the same vectors as one Redis and the twin, transaction by transaction", async () => {
    const { txs, labels } = history(12, 800);
    const prefix = `fx-same-${Date.now()}:`;
    const [single, clustered, twin] = await Promise.all([
      serve(new RedisFraudFeatureStore(redis, undefined, prefix), txs, labels),
      serve(new RedisFraudFeatureStore(cluster, undefined, prefix), txs, labels),
      serve(new MemoryFraudFeatureStore(), txs, labels),
    ]);
    const differ = (a: Float64Array[], b: Float64Array[]) => a.filter((row, i) => !row.every((v, j) => Object.is(v, b[i]![j]))).length;
    expect(clustered).toHaveLength(800);
    expect(differ(clustered, single)).toBe(0);
    expect(differ(clustered, twin)).toBe(0);
    // The customer and terminal scripts of one transaction run on two different primaries for most transactions.
    const primaries = await Promise.all(txs.slice(0, 40).map(async (tx) => (await primaryOf(cluster, `${prefix}{c:${tx.customerId}}:tx`)) !== (await primaryOf(cluster, `${prefix}{t:${tx.terminalId}}:tx`))));
    expect(primaries.filter(Boolean).length).toBeGreaterThan(10);
  });

  // Last in the file: it kills a primary of the shared cluster.
  it("keeps scoring after a primary dies, once its replica is promoted, with every replicated write kept", async () => {
    const { txs, labels } = history(13, 600);
    const prefix = `fx-failover-${Date.now()}:`;
    const store = new RedisFraudFeatureStore(cluster, undefined, prefix);
    const twin = new MemoryFraudFeatureStore();
    const before = 300;
    const expected = await serve(twin, txs, labels);
    const served = await serve(store, txs.slice(0, before), labels.filter((l) => l.knownAtMs <= txs[before - 1]!.timeMs));
    // Redis replicates asynchronously: a write is safe from a failover once the replica has it (WAIT).
    await replicateAll(cluster);
    const victim = await primaryOf(cluster, `${prefix}{t:${txs[before]!.terminalId}}:tx`);
    await clusterHandle.kill(victim);
    // The next transaction is retried until the replica serves the slots; a retry is idempotent (same members).
    const pending = labels.filter((l) => l.knownAtMs > txs[before - 1]!.timeMs && l.knownAtMs <= txs[before]!.timeMs);
    const { value: first, ms } = await untilItWorks(async () => {
      for (const label of pending) await store.applyKnownLabel(label);
      return assembleFraudFeatures(txs[before]!, await store.observe(txs[before]!));
    }, 30_000);
    console.info(`fraud store: primary ${victim} killed; scoring answered again after ${ms} ms`);
    const rest = await serve(store, txs.slice(before + 1), labels.filter((l) => l.knownAtMs > txs[before]!.timeMs));
    const all = [...served, first, ...rest];
    expect(all).toHaveLength(600);
    expect(all.filter((row, i) => !row.every((v, j) => Object.is(v, expected[i]![j]))).length).toBe(0);
    const serving = await clusterHandle.agreedPrimaries();
    expect(serving.map((n) => n.port)).not.toContain(victim);
  }, 90_000);
});
