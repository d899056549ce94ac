import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { parseBudgets } from "@mlsd/budgets";
import { parseExposition } from "@mlsd/prom-text";
import { createLogger, createMetrics, loadConfig, Readiness, setModelVersion, stageTimer, systemClock, TokenAuthenticator } from "@mlsd/service-kit";
import { runHostileSuite } from "@mlsd/service-kit/testing";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { createApp } from "./app";
import { ConsoleConfigSchema, serviceUrls, type KnownService } from "./config";
import { DrillRunner } from "./drills/runner";
import { timeToDetect, timeToRecover, phaseStats, quantile } from "./drills/report";
import type { ProbeResult } from "./drills/probe";
import { modelViews, pipelineView, shownP99 } from "./overview";
import { pipelines } from "./pipelines";
import { Scraper, type ServiceScrape, type Snapshot } from "./scraper";

const BUDGETS = parseBudgets({
  endpoints: {
    fraud: { rate: 1000, latency: { p50: 2, p95: 4, p99: 5 }, stages: { features: { p99: 2 } }, maxErrorRate: 0.001, maxFallbackRate: 0.01 },
    recommendations: { rate: 300, latency: { p50: 10, p95: 20, p99: 25 }, stages: { user: { p99: 2 } } },
  },
});
const ADMIN = "console-unit-admin-token";
const logger = createLogger({ service: "console", level: "silent" });

/** A fraud service's /metrics after `n` answers, each stage at the given ms, scraped at `at`. */
async function fraudScrape(n: number, stageMs: Record<string, number>, degraded: number): Promise<ServiceScrape> {
  const metrics = createMetrics("fraud", { defaultMetrics: false });
  setModelVersion(metrics, "fraud-gbdt", "v7");
  for (let i = 0; i < n; i++) {
    const timer = stageTimer(metrics);
    for (const [stage, ms] of Object.entries(stageMs)) timer.record(stage, ms);
    metrics.httpDuration.observe({ method: "POST", route: "/v1/transactions/score", status: i < 2 ? "503" : "200" }, 0.004);
  }
  const text = (await metrics.registry.metrics()) + `# TYPE fraud_degraded_total counter\nfraud_degraded_total{reason="redis"} ${degraded}\n# TYPE fraud_decisions_total counter\nfraud_decisions_total{decision="approve",decided_by="model"} ${n - 2}\n`;
  return { name: "fraud", url: "http://fraud", up: true, error: null, ready: true, readiness: null, families: parseExposition(text), json: { "/v1/model/arms": { challenger: { version: "v8", mode: "shadow", share: 0 } } }, ms: 1 };
}

describe("the pipelines from scraped metrics", () => {
  it("reads per-stage quantiles since start and over the window, against the budgets", async () => {
    const start: Snapshot = { at: 0, services: new Map<KnownService, ServiceScrape>([["fraud", await fraudScrape(10, { features: 1.5, model: 0.08 }, 0)]]) };
    const latest: Snapshot = { at: 10_000, services: new Map<KnownService, ServiceScrape>([["fraud", await fraudScrape(50, { features: 1.5, model: 0.08 }, 5)]]) };
    // The later page observed 50 answers in all; 40 of them in the 10 s window, at 4 rps. Features
    // at 1.5 ms sit in the (1, 2] ms bucket: p99 interpolates to 1.99 ms, under the 2 ms budget.
    const fraud = pipelines(BUDGETS).find((p) => p.design === "fraud");
    if (!fraud) throw new Error("no fraud pipeline");
    const view = pipelineView(fraud, latest, start);
    expect(view.endToEnd.count).toBe(50);
    expect(view.endToEnd.window).toMatchObject({ count: 40, perSecond: 4 });
    expect(view.endToEnd.errors).toBe(2);
    expect(view.endToEnd.errorRate).toBeCloseTo(2 / 50, 12);
    expect(view.degradedRate).toBeCloseTo(5 / 50, 12);
    expect(view.outcomes).toEqual({ approve: 48, degraded: 5 });
    const features = view.stages.find((s) => s.id === "fraud-features");
    expect(features).toMatchObject({ count: 50, budgetP99Ms: 2, overBudget: false });
    expect(features?.p99Ms).toBeCloseTo(1 + 0.99 * 1, 6);
    expect(shownP99(features ?? view.endToEnd)).toBeCloseTo(1.99, 6);
    // End to end: 4 ms answers against a 5 ms budget; the stages without a budget are not judged.
    expect(view.endToEnd.overBudget).toBe(false);
    expect(view.stages.find((s) => s.id === "fraud-rules")).toMatchObject({ count: 0, p99Ms: null, overBudget: null });
    expect(modelViews(latest)).toEqual([{ service: "fraud", model: "fraud-gbdt", version: "v7", challenger: { version: "v8", mode: "shadow", share: 0 }, answersByArm: {} }]);
  });

  it("counts recommender fallbacks as the budgets do: a cold start is not one", async () => {
    const metrics = createMetrics("recommender", { defaultMetrics: false });
    for (let i = 0; i < 10; i++) metrics.httpDuration.observe({ method: "POST", route: "/v1/recommendations", status: "200" }, 0.01);
    const text = (await metrics.registry.metrics()) + `# TYPE recommender_fallbacks_total counter\nrecommender_fallbacks_total{kind="cold-start"} 3\nrecommender_fallbacks_total{kind="popularity"} 2\n`;
    const scrape: ServiceScrape = { name: "recommender", url: "http://r", up: true, error: null, ready: true, readiness: null, families: parseExposition(text), json: {}, ms: 1 };
    const recs = pipelines(BUDGETS).find((p) => p.design === "recs");
    if (!recs) throw new Error("no recs pipeline");
    const view = pipelineView(recs, { at: 1, services: new Map([["recommender", scrape]]) }, null);
    expect(view.fallbackRate).toBeCloseTo(2 / 10, 12);
    expect(view.outcomes).toMatchObject({ "cold-start": 3, popularity: 2 });
    expect(view.stages.find((s) => s.id === "recs-user")?.budgetP99Ms).toBe(2);
  });

  it("shows a service that did not answer as down, with nothing made up", () => {
    const down: ServiceScrape = { name: "fraud", url: "http://fraud", up: false, error: "GET /metrics: ECONNREFUSED", ready: false, readiness: null, families: new Map(), json: {}, ms: 1 };
    const fraud = pipelines(BUDGETS).find((p) => p.design === "fraud");
    if (!fraud) throw new Error("no fraud pipeline");
    const view = pipelineView(fraud, { at: 1, services: new Map([["fraud", down]]) }, null);
    expect(view).toMatchObject({ up: false, endToEnd: { count: 0, p99Ms: null, window: null, errorRate: null }, fallbackRate: null });
  });
});

describe("configuration", () => {
  it("takes SERVICE_URLS as name=url pairs of known services, one URL each", () => {
    const config = loadConfig(ConsoleConfigSchema, { SERVICE_URLS: "fraud=http://127.0.0.1:8081/,recommender=http://r:8080" });
    expect(config.PORT).toBe(8090);
    expect([...serviceUrls(config)]).toEqual([["fraud", "http://127.0.0.1:8081"], ["recommender", "http://r:8080"]]);
    expect(() => loadConfig(ConsoleConfigSchema, { SERVICE_URLS: "frad=http://x:1" })).toThrow(/SERVICE_URLS: "frad=http:\/\/x:1" is not service=url \(recommender or fraud/);
    expect(() => loadConfig(ConsoleConfigSchema, { SERVICE_URLS: "fraud=http://a:1,fraud=http://b:1" })).toThrow(/fraud is named 2 times/);
  });
});

describe("drill scoring", () => {
  const r = (at: number, outcome: string, ok = true, ms = 5): ProbeResult => ({ target: "fraud", at, phase: "p", ok, status: ok ? 200 : 0, ms, outcome, detail: null });

  it("detects at the first abnormal answer after the fault and recovers at the first of ten normal ones", () => {
    const results = [r(0, "model"), r(900, "model"), r(1100, "degraded"), r(1500, "error", false), ...Array.from({ length: 3 }, (_, i) => r(3000 + i * 100, "degraded")), ...Array.from({ length: 12 }, (_, i) => r(3400 + i * 100, "model"))];
    expect(timeToDetect(results, 1000)).toBe(100);
    // The fault ended at 3000; answers were normal from 3400 on.
    expect(timeToRecover(results, 3000)).toBe(400);
    expect(timeToRecover(results.slice(0, 10), 3000)).toBeNull();
    expect(phaseStats(results.slice(0, 4))).toEqual({ requests: 4, availability: 0.75, p50Ms: 5, p99Ms: 5, outcomes: { model: 2, degraded: 1, error: 1 } });
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    // A cold start is the answer for a user the models do not know: not a sign of the fault.
    expect(timeToDetect([r(1200, "cold-start"), r(1300, "popularity")], 1000)).toBe(300);
    expect(quantile([], 0.99)).toBeNull();
  });
});

describe("the console's HTTP API", () => {
  const scraper = new Scraper(new Map(), { intervalMs: 1000, timeoutMs: 100, windowMs: 30_000, logger });
  const drills = new DrillRunner({ urls: new Map(), adminToken: ADMIN, clock: systemClock, logger, redisUrl: null, registryDir: null, pidsFile: null, kafkaPidFile: null, redisProxyUrl: null, cluster: null }, "/nonexistent");
  const app = createApp({ logger, metrics: createMetrics("console"), readiness: new Readiness(), auth: new TokenAuthenticator({ admin: ADMIN }), scraper, pipelines: pipelines(BUDGETS), drills, inspectTimeoutMs: 1000, windowSeconds: 30, claimsDir: fileURLToPath(new URL("../../../docs/claims", import.meta.url)) });

  it("serves the page and its files from the package, no CDN", async () => {
    const page = await request(app).get("/").expect(200);
    expect(page.headers["content-type"]).toMatch(/text\/html/);
    expect(page.text).toContain('<script src="/console.js"></script>');
    expect(page.text).not.toMatch(/https?:\/\//);
    await request(app).get("/console.js").expect(200).expect("content-type", /javascript/);
    await request(app).get("/console.css").expect(200).expect("content-type", /css/);
  });

  it("needs the admin token for a drill, and says why a drill cannot run here", async () => {
    await request(app).post("/api/drills/redis-down").send({}).expect(401);
    const refused = await request(app).post("/api/drills/redis-down").set("authorization", `Bearer ${ADMIN}`).send({}).expect(409);
    expect(refused.body.error.message).toMatch(/DRILL_REDIS_URL/);
    await request(app).post("/api/drills/nope").set("authorization", `Bearer ${ADMIN}`).send({}).expect(404);
    const listed = await request(app).get("/api/drills").expect(200);
    expect(listed.body.drills.map((d: { name: string }) => d.name)).toEqual(["redis-down", "redis-slow", "kafka-down", "bad-model", "corrupt-model", "service-killed", "drift-injected", "overload", "redis-primary-killed", "kafka-broker-killed", "replica-killed"]);
    expect(listed.body.drills[0].expectations.length).toBeGreaterThan(3);
  });

  it("validates an inspected request by the service's own contract before sending it", async () => {
    const bad = await request(app).post("/api/inspect/transaction").send({ transactionId: "t1", customerId: "c", terminalId: "t", amount: -1 }).expect(400);
    expect(bad.body.error.details.map((d: { field: string }) => d.field)).toEqual(["amount"]);
    await request(app).post("/api/inspect/recommendation").send({ userId: "1" }).expect(409);
  });

  it("walks a design through the interview framework, citing the lab's published verdicts", async () => {
    const fraud = await request(app).get("/api/walkthrough/fraud").expect(200);
    expect(fraud.body.steps.map((s: { key: string }) => s.key)).toEqual(["requirements", "framing", "metrics", "data", "features", "model", "serving", "monitoring"]);
    const claims = fraud.body.steps.flatMap((s: { claims: { id: string; verdict: string | null; page: string | null }[] }) => s.claims);
    // Every claim the fraud walkthrough cites is published, with the verdict its JSON says.
    for (const c of claims) {
      expect(c.page, c.id).toMatch(/^docs\/claims\/.+\.md$/);
      const result = JSON.parse(fs.readFileSync(fileURLToPath(new URL(`../../../${c.page.replace(/\.md$/, ".json")}`, import.meta.url)), "utf8")) as { verdict: string };
      expect(c.verdict, c.id).toBe(result.verdict);
    }
    // Without scraped services the live numbers say so rather than inventing any.
    expect(fraud.body.steps[0].live).toEqual([{ label: "fraud", value: "down, or not in SERVICE_URLS" }]);
    const bad = await request(app).get("/api/walkthrough/ads").expect(400);
    expect(bad.body.error.details[0].field).toBe("design");
    await request(app).get("/walkthrough.html").expect(200).expect("content-type", /html/);
  });

  it("serves its own OpenAPI document to the API browser and names a service it cannot reach", async () => {
    const own = await request(app).get("/api/openapi/console").expect(200);
    expect(Object.keys(own.body.paths)).toEqual(expect.arrayContaining(["/api/overview", "/api/drills/{name}", "/api/openapi/{service}"]));
    expect(own.body.paths["/api/drills/{name}"].post["x-auth-role"]).toBe("admin");
    const missing = await request(app).get("/api/openapi/fraud").expect(404);
    expect(missing.body.error.message).toBe("fraud is not in SERVICE_URLS");
    const unknown = await request(app).get("/api/openapi/nope").expect(400);
    expect(unknown.body.error.details[0].field).toBe("service");
  });

  it("answers hostile input on every route with a 4xx naming the field, and documents every route it serves", async () => {
    const route = (method: string, path: string) => app.routes.find((r) => r.method === method && r.path === path)!;
    const { answers, problems } = await runHostileSuite(
      app,
      [
        { route: route("POST", "/api/inspect/transaction"), validBody: { transactionId: "t1", customerId: "c", terminalId: "t", amount: 1, time: "2024-01-01T00:00:00.000Z" } },
        { route: route("POST", "/api/drills/:name"), path: "/api/drills/redis-down", validBody: { faultSeconds: 1 }, headers: { authorization: `Bearer ${ADMIN}` } },
        { route: route("GET", "/api/openapi/:service"), path: "/api/openapi/fraud" },
        { route: route("GET", "/api/drills/runs/:id"), path: "/api/drills/runs/none" },
      ],
      { runs: 30 },
    );
    expect(problems).toEqual([]);
    expect(answers.length).toBeGreaterThan(100);
  });
});
