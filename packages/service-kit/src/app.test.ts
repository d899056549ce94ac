import http from "node:http";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { AppError, createLogger, createMetrics, createServiceApp, defineRoute, Readiness, Reply, stageTimer, TokenAuthenticator } from "./index";

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
    routes: [
      defineRoute({
        method: "POST",
        path: "/v1/score",
        summary: "doubles the amount",
        body: ScoreSchema,
        handler: async ({ body }) => {
          const timer = stageTimer(metrics);
          const doubled = await timer.time("model", async () => body.amount * 2);
          return { doubled, timings: timer.snapshot() };
        },
      }),
      defineRoute({
        method: "GET",
        path: "/v1/conflict",
        summary: "always conflicts",
        handler: () => {
          throw new AppError("CONFLICT", "already there", { id: 7 });
        },
      }),
      defineRoute({
        method: "GET",
        path: "/v1/bug",
        summary: "always fails",
        handler: () => {
          throw new TypeError("secret internal detail");
        },
      }),
      defineRoute({
        method: "GET",
        path: "/v1/items/:itemId",
        summary: "echoes a path parameter and a query",
        params: z.object({ itemId: z.string().regex(/^i-\d+$/) }),
        query: z.object({ limit: z.coerce.number().int().min(1).max(10).default(3) }).strict(),
        handler: ({ params, query }) => ({ itemId: params.itemId, limit: query.limit }),
      }),
    ],
  });
  return { app, logs, metrics };
}

/** POSTs raw bytes as application/json (supertest would re-encode a Buffer). */
async function rawPost(app: http.RequestListener, path: string, bytes: Buffer): Promise<{ status: number; body: unknown }> {
  const server = http.createServer(app).listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const port = (server.address() as { port: number }).port;
  try {
    return await new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, path, method: "POST", headers: { "content-type": "application/json", "content-length": bytes.length } }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on("error", reject);
      req.end(bytes);
    });
  } finally {
    server.close();
  }
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

describe("inputs from the wire", () => {
  const { app } = makeApp();

  it("validates path parameters and queries, naming the field", async () => {
    expect((await request(app).get("/v1/items/i-7?limit=5")).body).toEqual({ itemId: "i-7", limit: 5 });
    expect((await request(app).get("/v1/items/i-7")).body).toEqual({ itemId: "i-7", limit: 3 });
    const badQuery = await request(app).get("/v1/items/i-7?limit=500");
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.error.details[0].field).toBe("limit");
    const unknown = await request(app).get("/v1/items/i-7?colour=red");
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details[0]).toEqual({ field: "colour", message: "unknown field" });
    const badParam = await request(app).get("/v1/items/x-7");
    expect(badParam.status).toBe(400);
    expect(badParam.body.error.details[0].field).toBe("itemId");
  });

  it("a known path with another method is a 405 with Allow", async () => {
    const res = await request(app).delete("/v1/score");
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe("POST");
    expectErrorShape(res.body, "METHOD_NOT_ALLOWED");
  });

  it("a body that is not JSON is a 415, invalid UTF-8 a 400, a __proto__ key a 400 naming it", async () => {
    const text = await request(app).post("/v1/score").set("content-type", "text/plain").send("amount=1");
    expect(text.status).toBe(415);
    expectErrorShape(text.body, "UNSUPPORTED_MEDIA_TYPE");
    const latin1 = await rawPost(app, "/v1/score", Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]));
    expect(latin1.status).toBe(400);
    expectErrorShape(latin1.body, "MALFORMED_JSON");
    const proto = await request(app).post("/v1/score").set("content-type", "application/json").send('{"transactionId":"t","amount":1,"__proto__":{"polluted":true}}');
    expect(proto.status).toBe(400);
    expect(proto.body.error.details[0].field).toBe("__proto__");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("authentication", () => {
  const tokens = { admin: "admin-token-0123456789", labels: "labels-token-0123456789" };
  function authApp(auth = new TokenAuthenticator(tokens)) {
    return createServiceApp({
      logger: createLogger({ service: "auth", level: "silent" }),
      metrics: createMetrics("auth_svc", { defaultMetrics: false }),
      auth,
      routes: [
        defineRoute({ method: "POST", path: "/v1/model/reload", summary: "admin only", auth: "admin", handler: ({ principal }) => ({ principal }) }),
        defineRoute({ method: "POST", path: "/v1/labels", summary: "label writers", auth: "labels", status: 202, handler: ({ principal }) => ({ principal }) }),
      ],
    });
  }

  it("answers 401 without a token or with a wrong one, 403 for another role's token", async () => {
    const app = authApp();
    const none = await request(app).post("/v1/model/reload");
    expect(none.status).toBe(401);
    expectErrorShape(none.body, "UNAUTHORIZED");
    expect((await request(app).post("/v1/model/reload").set("authorization", "Bearer wrong-token-0123456789")).status).toBe(401);
    expect((await request(app).post("/v1/model/reload").set("authorization", "Basic YWRtaW4=")).status).toBe(401);
    const otherRole = await request(app).post("/v1/model/reload").set("authorization", `Bearer ${tokens.labels}`);
    expect(otherRole.status).toBe(403);
    expectErrorShape(otherRole.body, "FORBIDDEN");
  });

  it("lets each role through to its routes, and admin through to every route", async () => {
    const app = authApp();
    expect((await request(app).post("/v1/model/reload").set("authorization", `Bearer ${tokens.admin}`)).body).toEqual({ principal: "admin" });
    const label = await request(app).post("/v1/labels").set("authorization", `Bearer ${tokens.labels}`);
    expect(label.status).toBe(202);
    expect(label.body).toEqual({ principal: "labels" });
    expect((await request(app).post("/v1/labels").set("authorization", `Bearer ${tokens.admin}`)).body).toEqual({ principal: "admin" });
  });

  it("is closed when no token is configured: the route answers 403 whatever is sent", async () => {
    const app = authApp(new TokenAuthenticator({}));
    const res = await request(app).post("/v1/model/reload").set("authorization", `Bearer ${tokens.admin}`);
    expect(res.status).toBe(403);
    expect(res.body.error.message).toContain("disabled");
  });
});

describe("admission control", () => {
  it("refuses work past the in-flight bound with a quick 503 and Retry-After, keeps health and metrics open", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const metrics = createMetrics("admit_svc", { defaultMetrics: false });
    const app = createServiceApp({
      logger: createLogger({ service: "admit", level: "silent" }),
      metrics,
      admission: { maxInFlight: 2, retryAfterSeconds: 2 },
      routes: [defineRoute({ method: "GET", path: "/v1/slow", summary: "waits for the gate", handler: async () => (await gate, { done: true }) })],
    });
    const server = http.createServer(app).listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    const agent = request(server);
    try {
      const first = agent.get("/v1/slow").then((r) => r);
      const second = agent.get("/v1/slow").then((r) => r);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(app.inFlight()).toBe(2);
      const refused = await agent.get("/v1/slow");
      expect(refused.status).toBe(503);
      expect(refused.headers["retry-after"]).toBe("2");
      expectErrorShape(refused.body, "UNAVAILABLE");
      expect((await agent.get("/healthz")).status).toBe(200);
      expect((await agent.get("/metrics")).text).toContain('admit_svc_http_shed_total{route="/v1/slow",service="admit_svc"} 1');
      release();
      expect((await first).body).toEqual({ done: true });
      expect((await second).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(app.inFlight()).toBe(0);
      expect((await agent.get("/v1/slow")).status).toBe(200);
    } finally {
      server.close();
    }
  });
});

describe("load shedding on event-loop lag", () => {
  it("refuses admitted work with a 503 while the loop runs late, and admits again once it catches up", async () => {
    const app = createServiceApp({
      logger: createLogger({ service: "lag", level: "silent" }),
      metrics: createMetrics("lag_svc", { defaultMetrics: false }),
      admission: { maxInFlight: 100, maxEventLoopLagMs: 100 },
      routes: [defineRoute({ method: "GET", path: "/v1/work", summary: "work", handler: () => ({ done: true }) })],
    });
    // Block the loop for 400 ms: the lag timer's next tick comes ~400 ms late.
    const until = performance.now() + 400;
    while (performance.now() < until);
    await new Promise((resolve) => setTimeout(resolve, 15));
    const refused = await request(app).get("/v1/work");
    expect(refused.status).toBe(503);
    expect(refused.body.error.message).toMatch(/event loop runs \d+ ms late/);
    expect((await request(app).get("/healthz")).status).toBe(200);
    // The reading decays by a fifth every 10 ms: 400 ms of lag reads under 100 within ~70 ms.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await request(app).get("/v1/work")).status).toBe(200);
  });
});

describe("load shedding on event-loop utilization", () => {
  it("refuses admitted work while the loop has been busy, and admits again once it has been idle", async () => {
    const app = createServiceApp({
      logger: createLogger({ service: "busy", level: "silent" }),
      metrics: createMetrics("busy_svc", { defaultMetrics: false }),
      admission: { maxInFlight: 100, maxEventLoopUtilization: 0.5 },
      routes: [defineRoute({ method: "GET", path: "/v1/work", summary: "work", handler: () => ({ done: true }) })],
    });
    expect((await request(app).get("/v1/work")).status).toBe(200);
    // 200 ms of work on the loop: the next reading spans it, so the average is near 1.
    const until = performance.now() + 200;
    while (performance.now() < until);
    await new Promise((resolve) => setTimeout(resolve, 15));
    const refused = await request(app).get("/v1/work");
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("1");
    expect(refused.body.error.message).toMatch(/event loop is busy \d+ % of the time/);
    expect((await request(app).get("/readyz")).status).toBe(200);
    // Idle for 400 ms: the average (50 ms time constant) falls far below one half.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await request(app).get("/v1/work")).status).toBe(200);
  });

  it("refuses a share outside [0, 1]", () => {
    const make = (share: number) =>
      createServiceApp({ logger: createLogger({ service: "busy", level: "silent" }), metrics: createMetrics("busy_bad", { defaultMetrics: false }), admission: { maxInFlight: 1, maxEventLoopUtilization: share }, routes: [] });
    expect(() => make(1.5)).toThrow(/maxEventLoopUtilization must be in \[0, 1\], got 1.5/);
  });
});

describe("OpenAPI", () => {
  it("documents every registered route with its schemas, and only those", async () => {
    const { app } = makeApp();
    const doc = (await request(app).get("/openapi.json")).body as ReturnType<typeof app.openapi>;
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    const registered = app.routes.map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`).sort();
    expect(documented).toEqual(registered);
    expect(documented).toEqual(expect.arrayContaining(["GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json", "POST /v1/score", "GET /v1/items/{itemId}"]));
    const score = doc.paths["/v1/score"]?.post;
    expect(score?.requestBody?.content["application/json"]?.schema).toMatchObject({ type: "object", required: ["transactionId", "amount"], additionalProperties: false });
    expect(Object.keys(score?.responses ?? {})).toEqual(expect.arrayContaining(["200", "400", "413", "415", "500", "503"]));
    const item = doc.paths["/v1/items/{itemId}"]?.get;
    expect(item?.parameters?.map((p) => `${p.in}:${p.name}:${p.required}`)).toEqual(["path:itemId:true", "query:limit:false"]);
  });
});

describe("replies", () => {
  it("sends another status, headers and raw bodies", async () => {
    const app = createServiceApp({
      logger: createLogger({ service: "reply", level: "silent" }),
      metrics: createMetrics("reply_svc", { defaultMetrics: false }),
      routes: [
        defineRoute({ method: "GET", path: "/v1/page", summary: "html", handler: () => Reply.text(200, "<p>hi</p>", "text/html; charset=utf-8") }),
        defineRoute({ method: "POST", path: "/v1/accept", summary: "202", status: 202, handler: () => ({ accepted: true }) }),
        defineRoute({ method: "GET", path: "/v1/teapot", summary: "custom", handler: () => Reply.json(418, { short: true }, { "x-extra": "1" }) }),
      ],
    });
    const page = await request(app).get("/v1/page");
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.text).toBe("<p>hi</p>");
    expect((await request(app).post("/v1/accept")).status).toBe(202);
    const teapot = await request(app).get("/v1/teapot");
    expect(teapot.status).toBe(418);
    expect(teapot.headers["x-extra"]).toBe("1");
  });
});
