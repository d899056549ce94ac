import { MemoryEventPublisher } from "@mlsd/events";
import { createMetrics, ManualClock, Readiness, silentLogger, TokenAuthenticator } from "@mlsd/service-kit";
import { runHostileSuite } from "@mlsd/service-kit/testing";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { createApp } from "./app";
import { RetrainController } from "./controller";

const ADMIN = "retrain-admin-token-0123";

function app() {
  const controller = new RetrainController({
    designs: ["fraud"],
    clock: new ManualClock(Date.UTC(2024, 4, 1)),
    runner: { train: () => new Promise(() => {}) },
    policy: { mode: "never", promote: async () => {} },
    events: new MemoryEventPublisher(),
    logger: silentLogger,
    debounceMs: 0,
    scheduleEveryMs: 0,
  });
  return createApp({
    logger: silentLogger,
    metrics: createMetrics("retrain-controller", { defaultMetrics: false }),
    readiness: new Readiness(),
    auth: new TokenAuthenticator({ admin: ADMIN }),
    controller,
    stopConsuming: async () => {},
  });
}

describe("retrain controller HTTP", () => {
  it("needs the admin token to trigger, names the design it does not retrain, and shows what is running", async () => {
    const a = app();
    const server = a;
    {
      await request(server).post("/v1/retrain").send({ design: "fraud" }).expect(401);
      const other = await request(server).post("/v1/retrain").set("authorization", `Bearer ${ADMIN}`).send({ design: "recs" }).expect(400);
      expect(JSON.stringify(other.body)).toMatch(/design/);
      const ok = await request(server).post("/v1/retrain").set("authorization", `Bearer ${ADMIN}`).send({ design: "fraud" }).expect(202);
      expect(ok.body).toEqual({ design: "fraud", outcome: "queued" });
      const history = await request(server).get("/v1/history").expect(200);
      expect(history.body).toEqual({ decisions: [], running: ["fraud"], queued: [] });
    }
  });

  it("answers every wrong request with a 4xx, never a 5xx, never a hang", async () => {
    const a = app();
    const route = (method: string, path: string) => a.routes.find((r) => r.method === method && r.path === path)!;
    const { problems } = await runHostileSuite(a, [{ route: route("GET", "/v1/history") }, { route: route("POST", "/v1/retrain"), headers: { authorization: `Bearer ${ADMIN}` } }]);
    expect(problems).toEqual([]);
  });
});
