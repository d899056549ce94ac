import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { assembleRankerRows, MemoryRecsFeatureStore, rankerContext, RedisRecsFeatureStore, sessionEvents, type RecsSession } from "@mlsd/feature-store";
import { ModelRegistry } from "@mlsd/model-registry";
import { buildService, type ServiceInstance } from "@mlsd/service-kit";
import { startRedis, type RedisHandle } from "@mlsd/testkit";
import { Redis } from "ioredis";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RankerAppDeps } from "./app";
import type { RankerConfig } from "./config";
import { rankerService } from "./service";
import { loadRankerModel } from "@mlsd/ranking";
import { publishTinyRanker } from "./test-fixtures";

const T0 = Date.UTC(2024, 0, 10);
const DAY = 86_400_000;
const prefix = `rx-ranker-${Date.now()}:`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ranker-int-"));
let handle: RedisHandle;
let runtime: ServiceInstance<RankerConfig, RankerAppDeps>;

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A few users, a catalogue of 30 items, and sessions whose clicks build up counters and histories. */
function history() {
  const users = Array.from({ length: 5 }, (_, u) => [`u${u}`, { signupMs: T0 - (u + 1) * 40 * DAY, homeCategory: u % 3, ageBucket: u }] as const);
  const items = Array.from({ length: 30 }, (_, i) => [`i${i}`, { category: i % 4, tags: [i % 7, (i * 3) % 11], releaseMs: T0 - (i + 1) * DAY }] as const);
  const sessions: RecsSession[] = Array.from({ length: 60 }, (_, s) => ({
    sessionId: `s${s}`,
    userId: `u${s % 5}`,
    timeMs: T0 + s * 60_000,
    device: s % 3,
    items: Array.from({ length: 6 }, (_, p) => `i${(s * 7 + p * 5) % 30}`),
    clicked: Array.from({ length: 6 }, (_, p) => ((s + p) % 4 === 0 ? 1 : 0)),
  }));
  return { users, items, sessions };
}

beforeAll(async () => {
  handle = await startRedis({ dedicated: true });
  const registryDir = path.join(tmp, "registry");
  await publishTinyRanker(registryDir);
  runtime = await buildService(rankerService, {
    PORT: "0",
    LOG_LEVEL: "silent",
    REDIS_URL: handle.url,
    REDIS_PREFIX: prefix,
    MODEL_REGISTRY_DIR: registryDir,
    FEATURE_DEADLINE_MS: "50",
    BREAKER_FAILURE_RATE: "1",
    BREAKER_MIN_CALLS: "2",
    BREAKER_WINDOW: "2",
    BREAKER_COOLDOWN_MS: "200",
  });
});

afterAll(async () => {
  await runtime?.close();
  await handle?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("ranker service on real Redis", () => {
  it("becomes ready with the model and Redis, and ranks with features read from Redis", async () => {
    const app = runtime.app;
    await until(async () => (await request(app).get("/readyz")).status === 200, "readiness");

    const { users, items, sessions } = history();
    const seed = new Redis(handle.url);
    const online = new RedisRecsFeatureStore(seed, { prefix });
    const twin = new MemoryRecsFeatureStore();
    for (const store of [online, twin]) {
      await store.writeProfiles({ users, items });
      for (const s of sessions) await store.apply(sessionEvents(s));
    }
    seed.disconnect();

    const candidates = Array.from({ length: 25 }, (_, i) => ({ itemId: i === 24 ? "unknown-item" : `i${i}`, retrievalScore: Math.cos(i) }));
    const time = T0 + 2 * DAY;
    const res = await request(app)
      .post("/v1/rank")
      .send({ userId: "u2", candidates, k: 8, context: { device: "desktop", time: new Date(time).toISOString() } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rankedBy: "model", degraded: false, unknownItems: 1, unknownUser: false });

    // What the service must have computed: the same rows from the twin, scored by the same model.
    const model = loadRankerModel(new ModelRegistry(path.join(tmp, "registry")), "current");
    const { user, items: states } = await twin.fetch("u2", candidates.map((c) => c.itemId));
    const rows = assembleRankerRows(user, states, candidates.map((c) => c.retrievalScore), rankerContext({ timeMs: time, device: "desktop" }));
    const scores = model.score(rows, candidates.length);
    const expected = candidates
      .map((c, i) => ({ itemId: c.itemId, score: scores[i]!, retrievalScore: c.retrievalScore, i }))
      .sort((a, b) => b.score - a.score || b.retrievalScore - a.retrievalScore || a.i - b.i)
      .slice(0, 8)
      .map(({ itemId, score, retrievalScore }) => ({ itemId, score, retrievalScore }));
    expect(res.body.items).toEqual(expected);
    expect(new Set(scores).size).toBeGreaterThan(3);
    expect(res.body.modelVersion).toBe(model.version);
  });

  it("answers from retrieval scores while Redis is down, goes unready, and recovers when it returns", async () => {
    const app = runtime.app;
    const candidates = [
      { itemId: "i1", retrievalScore: 0.2 },
      { itemId: "i2", retrievalScore: 0.9 },
      { itemId: "i3", retrievalScore: 0.5 },
    ];
    await handle.stop();
    await until(async () => (await request(app).get("/readyz")).status === 503, "readiness to fail");
    const down = await request(app).post("/v1/rank").send({ userId: "u1", candidates });
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({ rankedBy: "retrieval-score", degraded: true });
    expect(down.body.items.map((i: { itemId: string }) => i.itemId)).toEqual(["i2", "i3", "i1"]);
    expect(down.body.timings.total).toBeLessThan(1000);

    await handle.start();
    await until(async () => (await request(app).get("/readyz")).status === 200, "Redis to come back");
    await until(async () => (await request(app).post("/v1/rank").send({ userId: "u1", candidates })).body.rankedBy === "model", "the circuit to close");
    const metrics = await request(app).get("/metrics");
    expect(metrics.text).toMatch(/ranker_degraded_total\{reason="(error|circuit-open)",service="ranker"\} [1-9]/);
  });
});
