import { makeEvent } from "@mlsd/contracts";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN, closedUrl, registryFixture, reloadServer, VIEWER, type ReloadServer } from "./test-fixtures";

const admin = { authorization: `Bearer ${ADMIN}` };
let servers: ReloadServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function withService() {
  const service = await reloadServer();
  servers.push(service);
  return { service, ...(await registryFixture([service.url])) };
}

describe("rollouts over HTTP", () => {
  it("starts only with the admin token and a reason, exposes the first stage on every replica, and lists it", async () => {
    const { app, service, events } = await withService();
    await request(app).post("/v1/rollouts").send({ model: "fraud-gbdt", reason: "retrained on last week" }).expect(401);
    await request(app).post("/v1/rollouts").set("authorization", `Bearer ${VIEWER}`).send({ model: "fraud-gbdt", reason: "retrained on last week" }).expect(403);
    const noReason = await request(app).post("/v1/rollouts").set(admin).send({ model: "fraud-gbdt" }).expect(400);
    expect(noReason.body.error.details).toEqual([{ field: "reason", message: "Required" }]);
    expect(service.calls).toEqual([]);

    const started = await request(app).post("/v1/rollouts").set(admin).send({ model: "fraud-gbdt", reason: "retrained on last week", actor: "alice" }).expect(201);
    expect(started.body).toMatchObject({ model: "fraud-gbdt", candidateVersion: "f2", currentVersion: "f1", stage: "shadow", status: "running" });
    expect(service.calls).toEqual([{ method: "PUT", path: "/v1/model/arms", auth: `Bearer ${ADMIN}`, body: JSON.stringify({ challenger: "f2", mode: "shadow" }) }]);
    const decision = events.events.find((e) => e.type === "ml.rollout-decision");
    expect(decision?.payload).toMatchObject({ action: "started", by: "admin:alice", reasons: ["admin:alice: retrained on last week"] });

    const list = await request(app).get("/v1/rollouts").expect(200);
    expect(list.body.running.map((r: { candidateVersion: string }) => r.candidateVersion)).toEqual(["f2"]);
    await request(app).get("/v1/rollouts/fraud-gbdt").expect(200);
    // A second rollout of the same model waits for the first.
    const again = await request(app).post("/v1/rollouts").set(admin).send({ model: "fraud-gbdt", candidate: "f3", reason: "another one" }).expect(409);
    expect(again.body.error.message).toMatch(/a rollout of fraud-gbdt is running \(f2\)/);
  });

  it("takes the stages an operator gives: straight to canary at the configured share", async () => {
    const { app, service } = await withService();
    const started = await request(app).post("/v1/rollouts").set(admin).send({ model: "fraud-gbdt", stages: ["canary", "ab"], reason: "shadow already seen offline" }).expect(201);
    expect(started.body.stage).toBe("canary");
    expect(service.calls.map((c) => c.body)).toEqual([JSON.stringify({ challenger: "f2", mode: "canary", share: 0.1 })]);
  });

  it("aborts: the challenger is withdrawn and current was never touched", async () => {
    const { app, service, admin: registryAdmin } = await withService();
    await request(app).post("/v1/rollouts").set(admin).send({ model: "fraud-gbdt", reason: "retrained on last week" }).expect(201);
    await request(app).post("/v1/rollouts/fraud-gbdt/abort").send({ reason: "wrong data" }).expect(401);
    const aborted = await request(app).post("/v1/rollouts/fraud-gbdt/abort").set(admin).send({ reason: "wrong data window" }).expect(200);
    expect(aborted.body.status).toBe("aborted");
    expect(service.calls.map((c) => `${c.method} ${c.path}`)).toEqual(["PUT /v1/model/arms", "DELETE /v1/model/arms"]);
    expect(registryAdmin.registry.resolve("fraud-gbdt", "current")).toBe("f1");
    await request(app).post("/v1/rollouts/fraud-gbdt/abort").set(admin).send({ reason: "wrong data window" }).expect(404);
  });

  it("refuses what cannot be rolled out: an unknown model, a missing version, the current one, an unreachable service", async () => {
    const { app } = await withService();
    const unknown = await request(app).post("/v1/rollouts").set(admin).send({ model: "ranker-gbdt", reason: "not a target here" }).expect(404);
    expect(unknown.body.error.message).toMatch(/no rollout target for ranker-gbdt/);
    await request(app).post("/v1/rollouts").set(admin).send({ model: "fraud-gbdt", candidate: "f9", reason: "no such version" }).expect(404);
    await request(app).post("/v1/rollouts").set(admin).send({ model: "fraud-gbdt", candidate: "current", reason: "already serving" }).expect(409);
    await request(app).get("/v1/rollouts/fraud-gbdt").expect(404);
    const order = await request(app).post("/v1/rollouts").set(admin).send({ model: "fraud-gbdt", stages: ["canary", "shadow"], reason: "backwards" }).expect(400);
    expect(order.body.error.details).toEqual([{ field: "stages", message: "an ordered subset of shadow, canary, ab" }]);
    await request(app).post("/v1/rollouts").set(admin).send({ model: "fraud-gbdt", stages: [], reason: "none" }).expect(400);

    const { app: other } = await registryFixture([await closedUrl()]);
    const down = await request(other).post("/v1/rollouts").set(admin).send({ model: "fraud-gbdt", reason: "service is down" }).expect(503);
    expect(down.body.error.message).toMatch(/PUT \/v1\/model\/arms for fraud-gbdt failed/);
    expect((await request(other).get("/v1/rollouts").expect(200)).body.running).toEqual([]);
  });

  it("reads the log it is fed: the latest numbers appear after a tick, with no evidence yet (p = 1) and no decision", async () => {
    const { app, rollouts } = await withService();
    await request(app).post("/v1/rollouts").set(admin).send({ model: "fraud-gbdt", reason: "retrained on last week" }).expect(201);
    const t = new Date(Date.UTC(2024, 0, 1, 0, 1)).toISOString();
    rollouts.observe(makeEvent("fraud.transaction", { transactionId: "t1", customerId: "c1", terminalId: "T", amount: 40, time: t }, { producer: "test", eventTime: t }));
    await rollouts.tick();
    const body = (await request(app).get("/v1/rollouts/fraud-gbdt").expect(200)).body;
    expect(body.latest).toMatchObject({ mode: "shadow", pValue: 1, current: { requests: 0 }, challenger: { requests: 0 } });
    expect(body.latest.primaryMetric).toMatch(/cost/);
    expect(body.decisions.map((d: { action: string }) => d.action)).toEqual(["started"]);
  });
});
