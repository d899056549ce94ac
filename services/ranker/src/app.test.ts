import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEFAULT_RECS_FEATURE_CONFIG, MemoryRecsFeatureStore, RANKER_FEATURE_COUNT, RANKER_FEATURE_NAMES, rankerFeatureIndex, rankerFeatureSchemaHash, type RankerFeatureName, type RecsFeatureStore } from "@mlsd/feature-store";
import { ModelArms } from "@mlsd/model-arms";
import { ModelRegistry } from "@mlsd/model-registry";
import { CircuitBreaker, createLogger, createMetrics, Readiness, TokenAuthenticator } from "@mlsd/service-kit";
import request from "supertest";
import { afterAll, describe, expect, it } from "vitest";
import { createApp, type RankerAppDeps } from "./app";
import { createRankerMetrics } from "./metrics";
import { RANKER_MODEL_NAME } from "@mlsd/model-formats/ranker";
import { GbdtRankerModel, loadRankerModel, type RankerModel } from "@mlsd/ranking";
import { publishTinyRanker, trainTinyRanker } from "./test-fixtures";

const T0 = Date.UTC(2024, 0, 10, 12);
const DAY = 86_400_000;
const ADMIN_TOKEN = "ranker-admin-token-0123";

/** Scores 2 x home-category match + log clicks, and keeps the rows it saw. */
class LinearModel implements RankerModel {
  readonly version = "linear@1";
  readonly featureSchemaHash = rankerFeatureSchemaHash();
  readonly featureNames = RANKER_FEATURE_NAMES;
  readonly objective = "test";
  readonly trees = 0;
  lastRows: Float64Array = new Float64Array(0);

  score(rows: Float64Array, numRows: number): Float64Array {
    this.lastRows = rows.slice();
    const home = rankerFeatureIndex("user_home_category_match");
    const clicks = rankerFeatureIndex("item_log_clicks");
    return Float64Array.from({ length: numRows }, (_, r) => {
      const match = rows[r * RANKER_FEATURE_COUNT + home] as number;
      return 2 * (Number.isNaN(match) ? 0 : match) + (rows[r * RANKER_FEATURE_COUNT + clicks] as number);
    });
  }

  feature(row: number, name: RankerFeatureName): number {
    return this.lastRows[row * RANKER_FEATURE_COUNT + rankerFeatureIndex(name)] as number;
  }
}

async function seededStore(): Promise<MemoryRecsFeatureStore> {
  const store = new MemoryRecsFeatureStore();
  await store.writeProfiles({
    users: [["alice", { signupMs: T0 - 30 * DAY, homeCategory: 2, ageBucket: 1 }]],
    items: [
      ["home-new", { category: 2, tags: [1], releaseMs: T0 - DAY }],
      ["popular", { category: 5, tags: [2], releaseMs: T0 - 100 * DAY }],
      ["niche", { category: 7, tags: [3], releaseMs: T0 - 10 * DAY }],
    ],
  });
  const clicks = (itemId: string, n: number) =>
    Array.from({ length: n }, (_, k) => ({ kind: "click" as const, eventId: `${itemId}-${k}`, userId: `other-${k}`, itemId, position: 0, timeMs: T0 - DAY }));
  // Consumed from two partitions of the clicks topic, in offset order.
  await store.apply([...clicks("popular", 20), ...clicks("niche", 2)].map((e, k) => ({ ...e, source: { partition: k % 2, offset: k } })));
  return store;
}

function baseDeps(overrides: Partial<RankerAppDeps> = {}): RankerAppDeps {
  return {
    logger: createLogger({ service: "ranker", level: "silent" }),
    metrics: createMetrics("ranker", { defaultMetrics: false }),
    readiness: new Readiness(),
    auth: new TokenAuthenticator({ admin: ADMIN_TOKEN }),
    store: new MemoryRecsFeatureStore(),
    storeBreaker: new CircuitBreaker("redis", { failureRate: 1, minimumCalls: 3, windowSize: 3, cooldownMs: 60_000 }),
    featureDeadlineMs: 200,
    model: () => new LinearModel(),
    now: () => T0,
    ...overrides,
  };
}

function harness(options: { store?: RecsFeatureStore; breaker?: CircuitBreaker; deadlineMs?: number } = {}) {
  const model = new LinearModel();
  const inner = options.store ?? new MemoryRecsFeatureStore();
  let fetches = 0;
  const store: RecsFeatureStore = {
    get config() {
      return inner.config;
    },
    fetch: (u, i) => {
      fetches++;
      return inner.fetch(u, i);
    },
    apply: (e) => inner.apply(e),
    writeSnapshot: (s) => inner.writeSnapshot(s),
    writeProfiles: (p) => inner.writeProfiles(p),
  };
  const deps = baseDeps({
    store,
    model: () => model,
    ...(options.breaker ? { storeBreaker: options.breaker } : {}),
    ...(options.deadlineMs ? { featureDeadlineMs: options.deadlineMs } : {}),
  });
  const counters = createRankerMetrics(deps.metrics.registry);
  deps.onDegraded = (reason) => counters.degraded.inc({ reason });
  deps.onUnknownItems = (n) => counters.unknownItems.inc(n);
  return { app: createApp(deps), model, metrics: deps.metrics, readiness: deps.readiness, fetches: () => fetches };
}

const candidates = [
  { itemId: "niche", retrievalScore: 0.9 },
  { itemId: "popular", retrievalScore: 0.1 },
  { itemId: "home-new", retrievalScore: 0.5 },
  { itemId: "mystery", retrievalScore: 0.7 },
];

describe("POST /v1/rank", () => {
  it("ranks by the model over features from the store, with timings and the model version", async () => {
    const { app, model } = harness({ store: await seededStore() });
    const res = await request(app).post("/v1/rank").send({ userId: "alice", candidates, context: { device: "tablet", hour: 21 } });
    expect(res.status).toBe(200);
    // popular: log(21) = 3.04; home-new: 2 (home category); niche: log(3) = 1.10; mystery: unknown, 0.
    expect(res.body.items.map((i: { itemId: string }) => i.itemId)).toEqual(["popular", "home-new", "niche", "mystery"]);
    expect(res.body.items[0].score).toBeCloseTo(Math.log(21), 12);
    expect(res.body.items[0].retrievalScore).toBe(0.1);
    expect(res.body).toMatchObject({ userId: "alice", rankedBy: "model", modelVersion: "linear@1", degraded: false, degradedReason: null, unknownItems: 1, unknownUser: false });
    for (const stage of ["validate", "features", "assemble", "model", "total"]) expect(res.body.timings[stage]).toBeGreaterThanOrEqual(0);
    // The rows the model saw: request context and request time reached the features.
    const m = model as LinearModel;
    expect(m.feature(0, "retrieval_score")).toBe(0.9);
    expect(m.feature(0, "context_hour")).toBe(21);
    expect(m.feature(0, "context_device")).toBe(2);
    expect(m.feature(2, "item_age_days")).toBe(1);
    expect(m.feature(3, "item_category")).toBeNaN();
    expect(m.feature(1, "user_days_since_signup")).toBe(30);
  });

  it("returns the top k (10 by default), and takes the request's own time for freshness", async () => {
    const { app, model } = harness({ store: await seededStore() });
    const many = Array.from({ length: 30 }, (_, i) => ({ itemId: `x${i}`, retrievalScore: i }));
    const byDefault = await request(app).post("/v1/rank").send({ userId: "alice", candidates: many });
    expect(byDefault.body.items).toHaveLength(10);
    // Unknown items tie on the model score; the better retrieval score goes first.
    expect(byDefault.body.items[0].itemId).toBe("x29");
    const two = await request(app)
      .post("/v1/rank")
      .send({ userId: "alice", candidates, k: 2, context: { time: new Date(T0 + 9 * DAY).toISOString() } });
    expect(two.body.items).toHaveLength(2);
    expect((model as LinearModel).feature(2, "item_age_days")).toBe(10);
    const all = await request(app).post("/v1/rank").send({ userId: "alice", candidates, k: 100 });
    expect(all.body.items).toHaveLength(4);
  });

  it("ranks an unknown user with default features and says so", async () => {
    const { app } = harness({ store: await seededStore() });
    const res = await request(app).post("/v1/rank").send({ userId: "bob", candidates });
    expect(res.status).toBe(200);
    expect(res.body.unknownUser).toBe(true);
    // Without a profile there is no home-category match: popularity alone orders the known items.
    expect(res.body.items.map((i: { itemId: string }) => i.itemId)).toEqual(["popular", "niche", "mystery", "home-new"]);
  });

  it("falls back to the retrieval order when the store fails, says why, and counts it", async () => {
    const broken = new MemoryRecsFeatureStore();
    broken.fetch = async () => {
      throw new Error("connection refused");
    };
    const { app, metrics } = harness({ store: broken });
    const res = await request(app).post("/v1/rank").send({ userId: "alice", candidates, k: 3 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rankedBy: "retrieval-score", degraded: true, unknownItems: 0 });
    expect(res.body.degradedReason).toMatch(/feature store unavailable \(connection refused\)/);
    expect(res.body.items).toEqual([
      { itemId: "niche", score: 0.9, retrievalScore: 0.9 },
      { itemId: "mystery", score: 0.7, retrievalScore: 0.7 },
      { itemId: "home-new", score: 0.5, retrievalScore: 0.5 },
    ]);
    expect(await metrics.registry.getSingleMetricAsString("ranker_degraded_total")).toMatch(/ranker_degraded_total\{reason="error",service="ranker"\} 1/);
  });

  it("gives Redis a deadline, then opens the circuit and stops asking", async () => {
    const slow = new MemoryRecsFeatureStore();
    slow.fetch = () => new Promise(() => {});
    const { app, fetches } = harness({ store: slow, deadlineMs: 5, breaker: new CircuitBreaker("redis", { failureRate: 1, minimumCalls: 2, windowSize: 2, cooldownMs: 60_000 }) });
    const first = await request(app).post("/v1/rank").send({ userId: "alice", candidates });
    expect(first.body.degradedReason).toMatch(/did not answer within 5 ms/);
    await request(app).post("/v1/rank").send({ userId: "alice", candidates });
    const third = await request(app).post("/v1/rank").send({ userId: "alice", candidates });
    expect(third.body.degradedReason).toMatch(/circuit open/);
    expect(third.body.timings.features).toBeUndefined();
    expect(fetches()).toBe(2);
  });

  it("answers 400 naming the field: unknown fields, wrong types, too many candidates, duplicates, bad k", async () => {
    const { app } = harness();
    const fieldsOf = async (body: unknown) => {
      const res = await request(app).post("/v1/rank").send(body as object);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
      return (res.body.error.details as { field: string }[]).map((d) => d.field);
    };
    expect(await fieldsOf({ userId: "alice", candidates, limit: 5 })).toEqual(["limit"]);
    expect(await fieldsOf({ userId: "alice", candidates: [{ itemId: "a", retrievalScore: "0.3" }] })).toEqual(["candidates.0.retrievalScore"]);
    expect(await fieldsOf({ userId: "alice", candidates: [{ itemId: "a", retrievalScore: 1, position: 3 }] })).toEqual(["candidates.0.position"]);
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ itemId: `i${i}`, retrievalScore: 0 }));
    expect(await fieldsOf({ userId: "alice", candidates: tooMany })).toEqual(["candidates"]);
    expect(await fieldsOf({ userId: "alice", candidates: [...candidates, candidates[0]] })).toEqual(["candidates.4.itemId"]);
    expect(await fieldsOf({ userId: "alice", candidates, k: 0 })).toEqual(["k"]);
    expect(await fieldsOf({ candidates, context: { device: "fridge" } })).toEqual(["userId", "context.device"]);
    const notJson = await request(app).post("/v1/rank").set("content-type", "application/json").send("{");
    expect(notJson.body.error.code).toBe("MALFORMED_JSON");
  });

  it("returns the scored feature rows of the returned items when asked (what the recommender logs as served)", async () => {
    const { app, model } = harness({ store: await seededStore() });
    const plain = await request(app).post("/v1/rank").send({ userId: "alice", candidates });
    expect(plain.body.featureNames).toBeUndefined();
    expect(plain.body.items[0].features).toBeUndefined();
    const res = await request(app).post("/v1/rank").send({ userId: "alice", candidates, withFeatures: true });
    expect(res.body.featureNames).toEqual([...RANKER_FEATURE_NAMES]);
    for (const item of res.body.items as { itemId: string; features: (number | null)[] }[]) {
      const row = candidates.findIndex((c) => c.itemId === item.itemId);
      expect(item.features).toHaveLength(RANKER_FEATURE_COUNT);
      expect(item.features[rankerFeatureIndex("item_log_clicks")]).toBe(model.feature(row, "item_log_clicks"));
      expect(item.features[rankerFeatureIndex("retrieval_score")]).toBe(candidates[row]!.retrievalScore);
    }
    // With the rows, the log offsets each state had applied.
    const applied = Object.fromEntries((res.body.items as { itemId: string; applied: unknown }[]).map((i) => [i.itemId, i.applied]));
    expect(applied).toMatchObject({ popular: { c0: 18, c1: 19 }, niche: { c0: 20, c1: 21 }, "home-new": {} });
    expect(res.body.userApplied).toEqual({});
    expect(plain.body.userApplied).toBeUndefined();
  });

  it("takes 1,000 candidates", async () => {
    const { app } = harness({ store: await seededStore() });
    const thousand = Array.from({ length: 1000 }, (_, i) => ({ itemId: `item-${i}`, retrievalScore: Math.sin(i) }));
    const res = await request(app).post("/v1/rank").send({ userId: "alice", candidates: thousand, k: 100 });
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(100);
    expect(res.body.unknownItems).toBe(1000);
  });
});

describe("model endpoints and readiness", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ranker-app-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("describes the model, reloads it from the registry, and keeps the old one when a reload fails", async () => {
    const registryDir = path.join(tmp, "registry");
    const first = await publishTinyRanker(registryDir);
    let failNext = false;
    const arms = new ModelArms<RankerModel>({
      model: RANKER_MODEL_NAME,
      load: (ref) => {
        if (failNext) throw new Error("registry unreachable");
        return loadRankerModel(new ModelRegistry(registryDir), ref);
      },
      currentAlias: "current",
      logger: createLogger({ service: "ranker", level: "silent" }),
    });
    await arms.loadCurrent();
    const app = createApp(baseDeps({ model: () => arms.current(), route: (u) => arms.route(u), arms }));
    const described = await request(app).get("/v1/model");
    expect(described.body).toMatchObject({ name: RANKER_MODEL_NAME, version: first.manifest.version, featureSchemaHash: rankerFeatureSchemaHash(), objective: "binary", trees: 15 });
    expect(described.body.features).toEqual([...RANKER_FEATURE_NAMES]);

    const second = await publishTinyRanker(registryDir);
    expect((await request(app).post("/v1/model/reload")).status).toBe(401);
    expect((await request(app).post("/v1/model/reload").set("authorization", `Bearer ${ADMIN_TOKEN}`)).body).toEqual({ version: second.manifest.version, challenger: null });
    expect((await request(app).get("/v1/model")).body.version).toBe(second.manifest.version);
    failNext = true;
    const failed = await request(app).post("/v1/model/reload").set("authorization", `Bearer ${ADMIN_TOKEN}`);
    expect(failed.status).toBe(409);
    expect(failed.body.error.message).toMatch(/reload failed: registry unreachable/);
    expect((await request(app).get("/v1/model")).body.version).toBe(second.manifest.version);
  });

  it("refuses a model built for another feature schema or with other feature names", async () => {
    const registryDir = path.join(tmp, "mismatch");
    await publishTinyRanker(registryDir, trainTinyRanker(), { ...DEFAULT_RECS_FEATURE_CONFIG, recentClicks: 7 });
    expect(() => loadRankerModel(new ModelRegistry(registryDir), "current")).toThrow(/trained on feature schema/);
    const tiny = trainTinyRanker();
    const renamed = Object.assign(Object.create(Object.getPrototypeOf(tiny)), tiny, { featureNames: ["a", ...tiny.featureNames.slice(1)] });
    expect(() => new GbdtRankerModel(renamed, "v", "h")).toThrow(/has features \[a, /);
  });

  it("is ready only when its checks are, and exposes stage histograms", async () => {
    const { app, readiness } = harness({ store: await seededStore() });
    readiness.set("model", true);
    readiness.set("redis", false, "connecting");
    expect((await request(app).get("/readyz")).status).toBe(503);
    readiness.set("redis", true);
    expect((await request(app).get("/readyz")).status).toBe(200);
    await request(app).post("/v1/rank").send({ userId: "alice", candidates });
    const metrics = await request(app).get("/metrics");
    expect(metrics.text).toMatch(/ranker_stage_duration_seconds_count\{service="ranker",stage="features"\} 1/);
    expect(metrics.text).toMatch(/ranker_unknown_items_total\{service="ranker"\} 1/);
  });
});
