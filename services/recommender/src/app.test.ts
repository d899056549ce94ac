import type { RecsFeatureStore } from "@mlsd/feature-store";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { createApp, type RecommenderAppDeps } from "./app";
import { ResultCache } from "./result-cache";
import { categoryOf, CLICK_TOKEN, testDeps } from "./test-fixtures";

async function setup(overrides: Partial<RecommenderAppDeps> = {}) {
  const t = await testDeps(overrides);
  return { ...t, app: createApp(t.deps) };
}

const recommend = (app: ReturnType<typeof createApp>, body: object) => request(app).post("/v1/recommendations").send(body);
const ids = (body: { items: { itemId: string }[] }) => body.items.map((i) => i.itemId);
const itemNumber = (id: string) => Number(id.slice(1));

/** The store with every read failing, as while Redis is down. */
function failingStore(store: RecsFeatureStore): RecsFeatureStore {
  return {
    config: store.config,
    fetch: async () => {
      throw new Error("Connection is closed.");
    },
    apply: (e) => store.apply(e),
    writeSnapshot: (s) => store.writeSnapshot(s),
    writeProfiles: (p) => store.writeProfiles(p),
  };
}

describe("POST /v1/recommendations: the two-stage path", () => {
  it("ranks retrieval's candidates with the ranker, leaves out what the user clicked, and logs impressions with positions", async () => {
    const { app, events, retrieval, ranker } = await setup();
    const res = await recommend(app, { userId: "u1", k: 10, context: { device: "mobile", hour: 9 } });
    expect(res.status).toBe(200);
    // The fake ranker reverses retrieval's 40 candidates (i0..i41 without the clicked i3, i7).
    expect(ids(res.body)).toEqual(["i41", "i40", "i39", "i38", "i37", "i36", "i35", "i34", "i33", "i32"]);
    expect(res.body.items.map((i: { position: number }) => i.position)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(res.body.items[0]).toMatchObject({ score: 100, category: categoryOf(41) });
    expect(res.body).toMatchObject({ userId: "u1", fallback: null, fallbackReason: null, modelVersions: { retrieval: "retrieval@tt-1", ranker: "ranker-gbdt@gbdt-7" }, arms: { retrieval: "current", ranker: "current" } });
    expect(Object.keys(res.body.timings)).toEqual(expect.arrayContaining(["validate", "user", "retrieval", "rank", "filter", "diversify", "publish", "total"]));
    // The dependencies' own stages ride along, prefixed.
    expect(res.body.timings).toMatchObject({ "retrieval.total": 0.1, "ranker.total": 0.1 });

    const call = retrieval.calls[0]!;
    expect(call.excludeItemIds).toEqual(["i7", "i3"]);
    expect(call.history).toEqual(["i7", "i3"]);
    expect(call.features).toEqual({ log_clicks: Math.log1p(2), home_category: 2, age_bucket: 3 });
    // The request's time is the service clock's: retrieval and the ranker compute item ages from it.
    expect(call.context).toEqual({ device: "mobile", hour: 9, time: "2024-01-20T10:00:30.000Z" });
    expect(ranker.calls[0]!.candidates).toHaveLength(40);
    expect(ranker.calls[0]!.candidates[0]).toEqual({ itemId: "i0", retrievalScore: 1 });

    expect(events).toHaveLength(11);
    expect(events.map((e) => e.type)).toEqual([...Array(10).fill("recs.impression"), "recs.served"]);
    const served = events[10]!;
    if (served.type !== "recs.served") throw new Error("expected the served event");
    // What was served, as served: each item with the row the ranker scored (the fake ranker's rows: retrieval score and rank).
    expect(served.payload).toMatchObject({ requestId: res.body.requestId, userId: "u1", fallback: null, userFeatures: { log_clicks: Math.log1p(2), home_category: 2, age_bucket: 3 }, arms: { retrieval: "current", ranker: "current" } });
    expect(served.payload.latencyMs).toBeGreaterThan(0);
    // Both stages get the answer's id, so a shadow challenger's predictions join it.
    expect([call.requestId, ranker.calls[0]!.requestId]).toEqual([res.body.requestId, res.body.requestId]);
    expect(served.payload.items).toHaveLength(10);
    expect(served.payload.items[0]).toEqual({ itemId: "i41", position: 0, score: 100, features: { retrieval_score: (60 - 41) / 60, rank: 0 }, applied: { i0: 100 } });
    // The log offsets the user's state had applied when this service read it, and when the ranker did.
    expect([served.payload.userApplied, served.payload.rowsUserApplied]).toEqual([{ i1: 1, c1: 1 }, { i1: 9, c1: 9 }]);
    expect(served.eventTime).toBe("2024-01-20T10:00:30.000Z");
    expect(ranker.calls[0]!.withFeatures).toBe(true);
    const first = events[0]!;
    if (first.type !== "recs.impression") throw new Error("expected an impression");
    expect(first.payload).toEqual({ requestId: res.body.requestId, userId: "u1", itemId: "i41", position: 0, modelVersions: res.body.modelVersions });
    expect(res.body.requestId).toBe(res.headers["x-request-id"]);
    expect(first.key).toBe("u1");
  });

  it("replays a model answer from the per-user result cache: no Redis, retrieval or ranker call, still logged as served", async () => {
    const { app, events, retrieval, ranker } = await setup({ resultCache: new ResultCache(60_000, 100) });
    const first = await recommend(app, { userId: "u1", k: 10 });
    const again = await recommend(app, { userId: "u1", k: 10 });
    expect(again.status).toBe(200);
    expect(ids(again.body)).toEqual(ids(first.body));
    expect(again.body).toMatchObject({ fallback: null, modelVersions: first.body.modelVersions, arms: first.body.arms });
    expect(again.body.requestId).not.toBe(first.body.requestId);
    expect(Object.keys(again.body.timings)).toEqual(expect.arrayContaining(["cache", "publish", "total"]));
    expect(again.body.timings.retrieval).toBeUndefined();
    expect([retrieval.calls.length, ranker.calls.length]).toEqual([1, 1]);
    // Served again under its own id: impressions and the served answer (without ranker rows: nothing was scored).
    const served = events.filter((e) => e.type === "recs.served");
    expect(served).toHaveLength(2);
    if (served[1]!.type !== "recs.served") throw new Error("expected the served event");
    expect(served[1]!.payload).toMatchObject({ requestId: again.body.requestId, fallback: null });
    expect(served[1]!.payload.items[0]!.features).toEqual({});
    expect(events.filter((e) => e.type === "recs.impression")).toHaveLength(20);
    // Another request shape is another entry.
    await recommend(app, { userId: "u1", k: 5 });
    expect(retrieval.calls).toHaveLength(2);
  });

  it("honours the request's exclusions on top of the seen items", async () => {
    const { app, retrieval } = await setup();
    const res = await recommend(app, { userId: "u1", k: 3, excludeItemIds: ["i41", "i40"] });
    expect(retrieval.calls[0]!.excludeItemIds).toEqual(["i41", "i40", "i7", "i3"]);
    expect(ids(res.body)).toEqual(["i43", "i42", "i39"]);
  });

  it("puts at most maxPerCategory items of one category in the answer, keeping the ranker's best on top", async () => {
    const { app, ranker } = await setup();
    // The "model" likes category 0 best: all of it first, then the rest.
    ranker.reorder = (c) => [...c.filter((x) => categoryOf(itemNumber(x.itemId)) === 0), ...c.filter((x) => categoryOf(itemNumber(x.itemId)) !== 0)];
    const res = await recommend(app, { userId: "u1", k: 10 });
    expect(ids(res.body).slice(0, 3)).toEqual(["i0", "i4", "i8"]);
    const categories = res.body.items.map((i: { category: number }) => i.category);
    expect(categories.filter((c: number) => c === 0)).toHaveLength(3);
    expect(res.body.items).toHaveLength(10);
    for (const c of [1, 2, 3]) expect(categories.filter((x: number) => x === c).length).toBeLessThanOrEqual(3);
  });
});

describe("POST /v1/recommendations: cold start", () => {
  it("answers a user without clicks from popularity blended with their home category, without calling retrieval", async () => {
    const { app, retrieval, events } = await setup();
    const res = await recommend(app, { userId: "u-new", k: 5 });
    expect(res.status).toBe(200);
    expect(res.body.fallback).toBe("cold-start");
    expect(res.body.fallbackReason).toBe("user without clicks: popularity in category 3 blended with overall popularity");
    // Category 3's best (i3) first, then the overall head.
    expect(ids(res.body)[0]).toBe("i3");
    expect(res.body.items.filter((i: { category: number }) => i.category === 3).length).toBeGreaterThanOrEqual(2);
    expect(res.body.modelVersions).toEqual({ popularity: "recs-popularity@pop-1" });
    expect(retrieval.calls).toHaveLength(0);
    expect(events.map((e) => e.type)).toEqual([...Array(5).fill("recs.impression"), "recs.served"]);
    const served = events[5]!;
    if (served.type !== "recs.served") throw new Error("expected the served event");
    expect(served.payload).toMatchObject({ fallback: "cold-start", items: expect.arrayContaining([expect.objectContaining({ features: {} })]) });
  });

  it("uses the context's category for a user nobody knows, and overall popularity without one", async () => {
    const { app } = await setup();
    const withCategory = await recommend(app, { userId: "stranger", k: 4, context: { category: 1 } });
    expect(withCategory.body.fallback).toBe("cold-start");
    expect(withCategory.body.fallbackReason).toBe("unknown user: popularity in category 1 blended with overall popularity");
    expect(ids(withCategory.body)[0]).toBe("i1");
    const without = await recommend(app, { userId: "stranger", k: 4 });
    expect(without.body.fallbackReason).toBe("unknown user: overall popularity");
    expect(ids(without.body)).toEqual(["i0", "i1", "i2", "i3"]);
  });
});

describe("POST /v1/recommendations: fallbacks when a dependency fails", () => {
  it("Redis down: popularity, with the reason, and no seen-item filter", async () => {
    const t = await testDeps();
    const app = createApp({ ...t.deps, features: failingStore(t.features) });
    const res = await recommend(app, { userId: "u1", k: 5 });
    expect(res.status).toBe(200);
    expect(res.body.fallback).toBe("popularity");
    expect(res.body.fallbackReason).toBe("redis: Connection is closed.; the seen-item filter is off");
    expect(ids(res.body)).toEqual(["i0", "i1", "i2", "i3", "i4"]);
    expect(t.retrieval.calls).toHaveLength(0);
    const inCategory = await recommend(app, { userId: "u1", k: 5, context: { category: 2 } });
    expect(inCategory.body.fallback).toBe("popularity-category");
    expect(ids(inCategory.body).slice(0, 3)).toEqual(["i2", "i6", "i10"]);
  });

  it("retrieval down: popularity in the user's home category, seen items still filtered", async () => {
    const { app, retrieval, ranker } = await setup();
    retrieval.behaviour = "fail";
    const res = await recommend(app, { userId: "u1", k: 10 });
    expect(res.body.fallback).toBe("popularity-category");
    expect(res.body.fallbackReason).toBe("retrieval: connect ECONNREFUSED 127.0.0.1:8082");
    expect(ids(res.body).slice(0, 3)).toEqual(["i2", "i6", "i10"]);
    expect(ids(res.body)).not.toContain("i3");
    expect(ids(res.body)).not.toContain("i7");
    expect(ranker.calls).toHaveLength(0);
  });

  it("retrieval hanging: answers at its deadline, then stops calling once the breaker opens", async () => {
    const { app, retrieval } = await setup();
    retrieval.behaviour = "hang";
    for (let i = 0; i < 3; i++) {
      const res = await recommend(app, { userId: "u1", k: 5 });
      expect(res.body.fallback).toBe("popularity-category");
      expect(res.body.fallbackReason).toMatch(/^retrieval: no answer within \d+ ms$/);
      expect(res.body.timings.retrieval).toBeGreaterThanOrEqual(45);
      expect(res.body.timings.retrieval).toBeLessThan(400);
    }
    const open = await recommend(app, { userId: "u1", k: 5 });
    expect(open.body.fallbackReason).toBe("retrieval: circuit open after repeated failures");
    expect(retrieval.calls).toHaveLength(3);
  });

  it("ranker down: retrieval order, with the reason and without a ranker version", async () => {
    const { app, ranker } = await setup();
    ranker.behaviour = "fail";
    const res = await recommend(app, { userId: "u1", k: 5 });
    expect(res.body.fallback).toBe("retrieval-order");
    expect(res.body.fallbackReason).toBe("ranker: answered 503 UNAVAILABLE no ranker model loaded");
    expect(ids(res.body)).toEqual(["i0", "i1", "i2", "i4", "i5"]);
    expect(res.body.modelVersions).toEqual({ retrieval: "retrieval@tt-1" });
  });

  it("ranker degraded (its own Redis failed): retrieval order, with the ranker's reason", async () => {
    const { app, ranker } = await setup();
    ranker.behaviour = "degraded";
    const res = await recommend(app, { userId: "u1", k: 3 });
    expect(res.body.fallback).toBe("retrieval-order");
    expect(res.body.fallbackReason).toBe("ranker: feature store did not answer within 5 ms; ranked by retrieval score");
    expect(res.body.modelVersions.ranker).toBe("ranker-gbdt@gbdt-7");
  });

  it("candidates without categories only switch diversity off: the ranker's order stands", async () => {
    const { app, ranker, retrieval } = await setup();
    retrieval.withCategories = false;
    ranker.reorder = (c) => [...c.filter((x) => categoryOf(itemNumber(x.itemId)) === 0), ...c.filter((x) => categoryOf(itemNumber(x.itemId)) !== 0)];
    const res = await recommend(app, { userId: "u1", k: 5 });
    expect(res.body.fallback).toBeNull();
    expect(ids(res.body)).toEqual(["i0", "i4", "i8", "i12", "i16"]);
    expect(res.body.items.every((i: { category: number | null }) => i.category === null)).toBe(true);
  });
});

describe("POST /v1/recommendations: bad input", () => {
  it.each([
    ["an unknown field", { userId: "u1", k: 5, debug: true }, "debug"],
    ["k of 0", { userId: "u1", k: 0 }, "k"],
    ["k of 101", { userId: "u1", k: 101 }, "k"],
    ["k as a string", { userId: "u1", k: "10" }, "k"],
    ["a missing user id", { k: 5 }, "userId"],
    ["a negative category", { userId: "u1", context: { category: -1 } }, "context.category"],
    ["an unknown context field", { userId: "u1", context: { page: "home" } }, "context.page"],
    ["an unknown device", { userId: "u1", context: { device: "tv" } }, "context.device"],
    ["exclusions that are not ids", { userId: "u1", excludeItemIds: [1, 2] }, "excludeItemIds.0"],
  ])("refuses %s with a 400 naming the field", async (_name, body, field) => {
    const { app, events, retrieval } = await setup();
    const res = await recommend(app, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(events).toHaveLength(0);
    expect(retrieval.calls).toHaveLength(0);
  });
});

describe("POST /v1/events/click", () => {
  it("publishes the click and adds the item to the user's history, so the next answer leaves it out", async () => {
    const { app, events, retrieval, history } = await setup();
    const first = await recommend(app, { userId: "u1", k: 3 });
    const clicked = first.body.items[1];
    const click0 = { requestId: first.body.requestId, userId: "u1", itemId: clicked.itemId, position: clicked.position, time: "2024-01-20T10:00:00Z" };
    expect((await request(app).post("/v1/events/click").send(click0)).status).toBe(401);
    const res = await request(app).post("/v1/events/click").set("authorization", `Bearer ${CLICK_TOKEN}`).send(click0);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: true, historyUpdated: true });
    const click = events.at(-1)!;
    expect(click).toMatchObject({ type: "recs.click", eventTime: "2024-01-20T10:00:00.000Z", payload: { requestId: first.body.requestId, userId: "u1", itemId: "i40", position: 1 } });
    expect(res.body.eventId).toBe(click.eventId);
    expect(await history.read("u1", 3)).toEqual(["i40", "i7", "i3"]);
    await recommend(app, { userId: "u1", k: 3 });
    expect(retrieval.calls[1]!.excludeItemIds).toEqual(["i40", "i7", "i3"]);
  });

  it("refuses a position outside the response and unknown fields, naming them", async () => {
    const { app, events } = await setup();
    const res = await request(app).post("/v1/events/click").set("authorization", `Bearer ${CLICK_TOKEN}`).send({ requestId: "r1", userId: "u1", itemId: "i1", position: 100, extra: 1 });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(["extra", "position"]);
    expect(events).toHaveLength(0);
  });

  it("still accepts a checked click when the history write fails: the event carries it", async () => {
    const t = await testDeps();
    const app = createApp({ ...t.deps, history: { ...t.history, read: t.history.read.bind(t.history), replace: t.history.replace.bind(t.history), append: async () => Promise.reject(new Error("Connection is closed.")) } });
    const answer = await recommend(app, { userId: "u1", k: 3 });
    t.events.length = 0;
    const item = answer.body.items[0];
    const res = await request(app).post("/v1/events/click").set("authorization", `Bearer ${CLICK_TOKEN}`).send({ requestId: answer.body.requestId, userId: "u1", itemId: item.itemId, position: 0 });
    expect(res.status).toBe(202);
    expect(res.body.historyUpdated).toBe(false);
    expect(t.events.map((e) => e.type)).toEqual(["recs.click"]);
  });

  it("refuses a click on an answer never served to that user (404), an item not in it or at another position (400), a time in the future (400)", async () => {
    const { app, events } = await setup();
    const answer = await recommend(app, { userId: "u1", k: 3 });
    events.length = 0;
    const post = (body: object) => request(app).post("/v1/events/click").set("authorization", `Bearer ${CLICK_TOKEN}`).send(body);
    const item = answer.body.items[1];
    const base = { requestId: answer.body.requestId, userId: "u1", itemId: item.itemId, position: 1 };
    const otherUser = await post({ ...base, userId: "u2" });
    expect(otherUser.status).toBe(404);
    expect(otherUser.body.error.details).toEqual([{ field: "requestId", message: "unknown answer for this user" }]);
    expect((await post({ ...base, requestId: "made-up" })).status).toBe(404);
    const notServed = await post({ ...base, itemId: "i999" });
    expect(notServed.status).toBe(400);
    expect(notServed.body.error.details).toEqual([{ field: "itemId", message: "was not in that answer" }]);
    const moved = await post({ ...base, position: 2 });
    expect(moved.status).toBe(400);
    expect(moved.body.error.details).toEqual([{ field: "position", message: "the item was at position 1" }]);
    const future = await post({ ...base, time: "2030-01-01T00:00:00Z" });
    expect(future.status).toBe(400);
    expect(future.body.error.details[0].field).toBe("time");
    expect(events).toHaveLength(0);
  });

  it("answers 503 when it cannot check the click, and publishes nothing", async () => {
    const t = await testDeps({ served: { record: async () => undefined, find: async () => Promise.reject(new Error("Connection is closed.")) } });
    const app = createApp(t.deps);
    const res = await request(app).post("/v1/events/click").set("authorization", `Bearer ${CLICK_TOKEN}`).send({ requestId: "r1", userId: "u1", itemId: "i1", position: 0 });
    expect(res.status).toBe(503);
    expect(res.headers["retry-after"]).toBeDefined();
    expect(t.events).toHaveLength(0);
  });
});

describe("GET /v1/model", () => {
  it("names the popularity lists in service", async () => {
    const { app } = await setup();
    const res = await request(app).get("/v1/model");
    expect(res.body.popularity).toMatchObject({ version: "pop-1", items: 60, description: "test popularity" });
  });
});
