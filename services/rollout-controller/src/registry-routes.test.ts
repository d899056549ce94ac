import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN, closedUrl, registryFixture, reloadServer, VIEWER, type ReloadServer } from "./test-fixtures";

const admin = { authorization: `Bearer ${ADMIN}` };
let servers: ReloadServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

describe("registry admin API: who may move aliases", () => {
  it("answers 401 without a token or with an unknown one, 403 to a token of another role, 400 naming reason when it is missing", async () => {
    const { app, admin: registryAdmin } = await registryFixture();
    const promote = () => request(app).post("/v1/models/fraud-gbdt/promote");
    const none = await promote().send({ reason: "better cost" }).expect(401);
    expect(none.body.error.code).toBe("UNAUTHORIZED");
    await promote().set("authorization", "Bearer not-a-token-at-all").send({ reason: "better cost" }).expect(401);
    const viewer = await promote().set("authorization", `Bearer ${VIEWER}`).send({ reason: "better cost" }).expect(403);
    expect(viewer.body.error.message).toBe("a viewer token may not call a admin route");
    const missing = await promote().set(admin).send({ from: "f2" }).expect(400);
    expect(missing.body.error).toMatchObject({ code: "VALIDATION_FAILED", message: "invalid request body: reason", details: [{ field: "reason", message: "Required" }] });
    const short = await request(app).post("/v1/models/fraud-gbdt/rollback").set(admin).send({ reason: " " }).expect(400);
    expect(short.body.error.details).toEqual([{ field: "reason", message: "say why the alias moves (at least 3 characters)" }]);
    // Nothing moved.
    expect(registryAdmin.registry.aliases("fraud-gbdt")).toEqual({ current: "f1", candidate: "f2" });
    expect(registryAdmin.registry.history("fraud-gbdt").map((m) => m.by)).toEqual(["fixture", "fixture"]);
  });

  it("answers 404 for a model the registry does not hold, on reads and moves", async () => {
    const { app } = await registryFixture();
    const read = await request(app).get("/v1/models/ads-ranker").expect(404);
    expect(read.body.error.message).toBe("no model ads-ranker in the registry (known: fraud-gbdt, ranker-gbdt, retrieval)");
    await request(app).get("/v1/models/ads-ranker/history").expect(404);
    await request(app).post("/v1/models/ads-ranker/promote").set(admin).send({ reason: "why not" }).expect(404);
    const bad = await request(app).get("/v1/models/..%2Fetc").expect(400);
    expect(bad.body.error.details).toEqual([{ field: "model", message: "not a model name" }]);
  });
});

describe("registry admin API: moves", () => {
  it("promotes, records who and why, publishes the move, counts it and has the model's services reload with the admin token", async () => {
    const service = await reloadServer();
    servers.push(service);
    const nobody = await closedUrl();
    const { app, admin: registryAdmin, events, metrics } = await registryFixture([service.url, nobody]);
    const res = await request(app).post("/v1/models/fraud-gbdt/promote").set(admin).send({ reason: "cost 9120 vs 9800 on the same rows", actor: "alice" }).expect(200);

    expect(registryAdmin.registry.aliases("fraud-gbdt")).toEqual({ current: "f2", previous: "f1" });
    expect(res.body).toMatchObject({ model: "fraud-gbdt", version: "f2", compatibility: { ok: true, reasons: [], notes: [] } });
    expect(res.body.moves.map((m: { alias: string; from: string; to: string; by: string; action: string }) => [m.alias, m.from, m.to, m.by, m.action])).toEqual([
      ["previous", null, "f1", "admin:alice", "promote"],
      ["current", "f1", "f2", "admin:alice", "promote"],
      ["candidate", "f2", null, "admin:alice", "promote"],
    ]);
    expect(service.calls).toEqual([{ method: "POST", path: "/v1/model/reload", auth: `Bearer ${ADMIN}`, body: "" }]);
    expect(res.body.reloads).toEqual([
      { url: service.url, ok: true, status: 200, body: { version: "reloaded" }, ms: expect.any(Number) },
      { url: nobody, ok: false, status: null, body: "fetch failed (ECONNREFUSED)", ms: expect.any(Number) },
    ]);

    const published = events.ofType("ml.model-alias-moved").map((e) => e.payload);
    expect(published).toEqual(res.body.moves);
    expect(registryAdmin.registry.history("fraud-gbdt").slice(-3)).toEqual(res.body.moves);
    const exposition = await metrics.registry.metrics();
    expect(exposition).toContain('rollout_controller_registry_alias_moves_total{model="fraud-gbdt",alias="current",action="promote",service="rollout-controller"} 1');
    expect(exposition).toContain('rollout_controller_registry_alias_moves_total{model="fraud-gbdt",alias="candidate",action="promote",service="rollout-controller"} 1');

    const history = await request(app).get("/v1/models/fraud-gbdt/history?limit=2").expect(200);
    expect(history.body.moves.map((m: { alias: string }) => m.alias)).toEqual(["current", "candidate"]);
    const back = await request(app).post("/v1/models/fraud-gbdt/rollback").set(admin).send({ reason: "decline rate doubled" }).expect(200);
    expect(back.body.moves.map((m: { alias: string; to: string; by: string }) => [m.alias, m.to, m.by])).toEqual([
      ["current", "f1", "admin"],
      ["previous", "f2", "admin"],
    ]);
    expect(service.calls).toHaveLength(2);
  });

  it("refuses what the registry refuses with 409 and its reason: an incompatible ranker (unless forced), a candidate built for other features", async () => {
    const { app, admin: registryAdmin } = await registryFixture();
    const ranker = await request(app).post("/v1/models/ranker-gbdt/promote").set(admin).send({ reason: "NDCG up" }).expect(409);
    expect(ranker.body.error.details).toEqual({ registryCode: "INCOMPATIBLE", reasons: ['ranker-gbdt@k2 was trained on the scores of retrieval r2, not r1 (under "current")'] });
    const retrieval = await request(app).post("/v1/models/retrieval/promote").set(admin).send({ from: "r2", reason: "new towers" }).expect(409);
    expect(retrieval.body.error.details.reasons).toEqual(['ranker-gbdt@k1 was trained on the scores of retrieval r1, not r2 (under "current")']);
    const fraud = await request(app).post("/v1/models/fraud-gbdt/promote").set(admin).send({ from: "f3", reason: "try it" }).expect(409);
    expect(fraud.body.error.message).toMatch(/f3 was trained on feature schema other-features; serving computes/);
    expect(registryAdmin.registry.aliases("ranker-gbdt").current).toBe("k1");

    const forced = await request(app).post("/v1/models/ranker-gbdt/promote").set(admin).send({ reason: "r2 goes live in an hour", force: true }).expect(200);
    expect(forced.body.compatibility.ok).toBe(false);
    expect(forced.body.moves.find((m: { alias: string }) => m.alias === "current").overrodeChecks).toEqual(['ranker-gbdt@k2 was trained on the scores of retrieval r2, not r1 (under "current")']);
  });

  it("pins and unpins, sets named arms, and keeps current and previous to promote, rollback and pin", async () => {
    const { app, admin: registryAdmin } = await registryFixture();
    const pinned = await request(app).post("/v1/models/fraud-gbdt/pin").set(admin).send({ alias: "current", reason: "audit", actor: "bob" }).expect(200);
    expect(pinned.body.moves).toEqual([expect.objectContaining({ alias: "current", from: "f1", to: "f1", action: "pin", by: "admin:bob" })]);
    expect(registryAdmin.registry.pins("fraud-gbdt").current).toMatchObject({ by: "admin:bob", reason: "audit" });
    // The pin holds automatic moves off (the controllers' path); an operator's promotion goes through and says so.
    expect(() => registryAdmin.registry.promote("fraud-gbdt", { by: "retrain-controller", reason: "better", automatic: true })).toThrow(/pinned at f1 by admin:bob \(audit\)/);
    const over = await request(app).post("/v1/models/fraud-gbdt/promote").set(admin).send({ reason: "audit done" }).expect(200);
    expect(over.body.moves.find((m: { alias: string }) => m.alias === "current").overrodePin).toMatchObject({ by: "admin:bob", reason: "audit" });
    await request(app).post("/v1/models/fraud-gbdt/unpin").set(admin).send({ alias: "current", reason: "closed" }).expect(200);
    await request(app).post("/v1/models/fraud-gbdt/unpin").set(admin).send({ alias: "current", reason: "again" }).expect(404);

    const arm = await request(app).post("/v1/models/fraud-gbdt/alias").set(admin).send({ alias: "challenger", version: "f3", reason: "shadow it" }).expect(200);
    expect(arm.body.moves).toEqual([expect.objectContaining({ alias: "challenger", from: null, to: "f3", action: "set" })]);
    const current = await request(app).post("/v1/models/fraud-gbdt/alias").set(admin).send({ alias: "current", version: "f3", reason: "sneak it in" }).expect(400);
    expect(current.body.error.details).toEqual([{ field: "alias", message: "current and previous move with promote, rollback and pin" }]);
    await request(app).post("/v1/models/fraud-gbdt/alias").set(admin).send({ alias: "challenger", version: "f9", reason: "typo" }).expect(404);

    const listed = await request(app).get("/v1/models").expect(200);
    expect(listed.body.models.find((m: { model: string }) => m.model === "fraud-gbdt")).toEqual({ model: "fraud-gbdt", versions: 3, latest: "f3", aliases: { current: "f2", previous: "f1", challenger: "f3" }, pins: {} });
    const shown = await request(app).get("/v1/models/fraud-gbdt").expect(200);
    expect(shown.body.versions.map((v: { version: string; aliases: string[]; metrics: unknown; files: number }) => [v.version, v.aliases, v.metrics, v.files])).toEqual([
      ["f1", ["previous"], { auc: 0.9, cost: 9120 }, 1],
      ["f2", ["current"], { auc: 0.9, cost: 9120 }, 1],
      ["f3", ["challenger"], { auc: 0.9, cost: 9120 }, 1],
    ]);
  });
});
