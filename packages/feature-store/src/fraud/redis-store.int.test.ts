import { startRedis, type RedisHandle } from "@mlsd/testkit";
import { Rng } from "@mlsd/random";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assembleFraudFeatures, DAY_MS, type LabelInput, type TransactionInput } from "./definitions";
import { MemoryFraudFeatureStore } from "./memory-store";
import { buildFraudFeaturesOffline } from "./offline";
import { RedisFraudFeatureStore } from "./redis-store";
import type { FraudFeatureStore } from "./store";
import { fraudRecordContract } from "./store.contract";

let handle: RedisHandle;
let redis: Redis;

beforeAll(async () => {
  handle = await startRedis();
  redis = new Redis(handle.url, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  redis?.disconnect();
  await handle?.stop();
});

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

describe("fraud features: Redis and the in-memory twin agree, and online equals offline", () => {
  it("produces identical feature vectors online (Redis), in memory and offline (training)", async () => {
    const { txs, labels } = history(11, 1500);
    const prefix = `fx-test-${Date.now()}:`;
    const online = await serve(new RedisFraudFeatureStore(redis, undefined, prefix), txs, labels);
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
    const store = new RedisFraudFeatureStore(redis, undefined, prefix);
    const tx = { transactionId: "a", customerId: "c1", terminalId: "t1", timeMs: Date.UTC(2018, 4, 1), amount: 12.34 };
    const first = await store.observe(tx);
    const retry = await store.observe(tx);
    expect(retry).toEqual(first);
    expect(first.customerCents).toEqual([1234, 1234, 1234]);
    const ttl = await redis.pttl(`${prefix}{c:c1}:tx`);
    expect(ttl).toBeGreaterThan(30 * DAY_MS);
    expect(ttl).toBeLessThanOrEqual(39 * DAY_MS);
  });
});

let contractRun = 0;
fraudRecordContract("RedisFraudFeatureStore", () => new RedisFraudFeatureStore(redis, undefined, `fx-contract-${Date.now()}-${contractRun++}:`));
