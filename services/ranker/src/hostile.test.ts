import { MemoryRecsFeatureStore } from "@mlsd/feature-store";
import { ModelArms } from "@mlsd/model-arms";
import { CircuitBreaker, createLogger, createMetrics, Readiness, TokenAuthenticator } from "@mlsd/service-kit";
import { runHostileSuite } from "@mlsd/service-kit/testing";
import { describe, expect, it } from "vitest";
import { createApp } from "./app";
import { GbdtRankerModel, type RankerModel } from "@mlsd/ranking";
import { trainTinyRanker } from "./test-fixtures";

describe("hostile input on every ranker route", () => {
  it("answers every wrong request with a 4xx naming the field, never a 5xx, never a hang", async () => {
    const model = new GbdtRankerModel(trainTinyRanker(), "tiny@1", "test");
    const app = createApp({
      logger: createLogger({ service: "ranker", level: "silent" }),
      metrics: createMetrics("ranker", { defaultMetrics: false }),
      readiness: new Readiness(),
      auth: new TokenAuthenticator({ admin: "ranker-admin-token-0123" }),
      store: new MemoryRecsFeatureStore(),
      storeBreaker: new CircuitBreaker("redis", { failureRate: 0.5, minimumCalls: 10, windowSize: 50, cooldownMs: 1_000 }),
      featureDeadlineMs: 200,
      model: () => model,
      arms: new ModelArms<RankerModel>({ model: "ranker-gbdt", load: () => model, currentAlias: "current", logger: createLogger({ service: "ranker", level: "silent" }), initial: model }),
    });
    const route = (method: string, path: string) => app.routes.find((r) => r.method === method && r.path === path)!;
    const candidates = [
      { itemId: "i1", retrievalScore: 0.5 },
      { itemId: "i2", retrievalScore: 0.2 },
    ];
    const { problems } = await runHostileSuite(app, [
      { route: route("POST", "/v1/rank"), validBody: { userId: "u1", candidates, k: 2, context: { device: "mobile", hour: 3 } } },
      { route: route("POST", "/v1/model/reload"), headers: { authorization: "Bearer ranker-admin-token-0123" } },
      { route: route("GET", "/v1/model") },
    ]);
    expect(problems).toEqual([]);
  });
});
