import request from "supertest";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { AppError, createLogger, createMetrics, createServiceApp, parseBody, Readiness, stageTimer } from "./index";

const ScoreSchema = z
  .object({
    transactionId: z.string().min(1),
    amount: z.number().nonnegative(),
    context: z.object({ device: z.enum(["web", "app"]) }).strict().optional(),
  })
  .strict();

function makeApp(readiness = new Readiness()) {
  const logs: string[] = [];
  const metrics = createMetrics("test_svc", { defaultMetrics: false });
  const app = createServiceApp({
    logger: createLogger({ service: "test-svc", write: (l) => logs.push(l) }),
    metrics,
    readiness,
    bodyLimitBytes: 1024,
    routes: (app) => {
      app.post("/v1/score", async (req, res) => {
        const body = parseBody(ScoreSchema, req);
        const timer = stageTimer(metrics);
        const doubled = await timer.time("model", async () => body.amount * 2);
        res.json({ doubled, timings: timer.snapshot() });
      });
      app.get("/v1/conflict", () => {
        throw new AppError("CONFLICT", "already there", { id: 7 });
      });
      app.get("/v1/bug", () => {
        throw new TypeError("secret internal detail");
      });
    },
  });
  return { app, logs, metrics };
}

function expectErrorShape(body: unknown, code: string) {
  expect(body).toMatchObject({ error: { code, message: expect.any(String), requestId: expect.any(String) } });
  expect(body).toHaveProperty("error.details");
}

describe("error contract", () => {
  const { app, logs } = makeApp();

  it("answers a valid request", async () => {
    const res = await request(app).post("/v1/score").send({ transactionId: "t1", amount: 21 });
    expect(res.status).toBe(200);
    expect(res.body.doubled).toBe(42);
    expect(res.body.timings.model).toBeGreaterThanOrEqual(0);
    expect(res.body.timings.total).toBeGreaterThanOrEqual(res.body.timings.model);
  });

  it("malformed JSON is a 400, never a 500", async () => {
    const res = await request(app).post("/v1/score").set("content-type", "application/json").send('{"amount": 1,');
    expect(res.status).toBe(400);
    expectErrorShape(res.body, "MALFORMED_JSON");
  });

  it("a wrong type names the field", async () => {
    const res = await request(app).post("/v1/score").send({ transactionId: "t1", amount: "ten" });
    expect(res.status).toBe(400);
    expectErrorShape(res.body, "VALIDATION_FAILED");
    expect(res.body.error.details).toEqual([{ field: "amount", message: expect.stringMatching(/number/) }]);
  });

  it("a missing field and an unknown nested field are both named", async () => {
    const res = await request(app)
      .post("/v1/score")
      .send({ amount: 3, context: { device: "web", colour: "red" }, extra: 1 });
    expect(res.status).toBe(400);
    const fields = (res.body.error.details as Array<{ field: string }>).map((d) => d.field).sort();
    expect(fields).toEqual(["context.colour", "extra", "transactionId"]);
    expect(res.body.error.message).toContain("transactionId");
  });

  it("a body over the size limit is a 413", async () => {
    const res = await request(app).post("/v1/score").send({ transactionId: "x".repeat(2000), amount: 1 });
    expect(res.status).toBe(413);
    expectErrorShape(res.body, "PAYLOAD_TOO_LARGE");
  });

  it("a missing body is a 400 naming the body", async () => {
    const res = await request(app).post("/v1/score");
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].field).toBe("(body)");
  });

  it("an unknown route is a 404 in the same shape", async () => {
    const res = await request(app).get("/v1/nothing-here");
    expect(res.status).toBe(404);
    expectErrorShape(res.body, "NOT_FOUND");
  });

  it("AppError keeps its code and details; an unexpected error is a 500 without internals", async () => {
    const conflict = await request(app).get("/v1/conflict");
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({ code: "CONFLICT", details: { id: 7 } });
    const bug = await request(app).get("/v1/bug");
    expect(bug.status).toBe(500);
    expect(bug.body.error.message).toBe("internal error");
    expect(JSON.stringify(bug.body)).not.toContain("secret");
    expect(logs.some((l) => l.includes("secret internal detail"))).toBe(true);
  });

  it("echoes a caller's request id and generates one otherwise", async () => {
    const mine = await request(app).get("/v1/nothing").set("x-request-id", "req-123");
    expect(mine.headers["x-request-id"]).toBe("req-123");
    expect(mine.body.error.requestId).toBe("req-123");
    const generated = await request(app).get("/v1/nothing");
    expect(generated.body.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("health, readiness and metrics", () => {
  it("is alive before it is ready, and not ready while a dependency is missing or draining", async () => {
    const readiness = new Readiness(["redis"]);
    const { app } = makeApp(readiness);
    expect((await request(app).get("/healthz")).status).toBe(200);
    const notReady = await request(app).get("/readyz");
    expect(notReady.status).toBe(503);
    expect(notReady.body.checks.redis.ready).toBe(false);
    readiness.set("redis", true);
    expect((await request(app).get("/readyz")).status).toBe(200);
    readiness.startDraining();
    const draining = await request(app).get("/readyz");
    expect(draining.status).toBe(503);
    expect(draining.body.draining).toBe(true);
  });

  it("exports request and stage histograms by route template", async () => {
    const { app } = makeApp();
    await request(app).post("/v1/score").send({ transactionId: "t", amount: 1 });
    await request(app).get("/v1/unknown/123");
    const text = (await request(app).get("/metrics")).text;
    const sample = (name: string, labels: Record<string, string>): number | undefined => {
      const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
      return line === undefined ? undefined : Number(line.split(" ").pop());
    };
    expect(sample("test_svc_http_request_duration_seconds_count", { method: "POST", route: "/v1/score", status: "200" })).toBe(1);
    expect(sample("test_svc_http_request_duration_seconds_count", { route: "unmatched", status: "404" })).toBe(1);
    expect(sample("test_svc_stage_duration_seconds_count", { stage: "model", service: "test_svc" })).toBe(1);
  });
});

describe("model version metric", () => {
  it("exports one series per model with the version in service", async () => {
    const { app, metrics } = makeApp();
    const { setModelVersion } = await import("./metrics");
    setModelVersion(metrics, "fraud-gbdt", "v1");
    setModelVersion(metrics, "fraud-gbdt", "v2");
    setModelVersion(metrics, "ranker", "r1");
    const text = (await request(app).get("/metrics")).text;
    const lines = text.split("\n").filter((l) => l.startsWith("test_svc_model_info{"));
    expect(lines).toHaveLength(2);
    expect(lines.some((l) => l.includes('model="fraud-gbdt"') && l.includes('version="v2"'))).toBe(true);
    expect(lines.some((l) => l.includes('version="v1"'))).toBe(false);
  });
});

describe("model reload handler", () => {
  it("answers the new version, and a 409 with the reason when loading fails", async () => {
    const { modelReloadHandler } = await import("./app");
    let fail = false;
    const metrics = createMetrics("reload_svc", { defaultMetrics: false });
    const logger = createLogger({ service: "reload", level: "silent" });
    const app = createServiceApp({
      logger,
      metrics,
      routes: (a) => {
        a.post("/v1/model/reload", modelReloadHandler(() => {
          if (fail) throw new Error("no such version");
          return { version: "v2" };
        }, logger, (m) => ({ version: m.version })));
      },
    });
    expect((await request(app).post("/v1/model/reload")).body).toEqual({ version: "v2" });
    fail = true;
    const res = await request(app).post("/v1/model/reload");
    expect(res.status).toBe(409);
    expect(res.body.error.message).toBe("reload failed: no such version");
  });
});
