import { MemoryRecsFeatureStore, RANKER_FEATURE_COUNT, RANKER_FEATURE_NAMES, rankerFeatureIndex, rankerFeatureSchemaHash, type RecsFeatureStore } from "@mlsd/feature-store";
import { CircuitBreaker, StageTimer } from "@mlsd/service-kit";
import { describe, expect, it } from "vitest";
import type { RankerModel } from "./model";
import { rankCandidates, type RankingDeps } from "./ranking";

const T0 = Date.UTC(2024, 0, 10, 12);
const DAY = 86_400_000;

/** Scores an item by its log clicks alone. */
const byClicks: RankerModel = {
  version: "clicks@1",
  featureSchemaHash: rankerFeatureSchemaHash(),
  featureNames: RANKER_FEATURE_NAMES,
  objective: "test",
  trees: 0,
  score: (rows, n) => Float64Array.from({ length: n }, (_, r) => rows[r * RANKER_FEATURE_COUNT + rankerFeatureIndex("item_log_clicks")] as number),
};

async function store(): Promise<MemoryRecsFeatureStore> {
  const s = new MemoryRecsFeatureStore();
  await s.writeProfiles({
    users: [["alice", { signupMs: T0 - 30 * DAY, homeCategory: 2, ageBucket: 1 }]],
    items: ["a", "b", "c"].map((id, i) => [id, { category: i, tags: [i], releaseMs: T0 - DAY }]),
  });
  const clicks = (itemId: string, n: number) => Array.from({ length: n }, (_, k) => ({ kind: "click" as const, eventId: `${itemId}-${k}`, userId: `u${k}`, itemId, position: 0, timeMs: T0 - DAY }));
  await s.apply([...clicks("c", 9), ...clicks("b", 3)].map((e, k) => ({ ...e, source: { partition: 0, offset: k } })));
  return s;
}

const deps = (s: RecsFeatureStore): RankingDeps => ({
  store: s,
  storeBreaker: new CircuitBreaker("redis", { failureRate: 0.5, minimumCalls: 10, windowSize: 50, cooldownMs: 1_000 }),
  featureDeadlineMs: 1_000,
  model: () => byClicks,
});
const request = { userId: "alice", k: 3, context: { time: new Date(T0).toISOString() }, candidates: ["a", "b", "c"].map((itemId, i) => ({ itemId, retrievalScore: 3 - i })) };

describe("rankCandidates", () => {
  it("orders the candidates by the model over the store's features, with the rows when asked", async () => {
    const answer = await rankCandidates(deps(await store()), { ...request, withFeatures: true }, new StageTimer());
    expect(answer.rankedBy).toBe("model");
    expect(answer.items.map((i) => i.itemId)).toEqual(["c", "b", "a"]);
    expect(answer.items.map((i) => i.retrievalScore)).toEqual([1, 2, 3]);
    expect(answer.featureNames).toEqual([...RANKER_FEATURE_NAMES]);
    expect(answer.items[0]?.features?.[rankerFeatureIndex("item_log_clicks")]).toBeCloseTo(Math.log1p(9), 6);
    expect(Object.keys(answer.timings).sort()).toEqual(["assemble", "features", "model", "sort", "total"]);
  });

  it("orders by the retrieval scores, and says why, when the store fails", async () => {
    const failing: RecsFeatureStore = Object.assign(Object.create(MemoryRecsFeatureStore.prototype) as RecsFeatureStore, { config: (await store()).config, fetch: () => Promise.reject(new Error("boom")) });
    const answer = await rankCandidates(deps(failing), request, new StageTimer());
    expect(answer).toMatchObject({ rankedBy: "retrieval-score", degraded: true, degradedReason: "feature store unavailable (boom); ranked by retrieval score" });
    expect(answer.items.map((i) => i.itemId)).toEqual(["a", "b", "c"]);
  });
});
